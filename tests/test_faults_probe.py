"""The independent probe's findings (docs/faults.md, rows 31-49): bad input to public functions,
CLI values, sweep files and resources, and the report's site, signals and assets.

Each case ends early with one clear message (a ``ConfigError``, or exit 2 and one line from the
command), never a traceback, a wrong answer or work done for nothing. The process faults (Ctrl-C
during a report, a sweep killed with SIGKILL) wait on events the driven processes produce (a
file a notebook writes, a line a worker prints), never on the clock.
"""

from __future__ import annotations

import argparse
import errno
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import pytest
import torch

from numerics.cli import build_parser, main
from numerics.records import REPO_ROOT, output_lock, read_result
from theory.errors import ConfigError, OutputLockedError

from cases import fails_cleanly

pytestmark = pytest.mark.usefixtures("cpu_load")

REPO = REPO_ROOT


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TQDM_DISABLE="1",
               PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(REPO))
    return env


def _wait_for(predicate: Callable[[], bool], proc: subprocess.Popen, what: str,
              err: Path | None = None) -> None:
    """Wait until ``predicate()`` holds (an event the driven process causes); fail at once if
    the process ends first. The 600 s bound only stops a hung test."""
    for _ in range(6000):
        if predicate():
            return
        if proc.poll() is not None:
            text = err.read_text() if err is not None and err.exists() else ""
            pytest.fail(f"the process ended (rc {proc.returncode}) before {what}:\n{text}")
        time.sleep(0.1)
    pytest.fail(f"no {what} within 600 s")


# --------------------------------------------------------------------------------------------
# rows 31-33: box_worst_case, counts, one place that validates public input


def _linear_problem() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    W = torch.randn(3, 6, generator=g, dtype=torch.float64)
    X = torch.rand(5, 5, generator=g, dtype=torch.float64)
    y = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0], dtype=torch.float64)
    return W, X, y


@pytest.mark.parametrize(("spelling", "canonical"), [
    ("inf", "linf"), ("Linf", "linf"), ("L-inf", "linf"), (float("inf"), "linf"),
    ("2", "l2"), ("L2", "l2"), (" l2 ", "l2")])
def test_box_worst_case_accepts_every_spelling_of_the_two_norms(spelling: Any,
                                                                canonical: str) -> None:
    """Every spelling theory.validate.check_norm accepts gives the canonical norm's worst case
    (before: any name but exactly 'l2' was treated as L2's ... or L-inf's, wrongly)."""
    from numerics.linear.attack import box_worst_case

    W, X, y = _linear_problem()
    expected = box_worst_case(W, X, y, 0.3, canonical, (0.0, 1.0))
    assert torch.equal(box_worst_case(W, X, y, 0.3, spelling, (0.0, 1.0)), expected)


@pytest.mark.parametrize(("change", "match"), [
    ({"norm": "l3"}, "unknown norm 'l3'"),
    ({"norm": "l1"}, "unknown norm"),
    ({"box": (1.0, 0.0)}, "low < high"),
    ({"box": None}, "needs a box"),
    ({"y": "0/1"}, "-1 or \\+1"),
    ({"y": "short"}, "one per sample"),
    ({"X": "nan"}, "NaN"),
    ({"W": "nan"}, "NaN"),
    ({"W": "shape"}, "matrix"),
    ({"eps": -0.1}, "budgets"),
    ({"eps": float("nan")}, "budgets"),
])
def test_box_worst_case_refuses_bad_input_at_its_entry(change: dict[str, Any],
                                                       match: str) -> None:
    """An unknown norm, a reversed or missing box, 0/1 labels, labels of another length, NaN
    inputs or weights, a weight matrix of the wrong shape, a bad budget: one ConfigError
    (before: l3 and a reversed box returned points that are not the worst case, and label-0
    rows came back unchanged)."""
    from numerics.linear.attack import box_worst_case

    W, X, y = _linear_problem()
    args: dict[str, Any] = {"W": W, "X": X, "y": y, "eps": 0.3, "norm": "l2", "box": (0.0, 1.0)}
    for key, value in change.items():
        if value == "0/1":
            value = (y + 1) / 2
        elif value == "short":
            value = y[:3]
        elif value == "nan" and key == "X":
            value = X.clone()
            value[1, 2] = float("nan")
        elif value == "nan":
            value = W.clone()
            value[0, 0] = float("nan")
        elif value == "shape":
            value = W[:, :3]
        args[key] = value
    with pytest.raises(ConfigError, match=match):
        box_worst_case(args["W"], args["X"], args["y"], args["eps"], args["norm"], args["box"])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"steps": float("nan")}, "steps"), ({"steps": float("inf")}, "steps"),
    ({"steps": 2.5}, "steps"), ({"steps": -1}, "steps"), ({"steps": True}, "steps"),
    ({"restarts": 2.5}, "restarts"), ({"restarts": 0}, "restarts"),
])
def test_pgd_on_loss_refuses_counts_that_are_not_integers(kwargs: dict[str, Any],
                                                          match: str) -> None:
    """steps NaN/inf/2.5/-1/True and restarts 2.5/0: a ConfigError (before: NaN and inf were a
    ValueError and an OverflowError from int(), 2.5 restarts a TypeError from range())."""
    from numerics.attacks import AttackSpec, pgd_on_loss

    x = torch.rand(4, 3, dtype=torch.float64)
    args = {"steps": 3, "restarts": 1, **kwargs}
    with pytest.raises(ConfigError, match=match):
        pgd_on_loss(lambda z: z.sum(dim=1), x, 0.1, "l2", args["steps"], 0.05,
                    restarts=args["restarts"])
    if "restarts" in kwargs:
        with pytest.raises(ConfigError, match="restarts"):
            AttackSpec("pgd", restarts=kwargs["restarts"])
    # a whole float is a count: 3.0 steps are accepted
    assert AttackSpec("pgd", steps=3.0).steps == 3


