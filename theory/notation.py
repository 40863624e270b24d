"""The papers' notation as SymPy objects, shared by every derivation.

zeta(t) = log(1 + e^t) (softplus), s(t) = 1/(1 + e^-t) (sigmoid), so zeta' = s and
s' = s(t) s(-t). Per-point loss l(w; x, y) = zeta(-y w.x).
"""

from __future__ import annotations

import sympy as sp

t = sp.Symbol("t", real=True)
eps = sp.Symbol("epsilon", nonnegative=True)
y = sp.Symbol("y", real=True)  # takes the values -1 and +1; substitute them where it matters
theta = sp.Symbol("theta", real=True)


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
