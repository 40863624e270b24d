"""One protocol for every study: a validated config in, resumable units of work, a record out.

A **study** is a module (or package) of :mod:`numerics.experiments` that declares, as module
attributes, the same face (``docs/adding_a_study.md`` lists the steps; a test checks each
registered study has them all):

==============  ===============================================================================
``NAME``        the study's name: ``advlandscape study NAME``, its records in ``results/NAME/``
``TITLE``       one line: what it measures, in the papers' terms
``CLAIMS``      the claim ids its evidence bears on
``Config``      a frozen dataclass; its defaults are the paper's scale; ``profile`` names the scale
``SCALES``      ``{"ci": {...}, "full": {}, ...}``: overrides of ``Config``'s defaults (sizes and
                steps, never a code path); ``full`` is always the defaults themselves
``MINUTES``     ``{scale: minutes}``: the estimated wall time on 2 idle CPU cores
``RESULT``      the record's file name inside ``results/NAME/`` (or ``{scale: name}`` when the
                scales write different records)
``unit_names``  ``unit_names(cfg) -> list[str]``: its units of work, one per (table, seed),
                (eps, seed), (lr, seed) ..., each resumable on its own
``run``         ``run(cfg, units) -> dict``: the results; every unit computed through
                ``units(name, compute)`` (:class:`numerics.experiments.units.Units`), which
                checkpoints it and skips it when resumed, and seeds nothing from the process
``judge``       ``judge(results) -> str``: one line saying what the results show, computed
``EVIDENCE``    ``{claim id: callable() -> Evidence}``: what the ledger calls (reading the
                committed record)
``OUTPUTS``     (optional) files written beside the record by ``present``
``present``     (optional) ``present(results, folder, overwrite) -> list[Path]``: tables, figures
``REPRODUCE``   (optional) ``{"ci": scale, "full": scale}``: the study's own scale that
                ``advlandscape reproduce --scale`` runs (default: the same name)
``TOLERANCE``   (optional) ``{"rtol", "atol"}``: how far a rerun's numbers may move
                (:data:`numerics.experiments.reproduce.DEFAULT_TOLERANCE` otherwise)
``THREADS``     (optional) the torch CPU threads the study runs on, whatever the process's
                setting, for a study whose last digits follow the order of BLAS reductions
                (nets trained by SGD, where they grow): a rerun anywhere (``reproduce --jobs``,
                a test worker) then gives the committed record's numbers
``AXES``        (optional) ``{grid key: config field}``: tuple fields along which the study
                splits into independent parts, each the config with the fields narrowed to one
                value, computing just that value's units with the same results
                (:mod:`numerics.experiments.parts`): ``reproduce --jobs`` runs them side by
                side, and they are a sweep's grid keys
==============  ===============================================================================

:func:`execute` is the one way a study runs from the command line (``advlandscape study``, its
aliases, ``reproduce``): it checks every output before any work, holds the output lock, refuses
a checkpoint of another config (naming the difference), resumes finished units from the
checkpoint beside the record, writes the record with its provenance and the presentation files
all or none, and removes the checkpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from numerics.allocator import reuse_freed_memory
from numerics.experiments.units import (
    Units,
    checkpoint_key,
    checkpoint_path,
    describe_config_change,
    matching_checkpoint,
    units_scratch,
)
from numerics.records import REPO_ROOT, output_lock, read_checkpoint, write_result
from numerics.validate import check_outputs, check_writable_dir
from theory.claims import Evidence
from theory.errors import ConfigError, ResultExistsError, ResultFileError, ResultWriteError

__all__ = ["REQUIRED", "RESULTS_ROOT", "Study", "default_checkpoint_dir", "default_record",
           "execute", "torch_threads"]

#: Where every study's committed records live: ``results/<study>/``.
RESULTS_ROOT = REPO_ROOT / "results"

#: The module attributes every study declares (``OUTPUTS`` and ``present`` are optional).
REQUIRED = ("NAME", "TITLE", "CLAIMS", "Config", "SCALES", "MINUTES", "RESULT", "unit_names",
            "run", "judge", "EVIDENCE")


@dataclass(frozen=True)
class Study:
    """A study's face, read from the attributes its module declares (see the module docstring)."""

    name: str
    title: str
    claims: tuple[str, ...]
    config: type
    scales: Mapping[str, Mapping[str, Any]]
    minutes: Mapping[str, float]
    result: str | Mapping[str, str]
    unit_names: Callable[[Any], list[str]]
    run: Callable[[Any, Units], dict[str, Any]]
    judge: Callable[[dict[str, Any]], str]
    evidence: Mapping[str, Callable[[], Evidence]]
    outputs: tuple[str, ...] = ()
    present: Callable[..., list[Path]] | None = None
    reproduce: Mapping[str, str] = dataclasses.field(default_factory=dict)
    tolerance: Mapping[str, float] | None = None
    module: str = ""
    threads: int | None = None
    axes: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_module(cls, module: ModuleType) -> Study:
        """The study a module declares; a ConfigError naming every missing attribute."""
        missing = [a for a in REQUIRED if not hasattr(module, a)]
        if missing:
            raise ConfigError(f"study module {module.__name__} lacks {missing}: see "
                              "docs/adding_a_study.md")
        if "full" not in module.SCALES or module.SCALES["full"]:
            raise ConfigError(f"study {module.NAME}: SCALES['full'] must be {{}} (the Config's "
                              "defaults are the paper's scale)")
        return cls(
            name=module.NAME, title=module.TITLE, claims=tuple(module.CLAIMS),
            config=module.Config, scales=dict(module.SCALES), minutes=dict(module.MINUTES),
            result=module.RESULT, unit_names=module.unit_names, run=module.run,
            judge=module.judge, evidence=dict(module.EVIDENCE),
            outputs=tuple(getattr(module, "OUTPUTS", ())),
            present=getattr(module, "present", None),
            reproduce=dict(getattr(module, "REPRODUCE", {})),
            tolerance=getattr(module, "TOLERANCE", None), module=module.__name__,
            threads=getattr(module, "THREADS", None), axes=dict(getattr(module, "AXES", {})))

    def config_for(self, scale: str = "full", **overrides: Any) -> Any:
        """The validated config at ``scale`` (the Config's defaults plus that scale's overrides,
        its name in ``profile``), then ``overrides``; ``gpu`` is ``full`` for a study without a
        scale of that name."""
        if scale == "gpu" and scale not in self.scales:
            scale = "full"  # a CPU study's largest scale is the paper's
        if scale not in self.scales:
            raise ConfigError(f"study {self.name} has no scale {scale!r}: use one of "
                              f"{sorted(self.scales)}")
        values = {**self.scales[scale], "profile": scale, **overrides}
        try:
            return self.config(**values)
        except TypeError as exc:  # an unknown field: say which fields exist
            fields = sorted(f.name for f in dataclasses.fields(self.config))
            raise ConfigError(f"study {self.name}: {exc}; its config fields are {fields}") \
                from None

    def result_name(self, scale: str = "full") -> str:
        """The record's file name at ``scale`` (``RESULT``, or its entry for the scale)."""
        if isinstance(self.result, str):
            return self.result
        return self.result[scale]

    def record_path(self, root: Path | None = None, scale: str = "full") -> Path:
        """The committed record: ``results/<name>/<RESULT>`` (or under ``root``)."""
        return (root or RESULTS_ROOT) / self.name / self.result_name(scale)

    def estimate(self, scale: str) -> float | None:
        """Estimated minutes at ``scale`` on 2 idle cores (None: not estimated)."""
        return self.minutes.get(scale)


