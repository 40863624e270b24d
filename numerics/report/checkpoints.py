"""Checkpoints of executed notebooks, so that an interrupted build resumes.

Each notebook that passes is checkpointed (the executed notebook and its key) in
``.<out>.partial/`` beside the site (:func:`checkpoint_folder`); a build started again reuses every
checkpointed notebook whose key is unchanged. The key (:func:`notebook_key`) is what determines a
notebook's outputs: the digest of its cells' sources, the profile, the code (:func:`code_state`:
commit plus a digest of uncommitted changes), Python and library versions, and the
``ADVLANDSCAPE_*`` environment the kernel inherits.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from numerics.results import REPO_ROOT, atomic_write_bytes, library_versions

CHECKPOINT_FORMAT = 1
# Notebooks are keyed by their own cells; their files are left out of the code's state, so that
# editing (or --store writing back) one notebook does not invalidate the others.
_NOT_CODE = (":(exclude)notebooks/[0-9][0-9]_*.ipynb", ":(exclude)notebooks/[0-9][0-9]_*.py",
             # a build's own checkpoints, and a site set aside by a build that was killed
             ":(exclude,glob)**/.*.partial/**", ":(exclude,glob)**/.*.old-*/**")


def code_state(repo: str | os.PathLike[str] = REPO_ROOT) -> str | None:
    """The state of the code a notebook imports: the commit, and a digest of what differs from it.

    Args:
        repo: the git checkout.

    Returns:
        ``<commit>`` for a clean tree, ``<commit>+dirty:<sha256 prefix>`` when tracked files differ
        from the commit (``git diff HEAD``) or untracked, unignored files exist (names and
        contents are digested), the stored notebooks ``notebooks/NN_*`` and the report's own
        ``.<out>.partial/`` folders excepted; ``None`` when
        ``repo`` is not a git checkout (then no checkpoint can be trusted).
    """
    def git(*args: str) -> bytes:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, check=True,
                              timeout=60).stdout

    try:
        head = git("rev-parse", "HEAD").decode().strip()
        diff = git("diff", "HEAD", "--binary", "--", ".", *_NOT_CODE)
        untracked = git("ls-files", "--others", "--exclude-standard", "-z", "--", ".",
                        *_NOT_CODE).split(b"\0")
    except (OSError, subprocess.SubprocessError):
        return None
    if not diff and not any(untracked):
        return head
    digest = hashlib.sha256(diff)
    for name in sorted(n for n in untracked if n):
        file = Path(repo) / os.fsdecode(name)
        digest.update(b"\0" + name + b"\0")
        if file.is_file():
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return f"{head}+dirty:{digest.hexdigest()[:16]}"


def notebook_key(nb: Any, profile: str, code: str) -> dict[str, Any]:
    """What determines an executed notebook's outputs; equal keys allow reusing a checkpoint.

    Args:
        nb: the stored notebook (its outputs, execution counts and cell ids do not count).
        profile: the profile it runs with.
        code: :func:`code_state` of the checkout.

    Returns:
        A JSON-able dict: the sha256 of the cells' (type, source, tags), the profile, the code
        state, Python's and the numerical libraries' versions, and the ``ADVLANDSCAPE_*``
        variables of this process's environment (the kernel inherits them: data location,
        MathJax, ...). The ledger options are not in it: the ledger is computed by the build, not
        by a notebook.
    """
    cells = [[c.cell_type, c.source if isinstance(c.source, str) else "".join(c.source),
              list(c.get("metadata", {}).get("tags", ()))] for c in nb.cells]
    source = hashlib.sha256(json.dumps(cells, sort_keys=True).encode()).hexdigest()
    return {
        "format": CHECKPOINT_FORMAT, "source": source, "profile": profile, "code": code,
        "libraries": library_versions(), "executable": sys.executable,
        "environment": {k: v for k, v in sorted(os.environ.items())
                        if k.startswith("ADVLANDSCAPE_")},
    }


def checkpoint_folder(out: str | os.PathLike[str]) -> Path:
    """Where a build of the site ``out`` keeps the notebooks it executed: ``.<out>.partial/``."""
    out = Path(out).resolve()
    return out.with_name(f".{out.name}.partial")


@dataclass
class NotebookCheckpoints:
    """The executed notebooks of an unfinished build, each with its key and execution time.

    ``NN_topic.ipynb`` and then ``NN_topic.json`` (the key) are written atomically; the key file
    is written last, so a notebook whose key file exists is complete.
    """

    folder: Path

    def load(self, name: str, key: Mapping[str, Any]) -> tuple[Any, float] | None:
        """The checkpointed notebook ``name`` and its execution seconds if its key equals ``key``;
        ``None`` when there is none, its key differs, or a file cannot be read."""
        meta_path, nb_path = self.folder / f"{name}.json", self.folder / f"{name}.ipynb"
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("key") != json.loads(json.dumps(dict(key))):
                return None
            return nbformat.read(nb_path, as_version=4), float(meta["seconds"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # absent, or torn by hand: execute again

    def save(self, name: str, key: Mapping[str, Any], nb: Any, seconds: float) -> None:
        """Checkpoint an executed notebook that passed (replacing an older checkpoint of it)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"{name}.json").unlink(missing_ok=True)
        atomic_write_bytes(self.folder / f"{name}.ipynb", nbformat.writes(nb).encode(),
                           overwrite=True)
        meta = {"key": dict(key), "seconds": seconds}
        atomic_write_bytes(self.folder / f"{name}.json",
                           json.dumps(meta, indent=1, sort_keys=True).encode(), overwrite=True)

    def discard(self) -> None:
        """Remove the folder and every checkpoint in it."""
        shutil.rmtree(self.folder, ignore_errors=True)
