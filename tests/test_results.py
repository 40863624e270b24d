"""Results records: atomic writes, no silent overwrite, provenance, clear errors on bad files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from numerics.results import (
    atomic_write_bytes,
    load_checkpoint,
    provenance,
    read_result,
    save_checkpoint,
    write_result,
)
from theory.errors import ResultExistsError, ResultFileError


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
    assert read_result(path)["results"]["loss"] == "nan"


def test_checkpoint_round_trip_and_corruption(tmp_path: Path) -> None:
    state = {"step": 7, "w": torch.arange(3.0), "rng": torch.get_rng_state()}
    path = save_checkpoint(tmp_path / "c.pt", state)
    back = load_checkpoint(path)
    assert back["step"] == 7
    assert torch.equal(back["w"], state["w"])
    assert load_checkpoint(tmp_path / "none.pt") is None
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ResultFileError, match="delete it"):
        load_checkpoint(path)


def test_provenance_extra_fields() -> None:
    prov = provenance(seed=1, profile="ci")
    assert prov["profile"] == "ci"
