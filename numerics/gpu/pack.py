"""The data pack of a GPU run: the data the stages read, copied byte for byte into one folder
(git-ignored ``gpu_data/`` by default) with a manifest, small enough to travel to the GPU machine.

A GPU run takes at most :data:`LIMIT_BYTES` (64 MiB) of files, the project's working tree
included. :func:`make_pack` copies MNIST's four official files (stage 4) and the CIFAR-10
``.npz`` training parts asked for with test images 0..999 and all test labels (stages 2, 5, 6),
each verified against the registry's digests first, and writes ``MANIFEST.json`` (a record: the
files, their sizes and SHA-256s, provenance and digest). It refuses, before copying anything, a
pack over the limit, or one that with the working tree beside it would be. The default (MNIST,
CIFAR-10 part 1, the test images) is 40.7 MiB and serves both runs of the plan; two training
parts with the test images (56.6 MiB) fit only without MNIST and beside a tree under 7.4 MiB
(the project's is about 10 MiB). :func:`verify_pack` checks a pack
against its manifest before the stages read it (``--data``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from theory.errors import ConfigError, DataError

__all__ = ["LIMIT_BYTES", "MANIFEST", "make_pack", "pack_files", "tree_bytes", "verify_pack"]

#: What one GPU run takes along: 64 MiB.
LIMIT_BYTES = 64 * 2 ** 20
MANIFEST = "MANIFEST.json"
_CIFAR_TEST = ("cifar10_test_first1000.npz", "cifar10_test_labels.npz")


def _mib(n: int) -> str:
    return f"{n / 2 ** 20:.1f} MiB"


def pack_files(source: str | None, parts: tuple[int, ...], mnist: bool
               ) -> list[tuple[str, Path]]:
    """The files of a pack: ``(folder in the pack, source path)``; a DataError names any
    missing one."""
    from numerics.data import DATASETS

    if any(p not in range(1, 6) for p in parts):
        raise ConfigError(f"--parts takes CIFAR-10 training parts 1..5, got {parts}")
    files: list[tuple[str, Path]] = []
    if mnist:
        spec = DATASETS["mnist"]
        files += [("mnist", spec.folder(source) / f.name) for f in spec.files]
    if parts:
        folder = DATASETS["cifar10-npz"].folder(source)
        names = [f"cifar10_train_part{k}.npz" for k in sorted(set(parts))] + list(_CIFAR_TEST)
        files += [("cifar10", folder / name) for name in names]
    missing = [str(p) for _, p in files if not p.is_file()]
    if missing:
        raise DataError(f"cannot pack: missing {missing}; point --data-dir (or "
                        "$ADVLANDSCAPE_DATA) at a data root holding mnist/ and cifar10/")
    return files


def tree_bytes(root: Path | None = None) -> int | None:
    """Bytes of the working tree that travels with a run (tracked and untracked, not ignored,
    files of the git checkout at ``root``); None outside a git checkout."""
    from numerics.records import REPO_ROOT

    root = root or REPO_ROOT
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=root,
                                capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    total = 0
    for name in listed.decode(errors="replace").split("\0"):
        path = root / name
        if name and path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return total


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def make_pack(out: str | Path, *, source: str | None = None, parts: tuple[int, ...] = (1,),
              mnist: bool = True, limit: int = LIMIT_BYTES, tree: int | None = -1,
              overwrite: bool = False, say: Any = print) -> Path:
    """Pack the data into ``out``; return the manifest's path.

    ``tree``: bytes of the working tree travelling beside the pack (-1: measure it with
    :func:`tree_bytes`; None: leave it out). Raises ConfigError when the pack, or the pack and
    the tree, exceed ``limit``, before anything is copied.
    """
    from numerics.data import verify_file
    from numerics.records import write_result

    files = pack_files(source, parts, mnist)
    total = sum(p.stat().st_size for _, p in files)
    if total > limit:
        raise ConfigError(f"the pack would be {_mib(total)}, over the {_mib(limit)} a GPU run "
                          "takes: pack fewer CIFAR-10 parts (--parts 1) or leave MNIST out "
                          "(--no-mnist) and pack per run")
    tree = tree_bytes() if tree == -1 else tree
    if tree is not None and total + tree > limit:
        raise ConfigError(f"the pack ({_mib(total)}) and the working tree that travels with it "
                          f"({_mib(tree)}) would be {_mib(total + tree)}, over the "
                          f"{_mib(limit)} a GPU run takes: pack fewer CIFAR-10 parts or leave "
                          "MNIST out (--no-mnist)")
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ConfigError(f"{out} exists and is not empty: choose another --out or pass "
                          "--overwrite")
    for _, path in files:
        verify_file(path)  # the registry's size and digests, before anything is copied
    entries = []
    for folder, path in files:
        target = out / folder / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(path, partial)
        os.replace(partial, target)
        entries.append({"path": f"{folder}/{path.name}", "bytes": target.stat().st_size,
                        "sha256": _sha256(target)})
        say(f"  packed {folder}/{path.name} ({_mib(entries[-1]['bytes'])})")
    manifest = write_result(out / MANIFEST, {"parts": sorted(set(parts)), "mnist": mnist,
                                             "limit_bytes": limit},
                            {"files": entries, "total_bytes": total, "tree_bytes": tree},
                            overwrite=True)
    say(f"pack {out}: {_mib(total)} in {len(entries)} files"
        + ("" if tree is None else f"; with the working tree {_mib(total + tree)}")
        + f" of {_mib(limit)}")
    return manifest


def verify_pack(root: str | Path) -> dict[str, Any] | None:
    """Check every file of the pack at ``root`` against its manifest (size, SHA-256); return
    the manifest's results, or None when ``root`` holds no manifest (a plain data root, whose
    files the loaders check against the registry)."""
    from numerics.records import read_result

    root = Path(root)
    if not root.is_dir():
        raise DataError(f"--data {root}: no such folder (make one with `advlandscape gpu pack "
                        "--out DIR` and copy it to the GPU machine)")
    if not (root / MANIFEST).is_file():
        return None
    manifest = read_result(root / MANIFEST)["results"]
    for entry in manifest["files"]:
        path = root / entry["path"]
        if not path.is_file():
            raise DataError(f"pack {root}: {entry['path']} is missing: copy the whole folder")
        if path.stat().st_size != entry["bytes"] or _sha256(path) != entry["sha256"]:
            raise DataError(f"pack {root}: {entry['path']} differs from its manifest (size or "
                            "SHA-256): copy the pack again")
    return manifest
