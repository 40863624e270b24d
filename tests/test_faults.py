"""Fault injection: kill -9 mid-run and mid-write, divergence, bad configuration, bad files.

What must hold (nothing lost, nothing silent):

- a training run killed with SIGKILL at a random moment and started again with the same command
  continues from its last checkpoint and ends bit-identical (CPU) to an uninterrupted run;
- a result or checkpoint file being replaced when its writer is killed is either the old complete
  file or the new complete file, never a torn one, and an existing result is never overwritten
  silently;
- a NaN/Inf loss stops training with the step, the last finite loss and the checkpoint to resume
  from (DivergenceError), and resuming from that checkpoint loses nothing;
- bad configuration, data files and result files get one clear message (exit 2 from the CLI),
  never a traceback from inside a library.

Kill times come from a seeded generator, so a failure can be replayed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from numerics.deep_train import AdvTrainConfig, train_adversarial
from numerics.results import load_checkpoint, read_result, write_result
from theory.errors import DivergenceError, ResultExistsError, ResultFileError

KILL_SEED = 20260522
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _one_thread() -> object:
    """Tiny models run fastest on one thread; subprocesses use one thread too (bit-identity)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TQDM_DISABLE="1",
               PYTHONDONTWRITEBYTECODE="1")
    return env


def _spawn(script: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(script), *args], cwd=REPO, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _kill_when(proc: subprocess.Popen, ready: Callable[[], bool], delay: float,
               timeout: float = 120.0) -> tuple[bool, str]:
    """SIGKILL ``proc`` ``delay`` seconds after ``ready()`` first holds.

    Returns:
        ``(killed, stderr)``: ``killed`` is False when the process ended by itself first.
    """
    start = time.monotonic()
    while not ready() and proc.poll() is None:
        if time.monotonic() - start > timeout:
            proc.kill()
            proc.communicate()
            raise AssertionError("the run produced no checkpoint in time")
        time.sleep(0.01)
    time.sleep(delay if proc.poll() is None else 0.0)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate()
    if killed:
        assert proc.returncode == -signal.SIGKILL
    return killed, err


# --------------------------------------------------------------------------------------------
# kill -9 during adversarial training, then resume (numerics.deep_train, behind `resnet run`)

TRAIN_DRIVER = textwrap.dedent("""
    import sys
    import torch
    torch.set_num_threads(1)
    from numerics.deep_train import AdvTrainConfig, train_adversarial
    from numerics.results import save_checkpoint

    checkpoint, out = sys.argv[1], sys.argv[2]
    g = torch.Generator().manual_seed(0)
    x = torch.rand(96, 1, 8, 8, generator=g, dtype=torch.float64)
    y = (x.mean(dim=(1, 2, 3)) > 0.5).long() + 2 * (x[:, 0, 0, 0] > 0.5).long()
    config = AdvTrainConfig(**{config!r})
    outcome = train_adversarial(config, x, y, checkpoint=None if checkpoint == "-" else checkpoint,
                                progress=False)
    save_checkpoint(out, {{"model": outcome.model.state_dict(), "history": outcome.history,
                          "resumed_from_epoch": outcome.resumed_from_epoch}})
""")

TRAIN_CONFIG = dict(model="resnet18", width=2, in_channels=1, num_classes=4, image_size=8,
                    eps=0.1, train_steps=4, step_size=0.05, epochs=12, batch_size=16, lr=0.05,
                    augment=True, seed=3)


def _train_data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(96, 1, 8, 8, generator=g, dtype=torch.float64)
    y = (x.mean(dim=(1, 2, 3)) > 0.5).long() + 2 * (x[:, 0, 0, 0] > 0.5).long()
    return x, y


