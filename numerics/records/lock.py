"""One run per output: a lock file beside the output, held with ``flock`` for the run.

:func:`output_lock` holds ``.<name>.lock`` (:func:`lock_path`) beside an output file or folder
while a command writes it: a second run on the same output stops at once naming the owner, and a
lock left by a dead owner is taken over.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from numerics.records.files import _write_error

__all__ = ["lock_path", "output_lock"]


def lock_path(output: str | os.PathLike[str]) -> Path:
    """The lock file of an output file or folder: ``.<name>.lock`` beside it."""
    output = Path(output)
    return output.parent / f".{output.name}.lock"


def _pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (one of another user's counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(fd: int) -> int | None:
    """The pid a lock file holds (its first line), or None when it holds none."""
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 64).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def output_lock(output: str | os.PathLike[str], option: str = "--out"
                ) -> Iterator[Path]:
    """Hold the lock of ``output`` for the duration of the block: one run per output at a time.

    The lock file (:func:`lock_path`) holds the owner's pid and is locked with ``flock``, which
    the kernel releases when the owner dies, however it dies (``kill -9`` included). A second
    run on the same output stops at once with :class:`theory.errors.OutputLockedError` naming
    the owner's pid. A lock left by a dead owner (no ``flock`` held, and its pid no longer
    running) is stale: it is taken over, saying so on stderr. Where the file system has no
    ``flock``, the pid alone decides. The lock file is removed when the block ends.

    Raises:
        OutputLockedError: another live run holds the lock.
        ResultWriteError: the lock file cannot be written (no permission, disk full).
    """
    import errno
    import fcntl

    from theory.errors import OutputLockedError

    lock = lock_path(output)

    def refuse(pid: int | None) -> OutputLockedError:
        owner = f"pid {pid}" if pid is not None else "a process that has not written its pid yet"
        return OutputLockedError(
            f"{output} is being written by another advlandscape run ({owner}; lock {lock}): "
            f"wait for it to finish, or choose another {option}; if no such run exists, delete "
            f"{lock}")

    while True:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _write_error(lock, exc) from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                flocked = True
            except BlockingIOError:
                raise refuse(_read_pid(fd)) from None
            except OSError as exc:  # no flock here (some network file systems): the pid decides
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                    raise
                flocked = False
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(lock))
            except FileNotFoundError:
                same = False
            if not same:  # removed (or replaced) by its owner while we opened it: again
                os.close(fd)
                continue
            previous = _read_pid(fd)
            if previous is not None and previous != os.getpid():
                if not flocked and _pid_alive(previous):
                    raise refuse(previous)
                if _pid_alive(previous) and flocked:
                    print(f"advlandscape: lock {lock} names pid {previous}, which holds no lock "
                          "on it: taking it over", file=sys.stderr)
                else:
                    print(f"advlandscape: taking over the stale lock {lock} of pid {previous}, "
                          "which is no longer running", file=sys.stderr)
            try:
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, f"{os.getpid()}\n".encode())
                os.fsync(fd)
            except OSError as exc:
                raise _write_error(lock, exc) from exc
        except BaseException:
            os.close(fd)
            raise
        break
    try:
        yield lock
    finally:
        with contextlib.suppress(OSError):
            if os.path.samestat(os.fstat(fd), os.stat(lock)):
                os.unlink(lock)  # while still holding it, so no one locks a file on its way out
        os.close(fd)
