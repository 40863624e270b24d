"""Fault injection through the ``advlandscape`` command: bad configuration, data, outputs and
checkpoints.

Every case must end before any work starts, with exit code 2 and one clean message
(``advlandscape <command>: error: ...``) on stderr, no traceback. Where a case combines a bad
value with a missing data root, the message must be about the value: validation comes first.
A checkpoint that is stale (written by other code), damaged or unsafe is refused the same way;
``--resume-stale`` resumes from a stale one, ``--fresh`` discards it.
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from numerics.cli import build_parser, main
from numerics.data.mnist import _load_mnist_cached

from cases import fails_cleanly

pytestmark = pytest.mark.usefixtures("cpu_load")

MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@pytest.fixture
def empty_root(tmp_path: Path) -> Path:
    root = tmp_path / "no-data"
    root.mkdir()
    return root


def _resnet(out: Path, root: Path, *extra: str) -> list[str]:
    return ["resnet", "run", "--dataset", "mnist", "--epochs", "1", "--width", "2",
            "--n-train", "16", "--n-test", "16", "--no-progress", "--data-dir", str(root),
            "--out", str(out), *extra]


@pytest.mark.parametrize(("extra", "expect"), [
    (["--device", "cuda:9"], ("cuda:9",)),
    (["--device", "quantum"], ("quantum",)),
    (["--eps", "-0.1"], ("eps",)),
    (["--eps", "nan"], ("eps", "finite")),
    (["--eps", "inf"], ("eps", "finite")),
    (["--eps", "0.1,abc"], ("--eps",)),
    (["--dataset", "imagenet"], ("imagenet",)),
    (["--epochs", "0"], ("epochs",)),
])
def test_resnet_bad_config_rejected_before_any_work(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, empty_root: Path,
        extra: list[str], expect: tuple[str, ...]) -> None:
    """Unknown device, negative or non-finite eps, unknown data set, bad epochs: exit 2 with
    the value's message (not the missing data's: the data root here is empty)."""
    out = tmp_path / "out.json"
    fails_cleanly(capsys, _resnet(out, empty_root, *extra), *expect)
    assert not out.exists()


def test_resnet_missing_data_is_one_clear_error(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path, empty_root: Path) -> None:
    """A data root without MNIST: exit 2, the message names the folder and how to fill it."""
    fails_cleanly(capsys, _resnet(tmp_path / "o.json", empty_root), "missing",
                   str(empty_root / "mnist"), "--download mnist")


def test_resnet_unwritable_output_rejected_before_any_work(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, empty_root: Path) -> None:
    """--out under a path that cannot be a directory: refused up front, not after training."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    fails_cleanly(capsys, _resnet(blocker / "sub" / "out.json", empty_root), "output")


def test_resnet_existing_result_not_overwritten(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path, empty_root: Path) -> None:
    """An existing --out is refused with a message naming --overwrite; the file is unchanged."""
    out = tmp_path / "out.json"
    out.write_text('{"kept": true}\n')
    fails_cleanly(capsys, _resnet(out, empty_root), "--overwrite")
    assert out.read_text() == '{"kept": true}\n'


def _mnist_copy(tmp_path: Path, data_root: Path) -> Path:
    root = tmp_path / "data"
    (root / "mnist").mkdir(parents=True)
    for name in MNIST_FILES:
        shutil.copyfile(data_root / "mnist" / name, root / "mnist" / name)
    return root


