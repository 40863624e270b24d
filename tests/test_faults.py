"""Fault injection: kill -9 mid-run and mid-write, divergence, bad configuration, bad files.

What must hold (nothing lost, nothing silent):

- a training run killed with SIGKILL and started again with the same command continues from its
  last checkpoint and ends bit-identical (CPU) to an uninterrupted run;
- a result or checkpoint file being replaced when its writer is killed is either the old complete
  file or the new complete file, never a torn one, and an existing result is never overwritten
  silently;
- a NaN/Inf loss stops training with the step, the last finite loss and the checkpoint to resume
  from (DivergenceError), and resuming from that checkpoint loses nothing;
- bad configuration, data files and result files get one clear message (exit 2 from the CLI),
  never a traceback from inside a library;
- a checkpoint is read with ``torch.load(weights_only=True)`` after its CRC-32s are checked: a
  file crafted to run code is refused without running it, a flipped bit is caught, and one
  written by other code (sources or library versions) is refused unless resuming anyway is asked
  for;
- SIGINT, SIGTERM and a full disk (a file-size limit) lose nothing either.

``ADVLANDSCAPE_TEST_LOAD=2`` (as in ``.ci/run``) runs these tests beside two CPU-bound processes
(the ``cpu_load`` fixture of ``tests/conftest.py``); they must pass so.

How the kills are timed: the tests wait on events, never on the clock. Each driver script starts
with :data:`HOOKS`, which prints an event line for every checkpoint it saves and can stop the
process at a chosen point (``FAULT_PAUSE``): right after a given optimiser step, or inside a
checkpoint save between writing the temporary file and renaming it over the old one. The test
reads the events until the driver says it has paused, then sends SIGKILL. The points come from a
seeded generator, so a failure can be replayed. Every process a test starts is killed (if still
running) and reaped by the ``spawn`` fixture's finaliser, whatever the test's outcome.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from numerics.experiments.resnet import checkpoint_callables
from numerics.nets.train import AdvTrainConfig, train_adversarial
from numerics.records import load_checkpoint, read_checkpoint, read_result, write_result
from theory.errors import ConfigError, DivergenceError, ResultExistsError, ResultFileError

KILL_SEED = 20260522
REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.usefixtures("cpu_load")


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


# --------------------------------------------------------------------------------------------
# driver processes: events, pause points, kill and reap

HOOKS = textwrap.dedent('''
    # Fault-injection hooks (tests/test_faults.py): every checkpoint save prints
    # "saved <n> <file name>" on stdout. FAULT_PAUSE stops the process, blocked on stdin until
    # the test kills it, after printing "paused ...":
    #   "step:<k>:<m>"  right after the m-th optimiser step that follows the k-th checkpoint
    #                   save of this process (k = 0: from the start);
    #   "save:<k>"      inside the k-th checkpoint save, after its temporary file is written
    #                   and synced and before it replaces the old checkpoint.
    # FAULT_FSIZE=<bytes>: no file this process writes may grow beyond that size (RLIMIT_FSIZE
    # with SIGXFSZ ignored: a write past it fails with EFBIG, as writes fail on a full disk).
    import os
    import sys

    import torch
    from torch.optim.optimizer import register_optimizer_step_post_hook

    import numerics.records  # before anything binds save_checkpoint by name

    if os.environ.get("FAULT_FSIZE"):
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        _limit = int(os.environ["FAULT_FSIZE"])
        resource.setrlimit(resource.RLIMIT_FSIZE, (_limit, _limit))
    torch.set_num_threads(1)
    _PAUSE = os.environ.get("FAULT_PAUSE", "").split(":")
    _COUNT = {"saves": 0, "steps": 0}
    _save_checkpoint = numerics.records.save_checkpoint
    _replace = os.replace


    def _pause(where):
        print(f"paused {where}", flush=True)
        sys.stdin.readline()  # blocks: the test kills the process here


    def _paused_replace(src, dst):
        _pause(f"before renaming checkpoint {_COUNT['saves'] + 1} onto {os.path.basename(dst)}")
        _replace(src, dst)


    def _counting_save(path, state, **options):
        pause = _PAUSE[0] == "save" and int(_PAUSE[1]) == _COUNT["saves"] + 1
        os.replace = _paused_replace if pause else _replace
        try:
            out = _save_checkpoint(path, state, **options)
        finally:
            os.replace = _replace
        _COUNT["saves"] += 1
        _COUNT["steps"] = 0
        print(f"saved {_COUNT['saves']} {os.path.basename(path)}", flush=True)
        return out


    def _after_step(optimizer, args, kwargs):
        _COUNT["steps"] += 1
        if (_PAUSE[0] == "step" and _COUNT["saves"] == int(_PAUSE[1])
                and _COUNT["steps"] == int(_PAUSE[2])):
            _pause(f"after step {_PAUSE[2]} following checkpoint {_PAUSE[1]}")


    numerics.records.save_checkpoint = _counting_save
    register_optimizer_step_post_hook(_after_step)
''')


class Driver:
    """A driver subprocess: its events (stdout lines), its stderr (a file), kill and finish."""

    def __init__(self, proc: subprocess.Popen, err_path: Path) -> None:
        self.proc, self.err_path = proc, err_path

    @property
    def stderr(self) -> str:
        return self.err_path.read_text() if self.err_path.exists() else ""

    def wait_for_pause(self) -> str:
        """Read events until the driver pauses; fail (with its stderr) if it ends first."""
        assert self.proc.stdout is not None, "started without events"
        for line in iter(self.proc.stdout.readline, ""):
            if line.startswith("paused"):
                return line.strip()
        self.proc.wait()
        raise AssertionError(f"the driver ended (exit {self.proc.returncode}) before its pause "
                             f"point:\n{self.stderr}")

    def wait_for_event(self, prefix: str) -> str:
        """Read events until one starts with ``prefix``; fail if the driver ends first."""
        assert self.proc.stdout is not None, "started without events"
        for line in iter(self.proc.stdout.readline, ""):
            if line.startswith(prefix):
                return line.strip()
        self.proc.wait()
        raise AssertionError(f"the driver ended (exit {self.proc.returncode}) before "
                             f"{prefix!r}:\n{self.stderr}")

    def kill9(self) -> None:
        """SIGKILL, reap, and check that it was the signal that ended the process."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        assert self.proc.returncode == -signal.SIGKILL, self.stderr

    def stop(self, sig: signal.Signals) -> int:
        """Send ``sig``, wait for the process to end, return its exit status."""
        self.proc.send_signal(sig)
        return self.proc.wait()

    def finish(self) -> str:
        """Wait for the driver to end by itself; it must succeed. Returns its stderr."""
        self.proc.wait()
        assert self.proc.returncode == 0, self.stderr
        return self.stderr


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Driver]]:
    """Start driver scripts; the finaliser kills any still running and reaps them all."""
    drivers: list[Driver] = []

    def start(script: Path, *args: str, pause: str | None = None, events: bool = False,
              env: dict[str, str] | None = None) -> Driver:
        env = dict(env or _env())
        env.pop("FAULT_PAUSE", None)
        if pause is not None:
            env["FAULT_PAUSE"] = pause
            events = True
        err_path = tmp_path / f".driver{len(drivers)}.err"
        with err_path.open("w") as err:
            proc = subprocess.Popen(
                [sys.executable, str(script), *args], cwd=REPO, env=env, stderr=err,
                stdin=subprocess.PIPE if events else subprocess.DEVNULL,
                stdout=subprocess.PIPE if events else subprocess.DEVNULL, text=True)
        drivers.append(Driver(proc, err_path))
        return drivers[-1]

    yield start
    for driver in drivers:
        if driver.proc.poll() is None:
            driver.proc.kill()
        driver.proc.wait()
        for stream in (driver.proc.stdin, driver.proc.stdout):
            if stream is not None:
                stream.close()


