"""MNIST from the four official IDX files, and MNIST2 (digits 0 and 1, labels -1/+1)."""

from __future__ import annotations

import functools
import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from numerics.data.arrays import LabeledArrays
from numerics.data.fetch import fetch_missing
from numerics.data.paths import data_dir
from numerics.data.registry import DATASETS, verify_file
from theory.errors import DataError

__all__ = [
    "MAX_IDX_BYTES",
    "MNIST2_COUNTS",
    "MNIST_FILES",
    "load_mnist",
    "load_mnist2",
    "load_mnist_float",
    "read_idx",
]

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
MNIST2_COUNTS = {"train": 12665, "test": 2115}


#: Largest IDX payload read (the training images declare 47,040,000 bytes).
MAX_IDX_BYTES = 1 << 28


def read_idx(path: str | os.PathLike[str], *, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into a uint8 array of its declared shape.

    The header is read first; nothing beyond the size it declares is inflated (a file holding
    more is refused after one extra byte), and a declared size over ``max_bytes``, zero
    dimensions, or another element type than unsigned bytes raise :class:`DataError`.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            magic = fh.read(4)
            if len(magic) < 4 or magic[:3] != b"\x00\x00\x08":
                raise DataError(
                    f"{path} is not an IDX file of unsigned bytes (bad magic number)")
            ndim = magic[3]
            if ndim == 0:
                raise DataError(f"{path}: its IDX header declares 0 dimensions; it is not an "
                                "image or label file (delete it and fetch it again)")
            dims = fh.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise DataError(f"{path} is truncated inside its IDX header; delete it and "
                                "fetch it again")
            shape = tuple(int.from_bytes(dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
            size = math.prod(shape)
            if size > max_bytes:
                raise DataError(
                    f"{path}: its IDX header declares shape {shape} ({size} bytes), more than "
                    f"the {max_bytes} read at most; it is not an MNIST file"
                )
            raw = fh.read(size)
            extra = fh.read(1)
    except FileNotFoundError:
        raise DataError(f"{path} is missing") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"{path} is corrupt or truncated ({exc}); delete it and fetch it again"
        ) from None
    if len(raw) != size or extra:
        held = f"{len(raw)}" if not extra else f"more than {size}"
        raise DataError(
            f"{path} is {'truncated' if not extra else 'too long'}: header declares shape "
            f"{shape} but holds {held} bytes of data; delete it and fetch it again"
        )
    return np.frombuffer(raw, dtype=np.uint8).reshape(shape)


@functools.lru_cache(maxsize=4)
def _load_mnist_cached(split: str, root: str) -> tuple[np.ndarray, np.ndarray]:
    images_name, labels_name = MNIST_FILES[split]
    folder = Path(root) / "mnist"
    images = read_idx(folder / images_name)
    labels = read_idx(folder / labels_name).astype(np.int64)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.ndim != 1:
        raise DataError(f"MNIST {split}: images of shape {images.shape} and labels of shape "
                        f"{labels.shape}; expected (N, 28, 28) and (N,)")
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"MNIST {split}: {images.shape[0]} images but {labels.shape[0]} labels")
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def _fetch_if_missing(split: str, root: Path) -> None:
    """Download the missing files of ``split`` on first use (or, offline, raise a
    :class:`DataError` naming what to copy where)."""
    folder = root / "mnist"
    missing = [s for s in DATASETS["mnist"].files
               if s.name in MNIST_FILES[split] and not (folder / s.name).is_file()]
    if missing:
        fetch_missing("mnist", root, missing)


def load_mnist(
    split: str, root: str | os.PathLike[str] | None = None, *, verify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Return MNIST ``(images, labels)``: uint8 ``(N, 28, 28)`` and int64 ``(N,)`` in 0..9,
    writable copies of the arrays cached in memory (read-only there).

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).
        root: data root (see :func:`numerics.data.paths.data_dir`); files in ``root/mnist/``.
        verify: check the split's two files against their registered size, md5 and sha256
            (once a process, as :func:`load_mnist2` does) before decompressing them: an edited
            file stops with a :class:`DataError` naming it instead of training on it. ``False``
            only for IDX files that are not the official ones (tests writing their own).

    Missing files are downloaded on first use (into ``root/mnist/``; ``$ADVLANDSCAPE_OFFLINE``
    turns that off: see :func:`numerics.data.fetch.fetch_missing`).
    """
    images, labels = _cached(split, root, verify=verify)
    return images.copy(), labels.copy()


def _cached(split: str, root: str | os.PathLike[str] | None, *, verify: bool = True
            ) -> tuple[np.ndarray, np.ndarray]:
    """The read-only arrays cached in memory (callers that only read them skip the copy).

    Missing files are downloaded first (unless offline); with ``verify`` the files' size and
    digests are checked before anything is decompressed or parsed."""
    if split not in MNIST_FILES:
        raise DataError(f"unknown MNIST split {split!r}: use 'train' or 'test'")
    folder = data_dir(root)
    _fetch_if_missing(split, folder)
    if verify:
        _verify_official(split, str(folder))
    return _load_mnist_cached(split, str(folder))


def load_mnist2(
    split: str, root: str | os.PathLike[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return MNIST2 ``(x, y)``: digits 0 and 1 only, as in Yamada et al., Section 5.1.

    ``x`` is float64 ``(N, 784)`` with pixels in [0, 1]; ``y`` is float64 ``(N,)`` with -1 for digit
    0 and +1 for digit 1. N is 12,665 for ``train`` and 2,115 for ``test`` (checked). The files
    are verified against their registered digests before they are read, and downloaded on first
    use when missing (as :func:`load_mnist`).
    """
    images, labels = _cached(split, root)  # verified before they are read
    keep = labels <= 1
    x = images[keep].reshape(-1, 28 * 28).astype(np.float64) / 255.0
    y = np.where(labels[keep] == 1, 1.0, -1.0)
    if x.shape[0] != MNIST2_COUNTS[split]:
        raise DataError(
            f"MNIST2 {split} has {x.shape[0]} images, expected {MNIST2_COUNTS[split]}: "
            "the MNIST files are not the official ones"
        )
    return x, y


@functools.lru_cache(maxsize=4)
def _verify_official(split: str, root: str) -> None:
    """Check the split's two files against their registered size and digests (once a process)."""
    for name in MNIST_FILES[split]:
        verify_file(Path(root) / "mnist" / name)


def load_mnist_float(
    split: str,
    root: str | os.PathLike[str] | None = None,
    *,
    dtype: type[np.floating] = np.float64,
    flatten: bool = False,
) -> LabeledArrays:
    """Return full 10-class MNIST as floats: pixels in [0, 1], labels int64 0..9.

    ``x`` is ``(N, 28, 28)`` (or ``(N, 784)`` with ``flatten=True``) of ``dtype``; at float64 the
    training set takes 376 MB, so pass ``dtype=np.float32`` for networks. The uint8 arrays behind
    it are cached by :func:`load_mnist`.
    """
    images, labels = _cached(split, root)
    labels = labels.copy()
    x = images.astype(dtype) / dtype(255.0)
    if flatten:
        x = x.reshape(x.shape[0], -1)
    classes = tuple(str(d) for d in range(10))
    source = str(data_dir(root) / "mnist")
    return LabeledArrays(x, labels, "mnist", split, classes, source)
