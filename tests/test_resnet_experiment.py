"""Tests for numerics.experiments.resnet and ``advlandscape resnet`` (Y-T1, tables 5-6 machinery)
on tiny synthetic tensors: the record's structure, its internal consistency, and the CLI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from numerics.cli import main
from numerics.cli.resnet import config_from_args
from numerics.experiments.resnet import (
    ResNetExperimentConfig,
    _to_tensor,
    evidence_y_t1_deep,
    profile_config,
    run_resnet_experiment,
    run_resnet_seeds,
    seed_summary,
    write_resnet_result,
)
from numerics.experiments.resnet.seeds import unit_names
from numerics.experiments.units import Units
from numerics.ledger import checks_for, run_check
from numerics.records import read_checkpoint, read_result, write_result
from theory.claims import get_claim
from theory.errors import ConfigError, ResultExistsError

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny_config(**kw: object) -> ResNetExperimentConfig:
    cfg = profile_config("mnist", "ci")
    train = dataclasses.replace(cfg.train, width=2, image_size=8, num_classes=3, epochs=1,
                                batch_size=8, train_steps=2, eval_steps=3)
    base = dict(train=train, eps=(0.0, 0.2), n_train=0, n_test=0, hessian_samples=8,
                top_k=2, eig_tol=1e-3, power_iters=20, hutchinson_samples=3,
                landscape_points=3, landscape_samples=8, points_per_batch=3)
    base.update(kw)
    return dataclasses.replace(cfg, **base)


def _tiny_data() -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(24, 1, 8, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (24,), generator=g)
    return x[:16], y[:16], x[16:], y[16:]


def test_sweep_record_is_consistent(tmp_path: Path) -> None:
    cfg = _tiny_config(landscape_samples=16)
    res = run_resnet_experiment(cfg, _tiny_data(), progress=False)
    assert [r["eps"] for r in res["runs"]] == [0.0, 0.2]
    for r in res["runs"]:
        c = r["curvature"]
        assert c["n_samples"] == 8
        assert c["n_params"] > c["n_samples"]
        assert c["trace_samples"] == 3
        assert c["top_eigs"] == sorted(c["top_eigs"], reverse=True)
        # power iteration returns a Rayleigh quotient: never above the top eigenvalue
        assert c["power_top"] <= c["top_eigs"][0] * (1 + 1e-3) + 1e-12
        assert r["gap_robust"] == pytest.approx(
            r["train"]["robust_acc"] - r["test"]["robust_acc"])
        curve = r["landscape"]
        assert len(curve["loss"]) == 3
        assert curve["n_samples"] == 16
        assert curve["alpha"][1] == 0.0
        assert np.all(np.isfinite(curve["loss"]))
        assert r["train_config"]["eps"] == r["eps"]
    clean, adv = res["runs"]
    assert clean["train"]["robust_acc"] == clean["train"]["clean_acc"]
    # eps = 0: the landscape is not attacked, and at a = 0 on all 16 training images it is the
    # clean training loss and accuracy of the evaluation
    assert clean["landscape"]["loss"][1] == pytest.approx(clean["train"]["clean_loss"],
                                                          rel=1e-10)
    assert clean["landscape"]["accuracy"][1] == pytest.approx(clean["train"]["clean_acc"],
                                                              abs=1e-12)
    # eps > 0: re-attacked with the training PGD, the loss at a = 0 exceeds the clean one
    assert adv["landscape"]["loss"][1] > adv["train"]["clean_loss"]
    # madry step rule: 2.5 eps / K
    assert adv["train_config"]["step_size"] == pytest.approx(2.5 * 0.2 / 2)
    out = write_resnet_result(tmp_path / "r.json", cfg, res)
    record = read_result(out)
    assert record["config"]["train"]["width"] == 2
    assert record["provenance"]["profile"] == "ci"
    with pytest.raises(ResultExistsError):
        write_resnet_result(out, cfg, res)


def test_checkpoints_per_eps_and_resume(tmp_path: Path) -> None:
    cfg = _tiny_config(eps=(0.2,), power_iters=0, top_k=1)
    first = run_resnet_experiment(cfg, _tiny_data(), checkpoint_dir=tmp_path, progress=False)
    assert len(list(tmp_path.glob("*.pt"))) == 1
    again = run_resnet_experiment(cfg, _tiny_data(), checkpoint_dir=tmp_path, progress=False)
    assert again["runs"][0]["train"] == first["runs"][0]["train"]


def test_config_validation_and_profiles() -> None:
    with pytest.raises(ConfigError, match="dataset"):
        ResNetExperimentConfig(dataset="imagenet")
    with pytest.raises(ConfigError, match="holdout"):
        ResNetExperimentConfig(dataset="mnist", test_split="holdout")
    with pytest.raises(ConfigError, match="eps"):
        ResNetExperimentConfig(eps=())
    ci = profile_config("mnist", "ci")
    assert ci.eps == (0.0, 0.1, 0.2, 0.3)
    assert ci.train.in_channels == 1
    assert "NOT the paper" in ci.label
    gpu = profile_config("cifar10", "gpu")
    assert gpu.train.width == 64
    assert gpu.train.fast
    assert gpu.eps == pytest.approx(tuple(k / 255 for k in (0, 4, 8, 12, 16)))
    assert profile_config("svhn", "full").train.preset == "wu_svhn"


def test_to_tensor_layouts() -> None:
    gray = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    assert _to_tensor(gray).shape == (2, 1, 3, 3)
    rgb = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    rgb[0, 1, 2, 0] = 255
    t = _to_tensor(rgb)
    assert t.shape == (2, 3, 4, 4)
    assert t[0, 0, 1, 2] == 1.0


def test_cli_show_and_refusals(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = _tiny_config(eps=(0.0,), power_iters=0, top_k=1)
    res = run_resnet_experiment(cfg, _tiny_data(), progress=False)
    path = write_resnet_result(tmp_path / "r.json", cfg, res)
    assert main(["resnet", "show", str(path)]) == 0
    assert "0.00" in capsys.readouterr().out
    assert main(["resnet", "run", "--out", str(path)]) == 2  # exists, no --overwrite
    assert "--overwrite" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"x": 1}))
    assert main(["resnet", "show", str(bad)]) == 2


# --- the cpu profile: a seed sweep (Y-T1 (b), deep net) -----------------------------------


def test_cpu_profile_is_a_seed_sweep_in_float32_measured_in_float64() -> None:
    cpu = profile_config("mnist", "cpu")
    assert cpu.profile == "cpu"
    assert cpu.seeds == (0, 1, 2)
    assert cpu.eps == (0.0, 0.1, 0.2, 0.3)
    assert (cpu.train.model, cpu.train.in_channels, cpu.train.image_size) == ("resnet18", 1, 28)
    assert cpu.train.width < 64
    assert cpu.n_train > 0
    assert (cpu.train.dtype, cpu.curvature_dtype, cpu.train.device) == ("float32", "float64",
                                                                         "cpu")
    # the evaluation attack is the suite's default (every PGD start, the worst case per example)
    default = profile_config("mnist", "gpu").train
    assert cpu.train.eval_starts == default.eval_starts == ("none", "radius", "ball")
    assert cpu.train.eval_projection == default.eval_projection
    assert "not the paper's GPU scale" in cpu.label
    assert profile_config("mnist", "ci").profile == "ci"
    with pytest.raises(ConfigError, match="mnist only"):
        profile_config("cifar10", "cpu")
    with pytest.raises(ConfigError, match="seeds"):
        dataclasses.replace(cpu, seeds=(0, 0))
    with pytest.raises(ConfigError, match="curvature_dtype"):
        dataclasses.replace(cpu, curvature_dtype="float16")


def test_seed_sweep_units_resume_and_statistics(tmp_path: Path) -> None:
    base = _tiny_config(eps=(0.0, 0.2), power_iters=0, top_k=1)
    cfg = dataclasses.replace(base, seeds=(0, 1), curvature_dtype="float64",
                              train=dataclasses.replace(base.train, dtype="float32"))
    data = tuple(t.float() if t.is_floating_point() else t for t in _tiny_data())
    res = run_resnet_seeds(cfg, Units("resnet", cfg, 4, checkpoint_dir=tmp_path), data)
    assert res["seeds"] == [0, 1]
    # one unit per (eps, seed) in the units' checkpoint, each unit's epochs in its scratch folder
    saved = read_checkpoint(tmp_path / "resnet.ckpt").state["units"]
    assert list(saved) == unit_names(cfg) == ["0.0@0", "0.2@0", "0.0@1", "0.2@1"]
    assert len(list((tmp_path / "resnet.inner").glob("*.pt"))) == 4
    for s in res["per_seed"]:
        for r in s["runs"]:
            assert r["train_config"]["seed"] == s["seed"]
            assert r["curvature"]["dtype"] == "float64"
            c = r["curvature"]
            assert c["top_normalized"] == pytest.approx(c["top_eigs"][0] * c["weight_norm"] ** 2)
    # seeds drive the initialisation: different weights, different curvature
    tops = [[r["curvature"]["top_eigs"][0] for r in s["runs"]] for s in res["per_seed"]]
    assert tops[0] != tops[1]
    summary = res["summary"]
    for i, row in enumerate(summary["per_eps"]):
        assert row["top_eig"]["mean"] == pytest.approx(np.mean([t[i] for t in tops]))
        assert row["top_eig"]["n"] == 2
    # a rerun reads every unit back from its checkpoint: the same record
    again = run_resnet_seeds(cfg, Units("resnet", cfg, 4, checkpoint_dir=tmp_path,
                                        stop_after=0), data)  # no unit recomputed
    for s_again, s_first in zip(again["per_seed"], res["per_seed"], strict=True):
        for r_again, r_first in zip(s_again["runs"], s_first["runs"], strict=True):
            assert r_again["curvature"] == r_first["curvature"]
            assert r_again["train"] == r_first["train"]
    out = write_resnet_result(tmp_path / "r.json", cfg, res)
    record = read_result(out)
    assert record["provenance"]["profile"] == "ci"  # the tiny config's, not the environment's
    assert record["provenance"]["seeds"] == [0, 1]


def _seed_record(tmp_path: Path, tops: list[list[float]], name: str = "mnist_cpu.json",
                 eps: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3)) -> Path:
    """A synthetic cpu-profile record whose seed s has top eigenvalues ``tops[s]``."""
    cfg = profile_config("mnist", "cpu", seeds=tuple(range(len(tops))))
    per_seed = []
    for seed, values in enumerate(tops):
        runs = [{"eps": e, "curvature": {"top_eigs": [v, v / 2], "top_normalized": 10 * v,
                                         "weight_norm": 10 ** 0.5, "trace": 3 * v},
                 "train": {"clean_acc": 0.9, "robust_acc": 0.5},
                 "test": {"clean_acc": 0.8, "robust_acc": 0.4}, "gap_robust": 0.1}
                for e, v in zip(eps, values, strict=True)]
        per_seed.append({"seed": seed, "runs": runs, "seconds": 1.0})
    results = {"label": cfg.label, "data_note": "synthetic", "seeds": list(range(len(tops))),
               "per_seed": per_seed, "summary": seed_summary(per_seed), "n_train": cfg.n_train,
               "n_test": cfg.n_test}
    return write_result(tmp_path / name, cfg, results, profile="cpu")


def test_evidence_y_t1_deep_holds_on_an_increasing_record(tmp_path: Path) -> None:
    path = _seed_record(tmp_path, [[1, 2, 3, 4], [1, 3, 2, 5], [2, 2.5, 4, 6]])
    ev = evidence_y_t1_deep(path)
    assert ev.ran
    assert ev.passed
    assert ev.kind == "data"
    width = profile_config("mnist", "cpu").train.width
    scale = f"CPU scale: ResNet18 width {width} on"
    assert ev.summary.startswith(scale)
    assert "3 seeds; not the paper's GPU scale" in ev.summary
    assert any(c.startswith(scale) for c in ev.conditions)
    # seed 1 dips at eps 0.2: strictly increasing in 2 of 3 seeds, yet rank-positive in all
    assert "strictly increasing in 2 of 3 seeds" in ev.summary
    assert "Spearman > 0 in 3 of 3 seeds" in ev.summary
    assert ev.details["summary"]["per_eps"][0]["top_eig"]["mean"] == pytest.approx(4 / 3)


def test_evidence_y_t1_deep_fails_when_the_mean_or_a_seed_disagrees(tmp_path: Path) -> None:
    flat_mean = evidence_y_t1_deep(_seed_record(tmp_path, [[1, 2, 3, 4], [4, 3, 2, 1],
                                                           [1, 2, 3, 4]], "a.json"))
    assert flat_mean.ran
    assert not flat_mean.passed
    assert flat_mean.counterexample["per_seed"][1]["spearman"] == pytest.approx(-1.0)
    falling = evidence_y_t1_deep(_seed_record(tmp_path, [[4, 3, 2, 1]] * 3, "b.json"))
    assert not falling.passed
    assert "not increasing" in falling.summary
    constant = evidence_y_t1_deep(_seed_record(tmp_path, [[1, 1, 1, 1]] * 3, "c.json"))
    assert not constant.passed  # Spearman is undefined (NaN), never counted as positive


def test_evidence_y_t1_deep_absent_record_does_not_run(tmp_path: Path) -> None:
    ev = evidence_y_t1_deep(tmp_path / "missing.json")
    assert not ev.ran
    assert not ev.passed
    assert "--profile cpu" in ev.summary


def test_y_t1_data_evidence_reports_the_resnet_record_uncounted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Y-T1: the ledger's data evidence (numerics.experiments.mnist2.evidence_y_t1) names the CPU
    ResNet18 record beside its regimes, not counted (its nets under-fit), with its scale; its
    trend alone never decides the verdict."""
    from numerics.experiments import madry_cnn, mnist2
    from numerics.experiments.resnet import evidence as resnet_evidence

    (check,) = [c for c in checks_for("Y-T1", include_data=True) if c.kind == "data"]
    assert check.path == "numerics.experiments.mnist2.evidence:evidence_y_t1"
    monkeypatch.setattr(madry_cnn, "CPU_RESULT_FILE", tmp_path / "no_deep_record.json")
    verdicts = []
    for tops, name in (([[4, 3, 2, 1]] * 3, "falling.json"), ([[1, 2, 3, 4]] * 3, "rising.json")):
        monkeypatch.setattr(resnet_evidence, "CPU_RESULT_FILE", _seed_record(tmp_path, tops, name))
        ev = mnist2.evidence_y_t1()
        assert ev.ran
        verdicts.append(ev.passed)
        if ev.passed:
            resnet = [c for c in ev.conditions if c.startswith("not counted: ResNet18")]
            assert len(resnet) == 1
            assert "CPU scale" in resnet[0]
        assert ev.details["deep"] is None
        assert ev.passed == any(c.startswith("holds in the regime") for c in ev.conditions)
    assert verdicts[0] == verdicts[1]
    assert run_check(check).kind == "data"


