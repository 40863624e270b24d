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
from typing import Any

import torch

from numerics.cli import resume, values
from numerics.records import read_result
from numerics.validate import check_device
from theory.errors import ConfigError

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
    _print_table(read_result(args.out))
    return status


def _print_table(record: dict) -> None:
    res = record["results"]
    if "per_seed" in res:
        _print_seed_table(res)
        return
    print(res["label"])
    print(f"{'eps*255':>8} {'train rob':>9} {'test rob':>9} {'gap rob':>8} {'train cln':>9} "
          f"{'test cln':>9} {'lambda_1..k':>30} {'trace':>12}")
    for r in res["runs"]:
        c = r["curvature"]
        eigs = ", ".join(f"{v:.4g}" for v in c["top_eigs"])
        print(f"{r['eps_255']:8.2f} {100 * r['train']['robust_acc']:9.2f} "
              f"{100 * r['test']['robust_acc']:9.2f} {100 * r['gap_robust']:8.2f} "
              f"{100 * r['train']['clean_acc']:9.2f} {100 * r['test']['clean_acc']:9.2f} "
              f"{eigs:>30} {c['trace']:8.4g}±{c['trace_se']:.2g}")


def _print_seed_table(res: dict) -> None:
    """A seed sweep's table: per eps the seed mean +- sd, then the trend counts."""
    print(f"{res['label']} (seeds {res['seeds']})")
    print(f"{'eps':>6} {'test rob %':>14} {'test cln %':>14} {'lambda_1':>18} "
          f"{'||theta||^2 lambda_1':>22} {'trace':>18}")
    for row in res["summary"]["per_eps"]:
        def pm(name: str, scale: float = 1.0, row: dict = row) -> str:
            q = row.get(name)
            return "-" if q is None else f"{scale * q['mean']:.4g} ± {scale * q['sd']:.2g}"
        print(f"{row['eps']:6.3g} {pm('test_robust_acc', 100):>14} {pm('test_clean_acc', 100):>14} "
              f"{pm('top_eig'):>18} {pm('top_normalized'):>22} {pm('trace'):>18}")
    counts = res["summary"]["counts"]
    print(f"lambda_1 strictly increasing in eps: {counts['increasing']['text']}; Spearman > 0: "
          f"{counts['spearman_positive']['text']}; seed mean increasing: "
          f"{res['summary']['mean_increasing']}")


def _show(args: argparse.Namespace) -> int:
    _print_table(read_result(args.path))
    return 0
