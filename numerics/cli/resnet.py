"""``advlandscape resnet``: the ResNet18 adversarial-training sweep (Yamada et al. 5.2, Y-T1).

Examples::

    advlandscape resnet run --dataset mnist --out results/resnet/mnist_ci.json
    ADVLANDSCAPE_PROFILE=gpu advlandscape resnet run --dataset cifar10 --device cuda \\
        --checkpoint-dir runs/ --out results/resnet/cifar10_gpu.json
    advlandscape resnet show results/resnet/mnist_cpu_smoke.json
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any, NoReturn

import torch

from numerics.cli import resume, values
from numerics.records import read_result
from numerics.validate import check_device
from theory.errors import ConfigError, ResultFileError

__all__ = ["config_from_args", "register"]


def _eps_list(text: str) -> tuple[float, ...]:
    """``"0,4,8"`` with ``--eps-unit 255`` -> (0, 4/255, 8/255)."""
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--eps takes comma-separated numbers, got {text!r}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``resnet run`` and ``resnet show``."""
    parser = subparsers.add_parser("resnet", help="ResNet18 adversarial training sweep: "
                                   "accuracies, Hessian eigenvalues, landscapes")
    sub = parser.add_subparsers(dest="resnet_command", metavar="ACTION")
    run = sub.add_parser("run", help="train one network per eps and measure it")
    run.add_argument("--dataset", choices=("mnist", "cifar10", "svhn"), default="mnist")
    run.add_argument("--profile", type=values.gpu_profile(("ci", "cpu", "full", "gpu")),
                     default=None, metavar="{ci,cpu,full,gpu}",
                     help="scale (default: $ADVLANDSCAPE_PROFILE or ci); 'cpu': the MNIST seed "
                     "sweep of a reduced-width ResNet18 for 2 CPU cores (Y-T1 (b), deep part)")
    run.add_argument("--eps", type=_eps_list, default=None,
                     help="comma-separated budgets (default: the profile's)")
    run.add_argument("--eps-unit", choices=("1", "255"), default="1",
                     help="'255': --eps values are k/255")
    run.add_argument("--epochs", type=values.positive_count, default=None)
    run.add_argument("--width", type=values.positive_count, default=None,
                     help="ResNet first-stage width")
    run.add_argument("--n-train", type=values.count, default=None,
                     help="0: the whole training set")
    run.add_argument("--n-test", type=values.count, default=None)
    run.add_argument("--test-split", choices=("test", "holdout"), default="test")
    run.add_argument("--device", default=None, help="cpu or cuda[:N]")
    run.add_argument("--no-fast", action="store_true", help="fp32 eager reference path on CUDA")
    run.add_argument("--compile", action="store_true", help="torch.compile the model (CUDA)")
    run.add_argument("--seed", type=values.seed, default=None,
                     help="the seed (with --seeds: the one that draws the data subset)")
    run.add_argument("--seeds", type=values.seed_list, default=None,
                     help="comma-separated seeds: one network per eps and seed (default: the "
                     "profile's; the cpu profile's are 0,1,2)")
    run.add_argument("--data-dir", default=None)
    run.add_argument("--checkpoint-dir", default=None,
                     help="write a checkpoint per epoch and per measured budget here and resume "
                     "from them (default: .OUT.ckpt beside --out, removed once OUT is written)")
    run.add_argument("--out", required=True, help="result JSON file")
    run.add_argument("--overwrite", action="store_true")
    run.add_argument("--no-progress", action="store_true")
    resume.add_arguments(run)
    run.set_defaults(func=_run)
    show = sub.add_parser("show", help="print a result file as a table")
    show.add_argument("path")
    show.set_defaults(func=_show)
    parser.set_defaults(func=lambda args: parser.print_help() or 0)