def test_kill9_during_training_resumes_bit_identical(tmp_path: Path) -> None:
    """kill -9 at seeded random moments after the first checkpoint (3 kills), rerun the same
    command each time: the final weights and history equal an uninterrupted run's bit for bit."""
    script = tmp_path / "train.py"
    script.write_text(TRAIN_DRIVER.format(config=TRAIN_CONFIG))
    ckpt, out, reference = tmp_path / "run.pt", tmp_path / "final.pt", tmp_path / "straight.pt"
    proc = _spawn(script, "-", str(reference))  # the uninterrupted run, no checkpoint
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    straight = load_checkpoint(reference)

    rng = random.Random(KILL_SEED)
    kills, epochs_at_kill = 0, []
    for _ in range(3):
        stamp = ckpt.stat().st_mtime_ns if ckpt.exists() else None
        proc = _spawn(script, str(ckpt), str(out))

        def new_epoch_saved(stamp: int | None = stamp) -> bool:
            return ckpt.exists() and ckpt.stat().st_mtime_ns != stamp

        # kill after this run has saved an epoch of its own, within the next one or two epochs
        # (an epoch takes ~0.2-0.6 s here)
        killed, err = _kill_when(proc, new_epoch_saved, delay=rng.uniform(0.0, 0.4))
        if not killed:
            assert proc.returncode == 0, err
            break
        kills += 1
        state = load_checkpoint(ckpt)  # never torn: it loads, and it is a finished epoch
        epochs_at_kill.append(int(state["epoch"]) + 1)
        assert len(state["history"]) == epochs_at_kill[-1]
    assert kills >= 1, "the run finished before the first kill: make it longer"
    print(f"kill -9 at epochs {epochs_at_kill} of {TRAIN_CONFIG['epochs']}")
    assert epochs_at_kill == sorted(epochs_at_kill)  # progress is never lost between kills
    if not out.exists():
        proc = _spawn(script, str(ckpt), str(out))
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    final = load_checkpoint(out)
    assert final["resumed_from_epoch"] is not None
    assert straight["resumed_from_epoch"] is None
    assert final["history"] == straight["history"]
    assert final["model"].keys() == straight["model"].keys()
    for name, tensor in straight["model"].items():
        assert torch.equal(final["model"][name], tensor), name


# --------------------------------------------------------------------------------------------
# kill -9 while result files and checkpoints are being replaced

WRITER_DRIVER = textwrap.dedent("""
    import sys
    from numerics.results import save_checkpoint, write_json

    kind, path = sys.argv[1], sys.argv[2]
    n = 200_000  # ~1.4 MB of JSON per version: a write takes a noticeable time
    for version in range(1, 10_000):
        record = {"version": version, "payload": [version] * n, "end": version}
        if kind == "json":
            write_json(path, record, overwrite=True)
        else:
            save_checkpoint(path, record)
""")


