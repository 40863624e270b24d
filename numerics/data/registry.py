"""The checksum registry of every known data file, and file verification (size, md5, sha256).

``DATASETS`` maps a data set name to its folder under the data root and its files; each
:class:`FileSpec` carries the published size and digests and the official URLs. The ``.npz`` parts
of CIFAR-10 are checked by the sha256 of their arrays' ``tobytes()`` instead of the file bytes,
because a zip archive records write times and its bytes change when it is rewritten.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from numerics.data.paths import ENV_VAR, OFFLINE_ENV, data_dir
from theory.errors import DataError

__all__ = [
    "CHUNK",
    "CIFAR10_NPZ_TRAIN_X_SHA256",
    "CIFAR10_NPZ_TRAIN_Y_SHA256",
    "CIFAR10_URL",
    "DATASETS",
    "MAX_NPZ_ARRAY_BYTES",
    "MNIST_URLS",
    "SVHN_URL",
    "DatasetSpec",
    "FileSpec",
    "FileStatus",
    "array_digest",
    "check_dataset",
    "dataset_spec",
    "file_digests",
    "find_spec",
    "missing_files_message",
    "offline_message",
    "read_npz",
    "verify_file",
]

CHUNK = 1 << 20

MNIST_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
SVHN_URL = "http://ufldl.stanford.edu/housenumbers/"


@dataclass(frozen=True)
class FileSpec:
    """One data file: its path relative to the data set folder, published digests and URLs.

    ``size``/``md5``/``sha256`` are ``None`` where no published value exists. ``array_sha256``
    maps an ``.npz`` key to the sha256 of that array's ``tobytes()``. ``optional`` files are not
    needed by any loader (the data set is usable without them).
    """

    name: str
    size: int | None = None
    md5: str | None = None
    sha256: str | None = None
    array_sha256: dict[str, str] = field(default_factory=dict)
    urls: tuple[str, ...] = ()
    optional: bool = False

    def has_checksum(self) -> bool:
        """Whether the registry holds any digest for this file."""
        return bool(self.md5 or self.sha256 or self.array_sha256)

    def describe(self) -> str:
        """One line with the file's name, size and digests, for error messages."""
        parts = [self.name]
        if self.size is not None:
            parts.append(f"{self.size} bytes")
        if self.md5:
            parts.append(f"md5 {self.md5}")
        if self.sha256:
            parts.append(f"sha256 {self.sha256}")
        for key, digest in self.array_sha256.items():
            parts.append(f"sha256({key}.tobytes()) {digest}")
        return ", ".join(parts)


@dataclass(frozen=True)
class DatasetSpec:
    """A data set (or one layout of it): the folder under the data root and its files."""

    name: str
    subdir: str
    files: tuple[FileSpec, ...]
    description: str
    downloadable: bool = False

    def folder(self, root: str | os.PathLike[str] | None = None) -> Path:
        """The folder this data set's files live in."""
        return data_dir(root) / self.subdir


def _mnist(name: str, size: int, md5: str, sha256: str) -> FileSpec:
    return FileSpec(name, size, md5, sha256, urls=tuple(u + name for u in MNIST_URLS))


def _batch(name: str, size: int, md5: str) -> FileSpec:
    return FileSpec(f"cifar-10-batches-py/{name}", size, md5)


