"""Download data files from their official URLs: resumable, retried, verified, renamed atomically.

Each missing file of a data set is fetched into a hidden ``.<name>.part`` file in its final
folder. An interrupted transfer is resumed with an HTTP ``Range`` request where the server
answers ``206 Partial Content`` (otherwise it restarts from byte 0); each URL is tried a few times
with exponential backoff, then the next mirror. The finished file is verified against the
registry's size and digests and only then renamed onto its final name (``os.replace``, atomic on
one file system). A result that fails its checksum is deleted and reported.
"""

from __future__ import annotations

import http.client
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from numerics.data.paths import ENV_VAR
from numerics.data.registry import (
    CHUNK,
    FileSpec,
    dataset_spec,
    missing_files_message,
    verify_file,
)
from theory.errors import DataError

__all__ = ["USER_AGENT", "download", "fetch_file"]

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
        progress: show a tqdm bar per file (on a terminal).

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
        target = folder / spec.name
        if target.is_file():
            verify_file(target, spec)
            continue
        fetched.append(
            fetch_file(spec, target, retries=retries, backoff=backoff, timeout=timeout,
                       progress=progress, offline_message=lambda: missing_files_message(
                           dataset, root))
        )
    return fetched


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
    part = target.with_name(f".{target.name}.part")
    failures: list[str] = []
    only_unreachable = True
    for url in spec.urls:
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
        raise DataError(f"{head}\nno server could be reached (offline?):\n{report}{kept}")
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
                 desc=spec.name, leave=False, disable=None if progress else True) as bar,
        ):
            while chunk := response.read(CHUNK):
                fh.write(chunk)
                bar.update(len(chunk))
    received = part.stat().st_size
    if total is not None and received < total:
        raise ConnectionError(f"connection closed after {received} of {total} bytes")
