"""Checkpoints of executed notebooks, so that an interrupted build resumes.

Each notebook that passes is checkpointed (the executed notebook and its key) in
``.<out>.partial/`` beside the site (:func:`checkpoint_folder`); a build started again reuses every
checkpointed notebook whose key is unchanged. The key (:func:`notebook_key`) is what determines a
notebook's outputs: the digest of its cells' sources, the profile, the code and the records it
reads (:func:`code_state`: the :func:`numerics.records.code_version` digest of ``theory/``,
``numerics/``, ``notebooks/`` and ``results/``, the stored notebooks excepted), Python and library
versions, and the ``ADVLANDSCAPE_*`` environment the kernel inherits.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from numerics.records import REPO_ROOT, atomic_write_bytes, code_version, library_versions

__all__ = [
    "CHECKPOINT_FORMAT",
    "CODE_ROOTS",
    "NotebookCheckpoints",
    "checkpoint_folder",
    "code_state",
    "notebook_key",
]

#: Layout of a checkpoint's key (2: ``code`` is :func:`code_state`'s source digest; 1, before it:
#: the commit plus a digest of uncommitted changes).
CHECKPOINT_FORMAT = 2
#: The folders of the checkout whose files a notebook's outputs depend on: the code it imports
#: (the report's own ``numerics/report/`` included: notebooks display through it), the notebooks'
#: folder, and the committed records the notebooks read.
CODE_ROOTS = ("theory", "numerics", "notebooks", "results")
# Notebooks are keyed by their own cells; their files are left out of the code's state, so that
# editing (or --store writing back) one notebook does not invalidate the others. Nor do the
# artefacts git ignores (weights, arrays, checkpoints); hidden files and folders (a build's own
# .<out>.partial/, a run's .<out>.ckpt/ and lock, a write's temporary file) never count.
_NOT_CODE = ("notebooks/[0-9][0-9]_*.ipynb", "notebooks/[0-9][0-9]_*.py", "*.pt", "*.npz",
             "*.ckpt")


def code_state(repo: str | os.PathLike[str] = REPO_ROOT) -> str | None:
    """The state of the code and records a notebook reads: one digest of their files.

    Args:
        repo: the checkout.

    Returns:
        The digest of :func:`numerics.records.code_version` over every file of
        :data:`CODE_ROOTS` under ``repo``, the stored notebooks ``notebooks/NN_*`` and the
        ignored artefacts (``*.pt``, ``*.npz``, ``*.ckpt``) excepted (the library versions are in
        :func:`notebook_key` beside it): equal for equal files, whatever
        the commit, so a commit that changes none of them keeps the checkpoints; ``None`` when
        ``repo`` has none of those folders (then no checkpoint can be trusted).
    """
    roots = [Path(repo) / name for name in CODE_ROOTS]
    if not any(root.is_dir() for root in roots):
        return None
    return str(code_version(roots, exclude=_NOT_CODE, pattern="*")["digest"])


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
