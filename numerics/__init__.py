"""PyTorch side of advlandscape: the formulas of :mod:`theory` on data, attacks, training,
curvature, landscapes, experiments.

Layers, each importing only those above it:

* :mod:`numerics.ops`: the one numeric home of zeta, the dual norm, the robust margin, loss and
  gradient (float64-exact);
* :mod:`numerics.attacks` (the :class:`AttackSpec`, generic PGD, noise),
  :mod:`numerics.spectra` (top eigenvalues, power iteration, Hutchinson's trace of an operator),
  :mod:`numerics.stats` (Spearman, monotonicity), :mod:`numerics.validate`;
* two model families: :mod:`numerics.linear` (logistic regression, batched over models) and
  :mod:`numerics.nets` (``torch.nn`` networks);
* :mod:`numerics.data` (readers, checksums, downloads), :mod:`numerics.checks` (the formulas
  against autograd), :mod:`numerics.experiments` (one module a study), :mod:`numerics.records`
  (records with provenance), :mod:`numerics.profiles`;
* :mod:`numerics.ledger`: the claims' checks, registered by claim id, and the verdicts computed
  from them;
* tooling: :mod:`numerics.cli` (the ``advlandscape`` command), :mod:`numerics.report` (the
  notebooks' HTML site), :mod:`numerics.display` (what notebooks display).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from numerics.attacks import (
        AttackSpec,
        pgd_on_loss,
        project_ball,
        project_ball_box,
        random_noise,
        uniform_ball_noise,
    )
    from numerics.ops import (
        dual_norm,
        inner_max_perturbation,
        margins,
        robust_direction,
        robust_gradient,
        robust_loss,
        robust_loss_and_grad,
        robust_margin,
        zeta,
    )
    from numerics.spectra import hutchinson_trace, power_iteration, top_hessian_eigs
    from numerics.stats import increasing, spearman

__all__ = [
    "AttackSpec",
    "dual_norm",
    "hutchinson_trace",
    "increasing",
    "inner_max_perturbation",
    "margins",
    "pgd_on_loss",
    "power_iteration",
    "project_ball",
    "project_ball_box",
    "random_noise",
    "robust_direction",
    "robust_gradient",
    "robust_loss",
    "robust_loss_and_grad",
    "robust_margin",
    "spearman",
    "top_hessian_eigs",
    "uniform_ball_noise",
    "zeta",
]

#: Where each name of ``__all__`` lives. They are imported on first use (PEP 562), so that a
#: process needing only a light module (``numerics.profiles`` in a notebook's first cell, the
#: ``advlandscape`` command's argument parsing) does not pay torch's import, about 2 s.
_HOMES = {
    **dict.fromkeys(("AttackSpec", "pgd_on_loss", "project_ball", "project_ball_box",
                     "random_noise", "uniform_ball_noise"), "numerics.attacks"),
    **dict.fromkeys(("dual_norm", "inner_max_perturbation", "margins", "robust_direction",
                     "robust_gradient", "robust_loss", "robust_loss_and_grad", "robust_margin",
                     "zeta"), "numerics.ops"),
    **dict.fromkeys(("hutchinson_trace", "power_iteration", "top_hessian_eigs"),
                    "numerics.spectra"),
    **dict.fromkeys(("increasing", "spearman"), "numerics.stats"),
}


def __getattr__(name: str) -> Any:
    """A name of ``__all__``, imported from its module on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module 'numerics' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