def test_check_count_and_seed() -> None:
    """The one count check: integers (numpy's too) and whole floats in range, nothing else."""
    import numpy as np

    from numerics.validate import SEED_MAX, check_count, check_seed

    assert check_count(np.int64(4), "n") == 4
    assert check_count(4.0, "n") == 4
    for bad in (2.5, float("nan"), float("inf"), "3", None, True, -1):
        with pytest.raises(ConfigError):
            check_count(bad, "n")
    assert check_seed(SEED_MAX) == SEED_MAX
    for bad in (-1, SEED_MAX + 1, 2**70):
        with pytest.raises(ConfigError, match="seed"):
            check_seed(bad)


# --------------------------------------------------------------------------------------------
# rows 34-35: CLI values checked at parse time, --profile gpu on a CPU machine


def _parse_fails(capsys: pytest.CaptureFixture[str], argv: list[str], *expect: str) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("advlandscape"), err
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    for word in expect:
        assert word in err, (word, err)


@pytest.mark.parametrize(("argv", "expect"), [
    (["sweep", "s.yaml", "--connect-timeout", "-1"], ("--connect-timeout", "'-1'")),
    (["sweep", "s.yaml", "--connect-timeout", "nan"], ("--connect-timeout", "'nan'")),
    (["sweep", "s.yaml", "--connect-timeout", "inf"], ("--connect-timeout",)),
    (["sweep", "s.yaml", "--max-parallel", "2.5"], ("--max-parallel",)),
    (["report", "--timeout", "-5"], ("--timeout", "'-5'")),
    (["report", "--timeout", "0"], ("--timeout", "'0'")),
    (["report", "--timeout", "abc"], ("--timeout",)),
])
def test_cli_values_of_owned_commands_are_checked_at_parse_time(
        capsys: pytest.CaptureFixture[str], argv: list[str], expect: tuple[str, ...]) -> None:
    """Negative, zero, NaN or non-numeric timeouts and counts: exit 2 with one line naming the
    option, when the arguments are parsed (before: a traceback, or a sweep that waited for a
    NaN)."""
    _parse_fails(capsys, argv, *expect)


#: The same for the subcommands whose modules take the patch in docs/faults.md (row 34): the
#: marker goes when the patch lands (strict: an unexpected pass fails, as a reminder).


