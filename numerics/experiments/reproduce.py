"""Reproduction: every study from scratch, each fresh record compared number by number with the
committed one.

:func:`compare_records` walks the ``results`` of a fresh record and of its committed reference
together and classifies every number:

* ``same``: equal to 1e-9 relative (the CPU code is deterministic: a rerun on the same machine
  gives the same bits);
* ``inside``: a seed mean (a ``{"mean", "sd", "n", "ci95"}`` summary) whose fresh value lies in
  the committed 95% interval over seeds;
* ``within``: inside the study's stated tolerance (:data:`DEFAULT_TOLERANCE` unless the study
  declares ``TOLERANCE``): ``|fresh - committed| <= atol + rtol |committed|``;
* ``differs``: beyond that, with the absolute and relative difference; a key present on one side
  only, or a changed text or flag, differs too.

Wall-clock fields (``seconds`` and ``*_seconds``) are not compared. The reference of a study at
a scale is its committed record ``results/<study>/<RESULT>`` when that was run at the scale,
else ``results/<study>/<scale>/<RESULT>`` (the committed ``ci`` references CI compares against).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from numerics.experiments.protocol import RESULTS_ROOT, Study

__all__ = ["DEFAULT_TOLERANCE", "Comparison", "committed_record", "compare_records",
           "plain_config", "reference_path", "render_markdown"]

#: The tolerance a study gets unless it declares ``TOLERANCE``: float64 code rerun with another
#: BLAS or thread count (reductions reordered) stays far inside it.
DEFAULT_TOLERANCE = {"rtol": 1e-6, "atol": 1e-9}
#: Fields not compared: wall-clock times.
SKIPPED = frozenset({"seconds"})
_SAME_RTOL = 1e-9
_KINDS = ("same", "inside", "within", "differs")


@dataclass
class Comparison:
    """How a fresh record compares with its reference: counts per class and the differences."""

    study: str
    reference: str | None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_KINDS, 0))
    differences: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""

    @property
    def passed(self) -> bool:
        """No number differs beyond its tolerance (and a reference existed)."""
        return self.reference is not None and self.counts["differs"] == 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {"study": self.study, "reference": self.reference, "passed": self.passed,
                "counts": dict(self.counts), "differences": self.differences,
                "note": self.note}


def reference_path(study: Study, scale: str, root: Path | None = None) -> Path | None:
    """The committed record a fresh run of ``study`` at ``scale`` is compared with, or None."""
    from numerics.records import read_result

    root = root or RESULTS_ROOT
    main = root / study.name / study.result_name(scale)
    if main.is_file() and read_result(main)["config"].get("profile") == scale:
        return main
    scaled = root / study.name / scale / study.result_name(scale)
    return scaled if scaled.is_file() else None


def plain_config(cfg: Any) -> Any:
    """A config as a record stores it (its JSON round trip), to compare with a record's."""
    import json

    from numerics.records.files import _jsonable

    return json.loads(json.dumps(_jsonable(cfg)))


def committed_record(name: str, profile: str) -> dict[str, Any]:
    """The committed record of study ``name`` that a notebook of ``profile`` shows (``gpu``:
    the full one; :func:`reference_path`), after checking that it is a run of the study's
    configuration at that scale in this code.

    Raises:
        ConfigError: no such record, or one of another configuration (a default changed since
            it was made): the message names the file, the fields that differ and the command
            that makes it again.
    """
    from numerics.experiments.registry import get_study
    from numerics.records import read_result
    from theory.errors import ConfigError

    study = get_study(name)
    scale = "full" if profile == "gpu" else profile
    path = reference_path(study, scale)
    remake = f"advlandscape study {name} --scale {scale}"
    if path is None:
        raise ConfigError(f"study {name} has no committed {scale} record: make it with "
                          f"`{remake}` and commit it")
    record = read_result(path)
    expected = plain_config(study.config_for(scale))
    if record["config"] != expected:
        fields = sorted(k for k in set(record["config"]) | set(expected)
                        if record["config"].get(k) != expected.get(k))
        raise ConfigError(
            f"{path} is not a run of study {name}'s {scale} configuration in this code "
            f"(fields that differ: {', '.join(fields)}): make it again with "
            f"`{remake} --out {path.parent} --overwrite`")
    return record


