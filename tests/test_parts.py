"""A study split into its parts (numerics.experiments.parts): the parts partition its units, and
their units merged give the record of one whole run, bit for bit."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from numerics.experiments import registry
from numerics.experiments.parts import merge, split
from theory.errors import ConfigError


def _no_seconds(obj: Any) -> Any:
    """A results dict without its wall-clock fields."""
    if isinstance(obj, dict):
        return {k: _no_seconds(v) for k, v in obj.items() if "seconds" not in k}
    if isinstance(obj, list):
        return [_no_seconds(v) for v in obj]
    return obj


@pytest.mark.parametrize("scale", ["ci", "full"])
def test_parts_partition_every_splitting_study(scale: str) -> None:
    """For every registered study with AXES, the parts are the product of the axes' values and
    their units are the study's units, each once; a study without AXES is one part."""
    splitting = []
    for study in registry.STUDIES.values():
        if scale not in study.scales:
            continue
        cfg = study.config_for(scale)
        parts = split(study, cfg)
        names = [n for p in parts for n in study.unit_names(p)]
        assert sorted(names) == sorted(study.unit_names(cfg)), study.name
        sizes = [len(getattr(cfg, f)) for f in study.axes.values()
                 if getattr(cfg, f) is not None]
        expected = 1
        for size in sizes:
            expected *= size
        assert len(parts) == expected, study.name
        if study.axes:
            splitting.append(study.name)
    assert {"sensitivity", "pas", "mnist2", "cifar2", "mnist2_wd"} <= set(splitting)


def test_axes_that_do_not_split_the_units_are_refused() -> None:
    """Axes whose product repeats units (findings' two grids are not a product: each part would
    train every MLP again) are refused naming the study and a unit, not run."""
    findings = registry.get_study("findings")
    wrong = dataclasses.replace(findings, axes={"eps": "eps_grid", "ratio": "logistic_ratios"})
    with pytest.raises(ConfigError, match=r"findings: its AXES .* do not split its units"):
        split(wrong, findings.config_for("ci"))


@pytest.fixture(scope="module")
def small_mnist2(data_root: Path) -> tuple[Any, Any, dict[str, Any]]:
    """The MNIST2 study, a small config of it (two tables, two seeds) and its whole run."""
    study = registry.get_study("mnist2")
    cfg = study.config_for("ci", n_train=200, n_test=100, tables=(1, 3), seeds=(0, 1),
                           landscape_points=3, landscape_n=50)
    return study, cfg, registry.run_study("mnist2", cfg)


def test_parts_merged_are_the_whole_run_bit_for_bit(
        tmp_path: Path, small_mnist2: tuple[Any, Any, dict[str, Any]]) -> None:
    """MNIST2 at a small size with two tables and two seeds, run whole and as its four parts
    (table, seed) in their own checkpoint folders: the parts' units merged, the study run at
    the whole config computes none again (stop_after=0 would interrupt it) and its results are
    the whole run's, every number equal."""
    study, cfg, whole = small_mnist2
    parts = split(study, cfg)
    assert [(p.tables, p.seeds) for p in parts] == [((1,), (0,)), ((1,), (1,)), ((3,), (0,)),
                                                    ((3,), (1,))]
    folders = []
    for i, part in enumerate(parts):
        folders.append(tmp_path / str(i))
        registry.run_study("mnist2", part, checkpoint_dir=folders[-1])
    merged_dir = tmp_path / "merged"
    merged_dir.mkdir()
    assert merge(study, cfg, list(zip(parts, folders, strict=True)), merged_dir) == 4
    merged = registry.run_study("mnist2", cfg, checkpoint_dir=merged_dir, stop_after=0)
    assert _no_seconds(merged) == _no_seconds(whole)


def test_reproduce_takes_over_the_units_of_interrupted_parts(
        tmp_path: Path, small_mnist2: tuple[Any, Any, dict[str, Any]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A split run of `reproduce --jobs` interrupted after two of its four parts (their
    checkpoints in `.parts/<i>/` beside the record), run again whole: the study takes their
    units over and computes only the two others (stop_after=2 would interrupt a third), its
    record has every number of the whole run, and the parts' folder goes with the record
    written."""
    import numerics.experiments.protocol as protocol_mod
    from numerics.cli.reproduce import _run_one, _Share
    from numerics.experiments.reproduce import compare_records
    from numerics.records import read_result
    from numerics.records.files import _jsonable

    study, cfg, whole = small_mnist2
    record = tmp_path / "mnist2" / "mnist2.json"
    parts = split(study, cfg)
    for i in (0, 3):
        registry.run_study("mnist2", parts[i], checkpoint_dir=record.parent / ".parts" / str(i))
    execute = protocol_mod.execute
    monkeypatch.setattr(protocol_mod, "execute",
                        lambda *a, **k: execute(*a, **{**k, "stop_after": 2}))

    class Bar:
        n, total = 0.0, 1e9

        def update(self, n: float = 1) -> None:
            self.n += n

    bar = Bar()
    _run_one(study, cfg, record, _Share(bar, 1.0), fresh=False, resume_stale=False,
             progress=True)
    assert bar.n == 4  # two units taken over, two computed
    c = compare_records("mnist2", read_result(record),
                        {"config": {}, "results": _jsonable(whole), "provenance": {}}, "whole")
    assert c.counts["same"] > 100, c.counts
    assert c.counts["differs"] == 0, c.counts
    assert c.counts["inside"] == c.counts["within"] == 0, c.counts
    assert not (record.parent / ".parts").exists()
