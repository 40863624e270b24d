"""Planted and damaged data files: nothing is parsed before it is verified (docs/faults.md).

Each test plants a file under its official name and shows how the load ends: a refusal naming
the file and what to do, before any code in it runs or any of it is inflated. CIFAR-10 batches
are decoded by a restricted unpickler (``numerics.data.cifar_pickle``), so even the unverified
path (``verify=False``, for files that are not the official ones) runs nothing a file names.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from numerics.cli import main
from numerics.data import (
    cifar10,
    load_cifar2,
    load_cifar10,
    load_mnist,
    load_mnist2,
    mnist,
    read_cifar_batch,
    read_idx,
)
from numerics.data.cache import CACHE_ENV, digest_path
from theory.errors import DataError


@pytest.fixture(autouse=True)
def fresh_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A derived cache of the test's own, and the loaders' in-memory caches emptied."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "derived"))
    for cached in (mnist._load_mnist_cached, mnist._verify_official,
                   cifar10._load_cifar10_cached):
        cached.cache_clear()


# ---------------------------------------------------------------- 1. pickles that run code


class Planted:
    """Pickles as a call of ``call[0]`` with ``call[1]``: what a malicious batch holds."""

    def __init__(self, call: tuple[object, tuple[object, ...]]) -> None:
        self.call = call

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return self.call


def planted_batch(marker: Path, how: str) -> bytes:
    """A protocol-2 pickle shaped like a CIFAR batch whose ``data`` writes ``marker`` on load."""
    call = ((os.system, (f"touch {marker}",)) if how == "os.system"
            else (open, (str(marker), "w")))
    batch = {b"batch_label": b"training batch 1 of 5", b"labels": [6],
             b"data": Planted(call), b"filenames": [b"frog.png"]}
    return pickle.dumps(batch, protocol=2)


def plain_pickle_runs_it(path: Path, marker: Path) -> bool:
    """Control: ``pickle.load`` (in a subprocess) writes the marker."""
    subprocess.run([sys.executable, "-c", "import pickle, sys\n"
                    "pickle.load(open(sys.argv[1], 'rb'), encoding='bytes')", str(path)],
                   capture_output=True, timeout=60, check=False)
    ran = marker.exists()
    marker.unlink(missing_ok=True)
    return ran


@pytest.mark.parametrize("how", ["os.system", "open"])
def test_planted_cifar_batch_is_refused_and_never_runs(tmp_path: Path, how: str) -> None:
    """A batch that runs ``os.system`` or ``open`` when unpickled, planted as
    ``cifar-10-batches-py/data_batch_1``: the verified load stops at its size; the unverified
    load and ``read_cifar_batch`` refuse its global; the marker never appears."""
    marker = tmp_path / "marker"
    folder = tmp_path / "data" / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    planted = folder / "data_batch_1"
    planted.write_bytes(planted_batch(marker, how))
    assert plain_pickle_runs_it(planted, marker)  # the file is really malicious

    with pytest.raises(DataError, match=r"data_batch_1 is truncated: \d+ bytes, expected "
                                        r"31035704; delete .* and fetch it again"):
        load_cifar10("train", tmp_path / "data", source="batches")
    with pytest.raises(DataError, match="refused global") as err:
        load_cifar10("train", tmp_path / "data", source="batches", verify=False)
    assert "not a CIFAR-10 python batch" in str(err.value)
    assert "data_batch_1" in str(err.value)
    with pytest.raises(DataError, match="refused global"):
        read_cifar_batch(planted)
    with pytest.raises(DataError, match="refused global"):
        read_cifar_batch(planted.read_bytes())
    assert not marker.exists()


def test_planted_cifar_archive_is_refused_and_never_runs(tmp_path: Path) -> None:
    """The same batch inside a planted ``cifar-10-python.tar.gz`` (found by ``source="auto"``):
    refused at the archive's size, and, unverified, at the member's global; no marker."""
    marker = tmp_path / "marker"
    archive = tmp_path / "data" / "cifar10" / "cifar-10-python.tar.gz"
    archive.parent.mkdir(parents=True)
    raw = planted_batch(marker, "os.system")
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    with pytest.raises(DataError, match=r"cifar-10-python\.tar\.gz is truncated: .*expected "
                                        "170498071"):
        load_cifar2("train", tmp_path / "data")
    with pytest.raises(DataError, match=r"cifar-10-python\.tar\.gz: .*refused global posix"):
        load_cifar10("train", tmp_path / "data", verify=False)
    assert not marker.exists()


def _py2_batch(x_rows: bytes, n: int, labels: list[int]) -> bytes:
    """A batch pickled as the official files are (Python 2 cPickle, protocol 2: strings as
    BINSTRING, the array through numpy.core.multiarray._reconstruct), written opcode by opcode."""
    def s(text: bytes) -> bytes:  # SHORT_BINSTRING / BINSTRING
        return (b"U" + bytes([len(text)]) + text if len(text) < 256
                else b"T" + struct.pack("<i", len(text)) + text)

    def k(v: int) -> bytes:  # BININT1 / BININT2
        return b"K" + bytes([v]) if v < 256 else b"M" + struct.pack("<H", v)

    dtype = (b"cnumpy\ndtype\n" + s(b"u1") + k(0) + k(1) + b"\x87R"
             + b"(" + k(3) + s(b"|") + b"NNN" + b"J\xff\xff\xff\xff" * 2 + k(0) + b"tb")
    array = (b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n" + k(0) + b"\x85"
             + s(b"b") + b"\x87R" + b"(" + k(1) + k(n) + k(3072) + b"\x86" + dtype + b"\x89"
             + s(x_rows) + b"tb")
    label_list = b"](" + b"".join(k(v) for v in labels) + b"e"
    names = b"](" + b"".join(s(b"img%d.png" % i) for i in range(n)) + b"e"
    return (b"\x80\x02}q\x01(" + s(b"data") + array + s(b"labels") + label_list
            + s(b"batch_label") + s(b"training batch 1 of 5") + s(b"filenames") + names
            + b"u.")


def test_restricted_reader_decodes_the_official_layout() -> None:
    """The restricted reader still decodes what the official files hold (the Python 2 layout)
    and what Python 3's pickle writes (protocols 2 and 5), to the same arrays."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(3, 3072), dtype=np.uint8)
    labels = [6, 8, 0]
    expect = x.reshape(3, 3, 32, 32).transpose(0, 2, 3, 1)
    py2 = _py2_batch(x.tobytes(), 3, labels)
    assert pickle.loads(py2, encoding="bytes")[b"labels"] == labels  # a valid pickle
    for raw in (py2, pickle.dumps({b"data": x, b"labels": labels}, protocol=2),
                pickle.dumps({b"data": x, b"labels": labels}, protocol=5)):
        got_x, got_y = read_cifar_batch(raw)
        assert np.array_equal(got_x, expect)
        assert got_y.tolist() == labels
    with pytest.raises(DataError, match="unexpected key"):
        read_cifar_batch(pickle.dumps({b"data": x, b"labels": labels, b"extra": 1}, protocol=2))
    with pytest.raises(DataError, match="not a plain numeric type"):
        read_cifar_batch(pickle.dumps({b"data": np.array([None]), b"labels": []}, protocol=2))


