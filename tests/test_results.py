"""Results records: atomic writes, no silent overwrite, provenance, clear errors on bad files."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from numerics.records import (
    CHECKPOINT_FORMAT,
    atomic_write_bytes,
    code_version,
    describe_code_change,
    load_checkpoint,
    provenance,
    read_checkpoint,
    read_result,
    save_checkpoint,
    write_result,
)
from theory.errors import (
    ResultExistsError,
    ResultFileError,
    ResultWriteError,
    StaleCheckpointError,
)


def test_write_and_read_result(tmp_path: Path) -> None:
    path = write_result(tmp_path / "r.json", {"eps": [0.0, 0.1]}, {"acc": torch.tensor([1.0])},
                        seed=3)
    record = read_result(path)
    assert record["config"] == {"eps": [0.0, 0.1]}
    assert record["results"] == {"acc": [1.0]}
    prov = record["provenance"]
    assert prov["seed"] == 3
    assert {"python", "torch", "numpy", "sympy"} <= set(prov["versions"])
    assert prov["git_commit"]
    assert prov["device"].startswith("cpu")


def test_existing_result_is_not_overwritten(tmp_path: Path) -> None:
    path = write_result(tmp_path / "r.json", {}, {"v": 1})
    with pytest.raises(ResultExistsError, match="--overwrite"):
        write_result(path, {}, {"v": 2})
    assert read_result(path)["results"] == {"v": 1}
    write_result(path, {}, {"v": 2}, overwrite=True)
    assert read_result(path)["results"] == {"v": 2}


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = write_result(tmp_path / "r.json", {}, {"v": 1})

    class Boom:
        def tolist(self) -> None:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_result(path, {}, {"v": Boom()}, overwrite=True)
    assert read_result(path)["results"] == {"v": 1}
    assert sorted(os.listdir(tmp_path)) == ["r.json"]


def test_atomic_write_cleans_up_when_interrupted(tmp_path: Path, monkeypatch) -> None:
    def fail_replace(src: str, dst: str) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", fail_replace)
    with pytest.raises(OSError, match="simulated"):
        atomic_write_bytes(tmp_path / "x.bin", b"data")
    assert os.listdir(tmp_path) == []


def test_invalid_json_gets_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"config": {}, "results": [1, 2,')
    with pytest.raises(ResultFileError, match=r"not valid JSON.*--overwrite"):
        read_result(path)
    path.write_text(json.dumps({"results": 1}))
    with pytest.raises(ResultFileError, match="lacks"):
        read_result(path)
    with pytest.raises(ResultFileError, match="does not exist"):
        read_result(tmp_path / "absent.json")


def test_non_finite_values_stay_visible(tmp_path: Path) -> None:
    path = write_result(tmp_path / "r.json", {}, {"loss": float("nan")})
    assert '"__float__": "NaN"' in path.read_text()
    assert math.isnan(read_result(path)["results"]["loss"])


def test_checkpoint_round_trip_and_corruption(tmp_path: Path) -> None:
    state = {"step": 7, "w": torch.arange(3.0), "rng": torch.get_rng_state()}
    path = save_checkpoint(tmp_path / "c.pt", state)
    back = load_checkpoint(path)
    assert back["step"] == 7
    assert torch.equal(back["w"], state["w"])
    assert load_checkpoint(tmp_path / "none.pt") is None
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ResultFileError, match=r"torn .*--fresh"):
        load_checkpoint(path)
    path.write_bytes(b"")
    with pytest.raises(ResultFileError, match="0 bytes"):
        load_checkpoint(path)


def test_checkpoint_keeps_plain_types_exactly(tmp_path: Path) -> None:
    """What a checkpoint holds comes back with its types: tuples stay tuples, int keys stay
    ints, NaN stays NaN, generator states and tensors are bit-identical."""
    gen = torch.Generator().manual_seed(3)
    state = {"t": (1, 2.5, "a", None, True), "ints": {0: [1, 2], 7: {"x": -0.0}},
             "nan": float("nan"), "rng": gen.get_state(),
             "w": torch.randn(4, generator=gen, dtype=torch.float64)}
    back = load_checkpoint(save_checkpoint(tmp_path / "c.pt", state))
    assert back["t"] == state["t"]
    assert isinstance(back["t"], tuple)
    assert back["ints"] == state["ints"]
    assert back["nan"] != back["nan"]
    assert torch.equal(back["rng"], state["rng"])
    assert torch.equal(back["w"], state["w"])
    assert back["w"].dtype == torch.float64


@pytest.mark.parametrize(("value", "named"), [
    (np.float64(1.0), "numpy.float64"),
    (np.zeros(2), "numpy.ndarray"),
    (Path("x"), "Path"),
    ({1.5: 1}, "float"),
])
def test_save_checkpoint_refuses_what_a_safe_load_could_not_read(
        tmp_path: Path, value: object, named: str) -> None:
    """numpy values, paths, objects, float keys: TypeError naming where in the state, before
    anything is written (the previous checkpoint stays as it was)."""
    path = save_checkpoint(tmp_path / "c.pt", {"epoch": 1})
    before = path.read_bytes()
    with pytest.raises(TypeError, match=named) as info:
        save_checkpoint(path, {"epoch": 2, "units": {"run/1": {"acc": value}}})
    assert "run/1" in str(info.value)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["c.pt"]


def test_checkpoint_records_the_code_that_wrote_it(tmp_path: Path) -> None:
    """The file holds the format, the code version (a digest per source file of theory/ and
    numerics/, the report's site builder excepted, and the library versions) and the state."""
    path = save_checkpoint(tmp_path / "c.pt", {"epoch": 1})
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == CHECKPOINT_FORMAT
    assert raw["code"] == code_version()
    assert raw["state"] == {"epoch": 1}
    sources = code_version()["sources"]
    assert "numerics/records/checkpoints.py" in sources
    assert "theory/claims.py" in sources
    assert not any(name.startswith("numerics/report/") for name in sources)
    assert set(code_version()["libraries"]) >= {"python", "numpy", "torch", "sympy"}
    checkpoint = read_checkpoint(path)
    assert checkpoint.state == {"epoch": 1}
    assert checkpoint.stale == ""


def _other_code(changed: str = "numerics/ops.py", torch_version: str = "0.0.1") -> dict:
    code = json.loads(json.dumps(code_version()))
    code["sources"][changed] = "0" * 16
    code["sources"]["numerics/gone.py"] = "1" * 16
    code["libraries"]["torch"] = torch_version
    return code


def test_describe_code_change_names_files_and_libraries() -> None:
    now = code_version()
    assert describe_code_change(now, now) == ""
    old = _other_code()
    del old["sources"]["theory/budget.py"]
    text = describe_code_change(old, now)
    assert "changed: numerics/ops.py" in text
    assert "added: theory/budget.py" in text
    assert "removed: numerics/gone.py" in text
    assert f"torch 0.0.1 -> {now['libraries']['torch']}" in text
    many = json.loads(json.dumps(now))
    many["sources"] = {name: "x" for name in many["sources"]}
    assert f"and {len(now['sources']) - 5} more" in describe_code_change(many, now)
    assert "did not record" in describe_code_change(None, now)


def test_stale_checkpoint_refused_unless_accepted(tmp_path: Path) -> None:
    """A checkpoint written by other code: StaleCheckpointError naming what changed and both
    ways on (--fresh, --resume-stale); accept_stale=True returns its state."""
    path = tmp_path / "c.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "code": _other_code(), "state": {"epoch": 4}}, path)
    with pytest.raises(StaleCheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    for word in (str(path), "numerics/ops.py", "torch 0.0.1", "--fresh", "--resume-stale"):
        assert word in message, word
    assert load_checkpoint(path, accept_stale=True) == {"epoch": 4}
    assert "numerics/ops.py" in read_checkpoint(path).stale


def test_accepted_staleness_is_carried_by_later_saves(tmp_path: Path) -> None:
    """A state continuing a stale checkpoint is saved with what changed (stale=...): it reads
    back as current code (nothing to refuse) whose history still names the change, and a
    stale file's history adds its own change after the inherited one."""
    path = save_checkpoint(tmp_path / "c.pt", {"epoch": 5}, stale="changed: numerics/ops.py")
    checkpoint = read_checkpoint(path)
    assert checkpoint.stale == ""
    assert checkpoint.inherited == "changed: numerics/ops.py"
    assert checkpoint.history == "changed: numerics/ops.py"
    assert load_checkpoint(path) == {"epoch": 5}
    torch.save({"format": CHECKPOINT_FORMAT, "code": _other_code(), "stale": "changed: a.py",
                "state": {}}, path)
    history = read_checkpoint(path).history
    assert history.startswith("changed: a.py; changed: numerics/ops.py")


def test_checkpoint_of_the_first_layout_is_stale(tmp_path: Path) -> None:
    """A bare state (the layout before checkpoints recorded their code) is refused as stale
    and still readable with accept_stale."""
    path = tmp_path / "old.ckpt"
    torch.save({"key": "budget:cfg", "units": {"a": {"w_norm": 1.0}}}, path)
    with pytest.raises(StaleCheckpointError, match="did not record"):
        load_checkpoint(path)
    assert load_checkpoint(path, accept_stale=True)["units"] == {"a": {"w_norm": 1.0}}


def test_code_version_follows_every_source_file(tmp_path: Path) -> None:
    """Editing, adding or removing a source file changes its entry; the report's site builder
    and files other than *.py do not count. The record is computed once per process."""
    from numerics.records.provenance import _source_digests

    assert code_version() is code_version()
    root = tmp_path / "numerics"
    (root / "report").mkdir(parents=True)
    (root / "ops.py").write_text("A = 1\n")
    (root / "report" / "pages.py").write_text("B = 1\n")
    (root / "notes.txt").write_text("not code\n")
    before = _source_digests(root)
    assert list(before) == ["numerics/ops.py"]
    (root / "ops.py").write_text("A = 2\n")
    (root / "new.py").write_text("")
    (root / "report" / "pages.py").write_text("B = 2\n")
    after = _source_digests(root)
    assert after["numerics/ops.py"] != before["numerics/ops.py"]
    change = describe_code_change({"sources": before, "libraries": {}},
                                  {"sources": after, "libraries": {}})
    assert change == "changed: numerics/ops.py; added: numerics/new.py"


def test_code_version_of_other_roots_is_computed_afresh(tmp_path: Path) -> None:
    """Given roots (the report's), code_version digests the files matching the pattern there,
    exclusions, hidden files and caches left out, each time it is asked; the default's options
    cannot be changed."""
    root = tmp_path / "results"
    (root / "__pycache__").mkdir(parents=True)
    (root / "r.json").write_text("{}")
    (root / "notebooks.pt").write_bytes(b"x")
    (root / ".r.json.lock").write_text("1")
    (root / "__pycache__" / "m.pyc").write_bytes(b"x")
    first = code_version([root], exclude=["*.pt"], pattern="*")
    assert list(first["sources"]) == ["results/r.json"]
    assert first["libraries"] == code_version()["libraries"]
    (root / "r.json").write_text("[]")
    assert code_version([root], exclude=["*.pt"], pattern="*")["digest"] != first["digest"]
    with pytest.raises(ValueError, match="roots"):
        code_version(pattern="*")


def test_failed_write_is_one_clear_error(tmp_path: Path, monkeypatch) -> None:
    """An OSError while writing (disk full): ResultWriteError (still an OSError) naming the file,
    the cause and what to do; the old file is unchanged and no temporary file is left."""
    path = atomic_write_bytes(tmp_path / "x.bin", b"old")
    real_fsync = os.fsync

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ResultWriteError) as info:
        atomic_write_bytes(path, b"new", overwrite=True)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert info.value.errno == 28
    assert isinstance(info.value, OSError)
    assert str(path) in str(info.value)
    assert "No space left" in str(info.value)
    assert "run the same command again" in str(info.value)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["x.bin"]


def test_provenance_extra_fields() -> None:
    prov = provenance(seed=1, profile="ci")
    assert prov["profile"] == "ci"


def test_provenance_names_the_code_as_the_process_started() -> None:
    """The commit and the source digest in a record are those of the code that ran: fixed when
    the process first asks (the command does as it starts), not read again at write time."""
    from numerics.records import code_version, provenance, started_commit

    first = started_commit()
    record = provenance(seed=1)
    assert record["git_commit"] == first == started_commit()
    assert record["code_digest"] == code_version()["digest"]
    assert len(record["code_digest"]) == 16


def test_results_are_written_with_the_usual_permissions(tmp_path: Path) -> None:
    """A record written atomically is readable as a file created by open() would be (the
    temporary file mkstemp makes is private, 0o600)."""
    import stat

    from numerics.records import atomic_write_bytes

    path = atomic_write_bytes(tmp_path / "r.json", b"{}")
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
