"""The registry of studies, read from the attributes each study module declares.

Every study of :mod:`numerics.experiments` (the face is in :mod:`numerics.experiments.protocol`)
is listed once in :data:`STUDY_MODULES`; :data:`STUDIES` is built from their attributes. The
command line (``advlandscape study``, ``reproduce``, ``sweep``), the ledger's data evidence
(:func:`evidence_by_claim`) and the tests all read this one table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from numerics.experiments import (
    budget,
    cifar2,
    findings,
    madry_cnn,
    mnist2_wd,
    pas,
    sensitivity,
    smoothness,
)
from numerics.experiments.mnist2 import study as mnist2
from numerics.experiments.protocol import Study
from numerics.experiments.resnet import study as resnet
from numerics.experiments.units import Units
from theory.claims import Evidence
from theory.errors import ConfigError

__all__ = ["STUDIES", "STUDY_MODULES", "config_for", "evidence_by_claim", "get_study",
           "run_study"]

#: Every study module, in the order ``reproduce`` runs them and the ledger lists evidence.
STUDY_MODULES = (mnist2, mnist2_wd, cifar2, sensitivity, smoothness, budget, findings, pas,
                 resnet, madry_cnn)

#: name -> :class:`numerics.experiments.protocol.Study`.
STUDIES: dict[str, Study] = {s.name: s for s in map(Study.from_module, STUDY_MODULES)}


def get_study(name: str) -> Study:
    """The study called ``name``; a ConfigError listing the known ones otherwise."""
    study = STUDIES.get(str(name).strip().lower())
    if study is None:
        raise ConfigError(f"unknown study {name!r}: use one of {', '.join(STUDIES)} "
                          "(`advlandscape study --list`)")
    return study


def config_for(name: str, scale: str = "full", **overrides: Any) -> Any:
    """The validated config of study ``name`` at ``scale``, with ``overrides``."""
    return get_study(name).config_for(scale, **overrides)


def run_study(name: str, cfg: Any, *, checkpoint_dir: str | Path | None = None,
              progress: Any = False, stop_after: int | None = None,
              accept_stale: bool = False) -> dict[str, Any]:
    """Run study ``name`` at ``cfg`` in process and return its results (no record written).

    Finished units are checkpointed in ``checkpoint_dir`` (``<study>.ckpt``) and reused by a
    later call at the same config; ``stop_after`` interrupts (KeyboardInterrupt) after that many
    newly computed units (tests of resumption); a checkpoint written by other code is refused
    unless ``accept_stale``. The study runs on its ``THREADS`` when it declares them, its freed
    arrays reused (:func:`numerics.allocator.reuse_freed_memory`), as under ``execute``.
    """
    from numerics.allocator import reuse_freed_memory
    from numerics.experiments.protocol import torch_threads

    study = get_study(name)
    units = Units(study.name, cfg, len(study.unit_names(cfg)), checkpoint_dir=checkpoint_dir,
                  stop_after=stop_after, progress=progress, accept_stale=accept_stale)
    try:
        with torch_threads(study.threads), reuse_freed_memory():
            return study.run(cfg, units)
    finally:
        units.close()


def evidence_by_claim() -> dict[str, list[Callable[[], Evidence]]]:
    """The data evidence every study registers, by claim id, in registry order."""
    out: dict[str, list[Callable[[], Evidence]]] = {}
    for study in STUDIES.values():
        for claim, func in study.evidence.items():
            out.setdefault(claim, []).append(func)
    return out