@pytest.mark.parametrize("fault", ["truncated", "garbage", "relabelled"])
def test_resnet_corrupt_mnist_is_one_clear_error(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, data_root: Path,
        fault: str) -> None:
    """A truncated, overwritten, or validly compressed but altered MNIST file: exit 2 with a
    message naming the file (its checksum or its corruption), never a gzip/numpy traceback."""
    root = _mnist_copy(tmp_path, data_root)
    target = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    raw = target.read_bytes()
    if fault == "truncated":
        target.write_bytes(raw[: len(raw) // 2])
    elif fault == "garbage":
        target.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 4)
    else:  # a valid gzip whose labels were edited: only the checksum can tell
        labels = bytearray(gzip.decompress(raw))
        labels[8] = (labels[8] + 1) % 10
        target.write_bytes(gzip.compress(bytes(labels)))
    _load_mnist_cached.cache_clear()
    try:
        fails_cleanly(capsys, _resnet(tmp_path / "o.json", root), target.name)
    finally:
        _load_mnist_cached.cache_clear()


def test_data_check_flags_corrupt_file(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                       data_root: Path) -> None:
    """`advlandscape data --check` on a truncated file: exit 1, the file marked bad, and the
    message says what to do."""
    root = _mnist_copy(tmp_path, data_root)
    target = root / "mnist" / "train-labels-idx1-ubyte.gz"
    target.write_bytes(target.read_bytes()[:100])
    code = main(["data", "--check", "--data-dir", str(root)])
    out = capsys.readouterr().out
    assert code == 1
    assert "bad" in out
    assert "delete it and fetch it again" in out


@pytest.mark.parametrize("argv", [
    ["mnist2", "--tables", "5"],
    ["mnist2", "--tables", "one"],
    ["mnist2", "--profile", "huge"],
    ["report", "--profile", "huge"],
])
def test_other_commands_reject_bad_values(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                          argv: list[str]) -> None:
    """Bad table numbers and profiles: exit 2, one message."""
    fails_cleanly(capsys, [*argv, "--out", str(tmp_path / "o")])


@pytest.mark.parametrize("command", [["mnist2"], ["report", "--no-execute"]])
def test_profile_from_environment_is_validated(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                               command: list[str]) -> None:
    """ADVLANDSCAPE_PROFILE=huge: exit 2, the message names the variable and the profiles."""
    monkeypatch.setenv("ADVLANDSCAPE_PROFILE", "huge")
    fails_cleanly(capsys, [*command, "--out", str(tmp_path / "o")], "huge", "ci")


def test_mnist2_unwritable_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """mnist2 --out under a regular file: exit 2 naming the output directory."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    fails_cleanly(capsys, ["mnist2", "--out", str(blocker / "sub")], "output")


@pytest.mark.parametrize("fault", ["truncated", "garbage", "relabelled"])
def test_resnet_corrupt_cifar10_part_is_one_clear_error(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, data_root: Path,
        fault: str) -> None:
    """A truncated, garbage, or valid but relabelled CIFAR-10 .npz part: exit 2 naming the file
    (its corruption or its failed digest), no zip traceback, no silent training."""
    import numpy as np

    source = data_root / "cifar10"
    if not (source / "cifar10_train_part1.npz").is_file():
        pytest.skip(f"CIFAR-10 parts not in {source}")
    root = tmp_path / "data"
    (root / "cifar10").mkdir(parents=True)
    for part in source.iterdir():
        (root / "cifar10" / part.name).symlink_to(part)
    target = root / "cifar10" / "cifar10_train_part3.npz"
    target.unlink()
    raw = (source / target.name).read_bytes()
    if fault == "relabelled":
        with np.load(source / target.name) as part:
            arrays = {k: part[k].copy() for k in part.files}
        label_key = next(k for k, v in arrays.items() if v.ndim == 1)
        arrays[label_key][0] = (arrays[label_key][0] + 1) % 10
        np.savez(target, **arrays)
    else:
        target.write_bytes(raw[: len(raw) // 3] if fault == "truncated" else b"PK\x03\x04" * 999)
    argv = _resnet(tmp_path / "o.json", root)
    argv[argv.index("mnist")] = "cifar10"
    fails_cleanly(capsys, argv, target.name)


@pytest.mark.parametrize("fault", ["truncated", "garbage"])
def test_resnet_corrupt_svhn_is_one_clear_error(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, fault: str) -> None:
    """A truncated or garbage SVHN .mat file: exit 2 naming the file, no scipy traceback."""
    import numpy as np
    import scipy.io

    folder = tmp_path / "data" / "svhn"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, n in (("train_32x32.mat", 40), ("test_32x32.mat", 20)):
        scipy.io.savemat(folder / name, {
            "X": rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8),
            "y": rng.integers(1, 11, (n, 1)).astype(np.uint8)})
    target = folder / "train_32x32.mat"
    raw = target.read_bytes()
    target.write_bytes(raw[: len(raw) // 2] if fault == "truncated" else bytes(range(256)) * 20)
    argv = _resnet(tmp_path / "o.json", tmp_path / "data")
    argv[argv.index("mnist")] = "svhn"
    fails_cleanly(capsys, argv, target.name)


def test_mnist2_edited_labels_fail_their_checksum(capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path, data_root: Path) -> None:
    """An MNIST label file edited so that MNIST2's counts still hold (a 7 made an 8): the
    `mnist2` command stops with exit 2 naming the file's failed checksum, before training."""
    from numerics.data.mnist import _verify_official

    root = _mnist_copy(tmp_path, data_root)
    target = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    labels = bytearray(gzip.decompress(target.read_bytes()))
    assert labels[8] == 7  # the first test label
    labels[8] = 8
    target.write_bytes(gzip.compress(bytes(labels)))
    monkeypatch.setenv("ADVLANDSCAPE_DATA", str(root))
    _load_mnist_cached.cache_clear()
    _verify_official.cache_clear()
    try:
        fails_cleanly(capsys, ["mnist2", "--tables", "1", "--out", str(tmp_path / "o")],
                       target.name)
    finally:
        _load_mnist_cached.cache_clear()
        _verify_official.cache_clear()
    assert not (tmp_path / "o" / "mnist2.json").exists()


# --------------------------------------------------------------------------------------------
# stale, damaged and unsafe checkpoints; --fresh and --resume-stale

FINDINGS_TINY = dict(eps_grid=(0.0, 0.1, 0.2), n_train=40, hidden=(8,), epochs=1,
                     batch_size=20, n_hessian=20, logistic_ratios=(0.5,), logistic_n=40,
                     logistic_steps=5, pgd_steps=2)


@pytest.fixture
def tiny_findings(monkeypatch: pytest.MonkeyPatch) -> object:
    """`liu-kanai findings` at tiny sizes (patched into the CLI's config); returns the config."""
    from numerics.experiments import findings, registry

    monkeypatch.setitem(findings.SCALES, "ci", {**findings.SCALES["ci"], **FINDINGS_TINY})
    monkeypatch.setitem(registry.STUDIES, "findings", registry.Study.from_module(findings))
    return registry.config_for("findings", "ci", seed=0)


@pytest.mark.usefixtures("one_thread")
def test_liu_kanai_stale_or_unsafe_checkpoint_refused_then_resumed_or_discarded(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, data_root: Path,
        tiny_findings: object, make_stale: Callable[[Path], None]) -> None:
    """A checkpoint of two finished runs, rewritten as other code would have written it: exit 2
    naming the checkpoint, the changed file, torch's version and both ways on, the checkpoint
    untouched; `--resume-stale` resumes it to the results of an uninterrupted run and the
    provenance names the change, also when that resumed run is interrupted and finished by a
    plain rerun (the change is carried by every later checkpoint). A checkpoint of the first
    layout holding numpy values: refused even with --resume-stale; `--fresh` discards it and
    recomputes everything. The two options together: refused."""
    from numerics.experiments.registry import run_study
    from numerics.records import read_checkpoint, read_result, write_result

    out, ckdir = tmp_path / "findings.json", tmp_path / ".findings.json.ckpt"
    ckpt = ckdir / "findings.ckpt"
    expected = read_result(write_result(tmp_path / "straight.json", tiny_findings, run_study(
        "findings", tiny_findings, progress=False)))["results"]
    argv = ["liu-kanai", "findings", "--out", str(out), "--no-progress"]

    def stale_partial() -> bytes:  # two finished runs, checkpointed by "other code"
        with pytest.raises(KeyboardInterrupt):
            run_study("findings", tiny_findings, progress=False, checkpoint_dir=ckdir,
                      stop_after=2)
        make_stale(ckpt)
        return ckpt.read_bytes()

    before = stale_partial()
    fails_cleanly(capsys, argv, str(ckpt), "changed: numerics/nets/train.py",
                   "torch 2.12.0 -> ", "--fresh", "--resume-stale")
    assert not out.exists()
    assert ckpt.read_bytes() == before
    assert main([*argv, "--resume-stale"]) == 0
    err = capsys.readouterr().err
    assert "resuming 2 finished units" in err
    assert f"--resume-stale: resuming from {ckpt}" in err
    record = read_result(out)
    assert record["results"] == expected
    assert "numerics/nets/train.py" in record["provenance"]["resumed_stale_checkpoint"][str(ckpt)]
    assert not ckdir.exists()

    stale_partial()  # resumed anyway, interrupted after one more run, finished by a plain rerun
    with pytest.raises(KeyboardInterrupt):
        run_study("findings", tiny_findings, progress=False, checkpoint_dir=ckdir, stop_after=1,
                  accept_stale=True)
    carried = read_checkpoint(ckpt)
    assert carried.stale == ""
    assert "changed: numerics/nets/train.py" in carried.inherited
    assert main([*argv, "--overwrite"]) == 0
    err = capsys.readouterr().err
    assert "resuming 3 finished units" in err
    assert "--resume-stale" not in err
    record = read_result(out)
    assert record["results"] == expected
    assert "numerics/nets/train.py" in record["provenance"]["resumed_stale_checkpoint"][str(ckpt)]

    ckdir.mkdir()
    torch.save({"key": f"findings:{tiny_findings!r}",
                "units": {"mlp/0.0": {"top_eig": np.float64(1.0)}}}, ckpt)
    for extra in ([], ["--resume-stale"]):
        fails_cleanly(capsys, [*argv, "--overwrite", *extra], str(ckpt), "other than tensors",
                       "--fresh")
    assert main([*argv, "--overwrite", "--fresh"]) == 0
    err = capsys.readouterr().err
    assert f"--fresh: discarded 1 checkpoint(s): {ckpt}" in err
    assert "resuming" not in err
    record = read_result(out)
    assert record["results"] == expected
    assert "resumed_stale_checkpoint" not in record["provenance"]
    fails_cleanly(capsys, [*argv, "--fresh", "--resume-stale"], "not allowed with")


@pytest.mark.parametrize("fault", ["stale", "damaged", "empty"])
def test_mnist2_bad_checkpoint_refused_before_any_work(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        empty_root: Path, make_stale: Callable[[Path], None], fault: str) -> None:
    """`mnist2` with a checkpoint of its own config that is stale, has a flipped byte, or is
    empty: exit 2 naming the checkpoint and the fault, before the data are looked for (the data
    root here is empty)."""
    from numerics.cli import mnist2 as cli
    from numerics.records import save_checkpoint

    monkeypatch.setenv("ADVLANDSCAPE_DATA", str(empty_root))
    argv = ["mnist2", "--tables", "1", "--out", str(tmp_path / "o")]
    config = cli.config_from_args(build_parser().parse_args(argv))
    ckpt = save_checkpoint(tmp_path / "o" / ".mnist2.json.ckpt" / "mnist2.ckpt",
                           {"key": f"mnist2:{config!r}", "units": {}})
    if fault == "stale":
        make_stale(ckpt)
        expect = ("other code", "torch 2.12.0")
    elif fault == "damaged":
        raw = bytearray(ckpt.read_bytes())
        raw[raw.find(b"landscape_points") + 2] ^= 0x01
        ckpt.write_bytes(bytes(raw))
        expect = ("damaged", "CRC-32")
    else:
        ckpt.write_bytes(b"")
        expect = ("torn", "0 bytes")
    fails_cleanly(capsys, argv, str(ckpt), *expect, "--fresh")


def test_resnet_stale_checkpoint_refused_before_data_and_fresh_discards_it(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, empty_root: Path,
        make_stale: Callable[[Path], None]) -> None:
    """`resnet run` with a stale training checkpoint of its sweep: exit 2 about the checkpoint,
    not about the missing data (it is checked first); with --fresh the checkpoint is deleted and
    the run gets as far as the data (missing here: exit 2 saying so)."""
    from numerics.cli import resnet as cli
    from numerics.records import save_checkpoint

    out = tmp_path / "out.json"
    argv = _resnet(out, empty_root)
    config = cli.config_from_args(build_parser().parse_args(argv))
    train_ckpt = save_checkpoint(tmp_path / ".out.json.ckpt" / "resnet.ckpt",
                                 {"key": f"resnet:{config!r}", "units": {}})
    make_stale(train_ckpt)
    fails_cleanly(capsys, argv, train_ckpt.name, "other code", "--resume-stale")
    assert train_ckpt.exists()
    assert main([*argv, "--fresh"]) == 2
    notice, error, *_ = capsys.readouterr().err.splitlines()
    assert notice == f"--fresh: discarded 1 checkpoint(s): {train_ckpt}"
    assert error.startswith("advlandscape resnet: error: mnist: 2 file(s) missing")
    assert not train_ckpt.exists()


@pytest.mark.parametrize("command", ["liu-kanai", "resnet"])
def test_checkpoint_dir_that_is_a_file_is_refused_before_any_work(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, empty_root: Path,
        command: str) -> None:
    """--checkpoint-dir naming a regular file: exit 2 naming the option, before any work (not
    a traceback from the first checkpoint save after the first unit of work)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    if command == "resnet":
        argv = _resnet(tmp_path / "o.json", empty_root, "--checkpoint-dir", str(blocker))
    else:
        argv = ["liu-kanai", "findings", "--out", str(tmp_path / "o.json"),
                "--checkpoint-dir", str(blocker)]
    fails_cleanly(capsys, argv, "checkpoint directory", str(blocker), "--checkpoint-dir")
    assert blocker.read_text() == "x"


# --------------------------------------------------------------------------------------------
# unknown claim ids; outputs checked before any work; full disk; unreadable records


def test_unknown_claim_id_is_an_error_listing_the_known_ones(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`verify --claim Y-EQ99` used to verify nothing and exit 0: now exit 2, one line listing
    the known ids. Ids are case-insensitive (`y-eq7` is Y-EQ7), which is unambiguous because
    every id is upper case and unique."""
    from theory.claims import CLAIMS, claim_ids

    err = fails_cleanly(capsys, ["verify", "--claim", "Y-EQ99"], "Y-EQ99", "Y-EQ7", "L-FINDINGS")
    assert len([line for line in err.splitlines() if line.strip()]) == 1
    fails_cleanly(capsys, ["verify", "--claim", "y-eq7", "--claim", "nope"], "nope")
    ids = [c.id for c in CLAIMS]
    assert all(i == i.upper() for i in ids)
    assert len({i.casefold() for i in ids}) == len(ids)
    assert claim_ids(["y-eq7", "Y-EQ7", " box-max "]) == ["Y-EQ7", "BOX-MAX"]
    assert main(["verify", "--claim", "y-eq7"]) == 0
    assert capsys.readouterr().out.startswith("Y-EQ7")


def test_output_problems_are_refused_before_any_work(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """`liu-kanai budget --out <folder> --overwrite` used to fail with IsADirectoryError after
    the whole study; `mnist2` with only mnist2.json deleted trained, then refused because
    mnist2.csv existed. Both, and `resnet run --out <folder>`, now stop before any work; with
    --overwrite mnist2 passes the check (and replaces all seven files)."""
    import numerics.experiments.budget as budget
    import numerics.experiments.mnist2 as mnist2_experiment
    from numerics.cli.mnist2 import OUTPUTS
    from numerics.validate import check_outputs

    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before the outputs were checked")

    monkeypatch.setattr(budget, "run_budget", no_work)
    monkeypatch.setattr(mnist2_experiment, "run_mnist2", no_work)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    fails_cleanly(capsys, ["liu-kanai", "budget", "--out", str(folder), "--overwrite"],
                   "is a folder", str(folder))
    fails_cleanly(capsys, _resnet(folder, tmp_path), "is a folder")
    out = tmp_path / "mnist2"
    out.mkdir()
    for name in OUTPUTS:
        (out / name).write_text("earlier run\n")
    (out / "mnist2.json").unlink()
    err = fails_cleanly(capsys, ["mnist2", "--tables", "1", "--out", str(out)],
                         "mnist2.csv", "tables.md", "--overwrite")
    assert "mnist2.json" not in err
    assert (out / "mnist2.csv").read_text() == "earlier run\n"
    assert check_outputs([out / n for n in OUTPUTS], overwrite=True) == [out / n for n in OUTPUTS]
    assert not list(tmp_path.glob("**/.*.lock"))


def test_full_disk_at_the_lock_or_elsewhere_is_one_clear_line(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path, empty_root: Path) -> None:
    """ENOSPC while writing the output's lock: exit 2 naming the lock file and what to do, no
    traceback; an ENOSPC OSError from a write outside numerics.records (here the report's
    build) is printed the same way by the CLI."""
    import errno
    import os

    import numerics.report as report

    real_fsync = os.fsync

    def full(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".lock"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "o.json"
    fails_cleanly(capsys, _resnet(out, empty_root), "cannot write", ".o.json.lock",
                   "No space left on device", "free space")
    monkeypatch.setattr(os, "fsync", real_fsync)

    def build_report(**kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "site" / "x.html"))

    monkeypatch.setattr(report, "build_report", build_report)
    fails_cleanly(capsys, ["report", "--out", str(tmp_path / "site"), "--no-ledger"],
                   "x.html", "No space left on device", "free space")
    assert not (tmp_path / ".site.lock").exists()


@pytest.mark.parametrize("damage", ["not JSON", "not UTF-8", "no results key", "a folder"])
def test_invalid_record_is_not_verified_never_fails(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, damage: str) -> None:
    """A data study's record that cannot be read (invalid JSON, bytes that are not text, keys
    missing, a folder in its place) makes the data evidence 'not verified (invalid data file
    ...)' naming the file and the fix; the claim is not judged 'fails'."""
    import numerics.experiments.units as units
    from numerics.ledger import Verdict, checks_for, run_check, verdict
    from numerics.records import read_result
    from theory.errors import ResultFileError

    record = tmp_path / "budget" / "budget.json"
    record.parent.mkdir()
    if damage == "a folder":
        record.mkdir()
    else:
        record.write_bytes({"not JSON": b'{"config": {', "not UTF-8": b'{"config": "\xff\xfe"}',
                            "no results key": b'{"config": {}, "provenance": {}}'}[damage])
    with pytest.raises(ResultFileError, match=str(record)):
        read_result(record)
    monkeypatch.setattr(units, "RESULTS_ROOT", tmp_path)
    (check,) = [c for c in checks_for("L-BUDGET", include_data=True) if c.kind == "data"]
    evidence = run_check(check)
    assert evidence.summary.startswith("not verified (invalid data file: result file"), evidence
    assert str(record) in evidence.summary
    assert not evidence.ran
    assert verdict([evidence]) == Verdict.NOT_VERIFIED