@pytest.mark.parametrize("argv", [
    ["mnist2", "--threads", "0"],
    ["mnist2", "--threads", "-1"],
    ["mnist2", "--threads", "100000"],
    ["resnet", "run", "--out", "o.json", "--seed", "-1"],
    ["resnet", "run", "--out", "o.json", "--seed", str(2**70)],
    ["resnet", "run", "--out", "o.json", "--n-train", "-5"],
    ["resnet", "run", "--out", "o.json", "--n-test", "-5"],
    ["liu-kanai", "budget", "--seed", "-1"],
    ["liu-kanai", "budget", "--seed", str(2**70)],
])
def test_cli_values_of_the_other_commands_are_checked_at_parse_time(
        capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """--threads 0/-1/100000, --seed -1 or 2**70, --n-train/--n-test -5: exit 2 at parse time
    (before: tracebacks from torch and numpy after the data were loaded, and a MemoryError)."""
    _parse_fails(capsys, argv, argv[-2])


def test_cli_value_types() -> None:
    """numerics.cli.values: the bounds and the one-line messages."""
    from numerics.cli import values
    from numerics.validate import available_cpus

    assert values.seed("7") == 7
    assert values.threads(str(available_cpus())) == available_cpus()
    assert values.positive_seconds("0.5") == 0.5
    for parse, text in [(values.seed, "-1"), (values.seed, str(2**70)), (values.threads, "0"),
                        (values.threads, str(available_cpus() + 1)), (values.count, "-5"),
                        (values.positive_count, "0"), (values.positive_seconds, "nan"),
                        (values.positive_seconds, "-1"), (values.seed, "1e3")]:
        with pytest.raises(argparse.ArgumentTypeError, match=repr(text)):
            parse(text)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is visible")
def test_gpu_profile_without_a_gpu_is_refused(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`report --profile gpu` (or $ADVLANDSCAPE_PROFILE=gpu) on a machine without CUDA: exit 2
    before any notebook runs, naming the full profile (before: the whole run started without a
    word); a local sweep at the gpu profile likewise. --no-execute renders stored outputs: not
    refused."""
    fails_cleanly(capsys, ["report", "--profile", "gpu", "--out", str(tmp_path / "s")],
                   "gpu", "full profile")
    monkeypatch.setenv("ADVLANDSCAPE_PROFILE", "gpu")
    fails_cleanly(capsys, ["report", "--out", str(tmp_path / "s")], "ADVLANDSCAPE_PROFILE")
    assert not (tmp_path / "s").exists()
    monkeypatch.setenv("ADVLANDSCAPE_PROFILE", "ci")
    spec = tmp_path / "gpu.yaml"
    spec.write_text("experiment: pas\nprofile: gpu\ngrid: {lr: [0.1], seed: [0]}\n")
    fails_cleanly(capsys, ["sweep", str(spec), "--out", str(tmp_path / "o"), "--no-progress"],
                   "profile", "gpu")
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------------------------
# rows 36-40: sweep files, resources, the output lock, pool workers


PAS = "experiment: pas\nprofile: ci\ngrid: {lr: [0.1], seed: [0]}\n"


@pytest.mark.parametrize(("text", "match"), [
    (PAS + "config: {momentum: .nan}\n", "momentum must be a finite number"),
    ("experiment: pas\nprofile: ci\ngrid: {lr: [.nan], seed: [0]}\n", "lrs must be a finite"),
    (PAS + "config: {batch_size: 0}\n", "batch_size must be an integer >= 1"),
    (PAS + "config: {pgd_steps: 0}\n", "pgd_steps must be an integer >= 1"),
    (PAS + "config: {n_train: .nan}\n", "n_train must be an integer"),
    (PAS + "config: {hidden: abc}\n", "hidden must be a list"),
    (PAS + "config: {hidden: [64, 0]}\n", "hidden must be an integer >= 1"),
    ("experiment: pas\nprofile: ci\ngrid: {lr: [0.1], seed: [a]}\n", "seeds"),
    (PAS + "config: {seed: [a]}\n", "seed must be an integer"),
    (PAS + "config: {seed: -1}\n", "seed must be an integer in 0..4294967295"),
    ("experiment: pas\nprofile: ci\ngrid: {lr: [1, 1.0], seed: [0]}\n", "repeats a value"),
    ("experiment: pas\nprofile: ci\ngrid: {lr: [0.1], seed: [0]}\ngrid: {lr: [0.3]}\n",
     "key 'grid' given twice"),
    ("experiment: pas\nprofile: ci\ngrid: {lr: [0.1, 0.3], lr: [1], seed: [0]}\n",
     "key 'lr' given twice"),
    ("experiment: resnet\nprofile: ci\ngrid: {eps: [abc]}\n", "eps value must be a number"),
    ("experiment: resnet\nprofile: ci\nconfig: {train: {batch_size: 0}}\n", "batch_size"),
    ("experiment: resnet\nprofile: ci\nconfig: {train: {lr: .nan}}\n", "lr must be a finite"),
])
def test_sweep_configs_are_validated_when_planned(tmp_path: Path, text: str,
                                                  match: str) -> None:
    """NaN learning rates and momentum, zero batch sizes and PGD steps, a NaN n_train, a seed
    that is a list or negative, hidden widths that are text, 1 and 1.0 as two grid values, a
    key given twice, an eps that is text: one ConfigError naming the file when the sweep is
    planned, before any executor starts (before: planning passed them, and the units crashed,
    e.g. ZeroDivisionError for pgd_steps: 0, or ran twice, or the last key won silently)."""
    from numerics.sweep import load_spec, plan

    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match) as info:
        plan(load_spec(path))
    assert str(path) in str(info.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is visible")
def test_sweep_device_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    """`device: cuda` for a ResNet unit on a machine without CUDA: refused at planning."""
    from numerics.sweep import load_spec, plan

    path = tmp_path / "cuda.yaml"
    path.write_text("experiment: resnet\nprofile: ci\nconfig: {train: {device: cuda}}\n")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        plan(load_spec(path))


def test_sweep_file_with_aliases_or_bytes_is_refused_at_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 9-level YAML alias bomb (9**9 strings once expanded): refused at its first anchor,
    before expansion (before: 49 s of CPU); a binary file: one line 'not UTF-8' (before: a
    UnicodeDecodeError traceback); an oversized one: refused by its size."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    fails_cleanly(capsys, ["sweep", str(bomb)], "anchor", "aliases")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    fails_cleanly(capsys, ["sweep", str(binary)], "not UTF-8")
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * (70 * 1024) + "\n")
    fails_cleanly(capsys, ["sweep", str(big)], "KiB")


def test_unit_resources_beyond_this_machine_are_refused_before_any_work(
        tmp_path: Path) -> None:
    """The local executor: num_cpus: 64 (more than this machine's cores), num_gpus: 1 without
    a GPU: one ConfigError before the output folder is made."""
    from numerics.sweep import LocalExecutor, parse_spec, run_sweep
    from numerics.validate import available_cpus

    raw = {"experiment": "pas", "profile": "ci", "grid": {"lr": [0.1], "seed": [0]},
           "resources": {"num_cpus": available_cpus() + 62}}
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="num_cpus"):
        run_sweep(parse_spec(raw, "cpus.yaml"), out, LocalExecutor(), progress=False,
                  say=lambda _m: None)
    if not torch.cuda.is_available():
        raw["resources"] = {"num_gpus": 1}
        with pytest.raises(ConfigError, match="num_gpus: 1 exceeds the 0 GPU"):
            run_sweep(parse_spec(raw, "gpus.yaml"), out, LocalExecutor(), progress=False,
                      say=lambda _m: None)
    assert not out.exists()


class _FakeRay:
    """What RayExecutor.check reads of Ray: the nodes and their resources."""

    def __init__(self, nodes: list[dict[str, Any]]) -> None:
        self._nodes = nodes

    def nodes(self) -> list[dict[str, Any]]:
        return self._nodes


def test_unit_larger_than_the_local_ray_instance_is_refused_before_submitting(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A unit asking for 8 CPUs of the 2-CPU Ray instance the command started: ConfigError
    naming both numbers before any task is submitted (before: the sweep waited forever without
    a word). On a cluster at an address (which may scale up) it is a warning."""
    from numerics.sweep.executors import RayExecutor
    from numerics.sweep.spec import Resources

    executor = object.__new__(RayExecutor)
    executor.ray = _FakeRay([{"Alive": True, "Resources": {"CPU": 2.0}},
                             {"Alive": False, "Resources": {"CPU": 64.0}}])
    executor.started, executor.address = True, None
    executor.check(Resources(num_cpus=2), "ci", "s.yaml")
    with pytest.raises(ConfigError, match="num_cpus: 8 exceeds the 2 CPU"):
        executor.check(Resources(num_cpus=8), "ci", "s.yaml")
    with pytest.raises(ConfigError, match="num_gpus: 1 exceeds the 0 GPU"):
        executor.check(Resources(num_gpus=1.0), "ci", "s.yaml")
    with pytest.raises(ConfigError, match="profile gpu"):
        executor.check(Resources(), "gpu", "s.yaml")
    executor.started, executor.address = False, "10.0.0.1:6379"
    executor.check(Resources(num_cpus=8), "ci", "s.yaml")
    assert "warning" in capsys.readouterr().err


def test_second_sweep_on_the_same_out_stops_at_once(tmp_path: Path) -> None:
    """A sweep whose --out another run holds (its lock): OutputLockedError naming the pid,
    before any unit runs (before: both ran every unit)."""
    from numerics.sweep import LocalExecutor, parse_spec, run_sweep

    out = tmp_path / "out"
    out.mkdir()
    spec = parse_spec({"experiment": "pas", "profile": "ci",
                       "grid": {"lr": [0.1], "seed": [0]}}, "lock.yaml")
    with output_lock(out.resolve()), pytest.raises(OutputLockedError, match=str(os.getpid())):
        run_sweep(spec, out, LocalExecutor(), progress=False, say=lambda _m: None)
    assert not (out / "units").exists()


POOL_DRIVER = textwrap.dedent('''
    import concurrent.futures as cf
    import multiprocessing
    import os
    import sys
    import time

    from numerics.sweep.executors import die_with_parent


    def unit():
        os.write(1, f"worker {os.getpid()}\\n".encode())  # one write: lines never interleave
        while True:  # a unit that runs until it is stopped
            time.sleep(0.05)


    if __name__ == "__main__":
        context = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(max_workers=2, mp_context=context,
                                    initializer=die_with_parent,
                                    initargs=(os.getpid(),)) as pool:
            futures = [pool.submit(unit) for _ in range(2)]
            cf.wait(futures)
''')


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pool_workers_die_with_a_killed_sweep(tmp_path: Path) -> None:
    """SIGKILL to the sweep's process while its pool workers run units: the workers end too
    (prctl PR_SET_PDEATHSIG in the pool's initializer; before: they ran on, orphaned). The
    driver is the local executor's pool as LocalExecutor builds it."""
    import inspect

    from numerics.sweep.executors import LocalExecutor

    assert "initializer=die_with_parent" in inspect.getsource(LocalExecutor.run)
    script = tmp_path / "pool_driver.py"
    script.write_text(POOL_DRIVER)
    proc = subprocess.Popen([sys.executable, str(script)], cwd=REPO, env=_env(),
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        workers = [int(proc.stdout.readline().split()[1]) for _ in range(2)]  # the event
        assert all(_running(pid) for pid in workers)
        proc.kill()
        proc.wait()
        for pid in workers:  # the event: each worker's end
            for _ in range(6000):
                if not _running(pid):
                    break
                time.sleep(0.1)
            assert not _running(pid), f"pool worker {pid} outlived the killed sweep"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()


# --------------------------------------------------------------------------------------------
# rows 41-47: report: a user's folder, devices, Ctrl-C, scripts, MathJax, repeated notebooks


QUIET = '''# %% [markdown]
# # A page
# Nothing to run.
'''


def _notebook(folder: Path, name: str, source: str) -> Path:
    path = folder / f"{name}.ipynb"
    nbformat.write(jupytext.reads(source, fmt="py:percent"), path)
    return path


def test_report_never_replaces_a_folder_it_did_not_write(tmp_path: Path) -> None:
    """A user's folder with index.html, _static/mathjax/ and other pages: refused, every file
    kept (before: taken for a site and replaced whole); a site the build wrote carries
    .advlandscape-site and is replaced by the next build."""
    from numerics.report import build_report
    from numerics.report.build import SITE_MARKER

    pages = tmp_path / "pages"
    (pages / "_static" / "mathjax").mkdir(parents=True)
    (pages / "index.html").write_text("my index")
    (pages / "about.html").write_text("my page")
    nb = _notebook(tmp_path, "00_quiet", QUIET)
    with pytest.raises(ConfigError, match=SITE_MARKER):
        build_report(out=pages, notebooks=[nb], ledger=[], execute=False, progress=False,
                     log=lambda _m: None)
    assert (pages / "index.html").read_text() == "my index"
    assert (pages / "about.html").read_text() == "my page"
    site = tmp_path / "site"
    assert build_report(out=site, notebooks=[nb], ledger=[], execute=False, progress=False,
                        log=lambda _m: None).passed
    assert (site / SITE_MARKER).is_file()
    (site / "index.html").write_text("stale")
    build_report(out=site, notebooks=[nb], ledger=[], execute=False, progress=False,
                 log=lambda _m: None)
    assert (site / "index.html").read_text() != "stale"


def test_output_that_is_a_device_or_pipe_is_never_replaced(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`--out` a link to /dev/null, or a FIFO, with --overwrite: exit 2 before any work,
    'not a regular file'; /dev/null is still a character device (before: replaced with the
    record's JSON, as root)."""
    from numerics.validate import check_outputs

    null = tmp_path / "null.json"
    null.symlink_to("/dev/null")
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    for path in (null, fifo, Path("/dev/null")):
        with pytest.raises(ConfigError, match="not a regular file"):
            check_outputs([path], overwrite=True)
    empty = tmp_path / "no-data"
    empty.mkdir()
    fails_cleanly(capsys, ["resnet", "run", "--out", str(null), "--overwrite", "--epochs", "1",
                            "--data-dir", str(empty), "--no-progress"], "not a regular file")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


BLOCKING = '''# %% tags=["parameters"]
from numerics.profiles import current_profile

PROFILE = current_profile()

# %%
import os
import pathlib
import time

pathlib.Path(MARK).write_text(str(os.getpid()))
while True:  # runs until the build is interrupted
    time.sleep(0.05)
'''


def test_ctrl_c_stops_the_report_keeping_the_old_site_and_the_checkpoints(
        tmp_path: Path) -> None:
    """SIGINT (Ctrl-C) to `advlandscape report` while its second notebook runs: exit 130 with
    "interrupted", the earlier site untouched, the first notebook's checkpoint kept, the
    running kernel shut down (before: the notebook was marked failed, the rest ran, the result
    replaced the site and discarded the checkpoints, exit 1)."""
    from numerics.report.build import SITE_MARKER

    first = _notebook(tmp_path, "00_first", '# %% tags=["parameters"]\nPROFILE = "ci"\n')
    mark = tmp_path / "kernel.pid"
    second = _notebook(tmp_path, "01_block", BLOCKING.replace("MARK", repr(str(mark))))
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("the earlier site")
    (site / SITE_MARKER).write_text("")
    err = tmp_path / "stderr"
    with err.open("w") as stream:
        proc = subprocess.Popen(
            [sys.executable, "-m", "numerics.cli", "report", "--notebooks", str(first),
             str(second), "--out", str(site), "--no-ledger"], cwd=REPO, env=_env(),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stream,
            start_new_session=True)
        try:
            _wait_for(mark.exists, proc, "the second notebook's kernel started its cell", err)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=600) == 130, err.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = err.read_text()
    assert "interrupted" in text
    assert "FAILED" not in text
    assert (site / "index.html").read_text() == "the earlier site"
    partial = tmp_path / ".site.partial"
    assert (partial / "00_first.json").is_file()
    assert (partial / "00_first.ipynb").is_file()
    assert not (partial / "01_block.json").exists()
    kernel = int(mark.read_text())
    for _ in range(6000):  # the event: the kernel's end (it was shut down, not orphaned)
        if not _running(kernel):
            break
        time.sleep(0.1)
    assert not _running(kernel), "the interrupted notebook's kernel still runs"


SCRIPTED = '''# %% [markdown]
# # Scripts
'''


@pytest.mark.parametrize("where", ["html output", "javascript output", "svg output",
                                   "markdown cell"])
def test_stored_script_is_not_copied_into_the_site(tmp_path: Path, where: str) -> None:
    """A stored output (HTML with <script>, an application/javascript output, SVG with an
    onload handler) or a markdown cell with <script>: `report --no-execute` fails that
    notebook, naming the cell, and writes no page for it (before: the script was copied into
    the site, to run in every reader's browser)."""
    from numerics.report import build_report

    nb = jupytext.reads(SCRIPTED, fmt="py:percent")
    if where == "markdown cell":
        nb.cells.append(nbformat.v4.new_markdown_cell("<script>alert(1)</script>"))
    else:
        data = {"html output": {"text/html": "<b>x</b><script>fetch('/x')</script>"},
                "javascript output": {"application/javascript": "alert(1)"},
                "svg output": {"image/svg+xml": '<svg onload="alert(1)"></svg>'}}[where]
        cell = nbformat.v4.new_code_cell("1", execution_count=1)
        cell.outputs = [nbformat.v4.new_output("display_data", data=data)]
        nb.cells.append(cell)
    path = tmp_path / "00_scripted.ipynb"
    nbformat.write(nb, path)
    summary = build_report(out=tmp_path / "site", notebooks=[path], ledger=[], execute=False,
                           progress=False, log=lambda _m: None)
    (run,) = summary.runs
    assert not run.passed
    assert "holds a script" in run.error
    assert "cell 1" in run.error
    assert not (tmp_path / "site" / "00_scripted.html").exists()


def test_mathjax_named_by_the_environment_must_be_mathjax(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """ADVLANDSCAPE_MATHJAX=/etc/passwd (or any file that is not MathJax 3): exit 2 naming the
    variable (before: copied into the site as MathJax, and the build passed)."""
    monkeypatch.setenv("ADVLANDSCAPE_MATHJAX", "/etc/passwd")
    fails_cleanly(capsys, ["report", "--no-execute", "--no-ledger", "--out",
                            str(tmp_path / "site")], "ADVLANDSCAPE_MATHJAX=/etc/passwd",
                   "not MathJax 3")
    assert not (tmp_path / "site").exists()


def test_full_disk_at_the_mathjax_cache_names_the_cache_and_how_to_move_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """ENOSPC while MathJax is written into its cache (in HOME, not --out): exit 2, one line
    naming the cache folder, XDG_CACHE_HOME and ADVLANDSCAPE_MATHJAX."""
    import numerics.records as results
    import numerics.records.files as record_files
    from numerics.report import mathjax as report_mathjax

    monkeypatch.delenv("ADVLANDSCAPE_MATHJAX", raising=False)
    cached = report_mathjax._mathjax_cache() / report_mathjax.MATHJAX_FILE
    if not cached.is_file():
        pytest.skip("MathJax is not in the cache here (the report's tests fetch it)")
    script = cached.read_bytes()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (("package/es5/tex-svg-full.js", script),
                           ("package/LICENSE", b"license")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    monkeypatch.setattr(report_mathjax, "_fetch_mathjax_tarball", lambda _w: buffer.getvalue())

    def full(path: Any, data: bytes, overwrite: bool = False) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(results, "atomic_write_bytes", full)
    monkeypatch.setattr(record_files, "atomic_write_bytes", full)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    err = fails_cleanly(capsys, ["report", "--no-execute", "--no-ledger", "--out",
                                  str(tmp_path / "site")], "MathJax's cache",
                         str(tmp_path / "cache"), "No space left on device", "XDG_CACHE_HOME",
                         "ADVLANDSCAPE_MATHJAX")
    assert len(err.strip().splitlines()) == 1


def test_notebook_named_twice_runs_once(tmp_path: Path) -> None:
    """`--notebooks 00_quiet 00_quiet` (and its path): one run, counted once (before: twice)."""
    from numerics.report import build_report

    nb = _notebook(tmp_path, "00_quiet", QUIET)
    summary = build_report(out=tmp_path / "site", notebooks=[nb, str(nb), nb.parent / nb.name],
                           ledger=[], execute=False, progress=False, log=lambda _m: None)
    assert [r.path.name for r in summary.runs] == ["00_quiet.ipynb"]


# --------------------------------------------------------------------------------------------
# row 48: a record missing a key is "not verified", never "fails"


def test_verify_on_a_record_missing_a_key_is_not_verified(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The budget record with a key deleted from a run and its digest recomputed (so it reads):
    `verify --claim L-BUDGET --data` says the data evidence is not verified, naming the key,
    exit 0 (before: "check crashed: KeyError", the claim 'fails', exit 1). A KeyError in a check
    that is not a data check still reads 'check crashed'."""
    import numerics.experiments.units as units
    from numerics.ledger import Check, run_check
    from numerics.records.files import record_digest

    copy = tmp_path / "results" / "budget" / "budget.json"
    copy.parent.mkdir(parents=True)
    shutil.copy(REPO / "results" / "budget" / "budget.json", copy)
    record = json.loads(copy.read_text())
    del record["results"]["exact"][0]["loss_minus_reference"]
    record["digest"] = record_digest(record)
    copy.write_text(json.dumps(record, indent=2) + "\n")
    read_result(copy)  # it reads: only the key is missing
    monkeypatch.setattr(units, "RESULTS_ROOT", tmp_path / "results")
    assert main(["verify", "--claim", "L-BUDGET", "--data"]) == 0
    out = capsys.readouterr().out
    (data,) = [line for line in out.splitlines() if line.split()[1:2] == ["data"]]
    assert data.split()[:4] == ["--", "data", "not", "verified"], data
    assert "loss_minus_reference" in data
    assert "fails" not in out.split("L-BUDGET", 1)[1].splitlines()[0]

    def broken() -> None:
        raise KeyError("a bug")

    assert run_check(Check("L-BUDGET", "numeric", broken)).summary.startswith(
        "check crashed: KeyError")


# --------------------------------------------------------------------------------------------
# row 49: the library functions of modules others own (their patches: docs/faults.md, row 49)



def _operator(matrix: Any) -> Any:
    import scipy.sparse.linalg as spla

    return spla.aslinearoperator(matrix)


def _refused(call: Callable[[], Any], match: str) -> None:
    """``call()`` raises a ConfigError matching ``match``; anything else fails the test."""
    try:
        call()
    except ConfigError as exc:
        message = str(exc)
    except Exception as exc:  # the unchecked failure: a traceback from deep inside
        pytest.fail(f"{type(exc).__name__}: {exc}")
    else:
        pytest.fail("accepted")
    assert match in message, (match, message)


@pytest.mark.parametrize("case", [
    "power_iteration iters=0",
    "power_iteration k > dim",
    "power_iteration NaN operator",
    "hutchinson_trace NaN operator",
    "hutchinson_trace 2.5 samples",
    "top_hessian_eigs non-square",
    "top_hessian_eigs float k",
    "top_hessian_eigs dtypes differ",
    "nets.pgd label out of range",
    "TrainConfig batch_size 2.5",
    "TrainConfig epochs 2.5",
])
def test_library_functions_refuse_bad_input_at_their_entry(case: str) -> None:
    """power_iteration with iters=0, k above the dimension or a NaN operator; hutchinson_trace
    with a NaN operator or 2.5 samples; top_hessian_eigs with a non-square matrix, a float k or
    a float32 model on float64 inputs; nets.pgd with a label beyond the model's classes;
    linear TrainConfig with 2.5 as a batch size or epochs: one ConfigError each (before: wrong
    answers, NaN estimates or tracebacks from NumPy, SciPy and torch)."""
    import numpy as np

    from numerics.spectra import hutchinson_trace, power_iteration, top_hessian_eigs

    good = np.diag([3.0, 2.0, 1.0])
    nan = good.copy()
    nan[0, 0] = np.nan
    calls: dict[str, tuple[Callable[[], Any], str]] = {
        "power_iteration iters=0": (lambda: power_iteration(_operator(good), iters=0), "iters"),
        "power_iteration k > dim": (lambda: power_iteration(_operator(good), k=5), "k"),
        "power_iteration NaN operator": (lambda: power_iteration(_operator(nan)), "NaN"),
        "hutchinson_trace NaN operator": (lambda: hutchinson_trace(_operator(nan), 4), "NaN"),
        "hutchinson_trace 2.5 samples": (lambda: hutchinson_trace(_operator(good), 2.5),
                                         "num_samples"),
        "top_hessian_eigs non-square": (lambda: top_hessian_eigs(np.ones((3, 4)), 1), "square"),
        "top_hessian_eigs float k": (lambda: top_hessian_eigs(good, 1.5), "k"),
    }
    if case == "top_hessian_eigs dtypes differ":
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)).float()
        x, y = torch.rand(3, 4, dtype=torch.float64), torch.tensor([0, 1, 0])
        from numerics.nets import HessianOperator

        calls[case] = (lambda: top_hessian_eigs(HessianOperator(model, x, y), 1), "dtype")
    if case == "nets.pgd label out of range":
        from numerics.attacks import AttackSpec
        from numerics.nets.attack import pgd

        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)).double()
        x, y = torch.rand(3, 4, dtype=torch.float64), torch.tensor([0, 1, 7])
        calls[case] = (lambda: pgd(model, x, y, AttackSpec("pgd", "linf", 2, eps=0.1)),
                       "class indices 0..1")
    if case.startswith("TrainConfig"):
        from numerics.linear.train import TrainConfig

        field = "batch_size" if "batch_size" in case else "epochs"
        calls[case] = (lambda: TrainConfig(**{field: 2.5}), field)
    _refused(*calls[case])