def config_from_args(args: argparse.Namespace) -> Any:
    """The validated :class:`numerics.experiments.resnet.ResNetExperimentConfig` of ``resnet
    run``'s arguments (the profile's, with the options' changes)."""
    from numerics.experiments.resnet import profile_config

    config = profile_config(args.dataset, args.profile)
    train_changes: dict = {}
    if args.device is not None:
        dev = check_device(args.device)
        train_changes["device"] = str(dev)
        if dev.type == "cpu" and config.train.device != "cpu":  # the GPU profiles on a CPU
            train_changes.update(fast=False, compile=False, dtype="float64")
    if args.no_fast:
        train_changes.update(fast=False)
    if args.compile:
        train_changes.update(compile=True)
    for name in ("epochs", "width", "seed"):
        if getattr(args, name) is not None:
            train_changes[name] = getattr(args, name)
    changes: dict = {"test_split": args.test_split}
    if args.eps is not None:
        scale = 255.0 if args.eps_unit == "255" else 1.0
        changes["eps"] = tuple(e / scale for e in args.eps)
    if args.n_train is not None:
        changes["n_train"] = args.n_train
    if args.n_test is not None:
        changes["n_test"] = args.n_test
    if args.seeds is not None:
        changes["seeds"] = args.seeds
    try:
        train = dataclasses.replace(config.train, **train_changes)
        config = dataclasses.replace(config, train=train, **changes)
    except TypeError as exc:
        raise ConfigError(str(exc)) from None
    check_device(config.train.device)
    return config


def _run(args: argparse.Namespace) -> int:
    """``resnet run``: an alias of ``study resnet`` with the sweep's options: the config of
    ``--profile`` and ``--dataset`` with the options' changes, run through the study protocol
    (outputs checked and locked before any work, (eps, seed) units checkpointed beside ``--out``
    or in ``--checkpoint-dir`` and resumed, each unit's training every epoch)."""
    import os

    from numerics.cli.study import run_study_command

    config = config_from_args(args)
    if config.train.device == "cpu":
        torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    before = os.environ.get("ADVLANDSCAPE_DATA")
    if args.data_dir is not None:  # the data layer reads its root from here (README, Data)
        os.environ["ADVLANDSCAPE_DATA"] = str(args.data_dir)
    try:
        status = run_study_command("resnet", args, scale=config.profile, out=None,
                                   record=Path(args.out), cfg=config)
    finally:  # the command's --data-dir ends with it (main() may run in a longer process)
        if before is None:
            os.environ.pop("ADVLANDSCAPE_DATA", None)
        else:
            os.environ["ADVLANDSCAPE_DATA"] = before
    _print_table(read_result(args.out), args.out)
    return status


class _Field:
    """A value of a record read with its place (``results["runs"][0]["eps_255"]``), so that a
    record of the wrong shape is one line naming the file, the place and what is wrong."""

    def __init__(self, path: str | Path, value: Any, where: str = "results") -> None:
        self.path, self.value, self.where = path, value, where

    def _fail(self, what: str) -> NoReturn:
        raise ResultFileError(f"{self.path} is not a readable `resnet run` record: {what}")

    def __getitem__(self, key: str) -> _Field:
        if not isinstance(self.value, dict):
            self._fail(f"{self.where} is a {type(self.value).__name__}, not a mapping")
        if key not in self.value:
            self._fail(f"{self.where} lacks the key {key!r}")
        return _Field(self.path, self.value[key], f"{self.where}[{key!r}]")

    def get(self, key: str) -> _Field | None:
        """The field ``key``, or None when it is absent or null."""
        if isinstance(self.value, dict) and self.value.get(key) is not None:
            return self[key]
        return None

    def number(self) -> float:
        """The value, a number (an int or float, not a bool or a string)."""
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            self._fail(f"{self.where} is {self.value!r} ({type(self.value).__name__}), not a "
                       "number")
        return float(self.value)

    def num(self, key: str) -> float:
        """The number at ``key``."""
        return self[key].number()

    def text(self, key: str) -> str:
        """The value at ``key`` as printed (any plain value)."""
        return str(self[key].value)

    def items(self) -> list[_Field]:
        """The entries of a list."""
        if not isinstance(self.value, list):
            self._fail(f"{self.where} is a {type(self.value).__name__}, not a list")
        return [_Field(self.path, v, f"{self.where}[{i}]") for i, v in enumerate(self.value)]


