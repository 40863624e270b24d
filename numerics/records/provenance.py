"""Provenance of results: which code, libraries, device and command produced them.

:func:`provenance` is written beside every result. :func:`code_version` is the one identity of
the code: a digest per file under a set of source folders, and the library versions. By default
it covers the code that computes results (``theory/`` and ``numerics/``, the report's site
builder excepted), which checkpoints and records are keyed on; the report passes its own folders
to key its executed notebooks the same way. :func:`describe_code_change` says what differs
between two such identities.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "REPO_ROOT",
    "code_version",
    "describe_code_change",
    "device_description",
    "git_commit",
    "library_versions",
    "provenance",
    "started_commit",
]

#: The checkout (or install prefix) holding ``theory/`` and ``numerics/``.
REPO_ROOT = Path(__file__).resolve().parent.parent.parent

#: Files left out of the default :func:`code_version` (globs on ``<root name>/<path>``): the
#: report's site builder and what notebooks display, which no experiment imports (editing them
#: leaves every experiment's results unchanged).
_NOT_EXPERIMENT_CODE = ("numerics/report/*", "numerics/display.py")


def git_commit(repo: Path = REPO_ROOT) -> str:
    """Return the current commit (with ``+dirty`` when the tree has changes), or ``unknown``."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo, capture_output=True, text=True, timeout=10,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def library_versions() -> dict[str, str]:
    """Versions of Python and the numerical libraries that produced a result."""
    versions = {"python": platform.python_version()}
    for name in ("numpy", "scipy", "sympy", "torch"):
        try:
            module = __import__(name)
            versions[name] = str(module.__version__)
        except ImportError:
            versions[name] = "absent"
    return versions


def device_description(device: str | None = None) -> str:
    """A human-readable name of the device a run used (GPU model, or CPU and core count)."""
    import torch

    if device is not None and str(device).startswith("cuda") and torch.cuda.is_available():
        return f"{device}: {torch.cuda.get_device_name(torch.device(device))}"
    return f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, " \
           f"{torch.get_num_threads()} torch threads"


@functools.cache
def started_commit() -> str:
    """:func:`git_commit` as it was when this process first asked (the ``advlandscape`` command
    asks as it starts): the commit of the code that ran, even when the tree changes while a
    long run is under way."""
    return git_commit()


def provenance(seed: int | None = None, device: str | None = None, **extra: Any) -> dict:
    """Provenance written beside every result: seed, versions, device, the git commit and the
    source digest (:func:`code_version`) of the code as the process started, time, command."""
    record = {
        "seed": seed,
        "device": device_description(device),
        "versions": library_versions(),
        "git_commit": started_commit(),
        "code_digest": code_version()["digest"],
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "host": platform.node(),
    }
    record.update(extra)
    return record


def code_version(roots: Sequence[str | os.PathLike[str]] | None = None, *,
                 exclude: Sequence[str] = (), pattern: str = "*.py") -> dict[str, Any]:
    """The identity of the code: what a checkpoint (and a resumed report's notebook) is keyed on.

    Args:
        roots: the folders to digest. ``None`` (the default): the code that computes results,
            every source file of ``theory/`` and ``numerics/`` (the report's site builder,
            ``numerics/report/``, excepted), read from the imported packages themselves (so it
            works without git and for an installed copy); this one is computed once per process.
            A root that does not exist contributes nothing.
        exclude: with ``roots``: files left out, as globs on ``<root name>/<path>``
            (``"notebooks/[0-9][0-9]_*"``).
        pattern: with ``roots``: the files digested (``"*"``: every file). Files in hidden
            folders or with hidden names (``.x.tmp`` of an atomic write, ``.ipynb_checkpoints``)
            and ``__pycache__`` never count.

    Returns:
        ``{"digest": <sha256 prefix of the files>, "sources": {"numerics/ops.py": <sha256
        prefix>, ...}, "libraries": {"torch": ..., ...}}`` (:func:`library_versions`).
    """
    if roots is None:
        if exclude or pattern != "*.py":
            raise ValueError("code_version: exclude and pattern apply to the roots given; the "
                             "default (roots=None) is the experiment code as it is")
        return _experiment_code_version()
    return _code_version(tuple(Path(root) for root in roots), tuple(exclude), pattern)


@functools.cache
def _experiment_code_version() -> dict[str, Any]:
    """:func:`code_version` of ``theory/`` and ``numerics/`` as imported, once per process."""
    import numerics
    import theory

    return _code_version(tuple(Path(package.__file__).resolve().parent
                               for package in (theory, numerics)), _NOT_EXPERIMENT_CODE, "*.py")


def _code_version(roots: tuple[Path, ...], exclude: tuple[str, ...], pattern: str
                  ) -> dict[str, Any]:
    """The record :func:`code_version` returns, for these roots, exclusions and pattern."""
    sources = _source_digests(*roots, exclude=exclude, pattern=pattern)
    digest = hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()[:16]
    return {"digest": digest, "sources": sources, "libraries": library_versions()}


def _source_digests(*roots: Path, exclude: Sequence[str] = _NOT_EXPERIMENT_CODE,
                    pattern: str = "*.py") -> dict[str, str]:
    """``{"<root name>/<path>": sha256 prefix}`` of every file matching ``pattern`` under each
    root, sorted; files matching a glob of ``exclude``, hidden files and folders and
    ``__pycache__`` left out."""
    sources: dict[str, str] = {}
    for root in roots:
        for file in sorted(root.rglob(pattern)):
            relative = file.relative_to(root)
            if not file.is_file() or any(part.startswith(".") or part == "__pycache__"
                                         for part in relative.parts):
                continue
            name = f"{root.name}/{relative.as_posix()}"
            if not any(fnmatch.fnmatchcase(name, glob) for glob in exclude):
                sources[name] = hashlib.sha256(file.read_bytes()).hexdigest()[:16]
    return sources


def describe_code_change(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> str:
    """What differs between two :func:`code_version` records, in words; ``""`` when nothing.

    Names the changed, added and removed source files (the first five of each, then a count)
    and the libraries whose versions differ (``torch 2.12.0 -> 2.13.0``). ``old`` None (a
    checkpoint that recorded no version) reads ``"written by a version of advlandscape that did
    not record its code"``.
    """
    if not isinstance(old, Mapping) or not isinstance(old.get("sources"), Mapping):
        return "written by a version of advlandscape that did not record its code"
    before, after = dict(old["sources"]), dict(new["sources"])
    parts = []
    for what, names in (
            ("changed", [n for n in after if n in before and before[n] != after[n]]),
            ("added", [n for n in after if n not in before]),
            ("removed", [n for n in before if n not in after])):
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            parts.append(f"{what}: {shown}")
    libs_before, libs_after = dict(old.get("libraries") or {}), dict(new["libraries"])
    for lib in sorted(set(libs_before) | set(libs_after)):
        if libs_before.get(lib) != libs_after.get(lib):
            parts.append(f"{lib} {libs_before.get(lib, 'absent')} -> "
                         f"{libs_after.get(lib, 'absent')}")
    return "; ".join(parts)
