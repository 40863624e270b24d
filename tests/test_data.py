"""Tests of numerics.data: the readers on small official-format files, checksums, the CLI table.

MNIST/MNIST2 (needed by every claim's data experiment: Y-T1, Y-T2, L-BUDGET, L-FINDINGS) are
checked on the real files from the ``data_root`` fixture; every other reader on files the tests
write themselves in the official formats (IDX, CIFAR pickle batches and tar.gz, npz parts, SVHN
.mat). The shared data directory is read-only: tests write only under ``tmp_path``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from numerics.cli import main
from numerics.data import (
    DATASETS,
    FileSpec,
    check_dataset,
    cifar10,
    load_cifar2,
    load_cifar10,
    load_digits01,
    load_mnist,
    load_mnist2,
    load_mnist_float,
    load_svhn,
    mnist,
    read_cifar_batch,
    read_idx,
    read_svhn_mat,
    seeded_subset_indices,
    verify_file,
)
from numerics.data.cache import CACHE_ENV
from numerics.data.cifar10 import NPZ_TEST_NOTE
from numerics.data.registry import array_digest, file_digests
from theory.errors import ConfigError, DataError

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def derived_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the derived array cache of each test in its own temporary folder."""
    folder = tmp_path / "derived-cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


# ---------------------------------------------------------------- writers of official formats


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array: magic 0x00000800 | ndim, big-endian dims, the bytes."""
    header = bytes([0, 0, 8, array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_gz(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(idx_bytes(array)))
    return path


def cifar_batch_bytes(x: np.ndarray, y: np.ndarray) -> bytes:
    """An official-style batch: rows of 1024 R, 1024 G, 1024 B values (planes row-major)."""
    data = x.transpose(0, 3, 1, 2).reshape(x.shape[0], 3072)
    batch = {b"batch_label": b"synthetic", b"labels": [int(v) for v in y], b"data": data,
             b"filenames": [b"img%d.png" % i for i in range(len(y))]}
    return pickle.dumps(batch, protocol=2)


def make_cifar(n: int = 6) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Six batches of n random images; batch k has labels covering frog (6) and ship (8)."""
    out = {}
    names = [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]
    for i, name in enumerate(names):
        x = RNG.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
        y = (np.arange(n) + i) % 10
        y[0], y[1] = 6, 8
        out[name] = (x, y.astype(np.int64))
    return out


def write_cifar_batches(root: Path, batches: dict) -> Path:
    folder = root / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, (x, y) in batches.items():
        (folder / name).write_bytes(cifar_batch_bytes(x, y))
    return folder


def write_cifar_tar(root: Path, batches: dict) -> Path:
    """An archive like the official one: a directory, data_batch_4 first, a non-batch member."""
    folder = write_cifar_batches(root / "src", batches)
    (folder / "readme.html").write_bytes(b"<html></html>")
    tar_path = root / "cifar10" / "cifar-10-python.tar.gz"
    tar_path.parent.mkdir(parents=True)
    order = ["data_batch_4", "readme.html", *(n for n in sorted(batches) if n != "data_batch_4")]
    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py", recursive=False)
        for name in order:
            tar.add(folder / name, arcname=f"cifar-10-batches-py/{name}")
    return tar_path


def write_cifar_npz(root: Path, batches: dict, first: int = 4) -> Path:
    folder = root / "cifar10"
    folder.mkdir(parents=True)
    for k in range(1, 6):
        x, y = batches[f"data_batch_{k}"]
        np.savez_compressed(folder / f"cifar10_train_part{k}.npz", x=x, y=y.astype(np.uint8))
    x, y = batches["test_batch"]
    np.savez_compressed(folder / "cifar10_test_first1000.npz", x=x[:first],
                        y=y[:first].astype(np.uint8))
    np.savez_compressed(folder / "cifar10_test_labels.npz", y=y.astype(np.uint8))
    return folder


# ---------------------------------------------------------------- MNIST on the real files


