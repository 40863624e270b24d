"""Download data files from their official URLs: resumable, retried, verified, renamed atomically.

Downloads happen on request (:func:`download`, ``advlandscape data --download``) and on first use:
a loader that finds its data set missing calls :func:`fetch_missing`, which downloads the missing
files unless ``$ADVLANDSCAPE_OFFLINE`` is set (then it raises a :class:`DataError` naming what
to copy where) and says on stderr where it put them. ``$ADVLANDSCAPE_DATA_MIRROR`` replaces the
official servers (:func:`numerics.data.paths.mirror_urls`).

Each missing file of a data set is fetched into a hidden ``.<name>.part`` file in its final
folder. An interrupted transfer is resumed with an HTTP ``Range`` request where the server
answers ``206 Partial Content`` (otherwise it restarts from byte 0); each URL is tried a few times
with exponential backoff, then the next mirror. The finished file is verified against the
registry's size and digests and only then renamed onto its final name (``os.replace``, atomic on
one file system). A result that fails its checksum is deleted and reported. Only a verified file
ever carries the official name: a partial download is ``.<name>.part``, which no loader reads.
Processes fetching into the same folder take turns (an ``flock`` on the folder), so two commands
started at once on a fresh machine do not write into one partial file.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from tqdm import tqdm

from numerics.data.paths import ENV_VAR, MIRROR_ENV, OFFLINE_ENV, mirror_urls, offline
from numerics.data.registry import (
    CHUNK,
    FileSpec,
    dataset_spec,
    missing_files_message,
    offline_message,
    verify_file,
)
from theory.errors import DataError

__all__ = ["USER_AGENT", "download", "fetch_file", "fetch_missing", "notice"]

USER_AGENT = "advlandscape-data/0.1 (python urllib)"
_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError)


def download(
    name: str,
    root: str | os.PathLike[str] | None = None,
    *,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 60.0,
    progress: bool = True,
    only: Collection[str] | None = None,
) -> list[Path]:
    """Fetch every missing file of data set ``name`` into its folder under the data root.

    Files already present are verified, not fetched again; a present file that fails its
    checksum raises :class:`DataError` (delete it, then run again).

    Args:
        name: a downloadable key of :data:`numerics.data.registry.DATASETS`
            (``mnist``, ``cifar10``, ``svhn``, ``svhn-extra``).
        root: data root (see :func:`numerics.data.paths.data_dir`).
        retries: attempts per URL before the next mirror is tried.
        backoff: seconds before the second attempt; doubled for each further attempt.
        timeout: socket timeout in seconds for each request.
        progress: show a tqdm bar per file (on a terminal, unless ``$TQDM_DISABLE`` is set).
        only: fetch (and verify) only the files of these names.

    Returns:
        The paths of the files fetched now (empty if everything was present and verified).
    """
    dataset = dataset_spec(name)
    if not dataset.downloadable:
        raise DataError(
            f"{name} cannot be downloaded on its own: download 'cifar10' (the official archive, "
            "which the loaders read directly) or copy the files into "
            f"{dataset.folder(root)}"
        )
    if retries < 1:
        raise DataError(f"retries must be at least 1, not {retries}")
    folder = dataset.folder(root)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create {folder} ({exc}); pass --data-dir or set ${ENV_VAR} to a writable "
            "directory"
        ) from None
    fetched = []
    for spec in dataset.files:
        if only is not None and spec.name not in only:
            continue
        target = folder / spec.name
        if target.is_file():
            verify_file(target, spec)
            continue
        with _lock(target):
            if target.is_file():  # another process fetched it while this one waited
                verify_file(target, spec)
                continue
            fetched.append(
                fetch_file(spec, target, retries=retries, backoff=backoff, timeout=timeout,
                           progress=progress, offline_message=lambda: missing_files_message(
                               dataset, root))
            )
    return fetched


@contextlib.contextmanager
def _lock(target: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``target``'s folder while ``target`` is fetched (the kernel
    releases it however the process ends; no lock file is left behind)."""
    try:
        fd = os.open(target.parent, os.O_RDONLY)
    except OSError as exc:
        raise DataError(f"cannot open {target.parent} ({exc}); is it a readable folder?") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def notice(message: str) -> None:
    """Tell the user what the data layer did: on stderr, except inside a Jupyter kernel, where
    stderr output marks a notebook as failed (``advlandscape report``): there on stdout."""
    stream = sys.stderr
    iostream = sys.modules.get("ipykernel.iostream")
    if iostream is not None and isinstance(sys.stderr, iostream.OutStream):
        stream = sys.stdout
    print(message, file=stream, flush=True)


