"""Sweeps (numerics.sweep, `advlandscape sweep`): local and Ray give the same records, kills lose
nothing, bad input is refused quickly.

The Ray tests run on a real local Ray instance (``ray.init(num_cpus=2)``, shut down by the
fixture's finaliser), no mocks. Kills wait on events (a checkpoint or record file appearing, a
Ray worker executing a unit), never on the clock.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from numerics.experiments.registry import config_for, run_study
from numerics.records import read_result
from numerics.records.files import _jsonable
from numerics.sweep import (
    LocalExecutor,
    load_spec,
    make_executor,
    parse_spec,
    plan,
    run_sweep,
)
from numerics.sweep.worker import pinned
from theory.errors import ConfigError, ResultExistsError, UnitsFailedError

REPO = Path(__file__).resolve().parent.parent

#: A small PAS grid (L-FINDINGS): 2 learning rates x 2 seeds, each unit 2 inner runs.
PAS_TINY = {"n_train": 100, "n_test": 50, "hidden": [8], "epochs": 2, "batch_size": 50,
            "pgd_steps": 2, "eval_steps": 3}
PAS_SPEC = {"experiment": "pas", "config": PAS_TINY,
            "grid": {"lr": [0.01, 0.1], "seed": [0, 1]}}
#: Two MNIST2 sensitivity settings of table 1 on a small subset.
MNIST2_SPEC = {"experiment": "sensitivity", "config": {"n_train": 200, "n_test": 100},
               "grid": {"setting": ["adam-lr-1e-2", "sgd"], "table": [1], "seed": [0]}}


def _strip_timings(obj: Any) -> Any:
    """A record without its wall-clock fields."""
    if isinstance(obj, dict):
        return {k: _strip_timings(v) for k, v in obj.items() if "seconds" not in k}
    if isinstance(obj, list):
        return [_strip_timings(v) for v in obj]
    return obj


def _records(out: Path) -> dict[str, dict[str, Any]]:
    """Every unit record of a sweep directory, by digest: config and results, timings aside."""
    return {p.stem: _strip_timings({"config": r["config"], "results": r["results"]})
            for p in sorted((out / "units").glob("*.json")) for r in [read_result(p)]}


def _merged(out: Path) -> dict[str, Any]:
    record = read_result(out / "sweep.json")
    return _strip_timings({"config": record["config"], "results": record["results"]})


def _wait_for(predicate: Any, alive: Any, what: str) -> None:
    """Wait until ``predicate()`` holds; fail if ``alive()`` turns false first (the process
    that should produce the event ended)."""
    while not predicate():
        if not alive():
            assert predicate(), f"ended before {what}"
            return
        time.sleep(0.01)


# --------------------------------------------------------------------------------------------
# the real Ray instance and the local reference runs


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A local Ray instance with 2 CPUs for this module; its GCS address. Shut down after."""
    ray = pytest.importorskip("ray", reason="the [cluster] extra (Ray) is not installed")
    if ray.is_initialized():
        ray.shutdown()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def local_runs(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> dict[str, Path]:
    """The PAS and MNIST2 sweeps through the local executor, in this process."""
    root = tmp_path_factory.mktemp("local")
    outs = {}
    for name, raw in (("pas", PAS_SPEC), ("sensitivity", MNIST2_SPEC)):
        outs[name] = root / name
        run_sweep(parse_spec(raw, name), outs[name], LocalExecutor(), progress=False,
                  say=lambda _m: None)
    return outs


# --------------------------------------------------------------------------------------------
# bad input: clear errors, before any work, no hang


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(("text", "expect"), [
    ("experiment: nope\n", "unknown experiment 'nope'"),
    ("experiment: pas\ngrid: {lr: [0.1], momentum: [0.9]}\n", "unknown grid key(s) ['momentum']"),
    ("experiment: pas\nresources: {num_cpus: 1, memory: 4}\n", "unknown resource(s) ['memory']"),
    ("experiment: pas\nresources: {num_cpus: 0}\n", "num_cpus must be an integer >= 1"),
    ("experiment: pas\nconfig: {widht: 3}\n", "unknown config field(s) ['widht']"),
    ("experiment: pas\nconfig: {lrs: [0.1]}\n", "through the grid"),
    ("experiment: pas\ngrid: {lr: [0.1, 0.1]}\n", "repeats a value"),
    ("experiment: pas\ngrid: {lr: [-1.0]}\n", "positive learning rates"),
    ("experiment: sensitivity\ngrid: {setting: [adamw]}\n", "unknown settings ['adamw']"),
    ("experiment: resnet\ngrid: {dataset: [imagenet]}\n", "unknown dataset 'imagenet'"),
    ("experiment: pas\nexecutor: ray\n", "unknown key(s) ['executor']"),
    ("experiment: pas\ngrid: {lr: [0.1\n", "not valid YAML (line 3"),
    ("- pas\n", "a sweep spec is a mapping"),
])
def test_bad_sweep_files_are_refused_with_what_to_do(tmp_path: Path, text: str,
                                                     expect: str) -> None:
    """Each bad sweep file is one ConfigError naming the file and the problem, before any unit
    runs (the output directory stays empty)."""
    path = _write(tmp_path / "bad.yaml", text)

    def sweep() -> None:
        run_sweep(load_spec(path), tmp_path / "out", LocalExecutor(), progress=False,
                  say=lambda _m: None)

    with pytest.raises(ConfigError) as info:
        sweep()
    assert expect in str(info.value)
    assert str(path) in str(info.value)
    assert not (tmp_path / "out").exists()


def test_cli_prints_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Through the CLI: exit 2 and one `advlandscape sweep: error:` line; a missing file, a
    --ray-address without the ray executor, a bad --max-parallel."""
    from numerics.cli import main

    ok = _write(tmp_path / "ok.yaml", "experiment: pas\n")
    for argv, expect in (
        ([str(tmp_path / "none.yaml")], "does not exist"),
        ([str(ok), "--ray-address", "127.0.0.1:1"], "--ray-address is for --executor ray"),
    ):
        assert main(["sweep", *argv, "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert err[0].startswith("advlandscape sweep: error:")
        assert expect in err[0]
    with pytest.raises(SystemExit) as info:
        main(["sweep", str(ok), "--max-parallel", "0"])
    assert info.value.code == 2
    assert "--max-parallel: takes an integer >= 1" in capsys.readouterr().err


def test_unreachable_ray_address_fails_quickly() -> None:
    """A closed port and an address nothing answers: a ConfigError saying how to start a
    cluster, after at most the connect timeout (Ray alone would wait for minutes)."""
    pytest.importorskip("ray", reason="the [cluster] extra (Ray) is not installed")
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for address in (f"127.0.0.1:{port}", "192.0.2.1:6379"):  # the second: TEST-NET-1
        start = time.monotonic()
        with pytest.raises(ConfigError, match="cannot reach a Ray cluster") as info:
            make_executor("ray", ray_address=address, connect_timeout=1.0)
        assert "ray start --head" in str(info.value)
        assert time.monotonic() - start < 30  # bounded by the timeout, not Ray's minutes
    with pytest.raises(ConfigError, match="not host:port"):
        make_executor("ray", ray_address="localhost")


# --------------------------------------------------------------------------------------------
# one sweep, two executors, the same records


def test_pas_sweep_merged_record_is_the_study_itself(local_runs: dict[str, Path]) -> None:
    """The merged PAS record equals `run_study("pas", ...)` at the whole grid's config, run
    straight: the sweep splits the study, it does not change it."""
    cfg = config_for("pas", "ci", **{**PAS_TINY, "hidden": (8,)}, lrs=(0.01, 0.1), seeds=(0, 1))
    with pinned(1):
        direct = json.loads(json.dumps(_jsonable(run_study("pas", cfg, progress=False))))
    merged = read_result(local_runs["pas"] / "sweep.json")
    assert merged["results"]["merged"]["results"] == direct
    assert len(direct["rows"]) == 8
    assert merged["provenance"]["sweep"]["units"] == 4


def test_ray_sweep_equals_local_sweep_record_for_record(
        tmp_path: Path, ray_address: str, local_runs: dict[str, Path]) -> None:
    """The PAS and MNIST2 sweeps on Ray give, unit for unit, the configs and results of the
    local executor bit for bit (timings aside), and the same merged records; the Ray units did
    run in Ray's worker processes."""
    for name, raw in (("pas", PAS_SPEC), ("sensitivity", MNIST2_SPEC)):
        out = tmp_path / name
        outcome = run_sweep(parse_spec(raw, name), out, make_executor("ray"), progress=False,
                            say=lambda _m: None)
        assert outcome.ran == outcome.units == len(plan(parse_spec(raw, name)))
        ray_records, local_records = _records(out), _records(local_runs[name])
        assert len(ray_records) == outcome.units
        assert ray_records == local_records
        assert _merged(out)["results"] == _merged(local_runs[name])["results"]
        pids = {read_result(p)["provenance"]["worker"]["pid"] for p in (out / "units").iterdir()}
        assert os.getpid() not in pids
        local_pids = {read_result(p)["provenance"]["worker"]["pid"]
                      for p in (local_runs[name] / "units").iterdir()}
        assert local_pids == {os.getpid()}


# --------------------------------------------------------------------------------------------
# a Ray worker killed mid-unit: Ray retries it, the unit resumes from its own checkpoint

KILL_SPEC = {"experiment": "pas",
             "config": {**PAS_TINY, "n_train": 1000, "epochs": 16},  # ~1 s per inner run
             "grid": {"lr": [0.1], "seed": [0]}}


def _unit_workers() -> list[Any]:
    """Ray worker processes executing a unit now (Ray titles them `ray::run_unit`)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if cmdline and cmdline[0].startswith("ray::run_unit"):
            found.append(proc)
    return found


def test_ray_worker_killed_mid_unit_is_retried_and_resumes(
        tmp_path: Path, ray_address: str, data_root: Path) -> None:
    """SIGKILL to the Ray worker running the unit, once its first inner run is checkpointed: Ray
    runs the unit again (max_retries), the retry resumes from that checkpoint (its record says
    so) and the records equal an uninterrupted run's."""
    spec = parse_spec(KILL_SPEC, "kill")
    (unit,) = plan(spec)
    out = tmp_path / "killed"
    ckpt = out / "checkpoints" / unit.digest / "pas.ckpt"
    result: dict[str, Any] = {}

    def sweep() -> None:
        try:
            result["outcome"] = run_sweep(spec, out, make_executor("ray"), progress=False,
                                          say=lambda _m: None)
        except BaseException as exc:  # reported by the test thread
            result["error"] = exc

    thread = threading.Thread(target=sweep)
    thread.start()
    try:
        _wait_for(ckpt.exists, thread.is_alive, "the unit's first checkpoint")
        workers = _unit_workers()
        assert len(workers) == 1, "no Ray worker is executing the unit"
        killed = workers[0].pid
        os.kill(killed, signal.SIGKILL)
    finally:
        thread.join()
    assert "error" not in result, result.get("error")
    record = read_result(out / "units" / f"{unit.digest}.json")
    assert record["provenance"]["sweep"]["resumed_inner_runs"] == 1
    assert record["provenance"]["sweep"]["inner_runs"] == 2
    assert record["provenance"]["worker"]["pid"] != killed
    reference = tmp_path / "straight"
    run_sweep(spec, reference, LocalExecutor(), progress=False, say=lambda _m: None)
    assert _records(out) == _records(reference)
    assert _merged(out) == _merged(reference)


# --------------------------------------------------------------------------------------------
# the whole sweep process killed, then run again: finished units reused


def test_killed_sweep_reruns_only_unfinished_units(
        tmp_path: Path, ray_address: str, local_runs: dict[str, Path],
        data_root: Path) -> None:
    """`advlandscape sweep` (local executor) killed with SIGKILL once its first unit record is
    written; run again (on Ray, connected by --ray-address), it reuses the finished units, says
    how many, runs the rest, and the records equal an uninterrupted run's."""
    spec_path = tmp_path / "pas.yaml"
    spec_path.write_text(json.dumps(PAS_SPEC))  # JSON is YAML
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "numerics.cli", "sweep", str(spec_path),
                             "--out", str(out), "--no-progress"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: any((out / "units").glob("*.json")), lambda: proc.poll() is None,
                  "the first unit record")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the sweep ended before it was killed"
    finished = len(list((out / "units").glob("*.json")))
    assert 1 <= finished < 4
    assert not (out / "sweep.json").exists()
    notes: list[str] = []
    outcome = run_sweep(load_spec(spec_path), out,
                        make_executor("ray", ray_address=ray_address), progress=False,
                        say=notes.append)
    assert (outcome.reused, outcome.ran) == (finished, 4 - finished)
    assert f"{finished} reused" in notes[0]
    assert _records(out) == _records(local_runs["pas"])
    assert _merged(out)["results"] == _merged(local_runs["pas"])["results"]
    with pytest.raises(ResultExistsError, match="--overwrite"):
        run_sweep(load_spec(spec_path), out, LocalExecutor(), progress=False,
                  say=lambda _m: None)