# ---------------------------------------------------------------- 2. edited npz parts


def _npz_root(tmp_path: Path, data_root: Path) -> Path:
    """A data root whose cifar10/ links to the shared npz parts (skips without them)."""
    source = data_root / "cifar10"
    if not (source / "cifar10_train_part1.npz").is_file():
        pytest.skip(f"CIFAR-10 npz parts not in {source}")
    root = tmp_path / "data"
    (root / "cifar10").mkdir(parents=True)
    for part in source.iterdir():
        (root / "cifar10" / part.name).symlink_to(part)
    return root


def test_edited_label_in_an_npz_part_is_refused(tmp_path: Path, data_root: Path) -> None:
    """``cifar10_train_part1.npz`` rewritten with one label changed (a valid npz): every load
    path refuses it, naming the file, the array and what to do (before: it loaded silently)."""
    root = _npz_root(tmp_path, data_root)
    target = root / "cifar10" / "cifar10_train_part1.npz"
    with np.load(target) as part:
        x, y = part["x"], part["y"].copy()
    y[0] = (y[0] + 1) % 10
    target.unlink()
    np.savez_compressed(target, x=x, y=y)
    for load in (lambda: load_cifar2("train", root),
                 lambda: load_cifar10("test", root, holdout_part=1, disk_cache=False)):
        with pytest.raises(DataError) as err:
            load()
        message = str(err.value)
        assert "cifar10_train_part1.npz: array 'y' fails its registered sha256 check" in message
        assert "copy the official file again" in message
        cifar10._load_cifar10_cached.cache_clear()
    assert load_cifar10("test", root, holdout_part=1, verify=False).y[0] == y[0]  # as before


def test_rewritten_derived_cache_entry_is_refused(tmp_path: Path, data_root: Path) -> None:
    """A derived cache entry of the npz test split, its label array edited and its digest file
    rewritten to match: the cached arrays are checked against the registry too, and refused."""
    root = _npz_root(tmp_path, data_root)
    official = load_cifar10("test", root, source="npz")
    (labels_file,) = (tmp_path / "derived").glob("*.y.npy")
    key = labels_file.name.removesuffix(".y.npy")
    y = np.load(labels_file)
    y[0] = (y[0] + 1) % 10
    np.save(labels_file, y)
    digests = json.loads(digest_path(key, tmp_path / "derived").read_text())
    digests["y"] = hashlib.sha256(labels_file.read_bytes()).hexdigest()
    digest_path(key, tmp_path / "derived").write_text(json.dumps(digests))
    cifar10._load_cifar10_cached.cache_clear()
    with pytest.raises(DataError, match=r"cifar10_test_first1000\.npz: array 'y' fails"):
        load_cifar10("test", root, source="npz")
    assert official.y[0] != y[0]