def test_cpu_load_is_busy(cpu_load: list[subprocess.Popen]) -> None:
    """With ADVLANDSCAPE_TEST_LOAD=N the N load processes beside these tests are running and
    using CPU (their user time grows); skipped when no load was asked for."""
    if not cpu_load:
        pytest.skip("ADVLANDSCAPE_TEST_LOAD is 0: these tests run without extra CPU load")
    if not Path("/proc/self/stat").exists():
        pytest.skip("no /proc to read CPU times from")

    def ticks(proc: subprocess.Popen) -> int:  # utime + stime, fields 14-15 of /proc/PID/stat
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    start = [ticks(p) for p in cpu_load]
    for _ in range(200):  # a bounded sample (the load runs all along), not a deadline
        if all(ticks(p) > t for p, t in zip(cpu_load, start, strict=True)):
            break
        time.sleep(0.05)
    assert all(ticks(p) > t for p, t in zip(cpu_load, start, strict=True))
    assert all(p.poll() is None for p in cpu_load)


def _script(path: Path, body: str) -> Path:
    path.write_text(HOOKS + textwrap.dedent(body))
    return path


def test_hooks_pause_where_asked_and_count_saves(tmp_path: Path,
                                                 spawn: Callable[..., Driver]) -> None:
    """The machinery itself: events in order, a pause right after the asked step, a pause inside
    a save that leaves the old checkpoint in place and the new one only as a temporary file."""
    script = _script(tmp_path / "hooks.py", """
        import sys
        from numerics.records import save_checkpoint

        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=1.0)
        for epoch in range(1, 4):
            for _ in range(3):
                p.grad = torch.ones(1)
                opt.step()
            save_checkpoint(sys.argv[1], {"epoch": epoch, "p": p.detach().clone()})
    """)
    ckpt = tmp_path / "h.pt"
    driver = spawn(script, str(ckpt), pause="step:1:2")
    assert driver.wait_for_pause() == "paused after step 2 following checkpoint 1"
    driver.kill9()
    state = load_checkpoint(ckpt)
    assert state["epoch"] == 1
    assert float(state["p"]) == -3.0
    driver = spawn(script, str(ckpt), pause="save:3")
    assert driver.wait_for_event("saved") == "saved 1 h.pt"
    assert driver.wait_for_event("saved") == "saved 2 h.pt"
    assert driver.wait_for_pause().startswith("paused before renaming checkpoint 3")
    driver.kill9()
    assert load_checkpoint(ckpt)["epoch"] == 2
    leftovers = [p.name for p in tmp_path.glob(".h.pt.*.tmp")]
    assert len(leftovers) == 1
    assert load_checkpoint(tmp_path / leftovers[0])["epoch"] == 3  # complete, never renamed
    spawn(script, str(ckpt)).finish()
    assert load_checkpoint(ckpt)["epoch"] == 3


# --------------------------------------------------------------------------------------------
# kill -9 during adversarial training, then resume (numerics.nets.train, behind `resnet run`)

TRAIN_DRIVER = """
    import sys
    from numerics.experiments.resnet import checkpoint_callables
    from numerics.nets.train import AdvTrainConfig, train_adversarial

    checkpoint, out = sys.argv[1], sys.argv[2]
    g = torch.Generator().manual_seed(0)
    x = torch.rand(96, 1, 8, 8, generator=g, dtype=torch.float64)
    y = (x.mean(dim=(1, 2, 3)) > 0.5).long() + 2 * (x[:, 0, 0, 0] > 0.5).long()
    config = AdvTrainConfig(**{config!r})
    io = {{}} if checkpoint == "-" else checkpoint_callables(checkpoint)
    outcome = train_adversarial(config, x, y, **io, progress=False)
    numerics.records.write_json(out + ".json", {{"history": outcome.history,
                                                "resumed_from_epoch": outcome.resumed_from_epoch}})
    torch.save(outcome.model.state_dict(), out)
"""

