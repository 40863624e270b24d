"""CIFAR-10 from its three layouts (pickle batches, the official tar.gz, .npz parts), and CIFAR2.

Layouts, all under ``<data root>/cifar10/``:

- ``batches``: the official python batches ``cifar-10-batches-py/data_batch_{1..5}`` and
  ``cifar-10-batches-py/test_batch``;
- ``tar``: the official ``cifar-10-python.tar.gz``, read member by member without extracting;
- ``npz``: ``cifar10_train_part{1..5}.npz`` (part k = ``data_batch_k``),
  ``cifar10_test_first1000.npz`` (test images 0..999 only) and ``cifar10_test_labels.npz``
  (all 10000 test labels).

CIFAR2 (Yamada et al., appendix): the frog and ship classes only, frog -> -1, ship -> +1.
"""

from __future__ import annotations

import functools
import logging
import os
import pickle
import tarfile
import zlib
from pathlib import Path
from typing import IO

import numpy as np

from numerics.data.arrays import LabeledArrays, fresh, readonly
from numerics.data.cache import cache_key, load_or_build
from numerics.data.cifar_pickle import MAX_BATCH_BYTES, decode_batch
from numerics.data.fetch import fetch_missing
from numerics.data.paths import data_dir
from numerics.data.registry import (
    DATASETS,
    FileSpec,
    array_digest,
    missing_files_message,
    read_npz,
    verify_file,
)
from theory.errors import DataError

__all__ = [
    "BATCH_DIR",
    "CIFAR2_CLASSES",
    "CIFAR10_CLASSES",
    "NPZ_PART_ROWS",
    "NPZ_TEST_NOTE",
    "NPZ_TEST_ROWS",
    "SOURCES",
    "TAR_NAME",
    "TEST_BATCH",
    "TRAIN_BATCHES",
    "load_cifar2",
    "load_cifar10",
    "read_cifar_batch",
]

logger = logging.getLogger(__name__)

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
CIFAR2_CLASSES = ("frog", "ship")  # label -1, label +1
TRAIN_BATCHES = tuple(f"data_batch_{k}" for k in range(1, 6))
TEST_BATCH = "test_batch"
TAR_NAME = "cifar-10-python.tar.gz"
BATCH_DIR = "cifar-10-batches-py"
SOURCES = ("batches", "tar", "npz")
NPZ_PART_ROWS = 10000  # images in cifar10_train_part{k}.npz (= data_batch_k)
NPZ_TEST_ROWS = 1000  # images in cifar10_test_first1000.npz
NPZ_TEST_NOTE = (
    "the npz layout holds only CIFAR-10 test images 0..999 (of 10000): this test split has those "
    "1000 images with their official labels; for an i.i.d. test set of 10000 images pass "
    "holdout_part=k (train on the other four training parts, test on part k)"
)


def read_cifar_batch(source: str | os.PathLike[str] | bytes | IO[bytes]) -> tuple[np.ndarray,
                                                                                  np.ndarray]:
    """Decode one official CIFAR-10 python batch (a pickle with ``data`` and ``labels``).

    ``data`` holds one row of 3072 bytes per image: the 1024 red, then green, then blue values,
    each plane row-major. It is returned as uint8 NHWC (N, 32, 32, 3), RGB in 0..255. The pickle
    is read by :func:`numerics.data.cifar_pickle.decode_batch`, which imports and calls nothing
    the file names: a planted file that would run code is refused with a :class:`DataError`.
    Files over :data:`~numerics.data.cifar_pickle.MAX_BATCH_BYTES` are refused unread.

    Args:
        source: the batch file's path, its bytes, or a binary file object.

    Returns:
        ``(x, y)``: uint8 ``(N, 32, 32, 3)`` and int64 ``(N,)`` in 0..9.
    """
    name = str(source) if isinstance(source, str | os.PathLike) else "CIFAR-10 batch"
    try:
        if isinstance(source, bytes):
            raw = source
        elif isinstance(source, str | os.PathLike):
            size = os.stat(source).st_size
            if size > MAX_BATCH_BYTES:
                raise DataError(f"{name} has {size} bytes, more than any CIFAR-10 batch; it is "
                                "not one (delete it and fetch the data again)")
            with open(source, "rb") as fh:
                raw = fh.read()
        else:
            raw = source.read(MAX_BATCH_BYTES + 1)
        batch = decode_batch(raw)
    except FileNotFoundError:
        raise DataError(f"{name} is missing") from None
    except pickle.UnpicklingError as exc:
        raise DataError(
            f"{name} is not a CIFAR-10 python batch ({exc}); it was refused unread beyond that "
            "point: delete it and fetch the official files again"
        ) from None
    except (EOFError, ValueError, TypeError, AttributeError, KeyError, IndexError, OSError,
            zlib.error, tarfile.TarError, RecursionError, MemoryError) as exc:
        raise DataError(
            f"{name} is corrupt or truncated ({type(exc).__name__}: {exc}); "
            "delete it and fetch it again"
        ) from None
    if b"data" not in batch or b"labels" not in batch:
        raise DataError(f"{name} is not a CIFAR-10 python batch (no 'data'/'labels' keys)")
    data, labels_list = batch[b"data"], batch[b"labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        raise DataError(f"{name}: 'data' is not a uint8 array; not a CIFAR-10 python batch")
    if isinstance(labels_list, np.ndarray):
        labels_list = labels_list.tolist()
    if not isinstance(labels_list, list) or not all(type(v) is int for v in labels_list):
        raise DataError(f"{name}: 'labels' is not a list of integers; not a CIFAR-10 batch")
    labels = np.asarray(labels_list, dtype=np.int64).reshape(-1)
    if data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] != labels.shape[0]:
        raise DataError(
            f"{name}: data has shape {data.shape} and labels {labels.shape}; expected "
            "(N, 3072) and (N,)"
        )
    x = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    return x, labels


