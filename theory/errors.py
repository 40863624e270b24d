"""Errors the suite raises for bad input or failed runs; each message says what to do."""

from __future__ import annotations

__all__ = [
    "AdvLandscapeError",
    "ConfigError",
    "DataError",
    "DivergenceError",
    "OutputLockedError",
    "RecordEditedError",
    "ResultExistsError",
    "ResultFileError",
    "ResultWriteError",
    "StaleCheckpointError",
    "UnitsFailedError",
]


class AdvLandscapeError(Exception):
    """Base class: the CLI prints these as one clean message instead of a traceback."""


class ConfigError(AdvLandscapeError, ValueError):
    """A configuration value is invalid (unknown norm, negative eps, unwritable output, ...)."""


class DataError(AdvLandscapeError):
    """A data file is missing, truncated or fails its checksum."""


class DivergenceError(AdvLandscapeError, FloatingPointError):
    """A run produced NaN or Inf; the message names the step and the checkpoint to resume from."""


class ResultExistsError(AdvLandscapeError, FileExistsError):
    """A result file exists already and would be overwritten."""


class ResultFileError(AdvLandscapeError):
    """A result file cannot be read back (invalid JSON, missing keys)."""


class RecordEditedError(ResultFileError):
    """A results record's content does not match the digest written with it (a number, key or
    setting changed after it was written); the message names the file and how to get a true
    record back (re-run the command in its provenance, or restore the file from git)."""


class ResultWriteError(AdvLandscapeError, OSError):
    """A result or checkpoint file cannot be written (disk full, file too large, no permission);
    the file it would have replaced is unchanged."""


class StaleCheckpointError(ResultFileError):
    """A checkpoint was written by other code (sources or library versions) than the running one;
    the message names what changed, how to resume from it anyway and how to start afresh."""


class OutputLockedError(AdvLandscapeError):
    """Another run holds the lock of the same output (its pid is in the lock file); the message
    says to wait for it or choose another output."""


class UnitsFailedError(AdvLandscapeError):
    """Units of a sweep raised or lost their workers; the message names each with its config and
    where its traceback is, and running the sweep again runs only the units not yet finished."""