TRAIN_CONFIG = dict(model="resnet18", width=2, in_channels=1, num_classes=4, image_size=8,
                    eps=0.1, train_steps=4, step_size=0.05, epochs=12, batch_size=16, lr=0.05,
                    augment=True, seed=3)
STEPS_PER_EPOCH = 96 // 16


def _train_data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(96, 1, 8, 8, generator=g, dtype=torch.float64)
    y = (x.mean(dim=(1, 2, 3)) > 0.5).long() + 2 * (x[:, 0, 0, 0] > 0.5).long()
    return x, y


def test_kill9_during_training_resumes_bit_identical(tmp_path: Path,
                                                    spawn: Callable[..., Driver]) -> None:
    """kill -9 three times at seeded points (mid-epoch after a step, or inside a checkpoint save
    before its rename), rerunning the same command each time: every kill keeps exactly the
    epochs checkpointed so far, and the final weights and history equal an uninterrupted
    run's bit for bit."""
    script = _script(tmp_path / "train.py", TRAIN_DRIVER.format(config=TRAIN_CONFIG))
    ckpt, out, reference = tmp_path / "run.pt", tmp_path / "final.pt", tmp_path / "straight.pt"
    straight_run = spawn(script, "-", str(reference))  # uninterrupted, alongside (2 cores)
    rng = random.Random(KILL_SEED)
    done, kills = 0, []
    for i in range(3):
        if i == 1:  # inside the save of this process's second epoch: that epoch is lost
            pause, expected = "save:2", done + 1
        else:  # after step m of the epoch after this process's k-th checkpoint
            k, m = rng.randint(1, 2), rng.randint(1, STEPS_PER_EPOCH)
            pause, expected = f"step:{k}:{m}", done + k
        driver = spawn(script, str(ckpt), str(out), pause=pause)
        driver.wait_for_pause()
        driver.kill9()
        state = load_checkpoint(ckpt)  # never torn: it loads, and it is a finished epoch
        assert int(state["epoch"]) + 1 == expected, pause
        assert len(state["history"]) == expected
        done = expected
        kills.append((pause, done))
    assert done < TRAIN_CONFIG["epochs"]
    print(f"kill -9 at {kills} of {TRAIN_CONFIG['epochs']} epochs")
    spawn(script, str(ckpt), str(out)).finish()
    straight_run.finish()
    final, straight = (json.loads(Path(f"{p}.json").read_text()) for p in (out, reference))
    assert final["resumed_from_epoch"] == done
    assert straight["resumed_from_epoch"] is None
    assert final["history"] == straight["history"]
    final_w, straight_w = (torch.load(p, weights_only=True) for p in (out, reference))
    assert final_w.keys() == straight_w.keys()
    for name, tensor in straight_w.items():
        assert torch.equal(final_w[name], tensor), name


# --------------------------------------------------------------------------------------------
# kill -9 while result files and checkpoints are being replaced

WRITER_DRIVER = """
    import itertools
    from numerics.records import write_json

    kind, path, pause_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    n = 200_000  # ~1.4 MB of JSON per version: a write takes a noticeable time
    version = 0


    def replace(src, dst):
        if version == pause_at:
            print(f"paused before renaming version {{version}}", flush=True)
            sys.stdin.readline()
        _replace(src, dst)


    for version in itertools.count(1):  # never ends by itself: it is always killed
        record = {{"version": version, "payload": [version] * n, "end": version}}
        os.replace = replace
        if kind == "json":
            write_json(path, record, overwrite=True)
        else:
            _save_checkpoint(path, record)
        os.replace = _replace
        print(f"wrote {{version}}", flush=True)
"""


def _read_record(kind: str, path: Path) -> dict:
    return json.loads(path.read_text()) if kind == "json" else load_checkpoint(path)


def _check_complete(record: dict) -> int:
    assert record["version"] == record["end"]
    assert len(record["payload"]) == 200_000
    assert set(record["payload"]) == {record["version"]}
    return record["version"]


@pytest.mark.parametrize("kind", ["json", "checkpoint"])
def test_kill9_mid_write_leaves_a_complete_file(tmp_path: Path, kind: str,
                                               spawn: Callable[..., Driver]) -> None:
    """Kill a writer that keeps replacing one file: once between writing (and syncing) a new
    version and renaming it, then twice at seeded random moments after a seeded number of
    versions. The file is always one complete version, never torn; only temporary files are
    left behind."""
    script = _script(tmp_path / "writer.py", WRITER_DRIVER.format())
    target = tmp_path / ("record.json" if kind == "json" else "state.pt")
    rng = random.Random(KILL_SEED + (kind == "json"))
    # before the rename of version 3: the target still holds version 2, the new one is complete
    driver = spawn(script, kind, str(target), "3", events=True)
    driver.wait_for_pause()
    driver.kill9()
    assert _check_complete(_read_record(kind, target)) == 2
    (pending,) = tmp_path.glob(f".{target.name}.*.tmp")
    assert _check_complete(_read_record(kind, pending)) == 3
    for _ in range(2):
        driver = spawn(script, kind, str(target), "0", events=True)
        first = rng.randint(1, 3)
        driver.wait_for_event(f"wrote {first}")
        time.sleep(rng.uniform(0.0, 0.5))  # the kill moment (the writer never ends by itself)
        driver.kill9()
        assert _check_complete(_read_record(kind, target)) >= first
    # killed writers may leave their temporary files behind, but never under the target's name
    leftovers = [p.name for p in tmp_path.iterdir()
                 if p.name not in (script.name, target.name) and not p.name.startswith(".driver")]
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
    train_adversarial(config, x, y, **checkpoint_callables(ckpt), progress=False,
                      stop_after_epochs=1)
    saved = ckpt.read_bytes()
    poisoned = x.clone()
    poisoned[5, 0, 3, 3] = float("nan")
    with pytest.raises(DivergenceError) as info:
        train_adversarial(config, poisoned, y, **checkpoint_callables(ckpt), progress=False)
    message = str(info.value)
    assert "epoch 2" in message
    assert "step" in message
    assert "last finite loss" in message
    assert str(ckpt) in message
    assert ckpt.read_bytes() == saved  # the checkpoint to resume from is intact
    resumed = train_adversarial(config, x, y, **checkpoint_callables(ckpt), progress=False)
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
        train_adversarial(config, *_train_data(), **checkpoint_callables(tmp_path / "c.pt"),
                          progress=False)
    state = load_checkpoint(tmp_path / "c.pt")
    if state is not None:  # whatever was checkpointed is finite
        assert all(bool(torch.isfinite(t).all()) for t in state["model"].values()
                   if t.is_floating_point())