# ---------------------------------------------------------------- 3-4. IDX files


def gzip_bomb(declared: tuple[int, ...], target_size: int | None = None) -> bytes:
    """An IDX header declaring ``declared``, then gigabytes of zeros in about 4 MB of gzip
    members (each member 1 MiB of zeros); zero-padded to ``target_size`` if given."""
    header = bytes([0, 0, 8, len(declared)]) + b"".join(struct.pack(">I", n) for n in declared)
    zeros = gzip.compress(bytes(1 << 20), compresslevel=9, mtime=0)
    count = (4 << 20) // len(zeros)
    bomb = gzip.compress(header, mtime=0) + zeros * count
    if target_size is not None:
        bomb += bytes(target_size - len(bomb))
    return bomb


@pytest.fixture
def no_gunzip(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record (and forbid) every gzip.open of the MNIST reader."""
    opened: list[Path] = []

    def refuse(path: Path, *args: object) -> None:
        opened.append(Path(path))
        raise AssertionError(f"{path} was decompressed")

    monkeypatch.setattr(mnist.gzip, "open", refuse)
    return opened


@pytest.mark.parametrize("size", ["4 MB", "official size"])
def test_gzip_bomb_is_refused_before_it_is_inflated(tmp_path: Path, data_root: Path,
                                                     no_gunzip: list[Path], size: str) -> None:
    """A 4 MB gzip bomb (about 4 GB of zeros) planted as the training images: refused by its
    size, or, padded to the official size, by its md5, without a byte being inflated."""
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    shutil.copyfile(data_root / "mnist" / "train-labels-idx1-ubyte.gz",
                    folder / "train-labels-idx1-ubyte.gz")
    target = folder / "train-images-idx3-ubyte.gz"
    target.write_bytes(gzip_bomb((60000, 28, 28), None if size == "4 MB" else 9912422))
    expect = "is truncated" if size == "4 MB" else "fails its md5 check"
    for load in (load_mnist2, load_mnist):
        with pytest.raises(DataError, match=rf"train-images-idx3-ubyte\.gz {expect}.*fetch it"):
            load("train", tmp_path / "data")
    assert no_gunzip == []


def test_gzip_bomb_is_capped_at_the_declared_size(tmp_path: Path) -> None:
    """Read unverified (``read_idx``), the bomb is inflated only to the size its header
    declares, plus one byte, then refused as too long; a header declaring more than
    ``MAX_IDX_BYTES`` is refused before any data are read."""
    path = tmp_path / "bomb-idx3-ubyte.gz"
    path.write_bytes(gzip_bomb((60000, 28, 28)))
    start = time.monotonic()
    with pytest.raises(DataError, match=r"too long: header declares shape \(60000, 28, 28\)"):
        read_idx(path)
    assert time.monotonic() - start < 30  # 47 MB inflated, not 4 GB
    path.write_bytes(gzip_bomb((1 << 20, 1 << 20)))
    with pytest.raises(DataError, match="more than the 268435456 read at most"):
        read_idx(path)


def test_idx_header_with_zero_dimensions(tmp_path: Path, data_root: Path) -> None:
    """An IDX label file whose header declares 0 dimensions (before: an IndexError traceback,
    before the checksum): the checksum refuses it first; unverified, a clear DataError."""
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    shutil.copyfile(data_root / "mnist" / "t10k-images-idx3-ubyte.gz",
                    folder / "t10k-images-idx3-ubyte.gz")
    target = folder / "t10k-labels-idx1-ubyte.gz"
    target.write_bytes(gzip.compress(b"\x00\x00\x08\x00\x07"))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz is truncated"):
        load_mnist("test", tmp_path / "data")
    with pytest.raises(DataError, match="declares 0 dimensions"):
        load_mnist("test", tmp_path / "data", verify=False)
    with pytest.raises(DataError, match="declares 0 dimensions"):
        read_idx(target)


# ---------------------------------------------------------------- 5. a data root that is a file


def test_data_root_that_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    """$ADVLANDSCAPE_DATA (or --data-dir) naming a file: said so, by the loaders and by
    ``data --check`` (exit 2); before: "mnist: 2 file(s) missing in <file>/mnist"."""
    a_file = tmp_path / "data.tar"
    a_file.write_bytes(b"not a folder")
    monkeypatch.setenv("ADVLANDSCAPE_DATA", str(a_file))
    with pytest.raises(DataError, match=rf"\$ADVLANDSCAPE_DATA is {a_file}, which is a file, "
                                        "not a folder"):
        load_mnist2("train")
    assert main(["data", "--check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("advlandscape data: error: $ADVLANDSCAPE_DATA is")
    assert "which is a file, not a folder" in err
    assert main(["data", "--check", "--data-dir", str(a_file)]) == 2
    assert "the data root given (--data-dir or root=)" in capsys.readouterr().err