def default_record(study: Study, out: str | Path | None, scale: str = "full") -> Path:
    """The record a run at ``scale`` writes: ``<out>/<RESULT>`` (``out`` a folder; default the
    committed ``results/<study>/``)."""
    folder = Path(out) if out is not None else RESULTS_ROOT / study.name
    return folder / study.result_name(scale)


def default_checkpoint_dir(record: str | Path) -> Path:
    """Where :func:`execute` checkpoints the units of a run into ``record`` by default:
    ``.<record name>.ckpt/`` beside it."""
    record = Path(record)
    return record.parent / f".{record.name}.ckpt"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def execute(study: Study, cfg: Any, record: str | Path, *, overwrite: bool = False,
            checkpoint_dir: str | Path | None = None, fresh: bool = False,
            resume_stale: bool = False, progress: Any = True, stop_after: int | None = None,
            say: Callable[[str], None] = _say) -> dict[str, Any]:
    """Run ``study`` at ``cfg`` into the record file ``record``, resuming finished units.

    Every file (the record and ``study.outputs`` beside it) is checked before any work and the
    record's folder is locked for the run (:func:`numerics.records.output_lock`). Units are
    checkpointed in ``checkpoint_dir`` (default ``.<record name>.ckpt/`` beside the record,
    removed once the record is written); ``fresh`` discards the checkpoint first; one of another
    config is refused (:class:`ConfigError` naming how the configs differ) rather than replaced;
    ``resume_stale`` resumes from one written by other code (the provenance says so). The record
    and the presentation files are written into a staging folder, then renamed into place, the
    record last: a failed write (a full disk) leaves none of them and keeps the checkpoint.

    Args:
        progress: show a bar (True), or a tqdm bar to advance by one per unit (``reproduce``'s
            overall bar), or False.
        stop_after: interrupt (KeyboardInterrupt) after this many new units (tests).

    Returns:
        the results dict (also written, with config and provenance, to ``record``).
    """
    record = Path(record)
    files = [record] + [record.parent / name for name in study.outputs]
    check_outputs(files, overwrite=overwrite)
    default_dir = checkpoint_dir is None
    ckpt_dir = default_checkpoint_dir(record) if default_dir else Path(checkpoint_dir)
    if not default_dir:
        check_writable_dir(ckpt_dir, "checkpoint directory", "--checkpoint-dir")
    with output_lock(record):
        check_outputs(files, overwrite=overwrite)  # a run that held the lock wrote them?
        where = checkpoint_path(study.name, ckpt_dir)
        if fresh:
            shutil.rmtree(units_scratch(study.name, ckpt_dir), ignore_errors=True)
            if where.is_file():
                where.unlink()
                say(f"--fresh: discarded 1 checkpoint(s): {where}")
        _refuse_other_config(study, cfg, where, default_dir)
        found = matching_checkpoint(study.name, cfg, ckpt_dir)
        extra: dict[str, Any] = {}
        if found is not None:
            found.require_current(resume_stale)
            if found.stale:
                say(f"--resume-stale: resuming from {where}, written by other code "
                    f"({found.stale})")
            if found.history:
                extra["resumed_stale_checkpoint"] = {str(where): found.history}
            say(f"resuming {len(found.state['units'])} finished units from {where}")
        units = Units(study.name, cfg, len(study.unit_names(cfg)), checkpoint_dir=ckpt_dir,
                      stop_after=stop_after, progress=progress, accept_stale=resume_stale)
        train = getattr(cfg, "train", None)  # a network's device is its training config's
        device = getattr(cfg, "device", None) or getattr(train, "device", None) or "cpu"
        # the provenance names the threads; freed arrays are reused (numerics.allocator)
        with torch_threads(study.threads), reuse_freed_memory():
            try:
                results = study.run(cfg, units)
            finally:
                units.close()
            _write_all(study, cfg, results, record, files, overwrite=overwrite, device=device,
                       checkpoint=where, **extra)
        if default_dir:
            shutil.rmtree(ckpt_dir, ignore_errors=True)
        else:
            where.unlink(missing_ok=True)
            if units.scratch is not None:
                shutil.rmtree(units.scratch, ignore_errors=True)
    return results


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Any:
    """torch on ``threads`` CPU threads inside the block (None: as it is), restored after."""
    if threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _refuse_other_config(study: Study, cfg: Any, where: Path, default_dir: bool) -> None:
    """Refuse to run over the checkpoint ``where`` when it holds units of another config of the
    study: running would replace it (its finished units lost) without a word. The message names
    the checkpoint, how the configs differ and the two ways on."""
    try:
        found = read_checkpoint(where)
    except ResultFileError:
        return  # torn or damaged: matching_checkpoint reports it with its own message
    if found is None:
        return
    key = found.state.get("key")
    if key == checkpoint_key(study.name, cfg):
        return
    units = found.state.get("units")
    count = f"{len(units)} finished unit(s)" if isinstance(units, dict) else "units"
    change = describe_config_change(key, checkpoint_key(study.name, cfg))
    elsewhere = "--out" if default_dir else "--checkpoint-dir"
    raise ConfigError(
        f"checkpoint {where} holds {count} of another configuration of study {study.name} "
        f"({change}); running this one would replace it: run with --fresh to discard it, or "
        f"give another {elsewhere} to keep it (the same command as before resumes it)")


