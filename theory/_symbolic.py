"""Shared symbolic helpers: exact-zero tests and lambdify into overflow-free float64 callables.

Private to :mod:`theory`: every derivation module checks its identities with :func:`is_zero` and
exports its results as (numpy, torch) callables made by :func:`lambdify_pair`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import sympy as sp
import torch
from scipy.special import expit
from sympy.printing.pytorch import TorchPrinter


def is_zero(expr: sp.Expr) -> bool:
    """True when SymPy simplifies ``expr`` (a scalar or a matrix) to exactly 0."""
    if isinstance(expr, sp.MatrixBase):
        return all(is_zero(e) for e in expr)
    return sp.simplify(expr) == 0



_Softplus = sp.Function("Softplus")
_Sigmoid = sp.Function("Sigmoid")


def stable_form(expr: sp.Expr) -> sp.Expr:
    """Rewrite log(1 + e^t) as Softplus(t) and 1/(1 + e^t) as Sigmoid(-t) for lambdify.

    The two functions map to the overflow-free ``logaddexp(0, t)``/``sigmoid`` of torch and numpy
    (``scipy.special.expit``), so large margins do not give inf or a loss rounded to 0. Not
    ``torch.nn.functional.softplus``: it returns t itself above t = 20, an error of e^-20 ~ 2e-9
    in the gradient, which a 1e-10 verification would see.
    """

    def is_one_plus_exp(e: sp.Expr) -> bool:
        return (
            isinstance(e, sp.Add) and len(e.args) == 2 and sp.Integer(1) in e.args
            and any(isinstance(a, sp.exp) for a in e.args)
        )

    def exp_arg(e: sp.Expr) -> sp.Expr:
        return next(a for a in e.args if isinstance(a, sp.exp)).args[0]

    expr = expr.replace(
        lambda e: isinstance(e, sp.log) and is_one_plus_exp(e.args[0]),
        lambda e: _Softplus(exp_arg(e.args[0])),
    )
    return expr.replace(
        lambda e: isinstance(e, sp.Pow) and e.exp == -1 and is_one_plus_exp(e.base),
        lambda e: _Sigmoid(-exp_arg(e.base)),
    )


def _softplus_torch(t: torch.Tensor) -> torch.Tensor:
    """zeta(t) = log(1 + e^t) in full precision for every t (see :func:`stable_form`)."""
    t = torch.as_tensor(t)
    return torch.logaddexp(torch.zeros_like(t), t)


_TORCH_FUNCS = {"Softplus": _softplus_torch, "Sigmoid": torch.sigmoid,
                "coth": lambda t: 1 / torch.tanh(t)}
_NUMPY_FUNCS = {"Softplus": lambda t: np.logaddexp(0.0, t), "Sigmoid": expit,
                "coth": lambda t: 1 / np.tanh(t)}


def lambdify_pair(args: tuple[sp.Symbol, ...], expr: sp.Expr) -> tuple[Callable, Callable]:
    """(numpy, torch) float64 callables of ``expr`` (in its :func:`stable_form`)."""
    stable = stable_form(expr)
    return (
        sp.lambdify(args, stable, modules=[_NUMPY_FUNCS, "numpy"]),
        sp.lambdify(
            args, stable, modules=[_TORCH_FUNCS, "torch"],
            printer=TorchPrinter({"strict": False}),  # Softplus/Sigmoid come from the dict
        ),
    )