def _leaves(a: Any, b: Any, path: str) -> Iterator[tuple[str, Any, Any, Mapping | None]]:
    """(path, fresh, committed, the seed summary holding them or None), both trees at once."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        summary = b if {"mean", "ci95"} <= set(b) else None
        for key in list(a) + [k for k in b if k not in a]:
            if key in SKIPPED or str(key).endswith("_seconds"):
                continue
            sub = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                yield sub, a.get(key, "<absent>"), b.get(key, "<absent>"), None
            elif summary is not None and key == "mean":
                yield sub, a[key], b[key], summary
            else:
                yield from _leaves(a[key], b[key], sub)
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _leaves(x, y, f"{path}[{i}]")
    else:
        yield path, a, b, None


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _classify(a: Any, b: Any, summary: Mapping | None, tol: Mapping[str, float]
              ) -> tuple[str, float, float]:
    """(class, absolute difference, relative difference) of one leaf."""
    if not (_number(a) and _number(b)):
        return ("same" if a == b else "differs"), math.nan, math.nan
    a, b = float(a), float(b)
    if (math.isnan(a) and math.isnan(b)) or a == b:
        return "same", 0.0, 0.0
    diff = abs(a - b)
    rel = diff / abs(b) if b else math.inf
    if diff <= _SAME_RTOL * max(1.0, abs(b)):
        return "same", diff, rel
    ci = summary.get("ci95") if summary is not None else None
    if ci is not None and ci[0] <= a <= ci[1]:
        return "inside", diff, rel
    if diff <= tol["atol"] + tol["rtol"] * abs(b):
        return "within", diff, rel
    return "differs", diff, rel


def compare_records(study: str, fresh: Mapping[str, Any], committed: Mapping[str, Any] | None,
                    reference: str | None, tolerance: Mapping[str, float] | None = None,
                    keep: int = 20) -> Comparison:
    """Compare the ``results`` of two records of ``study`` (see the module docstring); the
    ``keep`` largest relative differences are listed."""
    out = Comparison(study, reference if committed is not None else None)
    if committed is None:
        out.note = "no committed record at this scale to compare with"
        return out
    tol = dict(DEFAULT_TOLERANCE, **(tolerance or {}))
    diffs = []
    for path, a, b, summary in _leaves(fresh["results"], committed["results"], ""):
        kind, diff, rel = _classify(a, b, summary, tol)
        out.counts[kind] += 1
        if kind == "differs":
            diffs.append({"path": path, "fresh": a, "committed": b, "abs": diff, "rel": rel})
    diffs.sort(key=lambda d: -(d["rel"] if _number(d["rel"]) and not math.isnan(d["rel"])
                               else math.inf))
    out.differences = diffs[:keep]
    out.note = f"tolerance rtol {tol['rtol']:g}, atol {tol['atol']:g}"
    return out


def render_markdown(comparisons: list[Comparison], scale: str, times: Mapping[str, float],
                    header: str = "") -> str:
    """``reproduction.md``: one row per study (counts, verdict, time), then each difference."""
    lines = [f"# Reproduction at the {scale} scale", ""]
    if header:
        lines += [header, ""]
    lines += ["| study | reference | same | inside seed interval | within tolerance | differs | "
              "time (s) | verdict |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for c in comparisons:
        verdict = ("reproduced" if c.passed else
                   "no reference" if c.reference is None else "DIFFERS")
        k = c.counts
        lines.append(f"| {c.study} | {c.reference or '-'} | {k['same']} | {k['inside']} | "
                     f"{k['within']} | {k['differs']} | {times.get(c.study, math.nan):.1f} | "
                     f"{verdict} |")
    for c in comparisons:
        if c.differences:
            lines += ["", f"## {c.study}: numbers beyond the tolerance ({c.note})", "",
                      "| number | fresh | committed | abs diff | rel diff |",
                      "| --- | --- | --- | --- | --- |"]
            lines += [f"| `{d['path']}` | {d['fresh']} | {d['committed']} | {d['abs']:.3g} | "
                      f"{d['rel']:.3g} |" for d in c.differences]
    return "\n".join(lines) + "\n"
