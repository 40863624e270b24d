"""The GPU programme (``advlandscape gpu``): its smoke run end to end, the skip on rerun, the data
pack's size limit and manifest, the plan in the help, and its imports on the GPU machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from numerics.cli import main
from numerics.gpu import plan
from numerics.gpu.pack import LIMIT_BYTES, make_pack, verify_pack
from numerics.gpu.runner import run_programme
from numerics.records import REPO_ROOT, read_result
from theory.errors import ConfigError, DataError

#: Modules the project uses elsewhere that the GPU machine lacks (it has Python, torch, numpy,
#: scipy, sympy, matplotlib, tqdm, pyyaml and scikit-learn only).
ABSENT_ON_GPU = ("ray", "z3", "nbformat", "nbclient", "nbconvert", "jupytext", "ipykernel",
                 "jupyterlab", "notebook", "jupyter_client", "jupyter_core", "IPython", "pytest",
                 "nbval", "hypothesis", "torchattacks", "autoattack", "art", "requests",
                 "charset_normalizer")

# sys.modules[name] = None: importing it fails as if absent, importlib.util.find_spec says None
_GUARD = """
import runpy, sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None
sys.argv = ["numerics.gpu", *sys.argv[2:]]
runpy.run_module("numerics.gpu", run_name="__main__")
"""


def _guarded(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m numerics.gpu ARGS`` in a process where ABSENT_ON_GPU cannot be imported."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-c", _GUARD, ",".join(ABSENT_ON_GPU), *args],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """One smoke run of every stage (data: the data root) without the absent modules."""
    from numerics.data.paths import data_dir

    root = data_dir()
    if not (root / "cifar10" / "cifar10_train_part1.npz").is_file():
        pytest.skip(f"CIFAR-10 training part 1 not found in {root}/cifar10 (set "
                    "ADVLANDSCAPE_DATA)")
    out = tmp_path_factory.mktemp("gpu") / "out"
    done = _guarded("--smoke", "--out", str(out), "--data", str(root))
    assert done.returncode == 0, done.stderr[-3000:]
    return out, root, done.stdout


def test_smoke_runs_every_stage_into_its_record(smoke: tuple[Path, Path, str]) -> None:
    out, _, stdout = smoke
    for stage in plan.STAGES:
        record = read_result(out / stage.record)  # digest checked
        assert f"stage {stage.number} {stage.name}: done" in stdout
        assert record["provenance"]["device"].startswith("cpu")
    env = read_result(out / "gpu_environment.json")["results"]
    assert env["bf16_tflops"] > 0
    assert env["torch"]
    fastpath = read_result(out / "gpu_fastpath.json")["results"]
    assert set(fastpath["checks"]) >= {"one_batch_pgd_loss_rel", "test_robust_acc_abs"}
    assert fastpath["runs"]["fast"]["config"]["fast"] is True
    bench = read_result(out / "gpu_benchmark.json")["results"]
    assert len(bench["top_eigs"]) == 3
    assert bench["hvp_over_grad"] > 0
    for name, dataset in (("mnist_gpu.json", "mnist"), ("cifar10_gpu.json", "cifar10")):
        record = read_result(out / name)
        assert record["provenance"]["study"] == "resnet"
        assert record["config"]["dataset"] == dataset
        assert record["config"]["train"]["fast"]
        eps = [r["eps"] for r in record["results"]["per_seed"][0]["runs"]]
        assert eps == list(plan.STAGES[3 if dataset == "mnist" else 4].smoke["eps"])
        assert (out / name.replace(".json", "_figure4.png")).stat().st_size > 0
    assert "| 8/255 |" in (out / "cifar10_gpu_tables.md").read_text()
    pas = read_result(out / "pas_resnet18_gpu.json")
    assert {r["schedule"] for r in pas["results"]["rows"]} == {"pas", "fixed"}


def test_rerun_skips_every_stage_whose_record_exists(smoke: tuple[Path, Path, str]) -> None:
    out, root, _ = smoke
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    lines: list[str] = []
    report = run_programme((1, 2, 3, 4, 5, 6), out=out, smoke=True, data=str(root),
                           say=lines.append)
    assert {r["status"] for r in report.values()} == {"skipped"}
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    (out / "gpu_environment.json").unlink()
    report = run_programme((1, 3), out=out, smoke=True, data=str(root), say=lines.append)
    assert report[1]["status"] == "ran"
    assert report[3]["status"] == "skipped"
    assert (out / "gpu_environment.json").is_file()


def test_smoke_refuses_results_and_the_gpu_sizes_refuse_the_cpu(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="results/"):
        run_programme((1,), out=REPO_ROOT / "results" / "resnet", smoke=True)
    with pytest.raises(ConfigError, match="--smoke"):
        run_programme((1,), out=tmp_path, smoke=False, device="cpu")


def test_pack_over_the_limit_is_refused_before_copying(tmp_path: Path) -> None:
    from numerics.data.paths import data_dir

    root = data_dir()
    if not (root / "cifar10" / "cifar10_train_part2.npz").is_file():
        pytest.skip(f"CIFAR-10 training parts not found in {root}/cifar10")
    with pytest.raises(ConfigError, match=r"over the 64\.0 MiB"):  # 67.6 MiB with MNIST
        make_pack(tmp_path / "p", parts=(1, 2), mnist=True, tree=None)
    with pytest.raises(ConfigError, match="working tree"):  # 56.6 MiB + a 10 MiB tree
        make_pack(tmp_path / "p", parts=(1, 2), mnist=False, tree=10 * 2 ** 20)
    assert not (tmp_path / "p").exists()
    assert LIMIT_BYTES == 64 * 2 ** 20


def test_pack_is_verified_against_its_manifest(tmp_path: Path, data_root: Path) -> None:
    pack = tmp_path / "pack"
    make_pack(pack, parts=(), mnist=True, tree=None, say=lambda _: None)
    assert len(verify_pack(pack)["files"]) == 4
    with pytest.raises(ConfigError, match="not empty"):
        make_pack(pack, parts=(), mnist=True, tree=None, say=lambda _: None)
    label = pack / "mnist" / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(label.read_bytes())
    data[-1] ^= 1
    label.write_bytes(bytes(data))
    with pytest.raises(DataError, match="differs from its manifest"):
        verify_pack(pack)


def test_help_shows_the_plan_and_every_run_fits(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["gpu", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    docs = (REPO_ROOT / "docs" / "gpu.md").read_text()
    for line in plan.format_plan().splitlines():
        assert line in text
        assert line in docs, "docs/gpu.md shows another plan: paste format_plan()'s"
    assert "--stages 1,2,3,4" in text
    assert "--stages 5,6" in text
    plan.check_plan()  # every run within HEADROOM of its 8 minutes
    assert sorted(n for stages in plan.RUNS.values() for n in stages) == [1, 2, 3, 4, 5, 6]
    assert all(plan.estimate_seconds(s.number) > 0 for s in plan.STAGES)


def test_the_programme_imports_without_the_modules_the_gpu_lacks() -> None:
    """The help (the plan) runs where ABSENT_ON_GPU cannot be imported (the smoke fixture runs
    every stage so too)."""
    done = _guarded("--help", timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "run 2: --stages 5,6" in done.stdout  # the plan: every stage module's config
    with pytest.raises(ConfigError, match="no stage 9"):
        plan.parse_stages("1,9")