def test_schedule_training_diverges_loudly() -> None:
    """L-FINDINGS training (train_with_schedule): a NaN loss raises DivergenceError naming the
    step, instead of ending the run early with inf as its last loss."""
    from numerics.nets.models import MLP
    from numerics.nets.schedules import PASchedule
    from numerics.nets.train import train_with_schedule

    torch.manual_seed(0)
    model = MLP(in_features=64, num_classes=4, hidden=(8,))
    x, y = _train_data()
    poisoned = x.clone()
    poisoned[40, 0, 1, 1] = float("inf")
    sched = PASchedule(eps_target=0.1, epochs=2, periods=1, lr_max=0.05)
    with pytest.raises(DivergenceError, match=r"epoch \d+, step \d+ .*last finite loss"):
        train_with_schedule(model, poisoned, y, sched, batch_size=16, pgd_steps=2, norm="linf",
                            momentum=0.9, gen=torch.Generator().manual_seed(0))


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
                          cwd=REPO, env=_env(), capture_output=True, text=True)
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
        train_adversarial(config, *_train_data(), **checkpoint_callables(ckpt),
                          progress=False)
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
    from numerics.linear.curvature import (
        fixed_noise_operator,
        hessian_fixed_noise,
        hessian_robust,
        robust_operator,
    )
    from numerics.spectra import top_hessian_eigs
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
    """HessianOperator (the input of top_hessian_eigs) and dense_hessian refuse NaN inputs and
    weights."""
    from numerics.nets.curvature import HessianOperator, dense_hessian
    from numerics.nets.models import build_model
    from theory.errors import ConfigError

    torch.manual_seed(0)
    model = build_model("mlp", in_features=6, num_classes=3, dtype=torch.float64)
    x = torch.rand(10, 6, dtype=torch.float64)
    y = torch.randint(0, 3, (10,))
    bad = x.clone()
    bad[2, 2] = float("nan")
    with pytest.raises(ConfigError, match="inputs of the Hessian"):
        HessianOperator(model, bad, y)
    with pytest.raises(ConfigError, match="NaN/Inf"):
        dense_hessian(model, bad, y)
    with torch.no_grad():
        next(model.parameters())[0, 0] = float("inf")
    with pytest.raises(ConfigError, match="weight"):
        HessianOperator(model, x, y)


def test_float32_verification_paths_warn() -> None:
    """Closed-form Hessians and the dense ground truth in float32 emit PrecisionWarning (the
    1e-10 verifications need float64); float64 stays silent (pytest turns warnings to errors)."""
    from numerics.linear.curvature import hessian_fixed_noise, hessian_robust
    from numerics.nets.curvature import dense_hessian
    from numerics.nets.models import build_model
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
    # timeout=None: wait for the cell's result however long the kernel takes
    client = NotebookClient(nb, timeout=None, kernel_name="python3", allow_errors=False)
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

CLI_DRIVER = """
    from numerics.cli import main

    sys.exit(main(sys.argv[1:]))
"""


def _strip_timings(obj: object) -> object:
    if isinstance(obj, dict):
        return {k: _strip_timings(v) for k, v in obj.items() if "seconds" not in k}
    if isinstance(obj, list):
        return [_strip_timings(v) for v in obj]
    return obj


@pytest.mark.slow
def test_kill9_during_mnist2_sweep_resumes_to_identical_results(
        tmp_path: Path, data_root: Path, spawn: Callable[..., Driver]) -> None:
    """`advlandscape mnist2 --tables 1,2 --threads 1` (ci profile; one thread, as the run
    beside it and any CPU load share the cores) killed with SIGKILL after table 1 is
    checkpointed (at a seeded step of table 2's training, or once table 2 is done but its
    checkpoint not yet renamed), then run again: it resumes from table 1 and writes the same
    tables, accuracies, eigenvalues and landscapes as an uninterrupted run."""
    env = {**_env(), "ADVLANDSCAPE_PROFILE": "ci", "ADVLANDSCAPE_DATA": str(data_root),
           "MPLBACKEND": "Agg"}
    script = _script(tmp_path / "cli.py", CLI_DRIVER)

    def args(out: Path) -> list[str]:
        return ["mnist2", "--tables", "1,2", "--threads", "1", "--out", str(out)]

    straight_dir, killed_dir = tmp_path / "straight", tmp_path / "killed"
    reference = spawn(script, *args(straight_dir), env=env)  # alongside the killed one
    rng = random.Random(KILL_SEED)
    # table 2 trains 3 epochs of ceil(2000 / 128) = 16 optimiser steps (ci profile)
    pause = rng.choice(["save:2", f"step:1:{rng.randint(1, 48)}"])
    driver = spawn(script, *args(killed_dir), pause=pause, env=env)
    driver.wait_for_pause()
    driver.kill9()
    ckpt = killed_dir / ".mnist2.json.ckpt" / "mnist2.ckpt"  # the study protocol's units
    assert not (killed_dir / "mnist2.json").exists()
    assert set(load_checkpoint(ckpt)["units"]) == {"1@0"}  # (table @ seed); ci: one seed
    err = spawn(script, *args(killed_dir), env=env).finish()
    assert f"resuming 1 finished units from {ckpt}" in err
    assert not ckpt.parent.exists()  # the checkpoint goes once the results are written
    reference.finish()
    a = read_result(straight_dir / "mnist2.json")["results"]
    b = read_result(killed_dir / "mnist2.json")["results"]
    assert _strip_timings(a) == _strip_timings(b)
    assert (straight_dir / "tables.md").read_text() == (killed_dir / "tables.md").read_text()