def _print_table(record: dict, path: str | Path) -> None:
    """Print a ``resnet run`` record (a single seed, or a seed sweep) as a table; a record of
    another study, or missing a value, or holding text where a number belongs, is a
    :class:`ResultFileError` naming the file and the place, before anything is printed."""
    study = record.get("provenance", {}).get("study") if isinstance(record, dict) else None
    if study not in (None, "resnet"):
        raise ResultFileError(f"{path} is a record of study {study!r}, not of `resnet run`: "
                              f"`advlandscape resnet show` prints ResNet18 sweeps only")
    res = _Field(path, record.get("results") if isinstance(record, dict) else None)
    if not isinstance(res.value, dict) or not ({"runs", "per_seed"} & set(res.value)):
        keys = sorted(res.value) if isinstance(res.value, dict) else type(res.value).__name__
        res._fail(f"its results hold neither 'runs' nor 'per_seed' (found {keys}); is it "
                  "another study's record?")
    lines = _seed_table(res) if "per_seed" in res.value else _runs_table(res)
    print("\n".join(lines))


def _runs_table(res: _Field) -> list[str]:
    """A single seed's table: per eps the accuracies, top eigenvalues and trace."""
    lines = [res.text("label"),
             f"{'eps*255':>8} {'train rob':>9} {'test rob':>9} {'gap rob':>8} {'train cln':>9} "
             f"{'test cln':>9} {'lambda_1..k':>30} {'trace':>12}"]
    for r in res["runs"].items():
        c, train, test = r["curvature"], r["train"], r["test"]
        eigs = ", ".join(f"{e.number():.4g}" for e in c["top_eigs"].items())
        lines.append(
            f"{r.num('eps_255'):8.2f} {100 * train.num('robust_acc'):9.2f} "
            f"{100 * test.num('robust_acc'):9.2f} {100 * r.num('gap_robust'):8.2f} "
            f"{100 * train.num('clean_acc'):9.2f} {100 * test.num('clean_acc'):9.2f} "
            f"{eigs:>30} {c.num('trace'):8.4g}±{c.num('trace_se'):.2g}")
    return lines


def _seed_table(res: _Field) -> list[str]:
    """A seed sweep's table: per eps the seed mean +- sd, then the trend counts."""
    lines = [f"{res.text('label')} (seeds {res.text('seeds')})",
             f"{'eps':>6} {'test rob %':>14} {'test cln %':>14} {'lambda_1':>18} "
             f"{'||theta||^2 lambda_1':>22} {'trace':>18}"]
    summary = res["summary"]
    for row in summary["per_eps"].items():
        def pm(name: str, scale: float = 1.0, row: _Field = row) -> str:
            q = row.get(name)
            return "-" if q is None else f"{scale * q.num('mean'):.4g} ± {scale * q.num('sd'):.2g}"
        lines.append(f"{row.num('eps'):6.3g} {pm('test_robust_acc', 100):>14} "
                     f"{pm('test_clean_acc', 100):>14} {pm('top_eig'):>18} "
                     f"{pm('top_normalized'):>22} {pm('trace'):>18}")
    counts = summary["counts"]
    lines.append(f"lambda_1 strictly increasing in eps: {counts['increasing'].text('text')}; "
                 f"Spearman > 0: {counts['spearman_positive'].text('text')}; seed mean "
                 f"increasing: {summary.text('mean_increasing')}")
    return lines


def _show(args: argparse.Namespace) -> int:
    _print_table(read_result(args.path), args.path)
    return 0