def _read_npz(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DataError(missing_files_message(DATASETS["cifar10-npz"], path.parent.parent))
    return read_npz(path, keys)


def _batches_from_tar(path: Path, names: tuple[str, ...]) -> dict[str, tuple[np.ndarray,
                                                                             np.ndarray]]:
    """Read the named batches from the archive in one sequential pass (no extraction); a member
    over :data:`~numerics.data.cifar_pickle.MAX_BATCH_BYTES` is refused before it is read."""
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in names and base not in found:
                    if member.size > MAX_BATCH_BYTES:
                        raise DataError(f"member {member.name} has {member.size} bytes, more "
                                        "than any CIFAR-10 batch: not the official archive")
                    fh = tar.extractfile(member)
                    if fh is None:
                        continue
                    found[base] = read_cifar_batch(fh.read(MAX_BATCH_BYTES + 1))
                if len(found) == len(names):
                    break
    except FileNotFoundError:
        raise DataError(f"{path} is missing") from None
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise DataError(
            f"{path} is corrupt or truncated ({type(exc).__name__}: {exc}); "
            "delete it and download it again (advlandscape data --download cifar10)"
        ) from None
    missing = [n for n in names if n not in found]
    if missing:
        raise DataError(f"{path} lacks the batches {missing}: it is not the official archive")
    return found


def _available_source(folder: Path) -> str | None:
    if all((folder / BATCH_DIR / n).is_file() for n in (*TRAIN_BATCHES, TEST_BATCH)):
        return "batches"
    if (folder / TAR_NAME).is_file():
        return "tar"
    npz = DATASETS["cifar10-npz"]
    if all((folder / s.name).is_file() for s in npz.files if not s.optional):
        return "npz"
    return None


def _split_batches(split: str, holdout_part: int | None) -> tuple[str, ...]:
    if holdout_part is None:
        return TRAIN_BATCHES if split == "train" else (TEST_BATCH,)
    if split == "train":
        return tuple(n for k, n in enumerate(TRAIN_BATCHES, 1) if k != holdout_part)
    return (TRAIN_BATCHES[holdout_part - 1],)


def _source_files(folder: Path, source: str, names: tuple[str, ...]) -> list[Path]:
    if source == "batches":
        return [folder / BATCH_DIR / n for n in names]
    if source == "tar":
        return [folder / TAR_NAME]
    files = []
    for n in names:
        if n == TEST_BATCH:
            files += [folder / "cifar10_test_first1000.npz", folder / "cifar10_test_labels.npz"]
        else:
            files.append(folder / f"cifar10_train_part{n[-1]}.npz")
    return files


def _npz_name(batch: str) -> str:
    """The npz file holding a batch's images (test: only images 0..999)."""
    return "cifar10_test_first1000.npz" if batch == TEST_BATCH else (
        f"cifar10_train_part{batch[-1]}.npz")


def _npz_spec(file_name: str) -> FileSpec:
    return next(s for s in DATASETS["cifar10-npz"].files if s.name == file_name)


def _npz_advice(folder: Path) -> str:
    return (f"copy the official file again into {folder} (`advlandscape data --check` lists the "
            "digests), or delete the npz parts: the official archive is then downloaded on first "
            "use")


def _check_npz_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Compare arrays read from (or decoded from) an npz file with its registered digests."""
    spec = _npz_spec(path.name)
    for key, array in arrays.items():
        want = spec.array_sha256.get(key)
        if want is None:
            continue
        got = array_digest(array.astype(np.uint8) if key == "y" else array)
        if got != want:
            raise DataError(
                f"{path}: array {key!r} fails its registered sha256 check ({got}, expected "
                f"{want}): the file is not the official one and is not used; "
                f"{_npz_advice(path.parent)}"
            )


def _check_npz_output(folder: Path, names: tuple[str, ...], x: np.ndarray,
                      y: np.ndarray) -> None:
    """Check decoded arrays (from the derived cache) part by part against the registry."""
    start = 0
    for n in names:
        rows = NPZ_TEST_ROWS if n == TEST_BATCH else NPZ_PART_ROWS
        part = slice(start, start + rows)
        _check_npz_arrays(folder / _npz_name(n), {"x": x[part], "y": y[part]})
        start += rows
    if start != x.shape[0]:
        raise DataError(f"{folder}: the npz parts hold {x.shape[0]} images, expected {start}; "
                        f"{_npz_advice(folder)}")


def _verify_sources(folder: Path, source: str, names: tuple[str, ...]) -> None:
    """Check the registered size, then digests, of the files a batches or tar load reads,
    before anything in them is parsed (npz parts are checked by their arrays' digests)."""
    if source == "tar":
        verify_file(folder / TAR_NAME, DATASETS["cifar10"].files[0])
    elif source == "batches":
        specs = {Path(s.name).name: s for s in DATASETS["cifar10-batches"].files}
        for n in names:
            verify_file(folder / BATCH_DIR / n, specs[n])


def _decode(folder: Path, source: str, names: tuple[str, ...], verify: bool = True
            ) -> tuple[np.ndarray, np.ndarray]:
    """Decode the named batches from one layout into uint8 NHWC images and int64 labels
    (``verify``: npz arrays are compared with their registered digests as they are read)."""
    if source == "batches":
        parts = [read_cifar_batch(folder / BATCH_DIR / n) for n in names]
    elif source == "tar":
        got = _batches_from_tar(folder / TAR_NAME, names)
        parts = [got[n] for n in names]
    else:
        parts = []
        for n in names:
            path = folder / _npz_name(n)
            if n == TEST_BATCH:
                first = _read_npz(path, ("x", "y"))
                labels_path = folder / "cifar10_test_labels.npz"
                labels = _read_npz(labels_path, ("y",))["y"]
                if verify:
                    _check_npz_arrays(path, first)
                    _check_npz_arrays(labels_path, {"y": labels})
                k = first["x"].shape[0]
                if not np.array_equal(first["y"], labels[:k]):
                    raise DataError(
                        f"{folder}: the labels in cifar10_test_first1000.npz differ from the first "
                        f"{k} of cifar10_test_labels.npz; fetch both files again"
                    )
                parts.append((first["x"], labels[:k].astype(np.int64)))
            else:
                part = _read_npz(path, ("x", "y"))
                if verify:
                    _check_npz_arrays(path, part)
                parts.append((part["x"], part["y"].astype(np.int64)))
    x = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    y = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
    return x, y


@functools.lru_cache(maxsize=4)
def _load_cifar10_cached(split: str, folder_str: str, source: str,
                         holdout_part: int | None, disk_cache: bool,
                         verify: bool = True) -> LabeledArrays:
    folder = Path(folder_str)
    names = _split_batches(split, holdout_part)
    where = {"batches": str(folder / BATCH_DIR), "tar": str(folder / TAR_NAME),
             "npz": f"{folder} (npz parts)"}[source]
    if verify:
        _verify_sources(folder, source, names)
    files = _source_files(folder, source, names)
    if disk_cache and all(f.is_file() for f in files):
        key = cache_key(files, "cifar10", source, names, "verified" if verify else "unverified")
        decoded: list[bool] = []

        def build() -> dict[str, np.ndarray]:
            decoded.append(True)
            return dict(zip(("x", "y"), _decode(folder, source, names, verify), strict=True))

        arrays = load_or_build(key, ("x", "y"), build)
        x, y = arrays["x"], arrays["y"]
        if verify and source == "npz" and not decoded:
            _check_npz_output(folder, names, x, y)
    else:
        x, y = _decode(folder, source, names, verify)
    if x.dtype != np.uint8 or x.shape[1:] != (32, 32, 3) or x.shape[0] != y.shape[0]:
        raise DataError(f"{where}: images {x.shape} {x.dtype}, labels {y.shape}; expected uint8 "
                        "(N, 32, 32, 3) and (N,)")
    if y.size and (y.min() < 0 or y.max() > 9):
        raise DataError(f"{where}: labels outside 0..9; the files are not CIFAR-10")
    note = ""
    if source == "npz" and TEST_BATCH in names:
        note = NPZ_TEST_NOTE
        logger.warning("CIFAR-10 test split: %s", NPZ_TEST_NOTE)
    if holdout_part is not None:
        what = "the other four training parts" if split == "train" else "training part"
        note = (f"holdout_part={holdout_part}: this {split} split is {what}"
                f"{'' if split == 'train' else f' {holdout_part}'} of the official training set")
    readonly(x, y)
    return LabeledArrays(x, y, "cifar10", split, CIFAR10_CLASSES, where, note)


def load_cifar10(
    split: str,
    root: str | os.PathLike[str] | None = None,
    *,
    source: str = "auto",
    holdout_part: int | None = None,
    disk_cache: bool = True,
    verify: bool = True,
) -> LabeledArrays:
    """Return CIFAR-10 ``split`` as uint8 NHWC images (N, 32, 32, 3), RGB 0..255, int64 labels.

    Args:
        split: ``"train"`` (50,000 images) or ``"test"`` (10,000; only images 0..999 from the
            ``npz`` layout, which ``.note`` then says, with a logged warning).
        root: data root; the files are in ``root/cifar10/`` (see the module docstring).
        source: ``"batches"``, ``"tar"``, ``"npz"``, or ``"auto"``: the first complete layout
            in that order.
        holdout_part: ``k`` in 1..5 holds out training batch ``k`` as an i.i.d. test set:
            ``train`` is then the other four batches (40,000 images), ``test`` is batch ``k``.
        disk_cache: keep the decoded arrays in the derived cache
            (:mod:`numerics.data.cache`), so that the next process maps them instead of
            decoding again (5.6 s -> about 1 s for the training set from npz parts).
        verify: check the registered digests before anything is used (once a process): the
            size, then the md5, of the archive or of each batch before it is parsed; the sha256
            of every npz array as it is read, and of the cached arrays part by part. A file
            that differs raises :class:`DataError` saying what to do. ``False`` only for files
            that are not the official ones (tests writing their own). Batches are never
            unpickled with ``pickle.load`` (:mod:`numerics.data.cifar_pickle`), verified or not.

    When no layout is present (``source="auto"``), or the archive is missing with
    ``source="tar"``, the official archive (170 MB) is downloaded on first use unless
    ``$ADVLANDSCAPE_OFFLINE`` is set (:func:`numerics.data.fetch.fetch_missing`).

    Returns:
        A :class:`LabeledArrays` (unpacks as ``x, y``): writable copies of arrays cached in
        memory.
    """
    if split not in ("train", "test"):
        raise DataError(f"unknown CIFAR-10 split {split!r}: use 'train' or 'test'")
    if holdout_part is not None and holdout_part not in range(1, 6):
        raise DataError(f"holdout_part must be one of 1..5 (a training batch), not {holdout_part}")
    folder = data_dir(root) / "cifar10"
    if source not in ("auto", *SOURCES):
        raise DataError(
            f"unknown CIFAR-10 source {source!r}: use one of auto, {', '.join(SOURCES)}"
        )
    if source == "auto":
        source = _available_source(folder) or "tar"
    if source == "tar" and not (folder / TAR_NAME).is_file():
        try:
            fetch_missing("cifar10", root, list(DATASETS["cifar10"].files))
        except DataError as exc:
            others = "\n".join(missing_files_message(DATASETS[n], root)
                               for n in ("cifar10-batches", "cifar10-npz"))
            raise DataError(f"CIFAR-10 not found in any layout.\n{exc}\nor the other layouts:\n"
                            f"{others}") from None
    return fresh(_load_cifar10_cached(split, str(folder), source, holdout_part, disk_cache,
                                      verify))


def load_cifar2(
    split: str,
    root: str | os.PathLike[str] | None = None,
    *,
    source: str = "auto",
    holdout_part: int | None = None,
    flatten: bool = True,
    disk_cache: bool = True,
    verify: bool = True,
) -> LabeledArrays:
    """Return CIFAR2 (Yamada et al., appendix): CIFAR-10's frog and ship classes only.

    ``x`` is float64 in [0, 1], ``(N, 3072)`` flattened from NHWC (or ``(N, 32, 32, 3)`` with
    ``flatten=False``); ``y`` is float64, -1 for frog (class 6) and +1 for ship (class 8).
    Full splits have 10,000 (train) and 2,000 (test) images. Arguments as :func:`load_cifar10`.
    """
    base = load_cifar10(split, root, source=source, holdout_part=holdout_part,
                        disk_cache=disk_cache, verify=verify)
    frog, ship = CIFAR10_CLASSES.index("frog"), CIFAR10_CLASSES.index("ship")
    keep = (base.y == frog) | (base.y == ship)
    x = base.x[keep].astype(np.float64) / 255.0
    if flatten:
        x = x.reshape(x.shape[0], -1)
    y = np.where(base.y[keep] == ship, 1.0, -1.0)
    return LabeledArrays(x, y, "cifar2", split, CIFAR2_CLASSES, base.source, base.note)