# --------------------------------------------------------------------------------------------
# a PGD step longer than the ball's diameter


def test_step_size_beyond_the_diameter_is_rejected_and_indeed_meaningless() -> None:
    """step_size > 2 eps is refused with a message saying why; and for L-inf PGD such a step
    gives exactly the iterates of step 2 eps (so the configured value would be a fiction)."""
    from numerics.attacks import pgd_on_loss
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

    runs = [pgd_on_loss(loss, x, 0.1, "linf", 3, alpha, box=None,
                generator=torch.Generator().manual_seed(1)) for alpha in (0.2, 0.35, 5.0)]
    assert torch.equal(runs[0], runs[1])
    assert torch.equal(runs[0], runs[2])


# --------------------------------------------------------------------------------------------
# kill -9 during the ResNet18 sweep's measurements (Y-T1 machinery), then resume

SWEEP_DRIVER = """
    import dataclasses
    from numerics.experiments.resnet import profile_config, run_resnet_experiment
    from numerics.records import write_json

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
"""


def test_kill9_during_resnet_sweep_keeps_measured_budgets(tmp_path: Path,
                                                        spawn: Callable[..., Driver]) -> None:
    """The sweep killed after its first budget was trained and measured (at a seeded point of
    the second: a training step, its last epoch's checkpoint, or the save of its measurements):
    the rerun takes the first budget's record from the checkpoint directory, finishes the
    second, and the record equals an uninterrupted run's (wall-clock timings aside)."""
    script = _script(tmp_path / "sweep.py", SWEEP_DRIVER)
    ckdir, out, ref = tmp_path / "ck", tmp_path / "out.json", tmp_path / "ref.json"
    reference = spawn(script, "-", str(ref))  # alongside the killed run (2 cores)
    # saves per budget: 2 training epochs (2 steps each), then its measurements (.measured)
    pause = random.Random(KILL_SEED + 2).choice(
        ["step:3:1", "step:3:2", "step:4:1", "step:4:2", "save:5", "save:6"])
    driver = spawn(script, str(ckdir), str(out), pause=pause)
    driver.wait_for_pause()
    driver.kill9()
    assert not out.exists()
    measured_before = sorted(p.name for p in ckdir.glob("*.measured"))
    assert len(measured_before) == 1, pause  # killed while the second budget ran
    stamps = {p.name: p.stat().st_mtime_ns for p in ckdir.glob("*.measured")}
    spawn(script, str(ckdir), str(out)).finish()
    assert all((ckdir / name).stat().st_mtime_ns == t for name, t in stamps.items())  # reused
    assert len(list(ckdir.glob("*.measured"))) == 2
    reference.finish()
    resumed, straight = (json.loads(p.read_text()) for p in (out, ref))
    assert _strip_timings(resumed) == _strip_timings(straight)


# --------------------------------------------------------------------------------------------
# kill -9 during a Liu/Kanai study through the real CLI (checkpoint after every training run)

LK_DRIVER = """
    import numerics.experiments.findings as findings
    from numerics.cli import main

    findings.SCALES["ci"].update({tiny!r})  # the registry reads this scale's overrides
    sys.exit(main(["liu-kanai", "findings", "--profile", "ci", "--out", sys.argv[1],
                   "--no-progress"]))
"""

LK_TINY = dict(eps_grid=(0.0, 0.05, 0.1, 0.2), n_train=80, hidden=(8,), epochs=2, batch_size=20,
               n_hessian=20, logistic_ratios=(0.0, 0.5), logistic_n=60, logistic_steps=10,
               pgd_steps=2)


def test_kill9_during_liu_kanai_study_resumes_to_identical_results(
        tmp_path: Path, data_root: Path, spawn: Callable[..., Driver]) -> None:
    """`advlandscape liu-kanai findings` (L-FINDINGS; tiny sizes patched into its config) killed
    with SIGKILL at a seeded point after its first unit is checkpointed (a training step of a
    later unit, or inside a unit's checkpoint save), then run again: it resumes from the units
    saved, removes its checkpoint and writes the results of an uninterrupted run exactly."""
    script = _script(tmp_path / "lk.py", LK_DRIVER.format(tiny=LK_TINY))
    straight, out = tmp_path / "straight.json", tmp_path / "findings.json"
    env = {**_env(), "ADVLANDSCAPE_DATA": str(data_root)}
    reference = spawn(script, str(straight), env=env)  # runs alongside the one that is killed
    rng = random.Random(KILL_SEED)
    n_mlp, n_units = len(LK_TINY["eps_grid"]), len(LK_TINY["eps_grid"]) + len(
        LK_TINY["logistic_ratios"])
    mlp_steps = LK_TINY["epochs"] * LK_TINY["n_train"] // LK_TINY["batch_size"]
    if rng.random() < 0.5:  # a training step of unit k + 1 (SGD for the MLPs, Adam after)
        k = rng.randint(1, n_units - 1)
        pause = f"step:{k}:{rng.randint(1, mlp_steps if k < n_mlp else LK_TINY['logistic_steps'])}"
        n_done = k
    else:  # inside the checkpoint save of unit k (computed, not yet recorded)
        k = rng.randint(2, n_units)
        pause, n_done = f"save:{k}", k - 1
    driver = spawn(script, str(out), pause=pause, env=env)
    driver.wait_for_pause()
    driver.kill9()
    ckpt = tmp_path / ".findings.json.ckpt" / "findings.ckpt"
    assert not out.exists()
    assert len(load_checkpoint(ckpt)["units"]) == n_done, pause
    err = spawn(script, str(out), env=env).finish()
    assert f"resuming {n_done} finished units" in err
    assert not ckpt.parent.exists()  # the default checkpoint folder goes once the record is written
    reference.finish()
    assert read_result(out)["results"] == read_result(straight)["results"]


