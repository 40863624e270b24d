"""The GPU programme's runner: the stages asked for, in order, each writing its record as it
ends and skipping itself when its record exists, with progress and times.

:func:`run_programme` is what ``advlandscape gpu`` and ``python -m numerics.gpu`` run. Stages 1-3
write a record of their own (:func:`numerics.records.write_result`: config = the stage's sizes,
results, provenance with the stage's number, digest; atomically); stages 4-6 run through the
study protocol (:func:`numerics.experiments.protocol.execute`), so their records have the
format of the studies' and an interrupted stage resumes from its finished units.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from numerics.gpu.plan import STAGES, Stage, estimate_seconds
from theory.errors import ConfigError

__all__ = ["DEFAULT_OUT", "SMOKE_OUT", "run_programme"]

#: Where the records land: the committed ``results/resnet/`` (GPU), ``runs/gpu_smoke`` (smoke).
DEFAULT_OUT = Path("results") / "resnet"
SMOKE_OUT = Path("runs") / "gpu_smoke"


@contextlib.contextmanager
def _data_root(data: str | None) -> Iterator[None]:
    """``$ADVLANDSCAPE_DATA`` = ``data`` (when given) and no downloads, for the run."""
    saved = {k: os.environ.get(k) for k in ("ADVLANDSCAPE_DATA", "ADVLANDSCAPE_OFFLINE")}
    if data is not None:
        os.environ["ADVLANDSCAPE_DATA"] = str(Path(data).resolve())
    os.environ["ADVLANDSCAPE_OFFLINE"] = "1"
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _check_out(out: Path, smoke: bool) -> None:
    from numerics.experiments.protocol import RESULTS_ROOT

    if smoke:
        resolved, results = out.resolve(), RESULTS_ROOT.resolve()
        if resolved == results or results in resolved.parents:
            raise ConfigError(f"--smoke writes tiny CPU numbers: not into {out} (results/); "
                              f"use --out elsewhere (default {SMOKE_OUT})")
    out.mkdir(parents=True, exist_ok=True)


def _device(device: str | None, smoke: bool) -> str:
    if device is None:
        device = "cpu" if smoke else "cuda"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("the GPU programme needs CUDA, and torch sees no GPU here: run it on "
                          "the GPU machine, or pass --smoke for the tiny CPU run")
    if not smoke and not device.startswith("cuda"):
        raise ConfigError(f"--device {device}: the programme's sizes are a GPU's; on the CPU "
                          "pass --smoke")
    return device


def _write(path: Path, stage: Stage, sizes: dict[str, Any], results: dict[str, Any],
           device: str, smoke: bool) -> None:
    from numerics.records import write_result

    write_result(path, sizes, results, seed=sizes.get("seed"), device=device,
                 programme="gpu", stage=stage.number, stage_name=stage.name, smoke=smoke)


def _run_stage(stage: Stage, path: Path, *, smoke: bool, device: str, data: str | None,
               say: Callable[[str], None]) -> None:
    sizes = stage.sizes(smoke)
    if stage.number == 1:
        from numerics.gpu.environment import run_environment

        _write(path, stage, sizes, run_environment(sizes, device=device, say=say), device, smoke)
    elif stage.number == 2:
        from numerics.gpu.fastpath import run_fastpath

        res = run_fastpath(sizes, device=device, data_root=data, say=say)
        if not res["all_within"]:
            failed = [k for k, c in res["checks"].items() if not c["within"]]
            say(f"  WARNING: the fast path is outside its tolerances in {failed} (see {path})")
        _write(path, stage, sizes, res, device, smoke)
    elif stage.number == 3:
        from numerics.gpu.benchmark import measure

        _write(path, stage, sizes, measure(sizes, device, say=say), device, smoke)
    elif stage.number in (4, 5):
        from numerics.gpu.figures import present_sweep
        from numerics.gpu.sweeps import run_sweep, sweep_config

        results = run_sweep(sizes, path, smoke=smoke, device=device, data_root=data)
        cfg = sweep_config(sizes, smoke=smoke, device=device)
        written = present_sweep(results, cfg, path, tables=cfg.dataset == "cifar10")
        say(f"  wrote {', '.join(str(p) for p in written)}")
    else:
        from numerics.experiments.protocol import execute
        from numerics.gpu.pas_resnet import STUDY, PASResNetConfig

        s = dict(sizes)
        eps = s.pop("eps_255") / 255
        cfg = PASResNetConfig(eps=eps, device=device, fast=True,
                              profile="ci" if smoke else "full",
                              label=("GPU programme smoke run (CPU, tiny)" if smoke else
                                     "GPU programme stage 6: not Liu et al.'s scale"),
                              **{k: tuple(v) if isinstance(v, list) else v
                                 for k, v in s.items()})
        results = execute(STUDY, cfg, path, progress=True)
        say(f"  {STUDY.judge(results)}")


def run_programme(stages: tuple[int, ...], *, out: str | Path | None = None,
                  smoke: bool = False, data: str | None = None, device: str | None = None,
                  say: Callable[[str], None] = print) -> dict[int, dict[str, Any]]:
    """Run ``stages`` in order into ``out``; return per stage ``{"record", "status",
    "seconds", "estimate"}`` (status ``ran`` or ``skipped``)."""
    from numerics.gpu.pack import verify_pack
    from numerics.records import read_result

    out = Path(out) if out is not None else (SMOKE_OUT if smoke else DEFAULT_OUT)
    _check_out(out, smoke)
    device = _device(device, smoke)
    if device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its kernels
    elif smoke:
        torch.set_num_threads(1)  # tiny models: threads only contend
    if data is not None:
        manifest = verify_pack(data)
        say(f"data: {data}" + (" (no manifest: a data root, checked as it is read)"
                               if manifest is None else
                               f" (pack verified: {len(manifest['files'])} files)"))
    start = time.perf_counter()
    report: dict[int, dict[str, Any]] = {}
    with _data_root(data):
        for stage in (s for s in STAGES if s.number in stages):
            path = out / stage.record
            est = estimate_seconds(stage.number)
            clock = f"[{time.perf_counter() - start:6.1f} s]"
            if path.is_file():
                read_result(path)  # a torn or edited record is refused, never skipped over
                say(f"{clock} stage {stage.number} {stage.name}: skipped, {path} exists")
                report[stage.number] = {"record": str(path), "status": "skipped",
                                        "seconds": 0.0, "estimate": est}
                continue
            say(f"{clock} stage {stage.number} {stage.name}: {stage.title} (estimated "
                f"{est:.0f} s on an H100{'; smoke: tiny sizes on the CPU' if smoke else ''})")
            t0 = time.perf_counter()
            _run_stage(stage, path, smoke=smoke, device=device, data=data, say=say)
            seconds = time.perf_counter() - t0
            say(f"[{time.perf_counter() - start:6.1f} s] stage {stage.number} {stage.name}: "
                f"done in {seconds:.1f} s -> {path}")
            report[stage.number] = {"record": str(path), "status": "ran", "seconds": seconds,
                                    "estimate": est}
    say(f"stages {','.join(map(str, stages))}: {time.perf_counter() - start:.1f} s in all")
    for n, r in report.items():
        say(f"  stage {n}: {r['status']:<7} {r['seconds']:7.1f} s (estimated {r['estimate']:.0f}"
            f" s) {r['record']}")
    return report
