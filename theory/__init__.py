"""SymPy side of advlandscape: derivations of the claims of Yamada, Kanai and Liu et al.

One module a claim topic, each exporting its SymPy expressions, a ``verify_<claim>()`` returning
symbolic :class:`Evidence`, and the expressions as lambdified float64 callables:
:mod:`theory.adversarial_loss` (Y-EQ7, Y-L1, INNER-MAX), :mod:`theory.hessian` (Y-HESS,
HESS-DEP, Y-EIG), :mod:`theory.theorem1` (Y-T1), :mod:`theory.random_noise` (Y-T2),
:mod:`theory.smoothness` (K-SMOOTH), :mod:`theory.budget` (L-BUDGET). :mod:`theory.claims` is
the table of claims and tolerances, :mod:`theory.evidence` what a check returns; the checks are
registered by claim id, and the verdicts computed, on the numerics side (:mod:`numerics.ledger`).
:mod:`theory.errors` and :mod:`theory.validate` are shared with :mod:`numerics`, which imports
them from here (this package imports nothing from :mod:`numerics`).
"""

from theory.claims import CLAIMS, TOLERANCES, Claim, claim_ids, get_claim
from theory.errors import (
    AdvLandscapeError,
    ConfigError,
    DataError,
    DivergenceError,
    ResultExistsError,
    ResultFileError,
)
from theory.evidence import Evidence

__all__ = [
    "CLAIMS",
    "TOLERANCES",
    "AdvLandscapeError",
    "Claim",
    "ConfigError",
    "DataError",
    "DivergenceError",
    "Evidence",
    "ResultExistsError",
    "ResultFileError",
    "claim_ids",
    "get_claim",
]