@pytest.mark.parametrize("kind", ["json", "checkpoint"])
def test_kill9_mid_write_leaves_a_complete_file(tmp_path: Path, kind: str) -> None:
    """Kill a writer that keeps replacing one file (3 kills at seeded random times): the file is
    always one complete version (first to last element consistent), never torn."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER_DRIVER)
    target = tmp_path / ("record.json" if kind == "json" else "state.pt")
    rng = random.Random(KILL_SEED + (kind == "json"))
    versions = []
    for _ in range(3):
        proc = _spawn(script, kind, str(target))
        killed, err = _kill_when(proc, target.exists, delay=rng.uniform(0.05, 1.0))
        assert killed, err
        read = (lambda p: json.loads(p.read_text())) if kind == "json" else load_checkpoint
        record = read(target)
        assert record["version"] == record["end"]
        assert len(record["payload"]) == 200_000
        assert set(record["payload"]) == {record["version"]}
        versions.append(record["version"])
    assert all(v >= 1 for v in versions)
    # killed writers may leave their temporary files behind, but never under the target's name
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in (script.name, target.name)]
    assert all(name.startswith(f".{target.name}.") and name.endswith(".tmp")
               for name in leftovers), leftovers


def test_result_never_overwritten_silently(tmp_path: Path) -> None:
    """An existing result survives a second write unchanged unless overwrite=True is passed."""
    path = tmp_path / "r.json"
    write_result(path, {"a": 1}, {"value": 1.0}, seed=0)
    before = path.read_bytes()
    with pytest.raises(ResultExistsError, match="overwrite"):
        write_result(path, {"a": 2}, {"value": 2.0}, seed=0)
    assert path.read_bytes() == before
    write_result(path, {"a": 2}, {"value": 2.0}, seed=0, overwrite=True)
    assert read_result(path)["results"] == {"value": 2.0}


# --------------------------------------------------------------------------------------------
# numerical faults


def test_divergence_names_step_last_loss_and_checkpoint_and_resume_loses_nothing(
        tmp_path: Path) -> None:
    """A NaN loss in epoch 2 stops training with DivergenceError naming epoch, step, the last
    finite loss and the checkpoint of epoch 1; resuming with clean data then matches an
    uninterrupted run bit for bit."""
    config = AdvTrainConfig(**{**TRAIN_CONFIG, "epochs": 3})  # type: ignore[arg-type]
    x, y = _train_data()
    ckpt = tmp_path / "run.pt"
    train_adversarial(config, x, y, checkpoint=ckpt, progress=False, stop_after_epochs=1)
    saved = ckpt.read_bytes()
    poisoned = x.clone()
    poisoned[5, 0, 3, 3] = float("nan")
    with pytest.raises(DivergenceError) as info:
        train_adversarial(config, poisoned, y, checkpoint=ckpt, progress=False)
    message = str(info.value)
    assert "epoch 2" in message
    assert "step" in message
    assert "last finite loss" in message
    assert str(ckpt) in message
    assert ckpt.read_bytes() == saved  # the checkpoint to resume from is intact
    resumed = train_adversarial(config, x, y, checkpoint=ckpt, progress=False)
    straight = train_adversarial(config, x, y, progress=False)
    assert resumed.resumed_from_epoch == 1
    assert resumed.history == straight.history
    for name, tensor in straight.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[name], tensor), name


def test_divergence_from_a_huge_learning_rate(tmp_path: Path) -> None:
    """An exploding learning rate gives DivergenceError (not NaN weights saved as a result)."""
    config = AdvTrainConfig(**{**TRAIN_CONFIG, "lr": 1e12, "momentum": 0.0, "epochs": 4,
                               "eps": 0.0, "augment": False})  # type: ignore[arg-type]
    with pytest.raises(DivergenceError, match="Lower the learning rate"):
        train_adversarial(config, *_train_data(), checkpoint=tmp_path / "c.pt", progress=False)
    state = load_checkpoint(tmp_path / "c.pt")
    if state is not None:  # whatever was checkpointed is finite
        assert all(bool(torch.isfinite(t).all()) for t in state["model"].values()
                   if t.is_floating_point())


# --------------------------------------------------------------------------------------------
# bad result files


def test_hand_edited_result_file_gives_clear_error(tmp_path: Path) -> None:
    """A result file edited by hand into invalid JSON, or stripped of its keys: ResultFileError
    naming the file and the fix, from read_result and from `advlandscape resnet show`."""
    path = tmp_path / "r.json"
    write_result(path, {"a": 1}, {"value": 1.0}, seed=0)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])  # truncated by an editor crash
    with pytest.raises(ResultFileError, match="not valid JSON"):
        read_result(path)
    path.write_text(json.dumps({"results": {}}))
    with pytest.raises(ResultFileError, match="--overwrite"):
        read_result(path)
    path.write_text("{ not json")
    proc = subprocess.run([sys.executable, "-m", "numerics.cli", "resnet", "show", str(path)],
                          cwd=REPO, env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert "not valid JSON" in proc.stderr


def test_non_finite_weights_are_never_checkpointed(tmp_path: Path) -> None:
    """One step per epoch with an exploding learning rate: the step that makes the weights
    non-finite ends its epoch; the run must stop there rather than checkpoint Inf/NaN weights."""
    config = AdvTrainConfig(**{**TRAIN_CONFIG, "lr": 1e308, "momentum": 0.0, "epochs": 3,
                               "batch_size": 96, "eps": 0.0, "augment": False,
                               "weight_decay": 0.0})  # type: ignore[arg-type]
    ckpt = tmp_path / "c.pt"
    with pytest.raises(DivergenceError):
        train_adversarial(config, *_train_data(), checkpoint=ckpt, progress=False)
    state = load_checkpoint(ckpt)
    if state is not None:
        assert all(bool(torch.isfinite(t).all()) for t in state["model"].values()
                   if t.is_floating_point())


# --------------------------------------------------------------------------------------------
# the Hessian code refuses NaN and warns on float32 (Y-HESS, HESS-DEP, Y-T1 machinery)


def _logistic_problem(dtype: torch.dtype = torch.float64):
    g = torch.Generator().manual_seed(1)
    W = torch.randn(2, 5, generator=g, dtype=torch.float64).to(dtype)
    X = torch.rand(30, 4, generator=g, dtype=torch.float64).to(dtype)
    y = torch.where(torch.rand(30, generator=g, dtype=torch.float64) < 0.5, -1.0, 1.0).to(dtype)
    return W, X, y


@pytest.mark.parametrize("where", ["weights", "inputs"])
def test_logistic_hessians_refuse_nan(where: str) -> None:
    """Y-HESS / HESS-DEP closed forms and operators: NaN weights or inputs give ConfigError
    (saying how many values and what to do), not a NaN spectrum or a LAPACK error."""
    from numerics.logistic_curvature import (
        fixed_noise_operator,
        hessian_fixed_noise,
        hessian_robust,
        robust_operator,
        top_hessian_eigs,
    )
    from theory.errors import ConfigError

    W, X, y = _logistic_problem()
    if where == "weights":
        W[1, 2] = float("nan")
    else:
        X[3, 1] = float("inf")
    for call in (lambda: hessian_fixed_noise(W, X, y), lambda: hessian_robust(W, X, y, 0.1, "l2"),
                 lambda: fixed_noise_operator(W[1], X, y),
                 lambda: robust_operator(W[1], X, y, 0.1, "linf")):
        with pytest.raises(ConfigError, match="NaN/Inf"):
            call()
    H = torch.eye(5, dtype=torch.float64)
    H[0, 1] = float("nan")
    with pytest.raises(ConfigError, match="NaN/Inf"):
        top_hessian_eigs(H, k=2)


def test_network_hessian_refuses_nan() -> None:
    """HessianOperator, top_hessian_eigs and dense_hessian refuse NaN inputs and weights."""
    from numerics.curvature import HessianOperator, dense_hessian, top_hessian_eigs
    from numerics.models import build_model
    from theory.errors import ConfigError

    torch.manual_seed(0)
    model = build_model("mlp", in_features=6, num_classes=3, dtype=torch.float64)
    x = torch.rand(10, 6, dtype=torch.float64)
    y = torch.randint(0, 3, (10,))
    bad = x.clone()
    bad[2, 2] = float("nan")
    with pytest.raises(ConfigError, match="inputs of the Hessian"):
        top_hessian_eigs(model, bad, y, k=2)
    with pytest.raises(ConfigError, match="NaN/Inf"):
        dense_hessian(model, bad, y)
    with torch.no_grad():
        next(model.parameters())[0, 0] = float("inf")
    with pytest.raises(ConfigError, match="weight"):
        HessianOperator(model, x, y)


def test_float32_verification_paths_warn() -> None:
    """Closed-form Hessians and the dense ground truth in float32 emit PrecisionWarning (the
    1e-10 verifications need float64); float64 stays silent (pytest turns warnings to errors)."""
    from numerics.curvature import dense_hessian
    from numerics.logistic_curvature import hessian_fixed_noise, hessian_robust
    from numerics.models import build_model
    from numerics.validate import PrecisionWarning

    W, X, y = _logistic_problem(torch.float32)
    with pytest.warns(PrecisionWarning, match="float64"):
        hessian_fixed_noise(W, X, y)
    with pytest.warns(PrecisionWarning, match="float64"):
        hessian_robust(W, X, y, 0.1, "l2")
    x, y = torch.rand(4, 6), torch.randint(0, 3, (4,))
    # float64 first: silent; it also runs torch's one-time scripting of its AD decompositions
    # outside pytest.warns (which would otherwise re-emit that DeprecationWarning)
    dense_hessian(build_model("mlp", in_features=6, num_classes=3, dtype=torch.float64), x, y)
    model = build_model("mlp", in_features=6, num_classes=3, dtype=torch.float32)
    with pytest.warns(PrecisionWarning, match="dense_hessian"):
        dense_hessian(model, x.float(), y)
    hessian_robust(*_logistic_problem(), 0.1, "l2")  # float64: no warning


# --------------------------------------------------------------------------------------------
# a notebook started with a broken parameter


def test_notebook_with_unknown_profile_fails_in_its_parameters_cell(tmp_path: Path) -> None:
    """ADVLANDSCAPE_PROFILE=huge: the parameters cell of a notebook (the first code cell of
    notebooks/00_overview.ipynb, run in a real kernel) stops with ConfigError naming the value
    and the valid profiles, raised by numerics.profiles, not deep inside a library."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    source = nbformat.read(REPO / "notebooks" / "00_overview.ipynb", as_version=4)
    params = next(c for c in source.cells if c.cell_type == "code")
    assert "parameters" in params.metadata.get("tags", [])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(params.source)])
    env = {**_env(), "ADVLANDSCAPE_PROFILE": "huge", "MPLBACKEND": "Agg"}
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=False)
    with pytest.raises(CellExecutionError) as info:
        client.execute(env=env, cwd=str(tmp_path))
    error = next(o for o in nb.cells[0].outputs if o.output_type == "error")
    assert error.ename == "ConfigError"
    assert "'huge'" in error.evalue
    assert "ADVLANDSCAPE_PROFILE" in error.evalue
    assert "ci" in error.evalue
    assert "profiles.py" in "".join(error.traceback)
    assert "ConfigError" in str(info.value)


