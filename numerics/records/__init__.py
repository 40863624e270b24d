"""Records of runs: what produced a result, the files that hold it, checkpoints, one run per output.

The package keeps everything a command writes trustworthy: :mod:`~numerics.records.provenance`
names the code (:func:`code_version`, the one code identity), libraries, device and command behind
a result; :mod:`~numerics.records.files` writes JSON records atomically, each with the digest of
its content, and reads them with clear errors, refusing one edited after it was written
(:mod:`~numerics.records.digest` stamps records written before they carried a digest);
:mod:`~numerics.records.checkpoints` saves and safely reads the checkpoints of long runs,
refusing one written by other code unless asked; :mod:`~numerics.records.lock` holds the lock
that allows one run per output.
"""

from __future__ import annotations

from numerics.records.checkpoints import (
    CHECKPOINT_FORMAT,
    RESUME_HINT,
    Checkpoint,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from numerics.records.files import (
    atomic_write_bytes,
    convert_record,
    read_json,
    read_result,
    record_digest,
    write_json,
    write_result,
)
from numerics.records.lock import lock_path, output_lock
from numerics.records.provenance import (
    REPO_ROOT,
    code_version,
    describe_code_change,
    device_description,
    git_commit,
    library_versions,
    provenance,
    started_commit,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "REPO_ROOT",
    "RESUME_HINT",
    "Checkpoint",
    "atomic_write_bytes",
    "code_version",
    "convert_record",
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
    "record_digest",
    "save_checkpoint",
    "started_commit",
    "write_json",
    "write_result",
]
