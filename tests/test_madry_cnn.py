"""Tests of the CPU deep study (numerics.experiments.madry_cnn): the fit rule, the scale-free
curvature, the trends over fitting models only, the evidence's scale, and a ci run's record."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from numerics.experiments import madry_cnn
from numerics.experiments.protocol import execute
from numerics.experiments.registry import get_study
from numerics.nets.models import MadryCNN, count_parameters
from theory.errors import ConfigError

CFG = madry_cnn.Config()


def test_madry_cnn_is_madrys_network_at_width_32() -> None:
    full = MadryCNN(width=32)
    # conv 1->32 5x5, conv 32->64 5x5, fc 7*7*64 -> 1024, fc 1024 -> 10 (Madry et al.'s MNIST net)
    expected = (25 * 32 + 32) + (25 * 32 * 64 + 64) + (49 * 64 * 1024 + 1024) + (1024 * 10 + 10)
    assert count_parameters(full) == expected
    assert count_parameters(MadryCNN(width=4)) < expected / 50


def test_fit_rule() -> None:
    assert madry_cnn.fit_verdict([0.2, 0.5, 0.7, 0.745, 0.75, 0.752], CFG)["fits"]
    still_rising = madry_cnn.fit_verdict([0.2, 0.5, 0.6, 0.65, 0.7], CFG)
    assert not still_rising["fits"]
    assert not still_rising["plateau"]
    stuck_low = madry_cnn.fit_verdict([0.1, 0.11, 0.11, 0.11, 0.11], CFG)
    assert not stuck_low["fits"]
    assert stuck_low["plateau"]
    assert not stuck_low["above_floor"]
    with pytest.raises(ConfigError, match="epochs"):
        madry_cnn.fit_verdict([0.9, 0.9], CFG)


def test_quadratic_curvature_recovers_a_parabola() -> None:
    a = np.linspace(-1, 1, 21)
    curve = {"alpha": a.tolist(), "loss": (0.3 + 0.1 * a + 2.5 * a ** 2 + 0.5 * a ** 6).tolist()}
    # the points |a| <= 0.2 see the parabola; the a^6 term is < 4e-5 there
    assert madry_cnn._quadratic_curvature(curve, 0.2) == pytest.approx(5.0, rel=0.02)


def _run(eps: float, seed: int, lam: float, fn: float, fits: bool = True) -> dict[str, Any]:
    return {"eps": eps, "seed": seed, "fit": {"fits": fits},
            "curvature": {"top_eigs": [lam], "top_normalized": lam * 10, "trace": lam * 3},
            "curvature_fn": fn}


def test_trends_count_only_fitting_models() -> None:
    runs = [_run(e, s, lam=1 + e + s, fn=2 - e) for s in (0, 1) for e in (0.0, 0.1, 0.2)]
    runs.append(_run(0.3, 0, lam=0.0, fn=9.0, fits=False))  # would break seed 0's increase
    runs.append(_run(0.3, 1, lam=5.0, fn=0.5))
    tr = madry_cnn.seed_trends({"runs": runs})
    assert (tr["fitting"], tr["models"]) == (7, 8)
    assert tr["lambda_1"]["increasing"]["k"] == 2
    assert tr["lambda_1"]["per_seed"][0]["eps"] == [0.0, 0.1, 0.2]
    assert tr["curvature_fn"]["increasing"]["k"] == 0
    assert tr["lambda_1"]["mean"][3] == pytest.approx(5.0)  # seed 1 alone at eps 0.3
    none_fit = madry_cnn.seed_trends({"runs": [dict(r, fit={"fits": False}) for r in runs]})
    assert not none_fit["lambda_1"]["mean_increasing"]
    assert math.isnan(none_fit["lambda_1"]["mean"][0])


def test_config_refuses_bad_values() -> None:
    with pytest.raises(ConfigError, match="fit_window"):
        madry_cnn.Config(epochs=2, fit_window=2, ramp_epochs=1)
    with pytest.raises(ConfigError, match="eps"):
        madry_cnn.Config(eps=(0.3, 0.1))
    with pytest.raises(ConfigError, match="curvature_range"):
        madry_cnn.Config(landscape_points=5, curvature_range=0.1)
    # Madry's step rule: 2.5 eps / steps, in training and at evaluation
    tcfg = CFG.train_config(0.3, 1)
    assert tcfg.step_size == pytest.approx(2.5 * 0.3 / CFG.train_steps)
    assert tcfg.eval_step_size == pytest.approx(2.5 * 0.3 / CFG.eval_steps)
    assert {a.start for a in tcfg.eval_attacks()} == {"none", "radius", "ball"}


@pytest.fixture(scope="module")
def ci_record(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    pytest.importorskip("torchattacks")
    from numerics.data import data_dir
    from numerics.records import read_result

    if not (data_dir() / "mnist" / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("MNIST not found (set ADVLANDSCAPE_DATA)")
    study = get_study("madry_cnn")
    cfg = study.config_for("ci")
    out = tmp_path_factory.mktemp("madry") / "mnist_ci.json"
    execute(study, cfg, out, progress=False, say=lambda _: None)
    return {"record": read_result(out), "path": out, "cfg": cfg}


def test_ci_record_holds_every_measurement(ci_record: dict[str, Any]) -> None:
    res, cfg = ci_record["record"]["results"], ci_record["cfg"]
    assert [(r["eps"], r["seed"]) for r in res["runs"]] == [(e, s) for s in cfg.seeds
                                                           for e in cfg.eps]
    for r in res["runs"]:
        assert len(r["history"]) == cfg.epochs
        assert all(0 <= h["curve_robust_acc"] <= h["curve_clean_acc"] + 1e-12 or r["eps"] > 0
                   for h in r["history"])
        for split in ("train", "test"):
            m = r[split]
            assert m["apgd_robust_acc"] <= m["clean_acc"] + 1e-12
            assert m["robust_acc"] <= m["clean_acc"] + 1e-12
            assert m["pgd_minus_apgd"] == pytest.approx(m["robust_acc"] - m["apgd_robust_acc"])
        assert len(r["curvature"]["top_eigs"]) == cfg.top_k
        assert len(r["landscape"]["loss"]) == cfg.landscape_points
        assert math.isfinite(r["curvature_fn"])
        if r["eps"] == 0:  # no attack: robust is clean, under both attacks
            assert r["train"]["robust_acc"] == r["train"]["apgd_robust_acc"] == \
                r["train"]["clean_acc"]
    assert res["not_fitting"] == [{"eps": r["eps"], "seed": r["seed"], **r["fit"]}
                                  for r in res["runs"] if not r["fit"]["fits"]]
    assert "models fit" in madry_cnn.judge(res)


def test_evidence_names_its_scale(ci_record: dict[str, Any], tmp_path: Path) -> None:
    ev = madry_cnn.evidence_y_t1_deep(ci_record["path"])
    assert ev.ran
    assert "CPU scale" in ev.summary
    assert "not the paper's ResNet18" in ev.summary
    assert "models fit" in ev.summary
    missing = madry_cnn.evidence_y_t1_deep(tmp_path / "none.json")
    assert not missing.ran
    assert "advlandscape study madry_cnn" in missing.summary


def test_ci_scale_is_small() -> None:
    ci = get_study("madry_cnn").config_for("ci")
    assert ci.n_train < CFG.n_train
    assert ci.profile == "ci"


def _record(tmp_path: Path, fns: list[list[float]], name: str, fits: bool = True,
            lam_sign: float = 1.0) -> Path:
    """A synthetic full-scale record whose seed s has landscape curvatures ``fns[s]`` (and top
    eigenvalues ``lam_sign * fns[s]``, shifted positive)."""
    from numerics.records import write_result

    cfg = madry_cnn.Config(seeds=tuple(range(len(fns))))
    runs = [dict(_run(e, s, lam=10 + lam_sign * v, fn=v, fits=fits),
                 fit={"fits": fits, "rule": "r"})
            for s, values in enumerate(fns) for e, v in zip(cfg.eps, values, strict=True)]
    results = {"label": cfg.label, "n_train": cfg.n_train, "n_test": cfg.n_test, "runs": runs}
    return write_result(tmp_path / name, cfg, results, profile="full")


def test_y_t1_ledger_reads_the_deep_nets_that_fit(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The ledger's Y-T1 data evidence (numerics.experiments.mnist2.evidence_y_t1) reads this
    study's record as its deep regime, named with its scale: a falling trend is a condition
    "does NOT hold", a rising one decides "holds"; a record whose nets do not fit counts
    nothing."""
    from numerics.experiments import mnist2

    monkeypatch.setattr(madry_cnn, "CPU_RESULT_FILE",
                        _record(tmp_path, [[4, 3, 2, 1]] * 3, "falling.json"))
    ev = mnist2.evidence_y_t1()
    deep = [c for c in ev.conditions if c.startswith("deep nets that fit")]
    assert ev.details["deep"]["passed"] is False
    assert all("does NOT hold" in c and "CPU scale" in c for c in deep)
    assert ev.passed == any(c.startswith("holds in the regime") for c in ev.conditions)
    monkeypatch.setattr(madry_cnn, "CPU_RESULT_FILE",
                        _record(tmp_path, [[1, 2, 3, 4], [1, 3, 2, 5], [2, 3, 4, 6]], "up.json"))
    ev = mnist2.evidence_y_t1()
    assert ev.passed
    assert any(c.startswith("deep nets that fit") and ": holds:" in c for c in ev.conditions)
    unfit = madry_cnn.evidence_y_t1_deep(_record(tmp_path, [[1, 2, 3, 4]] * 3, "unfit.json",
                                                 fits=False))
    assert not unfit.passed
    assert "0 of 12 models fit" in unfit.summary
    # the verdict rests on the landscape's curvature; a falling raw lambda_1 is a condition
    split = madry_cnn.evidence_y_t1_deep(_record(tmp_path, [[1, 2, 3, 4]] * 3, "split.json",
                                                 lam_sign=-1.0))
    assert split.passed
    assert "raw lambda_1 (" in split.summary
    assert any("does NOT increase" in c for c in split.conditions)