# --------------------------------------------------------------------------------------------
# kill -9 during the MNIST2 sweep through the real CLI (checkpoint after every table)


@pytest.mark.slow
def test_kill9_during_mnist2_sweep_resumes_to_identical_results(tmp_path: Path,
                                                                 data_root: Path) -> None:
    """`advlandscape mnist2 --tables 1,2` (ci profile) killed with SIGKILL at a seeded random
    moment after table 1 is checkpointed, then run again: it resumes from table 1 and writes
    the same tables, accuracies, eigenvalues and landscapes as an uninterrupted run."""
    env = {**_env(), "ADVLANDSCAPE_PROFILE": "ci", "ADVLANDSCAPE_DATA": str(data_root),
           "MPLBACKEND": "Agg"}

    def command(out: Path) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "numerics.cli", "mnist2", "--tables", "1,2", "--out", str(out)],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    straight_dir, killed_dir = tmp_path / "straight", tmp_path / "killed"
    reference = command(straight_dir)  # runs alongside the one that is killed (2 cores)
    proc = command(killed_dir)
    ckpt = killed_dir / ".mnist2.ckpt"
    killed, err = _kill_when(proc, ckpt.exists, delay=random.Random(KILL_SEED).uniform(0, 2))
    _, ref_err = reference.communicate(timeout=600)
    assert reference.returncode == 0, ref_err
    assert killed, "the sweep finished before the kill: " + err
    assert not (killed_dir / "mnist2.json").exists()
    assert set(load_checkpoint(ckpt)["tables"]) == {"1"}
    resumed = command(killed_dir)
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert "resuming: tables ['1']" in err
    assert not ckpt.exists()  # the checkpoint is removed once the results are written
    a = read_result(straight_dir / "mnist2.json")["results"]
    b = read_result(killed_dir / "mnist2.json")["results"]

    def strip(obj: object) -> object:
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if "seconds" not in k}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    assert strip(a) == strip(b)
    assert (straight_dir / "tables.md").read_text() == (killed_dir / "tables.md").read_text()


