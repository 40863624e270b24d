"""The papers' notation as SymPy objects, shared by every derivation.

zeta(t) = log(1 + e^t) (softplus), s(t) = 1/(1 + e^-t) (sigmoid), so zeta' = s and
s' = s(t) s(-t). Per-point loss l(w; x, y) = zeta(-y w.x).
"""

from __future__ import annotations

import sympy as sp

from theory._symbolic import lambdify_pair

__all__ = [
    "Y_VALUES",
    "ZETA_NP",
    "ZETA_TORCH",
    "eps",
    "s",
    "t",
    "theta",
    "vector_symbols",
    "y",
    "zeta",
]

t = sp.Symbol("t", real=True)
eps = sp.Symbol("epsilon", nonnegative=True)
y = sp.Symbol("y", real=True)  # takes the values -1 and +1; substitute them where it matters
theta = sp.Symbol("theta", real=True)
#: The two label values, for checks done separately for y = +1 and y = -1.
Y_VALUES = (sp.Integer(1), sp.Integer(-1))


def zeta(arg: sp.Expr) -> sp.Expr:
    """Softplus zeta(t) = log(1 + e^t)."""
    return sp.log(1 + sp.exp(arg))


def s(arg: sp.Expr) -> sp.Expr:
    """Sigmoid s(t) = 1 / (1 + e^-t)."""
    return 1 / (1 + sp.exp(-arg))


def vector_symbols(name: str, d: int, **assumptions: bool) -> sp.Matrix:
    """Column vector (name_1, ..., name_d) of real symbols."""
    assumptions.setdefault("real", True)
    return sp.Matrix(sp.symbols(f"{name}_1:{d + 1}", **assumptions))


#: (numpy, torch) float64 callables of zeta(t), exact for every t (overflow-free logaddexp; see
#: :func:`theory._symbolic.stable_form`): the one numeric softplus of the suite.
ZETA_NP, ZETA_TORCH = lambdify_pair((t,), zeta(t))
