"""Tests of `advlandscape reproduce`: the number-by-number comparison of a fresh record with the
committed one, and a real reproduction at the ci scale against the committed ci references."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from numerics.cli import main
from numerics.experiments import registry
from numerics.experiments.reproduce import compare_records, reference_path


def _record(results: dict) -> dict:
    return {"config": {}, "results": results, "provenance": {}}


def test_compare_classifies_every_number() -> None:
    """Equal numbers are `same`, a seed mean inside the committed interval is `inside`, a small
    move is `within` the tolerance, a larger one `differs` (with its size), a changed flag or a
    missing key differs, and wall-clock `seconds` are not compared."""
    committed = _record({
        "acc": 91.25, "flag": True, "seconds": 3.0, "label": "x",
        "stats": {"mean": 10.0, "sd": 1.0, "n": 5, "ci95": [9.0, 11.0]},
        "eig": [1.0, 2.0], "gone": 1.0})
    fresh = _record({
        "acc": 91.25, "flag": False, "seconds": 99.0, "label": "x",
        "stats": {"mean": 10.5, "sd": 1.0, "n": 5, "ci95": [9.5, 11.5]},
        "eig": [1.0 + 1e-8, 2.5]})
    c = compare_records("toy", fresh, committed, "ref.json", {"rtol": 1e-6, "atol": 0.0})
    by_path = {d["path"]: d for d in c.differences}
    assert c.counts == {"same": 4, "inside": 1, "within": 1, "differs": 5}, c.counts
    assert set(by_path) == {"flag", "stats.ci95[0]", "stats.ci95[1]", "eig[1]", "gone"}
    assert by_path["eig[1]"]["abs"] == pytest.approx(0.5)
    assert not c.passed


def test_identical_records_pass_and_a_missing_reference_does_not() -> None:
    """A record equal to its reference is reproduced; no reference is never 'reproduced'."""
    rec = _record({"a": [1.0, math.nan], "b": {"c": 2}})
    assert compare_records("toy", rec, json.loads(json.dumps(rec)), "ref.json").passed
    none = compare_records("toy", rec, None, None)
    assert not none.passed
    assert "no committed record" in none.note


def test_every_study_has_a_ci_reference() -> None:
    """`reproduce --scale ci` has a committed record to compare every study with."""
    missing = [s.name for s in registry.STUDIES.values()
               if reference_path(s, s.reproduce.get("ci", "ci")) is None]
    assert not missing, f"commit ci references for {missing} (docs/adding_a_study.md, step 7)"


def test_reproduce_ci_against_the_committed_references(
        tmp_path: Path, data_root: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`advlandscape reproduce --scale ci --jobs 2` of two studies reruns them from scratch in
    two processes and finds every number of the committed ci reference again (exit 0). The
    longer one, mnist2_wd (1.5 of the 2 estimated minutes), is split into its parts (tables 1
    and 3), which run beside smoothness and are assembled into its one record, the reference's
    numbers to the last bit; the parts' folder is gone. Run again (one study at a time, in
    process), it reuses the finished records; a reference edited by one number makes it exit 1
    naming that number.

    The first run is the command a reviewer types, in its own process: the records depend on
    torch's default dtype (float32 for the command; these tests set float64), as the
    references, made by the command, do.

    Slow (about a minute on an idle 2-core machine): two whole studies at the ci scale, from
    scratch, are what a reproduction is; smaller sizes would have no committed reference."""
    out = tmp_path / "repro"
    argv = ["reproduce", "--scale", "ci", "--only", "smoothness", "mnist2_wd", "--out", str(out),
            "--no-progress"]
    run = subprocess.run([sys.executable, "-m", "numerics.cli", *argv, "--jobs", "2"],
                         capture_output=True,
                         text=True, env={**os.environ, "ADVLANDSCAPE_DATA": str(data_root)},
                         check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((out / "reproduction.json").read_text())
    assert report["passed"]
    assert [s["study"] for s in report["studies"]] == ["smoothness", "mnist2_wd"]
    for s in report["studies"]:
        assert s["counts"]["differs"] == 0, s
        assert s["counts"]["within"] == s["counts"]["inside"] == 0, s
        assert s["counts"]["same"] > 10, s
    assert report["parts"] == {"smoothness": 1, "mnist2_wd": 2}
    assert not (out / "mnist2_wd" / ".parts").exists()
    assert set(report["seconds"]) == {"smoothness", "mnist2_wd"}
    assert all(t > 0 for t in report["seconds"].values())
    assert "| smoothness |" in (out / "reproduction.md").read_text()
    mtime = (out / "mnist2_wd" / "mnist2.json").stat().st_mtime_ns
    assert main(argv) == 0
    assert (out / "mnist2_wd" / "mnist2.json").stat().st_mtime_ns == mtime  # reused

    # a reference with one number moved: reproduce says which, and exits 1
    import numerics.experiments.reproduce as reproduce_mod
    from numerics.records import read_result, write_result

    ref = reference_path(registry.get_study("mnist2_wd"), "ci")
    edited = read_result(ref)
    edited["results"]["tables"]["1"]["rows"][1]["train_acc"] *= 0.5
    root = tmp_path / "results"
    write_result(root / "mnist2_wd" / "ci" / "mnist2.json", edited["config"],
                 edited["results"])
    monkeypatch.setattr(reproduce_mod, "RESULTS_ROOT", root)
    assert main([*argv[:4], "mnist2_wd", *argv[6:]]) == 1
    report = json.loads((out / "reproduction.json").read_text())
    [diff] = report["studies"][0]["differences"]
    assert diff["path"] == "tables.1.rows[1].train_acc"
    assert diff["rel"] == pytest.approx(1.0)


def test_committed_record_is_checked_to_be_a_run_of_this_configuration(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a notebook shows: the committed record of its profile (gpu: the full one), refused
    with the fields that differ and the command that makes it again when a default changed
    since it was made, and refused by name when there is none."""
    import shutil

    import numerics.experiments.reproduce as reproduce_mod
    from numerics.experiments.reproduce import committed_record
    from numerics.records import read_result, write_result
    from theory.errors import ConfigError

    assert committed_record("smoothness", "ci")["config"]["profile"] == "ci"
    assert committed_record("smoothness", "gpu")["config"]["profile"] == "full"
    root = tmp_path / "results"
    ref = reference_path(registry.get_study("smoothness"), "ci")
    edited = read_result(ref)
    edited["config"]["n_samples"] += 1
    write_result(root / "smoothness" / "ci" / "smoothness.json", edited["config"],
                 edited["results"])
    monkeypatch.setattr(reproduce_mod, "RESULTS_ROOT", root)
    with pytest.raises(ConfigError, match=r"fields that differ: n_samples\).*advlandscape study "
                                          r"smoothness --scale ci --out"):
        committed_record("smoothness", "ci")
    shutil.rmtree(root / "smoothness")
    with pytest.raises(ConfigError, match="no committed ci record"):
        committed_record("smoothness", "ci")