# --------------------------------------------------------------------------------------------
# a PGD step longer than the ball's diameter


def test_step_size_beyond_the_diameter_is_rejected_and_indeed_meaningless() -> None:
    """step_size > 2 eps is refused with a message saying why; and for L-inf PGD such a step
    gives exactly the iterates of step 2 eps (so the configured value would be a fiction)."""
    from numerics.attacks import pgd
    from theory.errors import ConfigError

    with pytest.raises(ConfigError, match="diameter"):
        AdvTrainConfig(**{**TRAIN_CONFIG, "eps": 0.01, "step_size": 0.05})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="eval_step_size"):
        AdvTrainConfig(**{**TRAIN_CONFIG, "eps": 0.1, "eval_step_size": 0.3})  # type: ignore[arg-type]
    AdvTrainConfig(**{**TRAIN_CONFIG, "eps": 0.0, "step_size": 0.5})  # no attack: not checked
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 10, generator=g, dtype=torch.float64)
    w = torch.randn(10, generator=g, dtype=torch.float64)

    def loss(z: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.softplus(torch.sin(3 * z) @ w)

    runs = [pgd(loss, x, 0.1, "linf", 3, alpha, box=None,
                generator=torch.Generator().manual_seed(1)) for alpha in (0.2, 0.35, 5.0)]
    assert torch.equal(runs[0], runs[1])
    assert torch.equal(runs[0], runs[2])


# --------------------------------------------------------------------------------------------
# kill -9 during the ResNet18 sweep's measurements (Y-T1 machinery), then resume

SWEEP_DRIVER = textwrap.dedent("""
    import dataclasses
    import sys
    import torch
    torch.set_num_threads(1)
    from numerics.experiments.resnet import profile_config, run_resnet_experiment
    from numerics.results import write_json

    checkpoint_dir, out = sys.argv[1], sys.argv[2]
    cfg = profile_config("mnist", "ci")
    train = dataclasses.replace(cfg.train, width=2, image_size=8, num_classes=3, epochs=2,
                                batch_size=8, train_steps=2, eval_steps=3)
    cfg = dataclasses.replace(cfg, train=train, eps=(0.0, 0.2), n_train=0, n_test=0,
                              hessian_samples=8, top_k=2, eig_tol=1e-3, power_iters=10,
                              hutchinson_samples=3, landscape_points=3, landscape_samples=8,
                              points_per_batch=3)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(24, 1, 8, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (24,), generator=g)
    ckdir = None if checkpoint_dir == "-" else checkpoint_dir
    results = run_resnet_experiment(cfg, (x[:16], y[:16], x[16:], y[16:]),
                                    checkpoint_dir=ckdir, progress=False)
    write_json(out, results)
""")


def _strip_timings(obj: object) -> object:
    if isinstance(obj, dict):
        return {k: _strip_timings(v) for k, v in obj.items() if "seconds" not in k}
    if isinstance(obj, list):
        return [_strip_timings(v) for v in obj]
    return obj


def test_kill9_during_resnet_sweep_keeps_measured_budgets(tmp_path: Path) -> None:
    """The sweep killed after its first budget was trained and measured: the rerun takes that
    budget's record from the checkpoint directory, finishes the others, and the record equals
    an uninterrupted run's (wall-clock timings aside)."""
    script = tmp_path / "sweep.py"
    script.write_text(SWEEP_DRIVER)
    ckdir, out, ref = tmp_path / "ck", tmp_path / "out.json", tmp_path / "ref.json"
    reference = _spawn(script, "-", str(ref))  # alongside the killed run (2 cores)
    proc = _spawn(script, str(ckdir), str(out))

    def first_measured() -> bool:
        return any(ckdir.glob("*.measured"))

    killed, err = _kill_when(proc, first_measured,
                             delay=random.Random(KILL_SEED + 2).uniform(0, 0.5))
    _, ref_err = reference.communicate(timeout=300)
    assert reference.returncode == 0, ref_err
    assert killed, "the sweep finished before the kill: " + err
    assert not out.exists()
    measured_before = sorted(p.name for p in ckdir.glob("*.measured"))
    assert len(measured_before) == 1  # killed while the second budget ran
    stamps = {p.name: p.stat().st_mtime_ns for p in ckdir.glob("*.measured")}
    proc = _spawn(script, str(ckdir), str(out))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert all((ckdir / name).stat().st_mtime_ns == t for name, t in stamps.items())  # reused
    resumed, straight = (json.loads(p.read_text()) for p in (out, ref))
    assert _strip_timings(resumed) == _strip_timings(straight)


# --------------------------------------------------------------------------------------------
# kill -9 during a Liu/Kanai study through the real CLI (checkpoint after every training run)

LK_DRIVER = textwrap.dedent("""
    import sys
    import torch
    torch.set_num_threads(1)
    from numerics.cli import main
    from numerics.experiments import liu_kanai as lk

    real = lk.config_for
    lk.config_for = lambda study, profile=None, **kw: real(study, profile, **{{**{tiny!r}, **kw}})
    sys.exit(main(["liu-kanai", "findings", "--profile", "ci", "--out", sys.argv[1],
                   "--no-progress"]))
""")

LK_TINY = dict(eps_grid=(0.0, 0.05, 0.1, 0.2), n_train=80, hidden=(8,), epochs=2, batch_size=20,
               n_hessian=20, logistic_ratios=(0.0, 0.5), logistic_n=60, logistic_steps=10,
               pgd_steps=2)


def test_kill9_during_liu_kanai_study_resumes_to_identical_results(tmp_path: Path,
                                                                    data_root: Path) -> None:
    """`advlandscape liu-kanai findings` (L-FINDINGS; tiny sizes patched into its config) killed
    with SIGKILL at a seeded random moment after its first run is checkpointed, then run again:
    it resumes, removes its checkpoint and writes the results of an uninterrupted run exactly."""
    script = tmp_path / "lk.py"
    script.write_text(LK_DRIVER.format(tiny=LK_TINY))
    straight, out = tmp_path / "straight.json", tmp_path / "findings.json"
    reference = _spawn(script, str(straight))  # runs alongside the one that is killed
    ckpt = tmp_path / ".findings.json.ckpt" / "findings.ckpt"
    proc = _spawn(script, str(out))
    killed, err = _kill_when(proc, ckpt.exists, delay=random.Random(KILL_SEED).uniform(0, 0.3))
    _, ref_err = reference.communicate(timeout=300)
    assert reference.returncode == 0, ref_err
    assert killed, "the study finished before the kill: " + err
    assert not out.exists()
    n_done = len(load_checkpoint(ckpt)["units"])
    assert 1 <= n_done < len(LK_TINY["eps_grid"]) + len(LK_TINY["logistic_ratios"])
    proc = _spawn(script, str(out))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert f"resuming {n_done} finished runs" in err
    assert not ckpt.parent.exists()  # the default checkpoint folder goes once the record is written
    assert read_result(out)["results"] == read_result(straight)["results"]