# --------------------------------------------------------------------------------------------
# SIGINT, a full disk and SIGTERM in a row through the real CLI (liu-kanai findings, tiny)

LK_SMALL = dict(eps_grid=(0.0, 0.1, 0.2), n_train=40, hidden=(8,), epochs=1, batch_size=20,
                n_hessian=20, logistic_ratios=(0.5,), logistic_n=40, logistic_steps=5,
                pgd_steps=2)


def test_sigint_full_disk_and_sigterm_through_the_cli_lose_nothing(
        tmp_path: Path, data_root: Path, spawn: Callable[..., Driver]) -> None:
    """`advlandscape liu-kanai findings` (tiny) stopped three ways in a row, rerun each time
    with the same command: SIGINT at a training step (exit 130, the message says to run it
    again); a file-size limit under which the next checkpoint cannot be written, as on a full
    disk (exit 2, one line naming the file; the previous checkpoint unchanged, no temporary
    file left); SIGTERM at a training step. The last run resumes from the units saved and
    writes the results of an uninterrupted run. Slow (about 35 s on an idle 2-core machine):
    five processes of the command, each starting Python and torch, beside the CPU load; the
    sizes are tiny already."""
    script = _script(tmp_path / "lk.py", LK_DRIVER.format(tiny=LK_SMALL))
    straight, out = tmp_path / "straight.json", tmp_path / "findings.json"
    ckpt = tmp_path / ".findings.json.ckpt" / "findings.ckpt"
    env = {**_env(), "ADVLANDSCAPE_DATA": str(data_root)}
    reference = spawn(script, str(straight), env=env)  # alongside

    driver = spawn(script, str(out), pause="step:1:1", env=env)  # in unit 2
    driver.wait_for_pause()
    assert driver.stop(signal.SIGINT) == 130
    assert "interrupted; run the same command again to resume" in driver.stderr
    assert len(load_checkpoint(ckpt)["units"]) == 1
    before = ckpt.read_bytes()

    full = spawn(script, str(out), env={**env, "FAULT_FSIZE": str(len(before) // 2)})
    assert full.proc.wait() == 2, full.stderr
    errors = [line for line in full.stderr.splitlines() if "error:" in line]
    assert errors == [line for line in full.stderr.splitlines() if line.startswith("advl")]
    assert len(errors) == 1, full.stderr
    assert f"cannot write {ckpt}: File too large" in errors[0]
    assert "Traceback" not in full.stderr
    assert ckpt.read_bytes() == before  # the last good checkpoint, untouched
    assert [p.name for p in ckpt.parent.iterdir()] == [ckpt.name]  # no temporary file

    driver = spawn(script, str(out), pause="step:1:1", env=env)  # resumes 1, saves 2, in unit 3
    driver.wait_for_pause()
    assert driver.stop(signal.SIGTERM) == -signal.SIGTERM
    assert len(load_checkpoint(ckpt)["units"]) == 2

    err = spawn(script, str(out), env=env).finish()
    assert "resuming 2 finished units" in err
    assert not ckpt.parent.exists()
    reference.finish()
    assert read_result(out)["results"] == read_result(straight)["results"]


# --------------------------------------------------------------------------------------------
# unsafe, damaged and stale checkpoints (numerics.records.read_checkpoint)


class _Payload:
    """Unpickled by a plain torch.load, this makes a directory: code run by reading a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.mkdir, (str(self.marker),))


def _train_one_epoch(tmp_path: Path) -> tuple[AdvTrainConfig, Path]:
    config = AdvTrainConfig(**{**TRAIN_CONFIG, "epochs": 2})  # type: ignore[arg-type]
    ckpt = tmp_path / "run.pt"
    train_adversarial(config, *_train_data(), **checkpoint_callables(ckpt), progress=False,
                      stop_after_epochs=1)
    return config, ckpt


def test_checkpoint_that_would_run_code_is_refused_without_running_it(tmp_path: Path) -> None:
    """A checkpoint holding a pickled call (here os.mkdir): the plain torch.load of the old
    loader runs it; load_checkpoint and a resumed training refuse the file with a message
    saying to discard it (--fresh), and nothing runs."""
    from numerics.records import CHECKPOINT_FORMAT, code_version

    config, ckpt = _train_one_epoch(tmp_path)
    marker = tmp_path / "payload-ran"
    record = torch.load(ckpt, weights_only=True)
    record["state"]["history"].append(_Payload(marker))
    assert record["format"] == CHECKPOINT_FORMAT
    assert record["code"] == code_version()
    torch.save(record, ckpt)
    for call in (lambda: load_checkpoint(ckpt),
                 lambda: train_adversarial(config, *_train_data(), **checkpoint_callables(ckpt),
                                           progress=False)):
        with pytest.raises(ResultFileError, match="other than tensors") as info:
            call()
        assert "--fresh" in str(info.value)
        assert not marker.exists()
    torch.load(ckpt, weights_only=False)  # what loading it used to do
    assert marker.is_dir()


def test_flipped_bit_in_a_checkpoint_is_caught(tmp_path: Path) -> None:
    """One bit of a weight flipped on disk: torch.load alone returns the wrong weight without
    a word; load_checkpoint (and resuming) stops on the part's CRC-32 and says what to do."""
    config, ckpt = _train_one_epoch(tmp_path)
    weight = load_checkpoint(ckpt)["model"]["conv1.weight"]
    raw = bytearray(ckpt.read_bytes())
    offset = raw.find(weight.numpy().tobytes())
    assert offset > 0
    raw[offset + 3] ^= 0x08
    ckpt.write_bytes(bytes(raw))
    silently = torch.load(ckpt, weights_only=True)["state"]["model"]["conv1.weight"]
    assert not torch.equal(silently, weight)
    for call in (lambda: load_checkpoint(ckpt),
                 lambda: train_adversarial(config, *_train_data(), **checkpoint_callables(ckpt),
                                           progress=False)):
        with pytest.raises(ResultFileError, match=r"damaged: its part .* fails its CRC-32"):
            call()


def test_stale_training_checkpoint_is_refused_unless_accepted(
        tmp_path: Path, make_stale: Callable[[Path], None]) -> None:
    """A training checkpoint written by other code (a source file and torch's version differ):
    StaleCheckpointError naming both and the two ways on, the file untouched; accept_stale
    resumes from it (here the code is the same, so bit-identical to an uninterrupted run)."""
    from theory.errors import StaleCheckpointError

    config, ckpt = _train_one_epoch(tmp_path)
    make_stale(ckpt)
    before = ckpt.read_bytes()
    with pytest.raises(StaleCheckpointError) as info:
        train_adversarial(config, *_train_data(), **checkpoint_callables(ckpt),
                          progress=False)
    for word in (str(ckpt), "changed: numerics/nets/train.py", "torch 2.12.0 -> ", "--fresh",
                 "--resume-stale"):
        assert word in str(info.value), word
    assert ckpt.read_bytes() == before
    resumed = train_adversarial(config, *_train_data(),
                                **checkpoint_callables(ckpt, accept_stale=True), progress=False)
    straight = train_adversarial(config, *_train_data(), progress=False)
    assert resumed.resumed_from_epoch == 1
    assert resumed.history == straight.history
    for name, tensor in straight.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[name], tensor), name
    carried = read_checkpoint(ckpt)  # the epoch saved since still says what its past was
    assert carried.stale == ""
    assert "changed: numerics/nets/train.py" in carried.inherited


# --------------------------------------------------------------------------------------------
# bad data refused at the library's entry; verified data paths; one run per output


def _pm1_problem() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    x = torch.rand(40, 5, generator=g, dtype=torch.float64)
    return x, torch.where(x[:, 0] > 0.5, 1.0, -1.0).to(torch.float64)


def _quadratic(z: torch.Tensor) -> torch.Tensor:
    return (z ** 2).sum(dim=1)


@pytest.mark.parametrize(("case", "expect"), [
    ("labels 0/1", "2 c - 1"),
    ("labels of another length", "one per sample"),
    ("integer inputs", "floating"),
    ("no samples", "empty"),
    ("a NaN input", "NaN/Inf"),
])
def test_train_models_refuses_bad_data_before_the_first_step(case: str, expect: str) -> None:
    """train_models on 0/1 labels used to train silently (50.5% instead of 96.5% on MNIST2):
    each bad input is one ConfigError saying what to do, raised before any step; and the
    checks change no result (the same run on valid data equals itself with the checks)."""
    from numerics.attacks import AttackSpec
    from numerics.linear import TrainConfig, train_models

    x, y = _pm1_problem()
    attack, config = AttackSpec("pgd", "l2", steps=3), TrainConfig(epochs=2, batch_size=10)
    steps: list[int] = []
    bad = {"labels 0/1": (x, (y + 1) / 2), "labels of another length": (x, y[:-1]),
           "integer inputs": ((x * 255).long(), y), "no samples": (x[:0], y[:0]),
           "a NaN input": (x.clone().index_put_((torch.tensor([7]), torch.tensor([2])),
                                                torch.tensor(float("nan"))), y)}[case]
    with pytest.raises(ConfigError, match=expect):
        train_models(*bad, 0.1, attack, config, progress=steps.append)
    assert steps == []  # refused before the first epoch
    first = train_models(x, y, 0.1, attack, config)
    again = train_models(x, y, 0.1, attack, config)
    assert torch.equal(first.last, again.last)
    assert torch.isfinite(first.last).all()


def test_pgd_refuses_a_reversed_box_and_nan_inputs() -> None:
    """A reversed box (1, 0) clipped every input onto one value, and a NaN input gave an all-NaN
    output, both silently: now ConfigErrors (also for networks' pgd, AttackSpec and noise); a
    valid call is unchanged."""
    from numerics.attacks import AttackSpec, pgd_on_loss, random_noise
    from numerics.nets.attack import pgd
    from theory.errors import ConfigError

    x, _ = _pm1_problem()
    with pytest.raises(ConfigError, match="low < high"):
        pgd_on_loss(_quadratic, x, 0.1, "l2", 3, 0.05, box=(1.0, 0.0))
    with pytest.raises(ConfigError, match="low < high"):
        AttackSpec("pgd", "l2", box=(1.0, 0.0))
    with pytest.raises(ConfigError, match="low < high"):
        random_noise(x, 0.1, "l2", box=(0.5, 0.5))
    nan = x.clone()
    nan[0, 0] = float("nan")
    with pytest.raises(ConfigError, match="1 NaN/Inf"):
        pgd_on_loss(_quadratic, nan, 0.1, "l2", 3, 0.05)
    model = torch.nn.Sequential(torch.nn.Linear(5, 3)).double()
    spec = AttackSpec("pgd", "linf", 2, eps=0.1)
    with pytest.raises(ConfigError, match="class indices"):
        pgd(model, x, torch.where(x[:, 0] > 0.5, 1.0, -1.0), spec)
    with pytest.raises(ConfigError, match="NaN/Inf"):
        pgd(model, nan, torch.zeros(40, dtype=torch.long), spec)
    g = [torch.Generator().manual_seed(5) for _ in range(2)]
    out = pgd_on_loss(_quadratic, x, 0.1, "l2", 3, 0.05, generator=g[0])
    assert torch.isfinite(out).all()
    assert ((out - x).norm(dim=1) <= 0.1 + 1e-12).all()
    assert torch.equal(out, pgd_on_loss(_quadratic, x, 0.1, "l2", 3, 0.05, generator=g[1]))


def test_flipped_byte_in_a_derived_cache_entry_is_rebuilt_not_returned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A byte flipped in a cached label array (the derived CIFAR-10 cache) used to change y[0]
    silently: the entry's stored sha256 catches it, the arrays are rebuilt from the source and
    stored again, with a warning naming the file."""
    import logging

    from numerics.data import cache

    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "derived"))
    y = np.arange(10, dtype=np.uint8)
    builds: list[int] = []

    def build() -> dict[str, np.ndarray]:
        builds.append(1)
        return {"x": np.full((10, 4), 7, dtype=np.uint8), "y": y.copy()}

    assert np.array_equal(cache.load_or_build("k", ("x", "y"), build)["y"], y)
    assert np.array_equal(cache.load_or_build("k", ("x", "y"), build)["y"], y)
    assert builds == [1]  # the second load read the cache
    labels = tmp_path / "derived" / "k.y.npy"
    raw = bytearray(labels.read_bytes())
    raw[-10] ^= 0x05  # y[0]: 0 -> 5, a valid .npy still
    labels.write_bytes(bytes(raw))
    assert np.load(labels)[0] == 5
    with caplog.at_level(logging.WARNING, logger=cache.__name__):
        again = cache.load_or_build("k", ("x", "y"), build)
    assert again["y"][0] == 0
    assert np.array_equal(again["y"], y)
    assert builds == [1, 1]
    assert "k.y.npy differs from its stored sha256" in caplog.text
    assert np.load(labels)[0] == 0  # stored again, intact
    cache.digest_path("k", tmp_path / "derived").unlink()  # no digests: not trusted either
    cache.load_or_build("k", ("x", "y"), build)
    assert builds == [1, 1, 1]


def test_load_mnist_verifies_the_files_digests(tmp_path: Path, data_root: Path) -> None:
    """10-class MNIST (load_mnist, load_mnist_float) used to read an edited label file without
    a word; now, as load_mnist2, it checks the files' size, md5 and sha256 first."""
    import gzip

    from numerics.data.mnist import _load_mnist_cached, _verify_official, load_mnist
    from theory.errors import DataError

    root = tmp_path / "root"
    (root / "mnist").mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(data_root / "mnist" / name, root / "mnist" / name)
    target = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    labels = bytearray(gzip.decompress(target.read_bytes()))
    labels[8] = 3 if labels[8] != 3 else 4  # the first test label, edited; the file stays valid
    target.write_bytes(gzip.compress(bytes(labels)))
    _load_mnist_cached.cache_clear()
    _verify_official.cache_clear()
    try:
        with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz .*(md5|truncated|long)"):
            load_mnist("test", root)
        _, y = load_mnist("test", root, verify=False)  # what it used to return
        assert y[0] == labels[8]
    finally:
        _load_mnist_cached.cache_clear()
        _verify_official.cache_clear()


LOCK_HOLDER = """
import sys
from numerics.records import output_lock
with output_lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()  # holds the lock until the test says or kills it
"""


def test_second_run_on_the_same_output_stops_at_once_and_a_dead_owners_lock_is_taken_over(
        tmp_path: Path, spawn: Callable[..., Driver], capsys: pytest.CaptureFixture[str]
) -> None:
    """Row 19 of docs/faults.md: two runs on one --out used to run side by side. A holder of
    the output's lock (pid inside) makes a second `resnet run` on it stop at once, exit 2,
    naming the pid; after `kill -9` of the holder its lock is stale and the next run takes it
    over (and goes on to report the missing data), removing the lock when it ends."""
    from numerics.cli import main
    from numerics.records import lock_path

    script = tmp_path / "hold.py"
    script.write_text(LOCK_HOLDER)
    out = tmp_path / "out" / "sweep.json"
    empty = tmp_path / "no-data"
    empty.mkdir()
    argv = ["resnet", "run", "--dataset", "mnist", "--epochs", "1", "--width", "2",
            "--n-train", "16", "--n-test", "16", "--no-progress", "--data-dir", str(empty),
            "--out", str(out)]
    holder = spawn(script, str(out), events=True)
    holder.wait_for_event("locked")
    assert lock_path(out).read_text().strip() == str(holder.proc.pid)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"pid {holder.proc.pid}" in err, err
    assert "another advlandscape run" in err, err
    assert "Traceback" not in err
    assert err.count("error:") == 1
    holder.kill9()
    assert lock_path(out).read_text().strip() == str(holder.proc.pid)  # left behind, stale
    assert main(argv) == 2  # now past the lock: the data are missing
    err = capsys.readouterr().err
    assert f"stale lock {lock_path(out)} of pid {holder.proc.pid}" in err, err
    assert "another advlandscape run" not in err, err
    assert "missing" in err, err
    assert not lock_path(out).exists()
    assert not out.exists()
    ended = spawn(script, str(out), events=True)  # a lock released normally is removed
    ended.wait_for_event("locked")
    ended.proc.stdin.write("\n")
    ended.proc.stdin.flush()
    ended.finish()
    assert not lock_path(out).exists()