def _part(name: str, x: str | None, y: str | None) -> FileSpec:
    digests = {k: v for k, v in (("x", x), ("y", y)) if v}
    return FileSpec(name, array_sha256=digests)


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "mnist", "mnist",
        (
            _mnist("train-images-idx3-ubyte.gz", 9912422, "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                   "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
            _mnist("train-labels-idx1-ubyte.gz", 28881, "d53e105ee54ea40749a09fcbcd1e9432",
                   "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
            _mnist("t10k-images-idx3-ubyte.gz", 1648877, "9fb629c4189551a2d022fa330f9573f3",
                   "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
            _mnist("t10k-labels-idx1-ubyte.gz", 4542, "ec29112dd5afa0611ce80d1b7f02629c",
                   "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
        ),
        "MNIST, the four official IDX files (needed: MNIST2 experiments)",
        downloadable=True,
    ),
    "cifar10": DatasetSpec(
        "cifar10", "cifar10",
        (FileSpec("cifar-10-python.tar.gz", 170498071, "c58f30108f718f92721af3b95e74349a",
                  urls=(CIFAR10_URL,)),),
        "CIFAR-10, the official python archive (read without extracting)",
        downloadable=True,
    ),
    "cifar10-batches": DatasetSpec(
        "cifar10-batches", "cifar10",
        (
            _batch("data_batch_1", 31035704, "c99cafc152244af753f735de768cd75f"),
            _batch("data_batch_2", 31035320, "d4bba439e000b95fd0a9bffe97cbabec"),
            _batch("data_batch_3", 31035999, "54ebc095f3ab1f0389bbae665268c751"),
            _batch("data_batch_4", 31035696, "634d18415352ddfa80567beed471001a"),
            _batch("data_batch_5", 31035623, "482c414d41f54cd18b22e5b47cb7c3cb"),
            _batch("test_batch", 31035526, "40351d587109b95175f43aff81a1287e"),
            FileSpec("cifar-10-batches-py/batches.meta", 158, "5ff9c542aee3614f3951f8cda6e48888",
                     "f962466ef690d46b226450fb9aadc74ba4bc64a76aa526b5827fe4bc5c7125cb",
                     optional=True),
        ),
        "CIFAR-10, the official pickle batches extracted from the archive",
    ),
    # Array digests from shared/data/README.md (x of each part, test x and all test labels);
    # the y digests of the parts and of the first 1000 test labels were computed from the arrays:
    # the five part digests concatenate to the published all-train-labels digest
    # (CIFAR10_NPZ_TRAIN_SHA256), and the first-1000 labels equal test labels 0..999.
    "cifar10-npz": DatasetSpec(
        "cifar10-npz", "cifar10",
        (
            _part("cifar10_train_part1.npz",
                  "fc115a3de050d667b88cbd5b0b9612ebf996c54230fe7758f3a14bb5af9a1c27",
                  "d829dbdf32167c9d7b3687cee66d92d80d46c441308b5aca0d11e8b69e27dac9"),
            _part("cifar10_train_part2.npz",
                  "89e609b642f687bc796fa3bfa4211005582a0e8131d463d996d11ddb297d312e",
                  "5d18f7371ed35ea9ade77952fe958b0660a45cd6c8b8a8970030f21612cfd7e3"),
            _part("cifar10_train_part3.npz",
                  "93a365823e61729490a8801d80864ccd0ab1e8c98f19d71af65644d1c5f1486e",
                  "32cf77b0ee2e790b1c4384d2d82e42dc1571b87e67f6da8f444b2725b2973f65"),
            _part("cifar10_train_part4.npz",
                  "809eb95ecd057a36516318f5023ea619009dd70dd38193db9da43125a928e6fa",
                  "d2815e3f8f656272864920fc0edde56b04ec9cf81bf397c0dd3069f4aea51aeb"),
            _part("cifar10_train_part5.npz",
                  "d05b7d66d216d6df882cc760cdc0ff2f1f0437abf699ed16005c021ef0add9cb",
                  "2ddf3ab27d5d04409c94ce7b56849c243129c10de1058ae0bfe14c77e934800c"),
            _part("cifar10_test_first1000.npz",
                  "da362006b99671213d1a5d856cab2bedf64d40bad4501630ee60f4ceb2d3ec7f",
                  "636a087e604331a0b9dafc94b6e9ade0c9cec72c4400d12473ccdb3e264474c1"),
            _part("cifar10_test_labels.npz", None,
                  "cec8a24a1e92aa2ecaa0bbd3dbfa86bf6cd8759fbd209a832824c8cf0afca9d5"),
            FileSpec("batches.meta", 158, "5ff9c542aee3614f3951f8cda6e48888",
                     "f962466ef690d46b226450fb9aadc74ba4bc64a76aa526b5827fe4bc5c7125cb",
                     optional=True),
        ),
        "CIFAR-10 as .npz parts (all 50000 training images; test images 0..999 only)",
    ),
    "svhn": DatasetSpec(
        "svhn", "svhn",
        (
            FileSpec("train_32x32.mat", md5="e26dedcc434d2e4c54c9b2d4a06d8373",
                     urls=(SVHN_URL + "train_32x32.mat",)),
            FileSpec("test_32x32.mat", md5="eb5a983be6a315427106f1b164d9cef3",
                     urls=(SVHN_URL + "test_32x32.mat",)),
        ),
        "SVHN, cropped digits (format 2), train and test",
        downloadable=True,
    ),
    "svhn-extra": DatasetSpec(
        "svhn-extra", "svhn",
        (FileSpec("extra_32x32.mat", md5="a93ce644f1a588dc4d68dda5feec44a7",
                  urls=(SVHN_URL + "extra_32x32.mat",)),),
        "SVHN, the 531131 extra training digits (1.3 GB; not used by the experiments)",
        downloadable=True,
    ),
}

#: sha256 of ``y.tobytes()`` (uint8) for training parts 1..5 concatenated, as published.
CIFAR10_NPZ_TRAIN_Y_SHA256 = "2b7cd2f24487317614016b72ffd53071c3062f592f0eb300c18a770d41ae1253"
#: sha256 of ``x.tobytes()`` (uint8 NHWC) for training parts 1..5 concatenated, as published.
CIFAR10_NPZ_TRAIN_X_SHA256 = "47af8b02cfcfb6cdf3dbbd1969ad7f1b70f4413f6f80f437b020ee4e5bc8304a"


def dataset_spec(name: str) -> DatasetSpec:
    """The registry entry of data set ``name``; a :class:`DataError` lists the known names."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(
            f"unknown data set {name!r}: use one of {', '.join(DATASETS)}"
        ) from None


def file_digests(path: str | os.PathLike[str]) -> tuple[int, str, str]:
    """Return ``(size, md5, sha256)`` of a file, read in 1 MiB chunks."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            md5.update(chunk)
            sha.update(chunk)
            size += len(chunk)
    return size, md5.hexdigest(), sha.hexdigest()


def array_digest(array: np.ndarray) -> str:
    """sha256 of ``array.tobytes()`` (C order), the digest used for ``.npz`` contents."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def find_spec(name: str) -> FileSpec | None:
    """The registry entry whose file name equals ``name`` (basename or relative path), if any."""
    for dataset in DATASETS.values():
        for spec in dataset.files:
            if name in (spec.name, Path(spec.name).name):
                return spec
    return None


def verify_file(
    path: str | os.PathLike[str],
    spec: FileSpec | None = None,
    *,
    size: int | None = None,
    md5: str | None = None,
    sha256: str | None = None,
) -> FileSpec:
    """Check a file's size and digests; raise :class:`DataError` on any mismatch.

    The expected values come from the keyword arguments where given, else from ``spec``, else
    from the registry entry of the file's name. Size is compared first (cheap, catches
    truncation); md5 and sha256 are computed in one chunked pass. For ``.npz`` specs the arrays'
    ``tobytes()`` digests are compared.

    Args:
        path: the file.
        spec: the expected values (default: looked up in :data:`DATASETS` by file name).
        size: expected size in bytes.
        md5: expected md5 (hex).
        sha256: expected sha256 (hex).

    Returns:
        The spec the file was checked against.
    """
    path = Path(path)
    if spec is None:
        spec = find_spec(path.name) or FileSpec(path.name)
    spec = FileSpec(
        spec.name,
        size if size is not None else spec.size,
        md5 or spec.md5,
        sha256 or spec.sha256,
        spec.array_sha256,
        spec.urls,
        spec.optional,
    )
    if not spec.has_checksum() and spec.size is None:
        raise DataError(f"no size or checksum known for {path}: pass size, md5 or sha256")
    if not path.is_file():
        raise DataError(f"{path} is missing; {_fetch_hint(spec, path.parent)}")
    advice = f"delete {path} and fetch it again ({_fetch_hint(spec, path.parent)})"
    actual_size = path.stat().st_size
    if spec.size is not None and actual_size != spec.size:
        what = "truncated" if actual_size < spec.size else "too long"
        raise DataError(
            f"{path} is {what}: {actual_size} bytes, expected {spec.size}; {advice}"
        )
    if spec.md5 or spec.sha256:
        _, got_md5, got_sha = file_digests(path)
        for label, want, got in (("md5", spec.md5, got_md5), ("sha256", spec.sha256, got_sha)):
            if want and got != want.lower():
                raise DataError(f"{path} fails its {label} check: {got}, expected {want}; {advice}")
    for key, want in spec.array_sha256.items():
        got = array_digest(_npz_array(path, key))
        if got != want:
            raise DataError(
                f"{path}: array {key!r} fails its sha256 check: {got}, expected {want}; {advice}"
            )
    return spec


def _npz_array(path: Path, key: str) -> np.ndarray:
    return read_npz(path, (key,))[key]


#: Largest array read from an ``.npz`` file (a CIFAR-10 part's images take 30,720,000 bytes).
MAX_NPZ_ARRAY_BYTES = 256 << 20


def _npy_header(fh: BinaryIO) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from an ``.npy`` header (format 1.0, 2.0 or 3.0)."""
    major, _ = np.lib.format.read_magic(fh)
    read = (np.lib.format.read_array_header_1_0 if major == 1
            else np.lib.format.read_array_header_2_0)
    shape, _, dtype = read(fh, max_header_size=10_000)
    return shape, dtype


def read_npz(path: str | os.PathLike[str], keys: tuple[str, ...],
             max_bytes: int = MAX_NPZ_ARRAY_BYTES) -> dict[str, np.ndarray]:
    """Read arrays ``keys`` of an ``.npz`` file, with no pickle and bounded memory.

    Each array's ``.npy`` header is read first: an object dtype, or a declared size over
    ``max_bytes`` or over the member's declared uncompressed size, raises :class:`DataError`
    before anything is inflated; the arrays are then read with ``allow_pickle=False``.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
            for key in keys:
                info = members.get(f"{key}.npy")
                if info is None:
                    held = sorted(n.removesuffix(".npy") for n in members)
                    raise DataError(f"{path} has no array {key!r} (it holds {held})")
                with archive.open(info) as fh:
                    shape, dtype = _npy_header(fh)
                declared = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
                if dtype.hasobject or declared > max_bytes or declared > info.file_size:
                    raise DataError(
                        f"{path}: array {key!r} declares dtype {dtype} and shape {shape} "
                        f"({declared} bytes; the member holds {info.file_size}): not a data "
                        "array; delete the file and fetch it again"
                    )
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as npz:
            return {key: npz[key] for key in keys}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(
            f"{path} is not a readable .npz file ({type(exc).__name__}: {exc}); fetch it again"
        ) from None


def _fetch_hint(spec: FileSpec, folder: Path) -> str:
    if spec.urls:
        return f"download it from {' or '.join(spec.urls)} into {folder}"
    return f"put the official file into {folder}"


def missing_files_message(dataset: DatasetSpec, root: str | os.PathLike[str] | None,
                          missing: list[FileSpec] | None = None) -> str:
    """A message naming the missing files, their checksums, the folder and how to fill it."""
    folder = dataset.folder(root)
    if missing is None:
        missing = [s for s in dataset.files if not s.optional and not (folder / s.name).is_file()]
    lines = [f"{dataset.name}: {len(missing)} file(s) missing in {folder}:"]
    lines += [f"  {spec.describe()}" for spec in missing]
    how = (f"run `advlandscape data --download {dataset.name}` on a machine with internet, or "
           if dataset.downloadable else "")
    lines.append(
        f"{how}copy the files there (or point ${ENV_VAR} / --data-dir at a data root holding "
        f"{dataset.subdir}/)"
    )
    return "\n".join(lines)


def offline_message(dataset: DatasetSpec, root: str | os.PathLike[str] | None,
                    missing: list[FileSpec]) -> str:
    """Why nothing was downloaded (``$ADVLANDSCAPE_OFFLINE``), and what to copy where."""
    folder = dataset.folder(root)
    names = " ".join(Path(s.name).name for s in missing)
    urls = [u for s in missing for u in s.urls[:1]]
    lines = [
        f"{dataset.name}: {len(missing)} file(s) missing in {folder}, and ${OFFLINE_ENV} is set, "
        "so they are not downloaded:",
        *(f"  {spec.describe()}" for spec in missing),
        f"copy {names} into {folder}/ (from another data root, or downloaded on a machine with "
        f"internet by `advlandscape data --download {dataset.name} --data-dir DIR`"
        + (f", or from {' '.join(urls)}" if urls else "") + "),",
        f"or point ${ENV_VAR} / --data-dir at a data root that holds {dataset.subdir}/, or "
        f"unset ${OFFLINE_ENV} to download them on first use",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class FileStatus:
    """What ``advlandscape data --check`` reports for one file.

    ``checksum`` is ``"ok"``, ``"bad"`` (``detail`` says why) or ``"not checked"`` (file missing,
    no digest known, or checksums skipped).
    """

    dataset: str
    path: Path
    spec: FileSpec
    present: bool
    checksum: str
    detail: str = ""


def check_dataset(
    name: str, root: str | os.PathLike[str] | None = None, *, checksums: bool = True
) -> list[FileStatus]:
    """Check every file of data set ``name`` under the data root; never raises for bad files.

    Args:
        name: a key of :data:`DATASETS`.
        root: the data root (see :func:`numerics.data.paths.data_dir`).
        checksums: compute digests (otherwise only presence is reported).

    Returns:
        One :class:`FileStatus` per registered file, in registry order.
    """
    dataset = dataset_spec(name)
    folder = dataset.folder(root)
    out = []
    for spec in dataset.files:
        path = folder / spec.name
        if not path.is_file():
            out.append(FileStatus(name, path, spec, False, "not checked"))
        elif not checksums or not (spec.has_checksum() or spec.size is not None):
            out.append(FileStatus(name, path, spec, True, "not checked"))
        else:
            try:
                verify_file(path, spec)
            except DataError as exc:
                out.append(FileStatus(name, path, spec, True, "bad", str(exc)))
            else:
                out.append(FileStatus(name, path, spec, True, "ok"))
    return out
