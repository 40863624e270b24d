"""A study split into independent parts along its ``AXES``, and the parts' units merged back.

A study may declare ``AXES = {grid key: config field}`` (:mod:`numerics.experiments.protocol`):
tuple fields of its config such that the study at the config with each of these fields narrowed
to one of its values computes exactly the units of that value, with the same results (every unit
is seeded from the config's seed and its own name alone,
:func:`numerics.experiments.units.unit_seed`). :func:`split` gives those narrowed configs, one
per combination of the values, and checks that their units partition the whole config's units;
:func:`merge` writes the parts' finished units as the checkpoint of the whole config, so that
the study run at the whole config (:func:`numerics.experiments.protocol.execute`) computes none
of them again and only assembles its record, the same record as one run of the whole.
``advlandscape reproduce --jobs`` runs the parts of a study side by side this way, and
``advlandscape sweep`` takes the axes as its grid keys.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from numerics.experiments.units import save_unit_results, unit_results
from theory.errors import ConfigError

__all__ = ["merge", "split"]


def split(study: Any, cfg: Any) -> list[Any]:
    """The parts of ``study`` (:class:`numerics.experiments.protocol.Study`) at ``cfg``: the
    config with each field of ``study.axes`` narrowed to one value, for every combination of
    their values, in the config's order (an axis whose field is None at ``cfg`` is not split).
    ``[cfg]`` for a study without axes.

    Raises:
        ConfigError: the parts' units do not partition ``study.unit_names(cfg)`` (a unit
            missing or computed twice: the study's ``AXES`` are wrong, a bug).
    """
    fields = [f for f in dict.fromkeys(study.axes.values()) if getattr(cfg, f) is not None]
    if not fields:
        return [cfg]
    parts = [dataclasses.replace(cfg, **{f: (v,) for f, v in zip(fields, combo, strict=True)})
             for combo in itertools.product(*(getattr(cfg, f) for f in fields))]
    counts = Counter(name for part in parts for name in study.unit_names(part))
    whole = Counter(study.unit_names(cfg))
    if counts != whole:
        missing = sorted((whole - counts).elements())
        extra = sorted((counts - whole).elements())
        raise ConfigError(f"study {study.name}: its AXES {dict(study.axes)} do not split its "
                          f"units into parts (missing {missing[:3]}, extra or repeated "
                          f"{extra[:3]}): a bug, report it")
    return parts


def merge(study: Any, cfg: Any, parts: Iterable[tuple[Any, Path]], checkpoint_dir: Path, *,
          accept_stale: bool = False) -> int:
    """Write the finished units of the parts ``(part config, its checkpoint folder)``, with any
    already in ``checkpoint_dir`` for ``cfg``, as the checkpoint of ``study`` at ``cfg`` in
    ``checkpoint_dir``; the number of units it holds. A part's checkpoint written by other code
    is refused unless ``accept_stale`` (:func:`numerics.experiments.units.unit_results`)."""
    runs = unit_results(study.name, cfg, checkpoint_dir, accept_stale)
    for part, folder in parts:
        runs.update(unit_results(study.name, part, folder, accept_stale))
    save_unit_results(study.name, cfg, checkpoint_dir, runs)
    return len(runs)