def _write_all(study: Study, cfg: Any, results: dict[str, Any], record: Path,
               files: list[Path], *, overwrite: bool, device: str, checkpoint: Path,
               **extra: Any) -> None:
    """Write the record and the presentation files all or none: into a staging folder beside
    the record (same file system) first, then each renamed into place, which takes no space.
    A failure while writing (a full disk) leaves none of them, the staging folder removed and
    the checkpoint kept, so that running the same command again presents the finished units
    without computing them again."""
    staging = record.parent / f".{record.name}.staging"
    shutil.rmtree(staging, ignore_errors=True)  # left by a run that was killed while writing
    try:
        staging.mkdir(parents=True)
        write_result(staging / record.name, cfg, results, seed=getattr(cfg, "seed", None),
                     device=device, study=study.name, scale=getattr(cfg, "profile", None),
                     **extra)
        if study.present is not None:
            study.present(results, staging, overwrite=True)
        staged = [*sorted(p for p in staging.iterdir() if p.name != record.name),
                  staging / record.name]  # the record last
        # nothing came since the check at the start, and nothing undeclared is replaced
        check_outputs(files + [record.parent / p.name for p in staged], overwrite=overwrite)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError) and not isinstance(exc, ResultExistsError):
            cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
            error = ResultWriteError(
                f"writing the record and its files into {record.parent} failed "
                f"({cause.strerror or cause}); none of them was written, and the finished "
                f"units are kept in {checkpoint}: free space (or fix the folder) and run the "
                "same command again, which presents them without computing them again")
            error.errno = cause.errno
            raise error from exc
        raise
    # renames within one file system take no space; the record comes last, so a record on
    # disk means every file beside it is this run's
    for path in staged:
        os.replace(path, record.parent / path.name)
    shutil.rmtree(staging, ignore_errors=True)
    with contextlib.suppress(OSError):  # make the renames durable
        folder = os.open(record.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
