"""Temporary alias of :mod:`numerics.records`, kept while imports move to it; to be removed.

Every name the repository imports from ``numerics.results`` is re-exported here unchanged (the
two private ones included); new code imports from :mod:`numerics.records`.
"""

from __future__ import annotations

from numerics.records import (
    CHECKPOINT_FORMAT,
    REPO_ROOT,
    RESUME_HINT,
    Checkpoint,
    atomic_write_bytes,
    code_version,
    describe_code_change,
    device_description,
    git_commit,
    library_versions,
    load_checkpoint,
    lock_path,
    output_lock,
    provenance,
    read_checkpoint,
    read_json,
    read_result,
    save_checkpoint,
    started_commit,
    write_json,
    write_result,
)
from numerics.records.files import _jsonable
from numerics.records.provenance import _source_digests

__all__ = [
    "CHECKPOINT_FORMAT",
    "REPO_ROOT",
    "RESUME_HINT",
    "Checkpoint",
    "_jsonable",
    "_source_digests",
    "atomic_write_bytes",
    "code_version",
    "describe_code_change",
    "device_description",
    "git_commit",
    "library_versions",
    "load_checkpoint",
    "lock_path",
    "output_lock",
    "provenance",
    "read_checkpoint",
    "read_json",
    "read_result",
    "save_checkpoint",
    "started_commit",
    "write_json",
    "write_result",
]
