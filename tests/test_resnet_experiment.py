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
from numerics.experiments.resnet import (
    ResNetExperimentConfig,
    _to_tensor,
    profile_config,
    run_resnet_experiment,
    write_resnet_result,
)
from numerics.results import read_result
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
