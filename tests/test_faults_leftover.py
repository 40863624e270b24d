"""The probe's last findings (docs/faults.md, rows 50-54): a full disk while a study presents its
results, a checkpoint of another configuration in the same output folder, `resnet show` on a
record of the wrong shape, subsets larger than their data, labels beyond a network's classes.

Each ends early with one clear message (a ``ConfigError``, or exit 2 and one line from the
command) or a correct result, and nothing is lost: the failed write leaves no half-presented
folder, the other configuration's checkpoint is kept byte for byte.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import torch

from numerics.cli import main
from numerics.records import read_result, save_checkpoint, write_result
from theory.errors import ConfigError, DataError, ResultWriteError

from cases import fails_cleanly

pytestmark = pytest.mark.usefixtures("cpu_load")

REPO = Path(__file__).resolve().parents[1]
_real_fsync = os.fsync

#: A `findings` config whose every unit runs in seconds (as tests/test_protocol.py's).
TINY_FINDINGS = dict(eps_grid=(0.0, 0.1), n_train=60, hidden=(8,), epochs=1, batch_size=20,
                     n_hessian=20, logistic_ratios=(0.5,), logistic_n=40, logistic_steps=5,
                     pgd_steps=2)


# --------------------------------------------------------------------------------------------
# row 50: a full disk part-way through the presentation files


def _full_disk_at(monkeypatch: pytest.MonkeyPatch, folder: Path, names: tuple[str, ...],
                  nth: int) -> list[str]:
    """Make the ``nth`` write (1-based) of a file named in ``names`` under ``folder`` fail with
    ENOSPC when it is synced, as a full disk does; return the list of names written so far."""
    real_fsync = os.fsync
    seen: list[str] = []

    def fsync(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        base = Path(target).name  # atomic_write_bytes writes .<name>.<random>.tmp
        name = next((n for n in names if base.startswith(f".{n}.") and base.endswith(".tmp")),
                    None)
        if target.startswith(str(folder)) and name is not None:
            seen.append(name)
            if len(seen) == nth:
                raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return seen


def test_full_disk_while_presenting_leaves_nothing_and_the_rerun_presents(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        data_root: Path) -> None:
    """`mnist2` (table 1, ci) with the disk full at its 7th output, then at the record (its
    first): exit 2, one line ("No space left on device", none written, the units kept); the
    folder holds no output, only the checkpoint. The same command then finishes without
    training again (a unit computed would fail the test), and its seven files are those the
    record's results present (before: six files stayed, and the advised rerun refused them)."""
    import numerics.experiments.mnist2.run as mnist2_run
    from numerics.cli.mnist2 import OUTPUTS
    from numerics.experiments.registry import get_study

    out = tmp_path / "o"
    argv = ["mnist2", "--tables", "1", "--threads", "1", "--no-progress", "--out", str(out)]
    written = _full_disk_at(monkeypatch, out, OUTPUTS, 7)
    err = fails_cleanly(capsys, argv, "No space left on device", "none of them was written",
                        ".mnist2.json.ckpt", "run the same command again")
    assert len(written) == 7
    assert sorted(p.name for p in out.iterdir()) == [".mnist2.json.ckpt"], err

    def no_training(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a unit was computed again")

    monkeypatch.setattr(mnist2_run, "run_table", no_training)
    _full_disk_at(monkeypatch, out, ("mnist2.json",), 1)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    said, error = err.strip().splitlines()  # the resumed units, then the one error
    assert said.startswith("resuming 1 finished units"), err
    assert error.startswith("advlandscape mnist2: error:"), err
    assert "No space left on device" in error, err
    assert sorted(p.name for p in out.iterdir()) == [".mnist2.json.ckpt"]

    monkeypatch.setattr(os, "fsync", _real_fsync)
    assert main(argv) == 0
    assert "resuming 1 finished units" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    results = read_result(out / "mnist2.json")["results"]
    again = tmp_path / "again"
    get_study("mnist2").present(results, again)
    for name in OUTPUTS[1:]:  # an SVG's element ids are random: compared without them
        assert _without_ids((out / name).read_bytes()) == _without_ids(
            (again / name).read_bytes()), name


def _without_ids(data: bytes) -> bytes:
    return re.sub(rb'(id="|url\(#|href="#)[^")]*', rb"\1", data)


def test_full_disk_while_presenting_keeps_the_earlier_outputs_with_overwrite(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_root: Path) -> None:
    """With --overwrite over an earlier run's files, a write that fails leaves every earlier
    file as it was (none half replaced) and the checkpoint; the rerun replaces all of them."""
    from numerics.experiments.protocol import execute
    from numerics.experiments.registry import get_study

    study = get_study("findings")
    cfg = study.config_for("ci", **TINY_FINDINGS)
    record = tmp_path / "findings.json"
    record.write_text("an earlier record\n")
    _full_disk_at(monkeypatch, tmp_path, ("findings.json",), 1)
    with pytest.raises(ResultWriteError, match="No space left on device") as info:
        execute(study, cfg, record, overwrite=True, progress=False)
    assert info.value.errno == errno.ENOSPC
    assert record.read_text() == "an earlier record\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".findings.json.ckpt", "findings.json"]
    monkeypatch.setattr(os, "fsync", _real_fsync)
    said: list[str] = []
    results = execute(study, cfg, record, overwrite=True, progress=False, say=said.append)
    assert any("resuming" in line for line in said)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json"]
    assert json.dumps(read_result(record)["results"], sort_keys=True) == json.dumps(
        json.loads(json.dumps(results)), sort_keys=True)


# --------------------------------------------------------------------------------------------
# row 51: a checkpoint of another configuration in the same output folder


def test_checkpoint_of_another_config_is_refused_naming_the_difference(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`mnist2 --tables 1` into a folder holding the checkpoint of `--tables 1,2` (one finished
    unit): exit 2 before any work, naming the checkpoint, `tables: (1, 2) -> (1,)`, --fresh and
    --out; the checkpoint byte for byte as it was (before: replaced by the new run's without a
    word). With --checkpoint-dir the message names --checkpoint-dir."""
    from numerics.cli import build_parser
    from numerics.cli.mnist2 import config_from_args

    out = tmp_path / "o"
    other = config_from_args(build_parser().parse_args(["mnist2", "--tables", "1,2"]))
    ckpt = save_checkpoint(out / ".mnist2.json.ckpt" / "mnist2.ckpt",
                           {"key": f"mnist2:{other!r}", "units": {"1@0": {"x": 1.0}}})
    before = ckpt.read_bytes()
    err = fails_cleanly(capsys, ["mnist2", "--tables", "1", "--out", str(out)], str(ckpt),
                        "1 finished unit(s) of another configuration",
                        "tables: (1, 2) -> (1,)", "--fresh", "another --out")
    assert "threads" not in err  # only what differs
    assert ckpt.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == [".mnist2.json.ckpt"]
    moved = save_checkpoint(tmp_path / "c" / "mnist2.ckpt", {"key": f"mnist2:{other!r}",
                                                            "units": {}})
    fails_cleanly(capsys, ["mnist2", "--tables", "1", "--threads", "1", "--out", str(out),
                           "--checkpoint-dir", str(moved.parent)],
                  str(moved), "threads: 2 -> 1", "another --checkpoint-dir")


@pytest.mark.usefixtures("one_thread")
def test_other_configs_checkpoint_is_kept_then_fresh_discards_it(tmp_path: Path,
                                                                 data_root: Path) -> None:
    """`findings` interrupted at config A, then run at config B into the same record: refused,
    A's checkpoint kept; B into another folder runs; A resumes its finished unit; with
    fresh=True B discards A's checkpoint (said) and runs."""
    from numerics.experiments.protocol import execute
    from numerics.experiments.registry import get_study

    study = get_study("findings")
    a = study.config_for("ci", **TINY_FINDINGS)
    b = dataclasses.replace(a, epochs=2)
    record = tmp_path / "findings.json"
    with pytest.raises(KeyboardInterrupt):
        execute(study, a, record, progress=False, stop_after=1)
    ckpt = tmp_path / ".findings.json.ckpt" / "findings.ckpt"
    before = ckpt.read_bytes()
    with pytest.raises(ConfigError, match=r"epochs: 1 -> 2.*--fresh") as info:
        execute(study, b, record, progress=False)
    assert str(ckpt) in str(info.value)
    assert ckpt.read_bytes() == before
    execute(study, b, tmp_path / "b" / "findings.json", progress=False)
    said: list[str] = []
    with pytest.raises(KeyboardInterrupt):  # A resumes its unit, then stops after one more
        execute(study, a, record, progress=False, stop_after=1, say=said.append)
    assert said == [f"resuming 1 finished units from {ckpt}"]
    said.clear()
    execute(study, b, record, progress=False, fresh=True, say=said.append)
    assert said == [f"--fresh: discarded 1 checkpoint(s): {ckpt}"]
    assert read_result(record)["config"]["epochs"] == 2


def test_describe_config_change() -> None:
    """The difference of two checkpoint keys, field by field, nested fields by their path."""
    from numerics.experiments.registry import get_study
    from numerics.experiments.units import checkpoint_key, describe_config_change

    a = get_study("mnist2").config_for("ci")
    b = dataclasses.replace(a, n_train=500, train=dataclasses.replace(a.train, epochs=7))
    text = describe_config_change(checkpoint_key("mnist2", a), checkpoint_key("mnist2", b))
    assert text == "its config differs: n_train: 2000 -> 500; train.epochs: 3 -> 7"
    assert "'budget'" in describe_config_change("budget:X()", checkpoint_key("mnist2", a))
    assert "names no config" in describe_config_change(None, checkpoint_key("mnist2", a))


# --------------------------------------------------------------------------------------------
# row 52: `resnet show` on a record of the wrong shape


def _edited_resnet_record(tmp_path: Path, source: str, change: Any, **provenance: Any) -> Path:
    """A copy of a committed ResNet record with ``change(results)`` applied, written with its
    digest (so it reads: the shape is what is wrong, not an edit)."""
    record = read_result(REPO / "results" / "resnet" / source)
    change(record["results"])
    path = tmp_path / f"{source}.edited.json"
    return write_result(path, record["config"], record["results"], **provenance)


@pytest.mark.parametrize(("case", "expect"), [
    ("missing key", ("results['runs'][1]['curvature']", "lacks the key 'trace'")),
    ("number as text", ("results['runs'][0]['eps_255']", "'0.0' (str), not a number")),
    ("seed sweep number as text", ("results['summary']['per_eps'][2]['top_eig']['sd']",
                                   "not a number")),
    ("seed sweep missing key", ("results['summary']", "lacks the key 'counts'")),
    ("another study's record", ("study 'pas'", "not of `resnet run`")),
    ("the mnist2 record", ("neither 'runs' nor 'per_seed'",)),
])
def test_resnet_show_on_a_malformed_record_is_one_line(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str,
        expect: tuple[str, ...]) -> None:
    """A missing key, a number stored as text (both layouts), another study's record: exit 2,
    one line naming the file and the place, nothing printed (before: KeyError or ValueError
    tracebacks, after part of the table)."""
    if case == "missing key":
        path = _edited_resnet_record(tmp_path, "mnist_ci.json",
                                     lambda r: r["runs"][1]["curvature"].pop("trace"))
    elif case == "number as text":
        path = _edited_resnet_record(tmp_path, "mnist_ci.json", lambda r: r["runs"][0].update(
            eps_255=str(r["runs"][0]["eps_255"])))
    elif case == "seed sweep number as text":
        path = _edited_resnet_record(
            tmp_path, "mnist_cpu.json",
            lambda r: r["summary"]["per_eps"][2]["top_eig"].update(sd="12"))
    elif case == "seed sweep missing key":
        path = _edited_resnet_record(tmp_path, "mnist_cpu.json",
                                     lambda r: r["summary"].pop("counts"))
    elif case == "another study's record":
        path = _edited_resnet_record(tmp_path, "mnist_ci.json", lambda r: None, study="pas")
    else:  # the mnist2 record's content without the study's name: caught by its layout
        mnist2 = read_result(REPO / "results" / "mnist2" / "mnist2.json")
        path = write_result(tmp_path / "mnist2.json", mnist2["config"], mnist2["results"])
    err = fails_cleanly(capsys, ["resnet", "show", str(path)], str(path), *expect)
    assert len(err.strip().splitlines()) == 1, err
    assert capsys.readouterr().out == ""


def test_resnet_show_prints_the_committed_records(capsys: pytest.CaptureFixture[str]) -> None:
    """The two committed layouts still print: a row per eps, then the seed sweep's counts."""
    assert main(["resnet", "show", str(REPO / "results" / "resnet" / "mnist_ci.json")]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2 + 4
    assert main(["resnet", "show", str(REPO / "results" / "resnet" / "mnist_cpu.json")]) == 0
    out = capsys.readouterr().out
    assert "Spearman > 0" in out.splitlines()[-1]


# --------------------------------------------------------------------------------------------
# row 53: a subset larger than its data


@pytest.mark.parametrize(("argv", "expect"), [
    (["--n-train", "100000000"], ("n_train = 100000000", "60,000", "0 for all")),
    (["--n-test", "10001"], ("n_test = 10001", "10,000")),
    (["--dataset", "cifar10", "--test-split", "holdout", "--n-train", "45000"], ("40,000",)),
    (["--dataset", "svhn", "--n-test", "30000"], ("26,032",)),
])
def test_resnet_subset_beyond_the_data_is_refused_at_once(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str],
        expect: tuple[str, ...]) -> None:
    """`resnet run --n-train 100000000`: exit 2 before any data are read, naming the images
    there are (before: trained on all 60,000, and the record said 100000000)."""
    out = tmp_path / "o.json"
    fails_cleanly(capsys, ["resnet", "run", "--out", str(out), *argv], *expect)
    assert not out.exists()


@pytest.mark.parametrize(("study", "changes", "expect"), [
    ("mnist2", {"n_train": 12_666}, "12,665"),
    ("mnist2", {"n_test": 3000}, "2,115"),
    ("cifar2", {"n_train": 9000}, "8,017"),
    ("findings", {"n_train": 60_001}, "60,000"),
    ("findings", {"logistic_n": 20_000}, "12,665"),
    ("pas", {"n_test": 10_001}, "10,000"),
    ("budget", {"n_samples": 10**6}, "12,665"),
    ("smoothness", {"n_samples": 13_000}, "12,665"),
    ("sensitivity", {"n_train": 10**6}, "12,665"),
])
def test_study_subset_beyond_the_data_is_refused_by_its_config(
        study: str, changes: dict[str, int], expect: str) -> None:
    """Every study config with a subset size refuses one above its split's size, naming it."""
    from numerics.experiments.registry import get_study

    with pytest.raises(ConfigError, match=expect) as info:
        get_study(study).config_for("ci", **changes)
    assert next(iter(changes)) in str(info.value)
    get_study(study).config_for("ci", **{k: 100 for k in changes})  # a size that fits


def test_sweep_subset_beyond_the_data_is_refused_when_planned(tmp_path: Path) -> None:
    """A sweep unit's `n_train` above MNIST's 60,000: refused when the sweep is planned."""
    from numerics.sweep import load_spec, plan

    path = tmp_path / "big.yaml"
    path.write_text("experiment: pas\nprofile: ci\ngrid: {lr: [0.1], seed: [0]}\n"
                    "config: {n_train: 1000000}\n")
    with pytest.raises(ConfigError, match="60,000") as info:
        plan(load_spec(path))
    assert str(path) in str(info.value)


def test_subset_beyond_what_the_layout_holds_is_refused_at_load(data_root: Path) -> None:
    """A subset within the official split but beyond the images on disk (CIFAR-10's npz layout
    holds 1,000 of the 10,000 test images): refused when the data are loaded, before any
    training, naming the images there are."""
    from numerics.data import load_cifar10
    from numerics.experiments.mnist2 import load_data
    from numerics.experiments.registry import get_study
    from numerics.experiments.resnet import load_image_data, profile_config

    try:
        available = len(load_cifar10("test").y)
    except DataError as exc:
        pytest.skip(f"CIFAR-10 not available: {exc}")
    if available == 10_000:
        pytest.skip("the whole CIFAR-10 test set is here: no layout holds fewer")
    cfg = profile_config("cifar10", "ci", n_test=available + 1)
    with pytest.raises(ConfigError, match=f"n_test = {available + 1} .*{available:,}"):
        load_image_data(cfg)
    tables = get_study("cifar2").config_for("ci", n_test=3000)
    with pytest.raises(ConfigError, match=r"n_test = 3000 is more than the 2,201 images"):
        load_data(tables)


# --------------------------------------------------------------------------------------------
# row 54: labels beyond the network's classes; an input on a device that does not exist


def test_hessian_of_labels_beyond_the_classes_is_refused() -> None:
    """`top_hessian_eigs(HessianOperator(model, x, y))` and `dense_hessian` with a label 7 or
    -1 of a 2-class model: ConfigError naming the range, when the operator is made (before:
    torch's IndexError from inside an HVP, in the middle of eigsh)."""
    from numerics.nets import HessianOperator
    from numerics.nets.curvature import dense_hessian
    from numerics.spectra import top_hessian_eigs

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)).double()
    x = torch.rand(3, 4, dtype=torch.float64)
    for bad in (7, -1):
        y = torch.tensor([0, 1, bad])
        with pytest.raises(ConfigError, match=r"class indices 0\.\.1"):
            top_hessian_eigs(HessianOperator(model, x, y), 1)
        with pytest.raises(ConfigError, match=r"class indices 0\.\.1"):
            dense_hessian(model, x, y)
    good = top_hessian_eigs(HessianOperator(model, x, torch.tensor([0, 1, 1])), 1)
    assert good.values.shape == (1,)


def test_pgd_on_an_input_whose_device_does_not_exist_is_refused() -> None:
    """The networks' `pgd` checks its input's device before anything runs (a CUDA tensor cannot
    be made without CUDA: torch refuses it itself; a `meta` tensor stands for one here)."""
    from numerics.attacks import AttackSpec
    from numerics.nets.attack import pgd

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)).double()
    x = torch.empty(3, 4, device="meta", dtype=torch.float64)
    with pytest.raises(ConfigError, match="device"):
        pgd(model, x, torch.tensor([0, 1, 0]), AttackSpec("pgd", "linf", 2, eps=0.1))