def fetch_missing(name: str, root: str | os.PathLike[str] | None,
                  missing: list[FileSpec]) -> list[Path]:
    """Download ``missing`` files of data set ``name`` on first use, unless offline.

    Called by the loaders when files they need are absent. With ``$ADVLANDSCAPE_OFFLINE`` set it
    raises a :class:`DataError` naming the files, their checksums and the folder to copy them
    into; otherwise it downloads them (progress bar, resume, checksums, atomic rename: see
    :func:`download`) and says on stderr (:func:`notice`) where they are.
    """
    dataset = dataset_spec(name)
    if not dataset.downloadable:
        raise DataError(missing_files_message(dataset, root, missing))
    if offline():
        raise DataError(offline_message(dataset, root, missing))
    folder = dataset.folder(root)
    source = (f"${MIRROR_ENV} ({os.environ[MIRROR_ENV]})" if os.environ.get(MIRROR_ENV)
              else "the official servers")
    total = sum(s.size or 0 for s in missing)
    size = f" ({total / 1e6:.1f} MB)" if total else ""
    notice(f"{name}: {len(missing)} file(s){size} missing in {folder}: downloading them from "
           f"{source} (set {OFFLINE_ENV}=1 to turn downloads off)")
    download(name, root, only={s.name for s in missing})
    notice(f"{name}: downloaded and verified "
           f"{', '.join(Path(s.name).name for s in missing)} into {folder}")
    return [folder / s.name for s in missing]


def fetch_file(
    spec: FileSpec,
    target: Path,
    *,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 60.0,
    progress: bool = True,
    offline_message: Callable[[], str] | None = None,
) -> Path:
    """Download one file from ``spec.urls`` to ``target`` (resume, retry, verify, rename).

    Returns:
        ``target``, verified against ``spec``.
    """
    if not spec.urls:
        raise DataError(f"no URL known for {spec.name}; put the file into {target.parent}")
    urls = [m for url in spec.urls for m in mirror_urls(url)]
    urls = list(dict.fromkeys(urls))  # a mirror replaces every official URL with the same one
    part = target.with_name(f".{target.name}.part")
    failures: list[str] = []
    only_unreachable = True
    for url in urls:
        for attempt in range(retries):
            if attempt:
                time.sleep(backoff * 2 ** (attempt - 1))
            try:
                _stream(url, part, spec, timeout=timeout, progress=progress)
            except _NETWORK_ERRORS as exc:
                reachable = not isinstance(exc, urllib.error.URLError) or isinstance(
                    exc, urllib.error.HTTPError)
                only_unreachable &= not reachable
                failures.append(f"{url} (attempt {attempt + 1}): {type(exc).__name__}: {exc}")
                if isinstance(exc, urllib.error.HTTPError) and exc.code in (403, 404, 410):
                    break  # the file is not there: no point in retrying this URL
                continue
            only_unreachable = False
            try:
                verify_file(part, spec)
            except DataError as exc:
                part.unlink(missing_ok=True)
                failures.append(f"{url}: downloaded file deleted: {exc}")
                break  # a bad file from this mirror: try the next one
            os.replace(part, target)
            return target
    report = "\n".join(f"  {f}" for f in failures)
    kept = (f"\nthe partial download {part} is kept; run the same command again to resume"
            if part.exists() else "")
    if only_unreachable:
        head = offline_message() if offline_message else f"{spec.describe()} is missing"
        raise DataError(f"{head}\nno server could be reached (offline? then set "
                        f"{OFFLINE_ENV}=1 and copy the files):\n{report}{kept}")
    raise DataError(f"could not download {spec.name} into {target.parent}:\n{report}{kept}")


def _stream(url: str, part: Path, spec: FileSpec, *, timeout: float, progress: bool) -> None:
    """Append ``url``'s bytes to ``part`` (resuming from its size where the server allows)."""
    start = part.stat().st_size if part.exists() else 0
    if spec.size is not None and start > spec.size:
        part.unlink()
        start = 0
    if spec.size is not None and start == spec.size:
        return  # complete already; the caller verifies it
    headers = {"User-Agent": USER_AGENT}
    if start:
        headers["Range"] = f"bytes={start}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and start:  # our partial file is not a prefix the server knows
            part.unlink()
        raise
    with response:
        resumed = (start > 0 and response.status == 206
                   and response.headers.get("Content-Range", "").startswith(f"bytes {start}-"))
        if response.status == 206 and not resumed:
            part.unlink(missing_ok=True)
            raise ConnectionError(
                f"server sent an unexpected range {response.headers.get('Content-Range')!r}"
            )
        if not resumed:
            start = 0
        length = response.headers.get("Content-Length")
        total = start + int(length) if length is not None else spec.size
        with (
            open(part, "ab" if resumed else "wb") as fh,
            tqdm(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
                 desc=spec.name, leave=False, file=sys.stderr,
                 disable=None if progress and not os.environ.get("TQDM_DISABLE") else True) as bar,
        ):
            while chunk := response.read(CHUNK):
                fh.write(chunk)
                bar.update(len(chunk))
            fh.flush()
            os.fsync(fh.fileno())  # on disk before it is verified and renamed
    received = part.stat().st_size
    if total is not None and received < total:
        raise ConnectionError(f"connection closed after {received} of {total} bytes")
