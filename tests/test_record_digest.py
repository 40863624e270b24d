"""Results records carry a digest: an edited record is refused, never judged.

``write_result`` adds ``"digest"`` (SHA-256 of the canonical JSON of config, results and
provenance) and writes NaN and infinities as ``{"__float__": ...}``; ``read_result`` recomputes the
digest and raises RecordEditedError on a mismatch, and refuses a record without one, saying how
to stamp it (``python -m numerics.records.digest``).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any, ClassVar

import pytest

from numerics.records import digest as stamping
from numerics.records import read_json, read_result, write_json, write_result
from numerics.records.files import record_digest
from theory.errors import RecordEditedError, ResultFileError

REPO = Path(__file__).resolve().parent.parent
EDITED = "edited: its content does not match its digest; re-create it with the command in its " \
         "provenance, or restore it from git"


def _record(tmp_path: Path) -> Path:
    return write_result(tmp_path / "r.json", {"eps": [0.1, 0.5], "norm": "l2"},
                        {"loss": 0.25, "acc": [0.9, 0.8], "nested": {"gap": 1e-3}}, seed=3)


def _edit(path: Path, change: object) -> None:
    """Change the stored JSON of ``path`` with ``change(record)``, keeping its digest."""
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record, indent=2) + "\n")


def test_round_trip_with_nan_and_infinities(tmp_path: Path) -> None:
    """NaN, +inf and -inf come back as floats; the file is strict JSON, no bare tokens, and
    says what they are."""
    import numpy as np
    import torch

    results = {"loss": math.nan, "bound": math.inf, "low": -math.inf, "ok": 1.5,
               "arr": np.array([1.0, np.nan]), "t": torch.tensor([float("inf")]),
               "np": np.float64("-inf"), "text": "nan"}
    path = write_result(tmp_path / "r.json", {"eps": math.inf}, results)
    text = path.read_text()
    assert "NaN," not in text
    assert "Infinity," not in text
    json.loads(text, parse_constant=lambda t: pytest.fail(f"bare {t} in the file"))
    assert '{\n      "__float__": "NaN"\n    }' in text
    record = read_result(path)
    back = record["results"]
    assert math.isnan(back["loss"])
    assert math.isnan(back["arr"][1])
    assert (back["bound"], back["low"], back["np"]) == (math.inf, -math.inf, -math.inf)
    assert (back["t"], back["ok"], back["arr"][0]) == ([math.inf], 1.5, 1.0)
    assert back["text"] == "nan"  # a string stays a string
    assert record["config"]["eps"] == math.inf
    assert record["digest"] == record_digest(json.loads(text))
    # write_json (no digest) encodes the same way, and read_json decodes
    other = write_json(tmp_path / "o.json", {"x": [math.nan, -math.inf]})
    assert "NaN," not in other.read_text()
    x = read_json(other)["x"]
    assert math.isnan(x[0])
    assert x[1] == -math.inf


def test_a_mapping_that_looks_like_the_float_wrapper_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="__float__"):
        write_result(tmp_path / "r.json", {}, {"odd": {"__float__": "NaN"}})
    assert not (tmp_path / "r.json").exists()


def test_bare_nan_token_is_refused_not_read(tmp_path: Path) -> None:
    """A file with a bare NaN (Python's json writes it; advlandscape does not) is refused."""
    path = tmp_path / "r.json"
    path.write_text('{"config": {}, "results": {"loss": NaN}, "provenance": {}}')
    with pytest.raises(ResultFileError, match=r"bare NaN token.*restore it from git") as info:
        read_result(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("edit", ["number", "config", "deleted key", "provenance", "digest"])
def test_edited_record_is_refused_naming_the_file(tmp_path: Path, edit: str) -> None:
    path = _record(tmp_path)
    read_result(path)
    change = {
        "number": lambda r: r["results"].__setitem__("loss", 0.26),
        "config": lambda r: r["config"]["eps"].__setitem__(1, 0.6),
        "deleted key": lambda r: r["results"]["nested"].pop("gap"),
        "provenance": lambda r: r["provenance"].__setitem__("seed", 4),
        "digest": lambda r: r.__setitem__("digest", "sha256:" + "0" * 64),
    }[edit]
    _edit(path, change)
    with pytest.raises(RecordEditedError) as info:
        read_result(path)
    assert str(path) in str(info.value)
    assert EDITED in str(info.value)
    assert isinstance(info.value, ResultFileError)  # the ledger reports it as invalid data


def test_reformatting_a_record_is_not_an_edit(tmp_path: Path) -> None:
    """The digest is over the content, not the layout: re-indenting or reordering keys keeps
    the record readable."""
    path = _record(tmp_path)
    record = json.loads(path.read_text())
    path.write_text(json.dumps(record, sort_keys=True))
    assert read_result(path)["results"]["loss"] == 0.25


def _legacy(tmp_path: Path) -> Path:
    """A record as written before records carried a digest."""
    path = _record(tmp_path)
    record = json.loads(path.read_text())
    del record["digest"]
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def test_record_without_digest_is_refused_with_how_to_stamp_it(tmp_path: Path) -> None:
    path = _legacy(tmp_path)
    with pytest.raises(ResultFileError, match="has no digest") as info:
        read_result(path)
    assert not isinstance(info.value, RecordEditedError)
    assert "running the command in its provenance again" in str(info.value)
    assert f"python -m numerics.records.digest {path}" in str(info.value)


def test_stamping_adds_the_digest_once_and_refuses_an_edited_record(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _legacy(tmp_path)
    before = json.loads(path.read_text())
    assert stamping.main(["--note", "to the record as it was committed", str(path)]) == 0
    assert "stamped" in capsys.readouterr().out
    record = read_result(path)
    assert record["results"] == before["results"]
    assert record["config"] == before["config"]
    assert record["provenance"]["digest_added"].endswith(", to the record as it was committed")
    assert {k: v for k, v in record["provenance"].items() if k != "digest_added"} \
        == before["provenance"]
    assert list(record) == ["config", "results", "provenance", "digest"]
    # stamped again: matches, left byte for byte as it is
    text = path.read_text()
    assert stamping.main([str(path)]) == 0
    assert "already stamped" in capsys.readouterr().out
    assert path.read_text() == text
    # edited after stamping: not stamped again (that would accept the edit), file untouched
    _edit(path, lambda r: r["results"].__setitem__("loss", 0.3))
    edited = path.read_text()
    assert stamping.main([str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert EDITED in err
    assert path.read_text() == edited
    # not a record at all
    other = tmp_path / "x.json"
    other.write_text("{}")
    with pytest.raises(ResultFileError, match="not a results record"):
        stamping.stamp(other)


def test_every_committed_record_is_stamped_and_reads() -> None:
    files = [p for p in sorted((REPO / "results").rglob("*.json"))
             if "reproduction" not in p.name]
    assert files
    for path in files:
        record = read_result(path)  # checks the digest
        assert record["digest"].startswith("sha256:"), path


# --------------------------------------------------------------------------------------------
# an edited sweep unit record stops the merge


class _Halves:
    """A tiny sweep experiment, run in this process: unit x gives {"half": x / 2}."""

    name = "halves"
    grid_keys: ClassVar[dict[str, str]] = {"x": "a number"}

    def units(self, spec: Any) -> list[Any]:
        from numerics.sweep.experiments import Unit

        return [Unit(self.name, (("x", x),), {"x": x}) for _k, xs in spec.grid for x in xs]

    def run(self, config: Any, checkpoint_dir: Path) -> tuple[Any, dict[str, Any]]:
        return {"half": config["x"] / 2}, {}

    def merge(self, spec: Any, units: list[Any], results: list[Any]
              ) -> tuple[Any, dict[str, Any]]:
        return {"halves": [r["half"] for r in results]}, {"x": [u.config["x"] for u in units]}


def test_edited_sweep_unit_record_stops_the_merge(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit record changed by hand after its sweep ran: the rerun's merge refuses it, naming
    the file, and the merged record is not replaced."""
    from numerics.sweep import LocalExecutor, parse_spec, run_sweep
    from numerics.sweep.experiments import EXPERIMENTS

    monkeypatch.setitem(EXPERIMENTS, "halves", _Halves())
    spec = parse_spec({"experiment": "halves", "grid": {"x": [1.0, 3.0]}}, "tiny")
    out = tmp_path / "out"
    run_sweep(spec, out, LocalExecutor(), progress=False, say=lambda _m: None)
    assert read_result(out / "sweep.json")["results"]["merged"] == {"halves": [0.5, 1.5]}
    unit = sorted((out / "units").glob("*.json"))[0]
    _edit(unit, lambda r: r["results"].__setitem__("half", r["results"]["half"] + 0.125))
    merged = (out / "sweep.json").read_text()
    with pytest.raises(RecordEditedError) as info:
        run_sweep(spec, out, LocalExecutor(), overwrite=True, progress=False,
                  say=lambda _m: None)
    assert str(unit) in str(info.value)
    assert EDITED in str(info.value)
    assert "delete it and run the sweep again" in str(info.value)
    assert (out / "sweep.json").read_text() == merged  # the merged record was not replaced
    unit.unlink()  # as the message says: the unit runs again, the merge is the true one
    run_sweep(spec, out, LocalExecutor(), overwrite=True, progress=False, say=lambda _m: None)
    assert read_result(out / "sweep.json")["results"]["merged"] == {"halves": [0.5, 1.5]}


# --------------------------------------------------------------------------------------------
# through the ledger: an edited record is "not verified", never "fails"


def test_verify_on_an_edited_budget_record_is_not_verified_never_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """One number of the committed budget record changed by hand (a loss gain, which alone
    flips the claim's data verdict): `verify --claim L-BUDGET --data` reports the data
    evidence as not verified, naming the file, and never says 'fails'."""
    import numerics.experiments.units as units
    from numerics.cli import main
    from numerics.experiments.budget import judge_budget

    source = REPO / "results" / "budget" / "budget.json"
    copy = tmp_path / "results" / "budget" / "budget.json"
    copy.parent.mkdir(parents=True)
    shutil.copy(source, copy)
    record = json.loads(copy.read_text())
    first = record["results"]["exact"][0]  # a run below eps*: w = 0 must be beaten there
    assert first["ratio"] < 1
    assert first["loss_minus_reference"] < 0
    first["loss_minus_reference"] = -first["loss_minus_reference"]
    assert not judge_budget(record["results"]).passed  # read without its digest: "fails"
    copy.write_text(json.dumps(record, indent=2) + "\n")
    monkeypatch.setattr(units, "RESULTS_ROOT", tmp_path / "results")

    code = main(["verify", "--claim", "L-BUDGET", "--data"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    data = [line for line in lines if line.split()[1:2] == ["data"]]
    assert len(data) == 1, out
    assert data[0].split()[:4] == ["--", "data", "not", "verified"], data  # ran=False, not "NO"
    assert "(invalid data file: result file" in data[0]
    assert str(copy) in data[0]
    assert EDITED in data[0]
    assert lines[0].startswith("L-BUDGET")
    assert "fails" not in lines[0], lines[0]
    assert "fails" not in data[0]
    assert "crashed" not in out