def test_mnist_counts_labels_and_pixels(data_root: Path) -> None:
    x, y = load_mnist("train", data_root)
    assert x.shape == (60000, 28, 28)
    assert x.dtype == np.uint8
    assert np.array_equal(np.bincount(y), [5923, 6742, 5958, 6131, 5842,
                                           5421, 5918, 6265, 5851, 5949])
    xt, yt = load_mnist("test", data_root)
    assert xt.shape == (10000, 28, 28)
    assert set(np.unique(yt)) == set(range(10))
    assert x.min() == 0
    assert x.max() == 255
    x[0, 0, 0] = 7  # callers get writable copies: the cache behind them is untouched
    assert load_mnist("train", data_root)[0][0, 0, 0] == 0
    assert mnist._load_mnist_cached("train", str(data_root))[0] is \
        mnist._load_mnist_cached("train", str(data_root))[0]  # cached in memory, read-only
    assert not mnist._load_mnist_cached("train", str(data_root))[0].flags.writeable
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns on read-only arrays
        torch.as_tensor(x)


def test_mnist2_counts_labels_and_range(data_root: Path) -> None:
    for split, n in (("train", 12665), ("test", 2115)):
        x, y = load_mnist2(split, data_root)
        assert x.shape == (n, 784)
        assert x.dtype == np.float64
        assert set(np.unique(y)) == {-1.0, 1.0}
        assert x.min() >= 0.0
        assert x.max() <= 1.0
        assert x.max() == 1.0
    _, y = load_mnist2("train", data_root)
    assert (y == -1).sum() == 5923
    assert (y == 1).sum() == 6742


def test_mnist_float_matches_uint8(data_root: Path) -> None:
    images, labels = load_mnist("test", data_root)
    loaded = load_mnist_float("test", data_root, dtype=np.float32, flatten=True)
    assert loaded.x.shape == (10000, 784)
    assert loaded.x.dtype == np.float32
    np.testing.assert_allclose(loaded.x * 255, images.reshape(10000, -1), atol=1e-4)
    assert np.array_equal(loaded.y, labels)
    assert loaded.classes[0] == "0"


def test_real_mnist_files_pass_their_registered_checksums(data_root: Path) -> None:
    statuses = check_dataset("mnist", data_root)
    assert [s.checksum for s in statuses] == ["ok"] * 4