def test_seed_summary_refuses_mismatched_budgets() -> None:
    runs = [{"eps": e, "curvature": {"top_eigs": [1.0], "trace": 1.0},
             "train": {"clean_acc": 1, "robust_acc": 1}, "test": {"clean_acc": 1,
                                                                  "robust_acc": 1},
             "gap_robust": 0} for e in (0.0, 0.1)]
    with pytest.raises(ConfigError, match="budgets"):
        seed_summary([{"seed": 0, "runs": runs}, {"seed": 1, "runs": runs[:1]}])


def test_cli_cpu_profile_and_seeds(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from numerics.cli import build_parser

    path = _seed_record(tmp_path, [[1, 2, 3, 4], [1, 3, 2, 5]])
    assert main(["resnet", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "strictly increasing in eps: 1 of 2 seeds" in out
    assert "Spearman > 0: 2 of 2 seeds" in out

    args = build_parser().parse_args(["resnet", "run", "--profile", "cpu", "--out", "x.json"])
    cfg = config_from_args(args)
    assert (cfg.profile, cfg.seeds, cfg.train.dtype) == ("cpu", (0, 1, 2), "float32")
    args = build_parser().parse_args(["resnet", "run", "--profile", "cpu", "--seeds", "3,4",
                                      "--device", "cpu", "--out", "x.json"])
    cfg = config_from_args(args)
    assert cfg.seeds == (3, 4)
    assert cfg.train.dtype == "float32"  # --device cpu keeps the cpu profile's precision


def test_ledger_figure_of_y_t1_draws_mnist2_not_the_deep_evidence(tmp_path: Path) -> None:
    from numerics.ledger import LedgerRow, Verdict
    from numerics.report.ledger_figures import y_t1_mnist2_series

    deep = evidence_y_t1_deep(_seed_record(tmp_path, [[1, 2, 3, 4]] * 3))
    row = LedgerRow(get_claim("Y-T1"), (deep,), Verdict.CONDITIONAL, 0.0)
    with pytest.raises(LookupError, match="mnist2"):
        y_t1_mnist2_series(row)


def test_y_t1_counts_a_gpu_record_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    """Y-T1's data evidence reads the GPU programme's CIFAR-10 record when it exists (here the
    committed CPU seed sweep stands in for it), names it, and judges it like the CPU sweep."""
    import numerics.experiments.resnet as resnet_pkg
    from numerics.experiments.mnist2.evidence import evidence_y_t1
    from numerics.experiments.resnet import CPU_RESULT_FILE

    without = evidence_y_t1()
    assert not any("ResNet18 on CIFAR-10 at GPU scale" in c for c in without.conditions)
    monkeypatch.setattr(resnet_pkg, "GPU_RESULT_FILE", CPU_RESULT_FILE)
    with_gpu = evidence_y_t1()
    gpu_rows = [c for c in with_gpu.conditions if "ResNet18 on CIFAR-10 at GPU scale" in c]
    assert len(gpu_rows) == 1
    verdict = resnet_pkg.evidence_y_t1_deep(CPU_RESULT_FILE)
    assert ("does NOT hold" in gpu_rows[0]) == (not verdict.passed)
    assert "ResNet18, CIFAR-10, GPU scale" in with_gpu.summary
