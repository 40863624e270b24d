"""The data studies of Kanai et al. and Liu et al. by name: configs at a profile, and running one.

``smoothness`` (K-SMOOTH), ``budget`` (L-BUDGET), ``findings`` and ``pas`` (L-FINDINGS), each a
module of :mod:`numerics.experiments` with its config, runner, judge and evidence; and
``sensitivity``, Yamada et al.'s MNIST2 tables under the hyperparameters their text lost (its
record goes to ``results/mnist2/sensitivity.json``). The
``advlandscape liu-kanai`` command runs them through :func:`config_for` and :func:`run_study`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from numerics.experiments import budget, findings, pas, sensitivity, smoothness
from numerics.profiles import current_profile
from theory.claims import Evidence
from theory.errors import ConfigError

__all__ = ["STUDIES", "config_for", "judge_summary", "run_study"]

_MODULES = {"smoothness": smoothness, "budget": budget, "findings": findings, "pas": pas,
            "sensitivity": sensitivity}
STUDIES = tuple(_MODULES)
_CONFIGS: dict[str, type] = {"smoothness": smoothness.SmoothnessConfig,
                             "budget": budget.BudgetConfig,
                             "findings": findings.FindingsConfig, "pas": pas.PASConfig,
                             "sensitivity": sensitivity.SensitivityConfig}
_RUNNERS: dict[str, Callable[..., dict[str, Any]]] = {
    "smoothness": smoothness.run_smoothness, "budget": budget.run_budget,
    "findings": findings.run_findings, "pas": pas.run_pas,
    "sensitivity": sensitivity.run_sensitivity,
}


def _check(study: str) -> str:
    if study not in _MODULES:
        raise ConfigError(f"unknown study {study!r}: use one of {STUDIES}")
    return study


def config_for(study: str, profile: str | None = None, **overrides: Any) -> Any:
    """The config of ``study`` at ``profile`` (default: the current profile), with overrides.

    ``ci`` uses the config's defaults; ``full`` (and ``gpu``) the module's ``FULL`` sizes.
    """
    study, prof = _check(study), current_profile(profile)
    values = dict(_MODULES[study].FULL) if prof in ("full", "gpu") else {}
    values.update(overrides)
    values["profile"] = prof
    return _CONFIGS[study](**values)


def run_study(study: str, cfg: Any, progress: bool = True,
              checkpoint_dir: str | Path | None = None,
              stop_after: int | None = None, accept_stale: bool = False) -> dict[str, Any]:
    """Run one study on its config and return its results dict.

    Args:
        study: one of :data:`STUDIES`. cfg: its config. progress: show a progress bar.
        checkpoint_dir: folder of the study's checkpoint (``<study>.ckpt``): finished units are
            saved there and reused by a later call with the same config (None: no checkpoint).
        stop_after: interrupt (KeyboardInterrupt) after this many newly computed units; for
            tests of resumption.
        accept_stale: resume from a checkpoint of this config written by other code (sources or
            library versions changed); without it such a checkpoint is refused
            (:class:`theory.errors.StaleCheckpointError`).
    """
    return _RUNNERS[_check(study)](cfg, progress=progress, checkpoint_dir=checkpoint_dir,
                                   stop_after=stop_after, accept_stale=accept_stale)


def judge_summary(study: str, results: dict[str, Any]) -> str:
    """One line saying what a study's results show (its judge's summary)."""
    judges: dict[str, Callable[[dict[str, Any]], Evidence | dict[str, Any]]] = {
        "smoothness": smoothness.judge_smoothness, "budget": budget.judge_budget,
        "findings": findings.judge_findings, "pas": pas.judge_pas,
        "sensitivity": sensitivity.summary_line,
    }
    verdict = judges[_check(study)](results)
    return verdict.summary if isinstance(verdict, Evidence) else str(verdict)