def test_read_idx_roundtrip_and_errors(tmp_path: Path) -> None:
    array = RNG.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    path = write_idx_gz(tmp_path / "a-idx3-ubyte.gz", array)
    assert np.array_equal(read_idx(path), array)
    raw = tmp_path / "a-idx3-ubyte"
    raw.write_bytes(idx_bytes(array))
    assert np.array_equal(read_idx(raw), array)
    # IDX data shorter than the header declares (inside a valid gzip stream)
    (tmp_path / "short.gz").write_bytes(gzip.compress(idx_bytes(array)[:-7]))
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "short.gz")
    # the gzip stream itself cut short
    data = path.read_bytes()
    (tmp_path / "cut.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="corrupt or truncated"):
        read_idx(tmp_path / "cut.gz")
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01" + bytes(8))
    with pytest.raises(DataError, match="magic"):
        read_idx(tmp_path / "bad")


def test_mnist_loader_on_written_idx_files_and_missing_message(tmp_path: Path) -> None:
    x = RNG.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    y = np.array([0, 1, 2, 1, 0, 9, 1], dtype=np.uint8)
    write_idx_gz(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz", x)
    write_idx_gz(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", y)
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz is truncated"):  # digests
        load_mnist("test", tmp_path)
    images, labels = load_mnist("test", tmp_path, verify=False)
    assert np.array_equal(images, x)
    assert np.array_equal(labels, y)
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz is truncated"):  # digests
        load_mnist2("test", tmp_path)  # first: the counts of edited files can hold
    with pytest.raises(DataError) as err:
        load_mnist("train", tmp_path)
    message = str(err.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert "f68b3c2dcbeaaa9fbdd348bbdeb94873" in message
    assert str(tmp_path / "mnist") in message
    assert "ADVLANDSCAPE_DATA" in message


# ---------------------------------------------------------------- CIFAR-10 in three layouts


def test_cifar_batch_plane_order() -> None:
    """The official row is R plane, G plane, B plane; the reader returns HWC RGB."""
    data = np.zeros((1, 3072), dtype=np.uint8)
    data[0, 0], data[0, 1024], data[0, 2048] = 10, 20, 30  # pixel (0, 0): R, G, B
    data[0, 1] = 40  # R of pixel (0, 1)
    data[0, 32] = 50  # R of pixel (1, 0)
    x, y = read_cifar_batch(pickle.dumps({b"data": data, b"labels": [3]}, protocol=2))
    assert x.shape == (1, 32, 32, 3)
    assert y.tolist() == [3]
    assert x[0, 0, 0].tolist() == [10, 20, 30]
    assert x[0, 0, 1, 0] == 40
    assert x[0, 1, 0, 0] == 50


@pytest.mark.parametrize("layout", ["batches", "tar", "npz"])
def test_cifar10_layouts_agree(tmp_path: Path, layout: str) -> None:
    batches = make_cifar()
    {"batches": write_cifar_batches, "tar": write_cifar_tar, "npz": write_cifar_npz}[layout](
        tmp_path, batches)
    train = load_cifar10("train", tmp_path, verify=False)  # "auto" finds the only layout present
    assert train.source.endswith({"batches": "cifar-10-batches-py", "tar": "cifar-10-python.tar.gz",
                                  "npz": "(npz parts)"}[layout])
    expect_x = np.concatenate([batches[f"data_batch_{k}"][0] for k in range(1, 6)])
    expect_y = np.concatenate([batches[f"data_batch_{k}"][1] for k in range(1, 6)])
    assert train.x.dtype == np.uint8
    assert train.y.dtype == np.int64
    assert np.array_equal(train.x, expect_x)
    assert np.array_equal(train.y, expect_y)
    assert train.note == ""
    test = load_cifar10("test", tmp_path, source=layout, verify=False)
    n_test = 4 if layout == "npz" else 6
    assert np.array_equal(test.x, batches["test_batch"][0][:n_test])
    assert np.array_equal(test.y, batches["test_batch"][1][:n_test])
    assert (test.note == NPZ_TEST_NOTE) == (layout == "npz")
    held_train, held_test = (load_cifar10(s, tmp_path, holdout_part=5, verify=False)
                             for s in ("train", "test"))
    assert np.array_equal(held_test.x, batches["data_batch_5"][0])
    assert np.array_equal(held_train.x, expect_x[: 4 * 6])
    assert "holdout_part=5" in held_test.note


def test_cifar10_auto_prefers_complete_official_layout(tmp_path: Path) -> None:
    batches = make_cifar()
    write_cifar_npz(tmp_path, batches)
    write_cifar_batches(tmp_path, batches)
    # all test images: the batches layout
    assert load_cifar10("test", tmp_path, verify=False).note == ""


def test_cifar2_frog_vs_ship(tmp_path: Path) -> None:
    batches = make_cifar(n=12)
    write_cifar_batches(tmp_path, batches)
    x, y = load_cifar2("train", tmp_path, verify=False)
    labels = np.concatenate([batches[f"data_batch_{k}"][1] for k in range(1, 6)])
    images = np.concatenate([batches[f"data_batch_{k}"][0] for k in range(1, 6)])
    keep = (labels == 6) | (labels == 8)
    assert x.shape == (keep.sum(), 3072)
    assert x.dtype == np.float64
    assert np.array_equal(y, np.where(labels[keep] == 8, 1.0, -1.0))
    np.testing.assert_array_equal(x * 255.0, images[keep].reshape(keep.sum(), -1))
    assert x.min() >= 0.0
    assert x.max() <= 1.0
    assert load_cifar2("test", tmp_path, flatten=False, verify=False).x.shape[1:] == (32, 32, 3)


def test_cifar10_truncated_and_missing(tmp_path: Path) -> None:
    batches = make_cifar()
    folder = write_cifar_batches(tmp_path / "a", batches)
    data = (folder / "test_batch").read_bytes()
    (folder / "test_batch").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated"):
        load_cifar10("test", tmp_path / "a", source="batches", verify=False)
    tar_path = write_cifar_tar(tmp_path / "b", batches)
    blob = tar_path.read_bytes()
    tar_path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match="truncated"):
        load_cifar10("test", tmp_path / "b", source="tar", verify=False)
    with pytest.raises(DataError) as err:
        load_cifar10("train", tmp_path / "empty", verify=False)
    assert "c58f30108f718f92721af3b95e74349a" in str(err.value)
    assert "cifar10_train_part1.npz" in str(err.value)
    with pytest.raises(DataError, match=r"1\.\.5"):
        load_cifar10("train", tmp_path / "a", holdout_part=6, verify=False)


def test_cifar10_derived_disk_cache(tmp_path: Path, derived_cache: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    batches = make_cifar()
    folder = write_cifar_npz(tmp_path, batches)
    first = load_cifar10("train", tmp_path, verify=False)
    assert len(list(derived_cache.glob("*.npy"))) == 2
    cifar10._load_cifar10_cached.cache_clear()
    decoded: list[str] = []
    real_decode = cifar10._decode
    monkeypatch.setattr(cifar10, "_decode", lambda *a: decoded.append("x") or real_decode(*a))
    second = load_cifar10("train", tmp_path, verify=False)  # as a new process: read from disk
    assert decoded == []
    assert np.array_equal(second.x, first.x)
    assert np.array_equal(second.y, first.y)
    assert second.x.flags.writeable
    second.x[0] = 0  # a writable copy: the next load is unchanged
    assert np.array_equal(load_cifar10("train", tmp_path, verify=False).x, first.x)
    # a changed source file invalidates the entry
    x, y = batches["data_batch_2"]
    np.savez_compressed(folder / "cifar10_train_part2.npz", x=255 - x, y=y.astype(np.uint8))
    cifar10._load_cifar10_cached.cache_clear()
    third = load_cifar10("train", tmp_path, verify=False)
    assert decoded == ["x"]
    assert np.array_equal(third.x[6:12], 255 - x)
    # an unreadable entry is rebuilt; disk_cache=False never touches the folder
    for entry in derived_cache.glob("*.npy"):
        entry.write_bytes(b"garbage")
    cifar10._load_cifar10_cached.cache_clear()
    assert np.array_equal(load_cifar10("train", tmp_path, verify=False).x, third.x)
    cifar10._load_cifar10_cached.cache_clear()
    before = sorted(derived_cache.iterdir())
    load_cifar10("test", tmp_path, disk_cache=False, verify=False)
    assert sorted(derived_cache.iterdir()) == before


def test_cifar10_npz_inconsistent_test_labels(tmp_path: Path) -> None:
    folder = write_cifar_npz(tmp_path, make_cifar())
    np.savez_compressed(folder / "cifar10_test_labels.npz", y=np.full(6, 9, dtype=np.uint8))
    with pytest.raises(DataError, match="differ"):
        load_cifar10("test", tmp_path, source="npz", verify=False)


def test_real_cifar10_npz_test_split(data_root: Path) -> None:
    if not (data_root / "cifar10" / "cifar10_test_first1000.npz").is_file():
        pytest.skip("CIFAR-10 npz parts not in the data root")
    test = load_cifar10("test", data_root, source="npz")
    assert test.x.shape == (1000, 32, 32, 3)
    assert "0..999" in test.note
    assert array_digest(test.x) == DATASETS["cifar10-npz"].files[5].array_sha256["x"]
    assert np.bincount(test.y, minlength=10).sum() == 1000


# ---------------------------------------------------------------- SVHN, digits


def test_svhn_mat_reader(tmp_path: Path) -> None:
    X = RNG.integers(0, 256, size=(32, 32, 3, 5), dtype=np.uint8)
    y = np.array([[10], [1], [9], [10], [5]], dtype=np.uint8)
    (tmp_path / "svhn").mkdir()
    scipy.io.savemat(tmp_path / "svhn" / "test_32x32.mat", {"X": X, "y": y})
    loaded = load_svhn("test", tmp_path, verify=False)
    assert loaded.x.shape == (5, 32, 32, 3)
    assert loaded.x.dtype == np.uint8
    assert np.array_equal(loaded.x[2], X[..., 2])
    assert loaded.y.tolist() == [0, 1, 9, 0, 5]
    loaded.x[:] = 0  # writable copies
    assert np.array_equal(load_svhn("test", tmp_path, verify=False).x[2], X[..., 2])
    with pytest.raises(DataError, match="e26dedcc434d2e4c54c9b2d4a06d8373"):
        load_svhn("train", tmp_path)
    path = tmp_path / "cut.mat"
    data = (tmp_path / "svhn" / "test_32x32.mat").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="corrupt or truncated"):
        read_svhn_mat(path)


def test_digits01() -> None:
    x, y = load_digits01()
    assert x.shape == (360, 64)
    assert x.dtype == np.float64
    assert (y == -1).sum() == 178
    assert (y == 1).sum() == 182
    assert x.min() == 0.0
    assert x.max() == 1.0
    x[:] = 0  # writable copies
    assert load_digits01().x.max() == 1.0
    train, test = load_digits01("train"), load_digits01("test")
    assert len(train) + len(test) == 360
    assert len(test) == 90
    rows = {r.tobytes() for r in train.x}
    assert sum(r.tobytes() in rows for r in test.x) < len(test)  # not the same images
    with pytest.raises(DataError, match="split"):
        load_digits01("val")


# ---------------------------------------------------------------- checksums and the CLI table


def test_verify_file_checks_size_md5_sha256(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    payload = os.urandom(3 * 1024 * 1024 + 17)  # several chunks
    path.write_bytes(payload)
    md5, sha = hashlib.md5(payload).hexdigest(), hashlib.sha256(payload).hexdigest()
    assert file_digests(path) == (len(payload), md5, sha)
    spec = FileSpec("f.bin", len(payload), md5, sha)
    assert verify_file(path, spec) == spec
    with pytest.raises(DataError, match="md5"):
        verify_file(path, spec, md5="0" * 32)
    with pytest.raises(DataError, match="sha256"):
        verify_file(path, FileSpec("f.bin", sha256="0" * 64))
    with pytest.raises(DataError, match="truncated"):
        verify_file(path, spec, size=len(payload) + 1)
    with pytest.raises(DataError, match="missing"):
        verify_file(tmp_path / "nope", spec)
    with pytest.raises(DataError, match="no size or checksum"):
        verify_file(path)


def test_verify_file_npz_by_array_digest(tmp_path: Path) -> None:
    x = RNG.integers(0, 256, size=(3, 2), dtype=np.uint8)
    np.savez_compressed(tmp_path / "p.npz", x=x)
    good = FileSpec("p.npz", array_sha256={"x": hashlib.sha256(x.tobytes()).hexdigest()})
    verify_file(tmp_path / "p.npz", good)
    with pytest.raises(DataError, match="array 'x' fails"):
        verify_file(tmp_path / "p.npz", FileSpec("p.npz", array_sha256={"x": "0" * 64}))
    (tmp_path / "p.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(DataError, match=r"not a readable \.npz"):
        verify_file(tmp_path / "p.npz", good)


def test_registry_has_a_digest_for_every_file() -> None:
    for dataset in DATASETS.values():
        for spec in dataset.files:
            assert spec.has_checksum(), spec.name
            if dataset.downloadable:
                assert spec.urls
                assert all(u.startswith("http") for u in spec.urls)
    assert DATASETS["cifar10"].files[0].md5 == "c58f30108f718f92721af3b95e74349a"
    parts = [s.array_sha256 for s in DATASETS["cifar10-npz"].files[:5]]
    assert all(set(p) == {"x", "y"} for p in parts)


def _mnist_root(tmp_path: Path, data_root: Path, corrupt: bool) -> Path:
    folder = tmp_path / "mnist"
    folder.mkdir()
    for spec in DATASETS["mnist"].files:
        if corrupt and spec.name == "t10k-labels-idx1-ubyte.gz":
            data = bytearray((data_root / "mnist" / spec.name).read_bytes())
            data[100] ^= 0xFF
            (folder / spec.name).write_bytes(bytes(data))
        else:
            (folder / spec.name).symlink_to(data_root / "mnist" / spec.name)
    return tmp_path


def test_data_check_good_directory(tmp_path: Path, data_root: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    root = _mnist_root(tmp_path, data_root, corrupt=False)
    assert main(["data", "--check", "--data-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.count("present  ok") == 4
    assert "mnist       usable" in out
    assert "svhn        absent (optional)" in out
    assert str(root / "svhn") in out


def test_data_check_corrupt_directory(tmp_path: Path, data_root: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = _mnist_root(tmp_path, data_root, corrupt=True)
    assert main(["data", "--check", "--data-dir", str(root)]) == 1
    out = capsys.readouterr().out
    assert out.count("present  ok") == 3
    assert "t10k-labels-idx1-ubyte.gz          present  bad" in out
    assert "fails its md5 check" in out
    assert "corrupt" in out


def test_data_check_without_mnist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "--check", "--data-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "MISSING" in out
    assert "--download mnist" in out


# ---------------------------------------------------------------- seeded subsets
# The four subset draws the experiments made before numerics.data.seeded_subset_indices, copied
# verbatim: the helper must give the same indices, since the committed records depend on them.


def _units_subset_indices(n_total: int, n: int, seed: int) -> np.ndarray:
    """numerics.experiments.units._subset_indices."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.permutation(n_total)[: min(n, n_total)])


def _mnist2_subset(n_total: int, n: int | None, seed: int) -> np.ndarray:
    """numerics.experiments.mnist2._subset, as indices (no subset keeps every row)."""
    if n is not None and n < n_total:
        idx = np.random.default_rng(seed).permutation(n_total)[:n]
        idx.sort()
        return idx
    return np.arange(n_total)


def _resnet_subsample(n_total: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """numerics.experiments.resnet._subsample, as indices (n = 0 keeps every row)."""
    if n == 0 or n >= n_total:
        return np.arange(n_total)
    return np.sort(rng.choice(n_total, size=n, replace=False))


def _budget_cifar2_subset(n_total: int, n: int, seed: int) -> np.ndarray:
    """numerics.experiments.budget._cifar2_subset, as indices."""
    return np.sort(np.random.default_rng(seed).permutation(n_total)[:n])


# sizes of the studies (MNIST2 12,665 / 2,115; CIFAR2 10,000; CIFAR-10 50,000) and small ones;
# n around n_total // 50 and above 10,000 rows takes both branches of numpy's choice
SUBSET_SIZES = [(10, 0), (10, 3), (10, 10), (10, 25), (2115, 500), (12665, 200), (12665, 12664),
                (10000, 199), (10000, 200), (10000, 1000), (50000, 999), (50000, 1001),
                (50000, 5000)]


@pytest.mark.parametrize(("n_total", "n"), SUBSET_SIZES)
@pytest.mark.parametrize("seed", [0, 1, 7, 2021])
def test_seeded_subset_matches_the_permutation_draws(n_total: int, n: int, seed: int) -> None:
    new = seeded_subset_indices(n_total, n, seed)
    assert new.dtype == np.int64
    for old in (_units_subset_indices(n_total, n, seed), _mnist2_subset(n_total, n, seed),
                _budget_cifar2_subset(n_total, n, seed)):
        np.testing.assert_array_equal(new, old)
    np.testing.assert_array_equal(seeded_subset_indices(n_total, None, seed), np.arange(n_total))
    np.testing.assert_array_equal(_mnist2_subset(n_total, None, seed), np.arange(n_total))


@pytest.mark.parametrize(("n_train", "n_test"), [(1000, 200), (0, 200), (60000, 100),
                                                  (20000, 10000), (500, 0), (12, 12)])
@pytest.mark.parametrize("seed", [0, 3])
def test_seeded_subset_matches_the_resnet_choice_draws(n_train: int, n_test: int,
                                                       seed: int) -> None:
    """One generator for the train and then the test subset, as the ResNet18 experiment draws:
    a subset of every row draws nothing, so the test subset is the same as before too."""
    old_rng, new_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    for n_total, n in ((50000, n_train), (10000, n_test)):
        old = _resnet_subsample(n_total, n, old_rng)
        new = seeded_subset_indices(n_total, n or None, new_rng, draw="choice")
        np.testing.assert_array_equal(new, old)
    assert old_rng.random() == new_rng.random()  # the stream advanced alike


def test_seeded_subset_draws_differ_and_validate() -> None:
    perm = seeded_subset_indices(10000, 500, 0)
    choice = seeded_subset_indices(10000, 500, 0, draw="choice")
    assert len(np.unique(perm)) == len(np.unique(choice)) == 500
    assert np.all(np.diff(perm) > 0)
    assert np.all(np.diff(choice) > 0)
    assert not np.array_equal(perm, choice)  # two numpy calls, two subsets: keep each caller's
    assert seeded_subset_indices(0, 5, 0).shape == (0,)
    with pytest.raises(ConfigError, match="n must be >= 0"):
        seeded_subset_indices(10, -1, 0)
    with pytest.raises(ConfigError, match="draw must be one of"):
        seeded_subset_indices(10, 3, 0, draw="shuffle")