# --------------------------------------------------------------------------------------------
# a unit that raises: reported with its config and traceback, the finished ones kept

RESNET_TINY = {"n_train": 16, "n_test": 16, "hessian_samples": 8, "top_k": 1, "power_iters": 0,
               "hutchinson_samples": 2, "landscape_points": 3, "landscape_samples": 8,
               "points_per_batch": 3,
               "train": {"width": 2, "epochs": 1, "batch_size": 8, "train_steps": 2,
                         "eval_steps": 2}}


def test_failed_unit_is_reported_and_finished_units_are_kept(
        tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ResNet smoke sweep over mnist and svhn on a data root holding MNIST only: the svhn
    unit raises (DataError: the files are missing); the error names the unit and where its
    config and traceback are, the mnist unit's record is written, no merged record; run again,
    only the failed unit is tried."""
    root = tmp_path / "data"
    root.mkdir()
    (root / "mnist").symlink_to(data_root / "mnist")
    monkeypatch.setenv("ADVLANDSCAPE_DATA", str(root))
    spec = parse_spec({"experiment": "resnet", "config": RESNET_TINY,
                       "grid": {"dataset": ["mnist", "svhn"], "eps": [0.1], "seed": [0]}},
                      "resnet.yaml")
    out = tmp_path / "out"
    with pytest.raises(UnitsFailedError) as info:
        run_sweep(spec, out, LocalExecutor(), progress=False, say=lambda _m: None)
    message = str(info.value)
    assert "1 of 2 units failed" in message
    assert "unit dataset=svhn,seed=0,eps=0.1: DataError" in message
    mnist, svhn = plan(spec)
    failure = (out / "failed" / f"{svhn.digest}.txt").read_text()
    assert repr(svhn.config) in failure
    assert "Traceback (most recent call last)" in failure
    record = read_result(out / "units" / f"{mnist.digest}.json")
    assert record["results"]["runs"][0]["eps"] == 0.1
    assert not (out / "sweep.json").exists()
    notes: list[str] = []
    with pytest.raises(UnitsFailedError, match="1 finished ones kept"):
        run_sweep(spec, out, LocalExecutor(), progress=False, say=notes.append)
    assert "2 units, 1 reused" in notes[0]


@pytest.mark.parametrize("name", ["pas", "sensitivity", "resnet"])
def test_example_sweep_files_are_valid(name: str) -> None:
    """The sweep files under sweeps/ (the README's examples) validate, every unit's config
    included, and their units are distinct (distinct digests)."""
    spec = load_spec(REPO / "sweeps" / f"{name}.yaml")
    units = plan(spec)
    expected = 1
    for _key, values in spec.grid:
        expected *= len(values)
    assert len(units) == expected
    assert len({u.digest for u in units}) == len(units)


def test_local_process_pool_equals_in_process(tmp_path: Path,
                                              local_runs: dict[str, Path]) -> None:
    """`--max-parallel 2` on the local executor (a pool of two spawned processes) writes the
    records of the in-process run, from processes other than this one."""
    out = tmp_path / "pool"
    outcome = run_sweep(parse_spec(PAS_SPEC, "pas"), out, make_executor("local", max_parallel=2),
                        progress=False, say=lambda _m: None)
    assert outcome.ran == 4
    assert _records(out) == _records(local_runs["pas"])
    assert _merged(out)["results"] == _merged(local_runs["pas"])["results"]
    pids = {read_result(p)["provenance"]["worker"]["pid"] for p in (out / "units").iterdir()}
    assert os.getpid() not in pids
