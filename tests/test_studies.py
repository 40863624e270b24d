"""Tests of the Kanai/Liu data studies (K-SMOOTH, L-BUDGET, L-FINDINGS).

The verdict functions are tested on records computed here at a tiny scale and on the committed
records in results/liu_kanai/; the threshold is tested against its definition (subgradient
optimality at w = 0).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch

from numerics.experiments import (
    budget,
    findings,
    mnist2,
    pas,
    registry,
    sensitivity,
    smoothness,
    units,
)
from numerics.linear.bounds import budget_threshold
from numerics.ops import robust_loss, robust_loss_and_grad
from numerics.records import load_checkpoint
from theory.errors import ConfigError, ResultExistsError


def _toy(n: int = 60, d: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=gen, dtype=torch.float64)
    y = torch.where(torch.rand(n, generator=gen, dtype=torch.float64) < 0.6, 1.0, -1.0)
    x = x + 0.3 * y[:, None]
    return x, y.to(torch.float64)


@pytest.mark.parametrize("norm", ["l2", "linf"])
@pytest.mark.parametrize("bias", [False, True])
def test_threshold_is_the_subgradient_condition(norm: str, bias: bool) -> None:
    """L-BUDGET: just above eps* no direction decreases L_eps from w_f = 0; just below one does."""
    x, y = _toy()
    eps_star = budget_threshold(x, y, norm, bias)
    xb = torch.cat([x, torch.ones(x.shape[0], 1, dtype=x.dtype)], 1) if bias else x
    w0 = torch.zeros(xb.shape[1], dtype=x.dtype)
    if bias:
        pi = float((y > 0).double().mean())
        w0[-1] = math.log(pi / (1 - pi))
    # the steepest direction of the clean part: g (p = 2) or sign(g) on the argmax set (p = inf)
    s = torch.sigmoid(-y * (xb @ w0))
    g = (s[:, None] * y[:, None] * x).mean(0)
    if norm == "l2":
        direction = g / g.norm()
    else:  # p = inf: only the coordinate of the largest |g_i| can move first
        direction = torch.zeros_like(g)
        i = int(g.abs().argmax())
        direction[i] = torch.sign(g[i])
    if bias:
        direction = torch.cat([direction, torch.zeros(1, dtype=x.dtype)])
    t = 1e-6
    for factor, sign in ((1.02, 1), (0.98, -1)):
        eps = factor * eps_star
        l0 = robust_loss(w0, xb, y, eps, norm, bias).mean()
        l1 = robust_loss(w0 + t * direction, xb, y, eps, norm, bias).mean()
        assert sign * float(l1 - l0) > 0


def test_robust_loss_grad_matches_finite_differences() -> None:
    x, y = _toy()
    w = torch.randn(5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    val, g = robust_loss_and_grad(w, x, y, 0.2, "l2")
    h = 1e-6
    for i in range(5):
        e = torch.zeros(5, dtype=torch.float64)
        e[i] = h
        fd = (robust_loss_and_grad(w + e, x, y, 0.2, "l2")[0]
              - robust_loss_and_grad(w - e, x, y, 0.2, "l2")[0]) / (2 * h)
        assert fd == pytest.approx(float(g[i]), rel=1e-6, abs=1e-9)
    assert val > 0


def test_configs_reject_bad_values() -> None:
    with pytest.raises(ConfigError, match="radii"):
        smoothness.SmoothnessConfig(radii=(1.0, -1.0))
    with pytest.raises(ConfigError, match="ratios"):
        budget.BudgetConfig(ratios=())
    with pytest.raises(ConfigError, match="lrs"):
        pas.PASConfig(lrs=(0.1, 0.0))
    with pytest.raises(ConfigError, match="seeds"):
        pas.PASConfig(seeds=())
    with pytest.raises(ConfigError, match="unknown study"):
        registry.config_for("nope", "ci")


def test_full_profile_changes_sizes_only() -> None:
    ci, full = registry.config_for("pas", "ci"), registry.config_for("pas", "full")
    assert full.n_train > ci.n_train
    assert (full.profile, ci.profile) == ("full", "ci")
    assert full.eps == ci.eps


@pytest.fixture(scope="module")
def smoothness_results(data_root: Path) -> dict:
    cfg = registry.config_for("smoothness", "ci", n_samples=200, radii=(1.0, 1e-2, 1e-5),
                        linf_steps=(1e-3, 1e-5, 1e-6), n_directions=2, n_coordinates=3,
                        opt_iters=60)
    return smoothness.run_smoothness(cfg)


def test_k_smooth_l2_ratios_below_bound_and_blow_up(smoothness_results: dict) -> None:
    """K-SMOOTH (p = 2): measured ratios <= A + eps/r, and ratio * r / eps -> 1/2 as r -> 0."""
    rows = smoothness_results["l2"]["rows"]
    assert all(r["ratio"] <= r["bound"] for r in rows)
    small = [r for r in rows if r["r"] == 1e-5]
    assert all(abs(r["ratio_r_over_eps"] - 0.5) < 0.02 for r in small)
    big = max(r["ratio"] for r in rows if r["r"] == 1.0)
    assert min(r["ratio"] for r in small) > 1e3 * big


def test_k_smooth_linf_jump(smoothness_results: dict) -> None:
    """K-SMOOTH (p = inf): the gradient jump across w_i = 0 tends to 2 eps mean s(-m)."""
    rows = smoothness_results["linf"]["rows"]
    assert max(r["rel_err_jump"] for r in rows if r["h"] == 1e-6) < 1e-3
    ev = smoothness.judge_smoothness(smoothness_results)
    assert ev.passed, ev.summary


def test_k_smooth_judge_fails_on_a_broken_record(smoothness_results: dict) -> None:
    broken = json.loads(json.dumps(smoothness_results))
    broken["l2"]["rows"][0]["ratio"] = 10 * broken["l2"]["rows"][0]["bound"]
    assert not smoothness.judge_smoothness(broken).passed


def test_judge_budget_detects_a_collapse_below_the_threshold() -> None:
    """L-BUDGET verdict: a record where w_f vanishes below eps* fails."""
    rows = [
        {"norm": "l2", "bias": False, "ratio": 0.5, "w_norm": 1.0, "loss_minus_reference": -0.1},
        {"norm": "l2", "bias": False, "ratio": 2.0, "w_norm": 1e-6, "loss_minus_reference": 0.0},
    ]
    good = {"thresholds": {"l2": 3.0}, "exact": rows, "box": {},
            "gradient_bound": {"max_ratio": 0.4, "pairs": 8}}
    assert budget.judge_budget(good).passed
    bad = json.loads(json.dumps(good))
    bad["exact"][0]["w_norm"] = 1e-7
    assert not budget.judge_budget(bad).passed
    worse = json.loads(json.dumps(good))
    worse["gradient_bound"]["max_ratio"] = 1.5
    assert not budget.judge_budget(worse).passed


def test_judge_pas_and_findings_compute_verdicts() -> None:
    rows = [{"schedule": k, "lr": lr, "robust_acc": a}
            for k, accs in (("pas", (0.6, 0.62, 0.61)), ("fixed", (0.3, 0.6, 0.1)))
            for lr, a in zip((0.01, 0.1, 1.0), accs, strict=True)]
    seed1 = [dict(r, seed=1, robust_acc=r["robust_acc"] + 0.01) for r in rows]
    table = pas.pas_table({"rows": rows + seed1})
    assert table["pas"][0.1]["robust_acc"] == pytest.approx(0.625)
    assert table["fixed"][1.0]["seeds"] == 2
    verdict = pas.judge_pas({"rows": rows})
    assert verdict["better"]
    assert verdict["less_sensitive"]
    swapped = [dict(r, schedule="fixed" if r["schedule"] == "pas" else "pas") for r in rows]
    assert not pas.judge_pas({"rows": swapped})["better"]
    mlp = [{"eps": e, "escape_iter": it, "grad_norm": g, "top_eig": h, "iterations": 100}
           for e, it, g, h in ((0, 5, 0.1, 1.0), (0.1, 9, 0.15, 1.5), (0.2, 20, 0.2, 2.0),
                               (0.4, None, 0.01, 0.1))]
    res = {"mlp": mlp, "logistic": {"rows": [dict(r) for r in mlp]}}
    judged = findings.judge_findings(res)
    assert all(v["holds"] for v in judged["mlp"].values())
    assert judged["mlp"]["sharpness"]["runs"] == 3  # the stuck run is not a minimum
    res["mlp"][2]["top_eig"] = 0.0
    res["mlp"][1]["top_eig"] = 0.5
    assert not findings.judge_findings(res)["mlp"]["sharpness"]["holds"]
    res["mlp"][0]["escape_iter"] = None
    assert not findings.judge_findings(res)["mlp"]["escape"]["holds"]


def test_evidence_without_results_does_not_run(tmp_path: Path) -> None:
    for func in (smoothness.evidence_k_smooth, budget.evidence_l_budget,
                 findings.evidence_l_findings):
        ev = func(results_dir=tmp_path)
        assert not ev.ran
        assert "advlandscape study" in ev.summary


@pytest.mark.parametrize(
    ("func", "files"),
    [(smoothness.evidence_k_smooth, ("smoothness",)), (budget.evidence_l_budget, ("budget",)),
     (findings.evidence_l_findings, ("findings", "pas"))],
)
def test_committed_results_give_computed_evidence(func: object, files: tuple[str, ...]) -> None:
    """The committed records (K-SMOOTH, L-BUDGET, L-FINDINGS) are present and support their
    claims: the evidence ran and passed, without a counterexample."""
    assert all((units.RESULTS_ROOT / f / f"{f}.json").exists() for f in files)
    ev = func()  # type: ignore[operator]
    assert ev.ran
    assert ev.kind == "data"
    assert ev.passed, ev.summary
    assert ev.counterexample is None


def test_cli_refuses_to_overwrite(tmp_path: Path) -> None:
    import argparse

    from numerics.cli import main
    from numerics.cli.liu_kanai import run

    out = tmp_path / "s.json"
    out.write_text("{}")
    args = argparse.Namespace(study="smoothness", profile="ci", seed=0, out=out,
                              overwrite=False, no_progress=True)
    with pytest.raises(ResultExistsError):
        run(args)
    assert main(["liu-kanai", "smoothness", "--out", str(out), "--no-progress"]) == 2


def test_pas_config_records_its_schedules() -> None:
    cfg = pas.PASConfig(lrs=(0.1,), epochs=2, periods=2)
    periodic, fixed = cfg.schedule("pas", 0.1), cfg.schedule("fixed", 0.1)
    assert periodic(0.0).eps == 0.0
    assert fixed(0.0).eps == cfg.eps
    assert dataclasses.asdict(periodic)["periods"] == 2


def test_budget_study_collapses_exactly_above_threshold_on_a_small_run(data_root: Path) -> None:
    """L-BUDGET on 150 MNIST2 points: L-inf (split form) lands on w_f = 0 exactly above eps*,
    and below it training beats the trivial model."""
    cfg = budget.BudgetConfig(n_samples=150, ratios=(0.5, 1.5), steps=150, box_eps_l2=(1.0,),
                          box_eps_linf=(0.1,), box_train_steps=5, pgd_steps=2)
    res = budget.run_budget(cfg)
    for r in res["exact"]:
        if r["ratio"] < 1:
            assert r["loss_minus_reference"] < -1e-6
        elif r["norm"] == "linf":
            assert r["w_norm"] == 0.0
        else:
            assert r["loss_minus_reference"] > -1e-8
    assert res["gradient_bound"]["max_ratio"] <= 1.0
    assert set(res["box"]) == {"l2", "linf"}


def test_findings_and_pas_studies_run_and_record_what_they_measure(data_root: Path) -> None:
    """L-FINDINGS: a minimal run of both studies gives finite, well-formed measurements."""
    fcfg = findings.FindingsConfig(eps_grid=(0.0, 0.1), n_train=100, epochs=1, batch_size=50,
                             n_hessian=40, logistic_ratios=(0.0, 0.5), logistic_n=100,
                             logistic_steps=20, pgd_steps=2)
    fres = findings.run_findings(fcfg)
    assert [r["eps"] for r in fres["mlp"]] == [0.0, 0.1]
    for r in fres["mlp"] + fres["logistic"]["rows"]:
        assert math.isfinite(r["grad_norm"])
        assert r["grad_norm"] >= 0
        assert math.isfinite(r["top_eig"])
    pcfg = pas.PASConfig(lrs=(0.05,), epochs=1, periods=1, n_train=100, n_test=50, pgd_steps=2,
                        eval_steps=2, seeds=(0,))
    pres = pas.run_pas(pcfg)
    assert {r["schedule"] for r in pres["rows"]} == {"pas", "fixed"}
    for r in pres["rows"]:
        assert 0.0 <= r["robust_acc"] <= r["clean_acc"] + 0.1
        assert r["schedule_config"]["eps_target"] == pcfg.eps


# ---------------------------------------------------------------------------------------------
# Checkpoint and resume (K-SMOOTH, L-BUDGET, L-FINDINGS studies)

TINY = {
    "smoothness": dict(n_samples=60, radii=(1.0, 1e-3), linf_steps=(1e-3,), n_directions=1,
                       n_coordinates=2, opt_iters=10),
    "budget": dict(n_samples=60, ratios=(0.5, 1.5), steps=4, box_eps_l2=(1.0, 3.0),
                   box_eps_linf=(0.1,), box_train_steps=3, pgd_steps=2),
    "findings": dict(eps_grid=(0.0, 0.1), n_train=60, hidden=(8,), epochs=1, batch_size=30,
                     n_hessian=20, logistic_ratios=(0.0, 0.5), logistic_n=60, logistic_steps=10,
                     pgd_steps=2),
    "pas": dict(lrs=(0.05, 0.2), epochs=1, periods=1, n_train=60, n_test=30, hidden=(8,),
                batch_size=30, pgd_steps=2, eval_steps=2, seeds=(0, 1)),
    "sensitivity": dict(settings=("adam-lr-1e-2", "sgd"), seeds=(0, 1), tables=(1, 2), n_train=200,
                        n_test=100),
}


def _same(a: dict, b: dict) -> bool:
    """Exact equality of two results dicts (NaN equal to NaN, every float to the last bit)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("study", ["smoothness", "budget", "findings", "pas", "sensitivity"])
def test_interrupted_after_every_unit_resumes_bit_identical(
        study: str, tmp_path: Path, data_root: Path) -> None:
    """K-SMOOTH, L-BUDGET, L-FINDINGS studies: interrupted after each unit of work and resumed
    from the checkpoint every time, a study gives exactly the results of an uninterrupted run
    (each unit seeded from the config, not from a generator advanced by earlier units)."""
    cfg = registry.config_for(study, "ci", **TINY[study])
    straight = registry.run_study(study, cfg, progress=False)
    ckpt = units.checkpoint_path(study, tmp_path)
    interruptions, done = 0, []
    while True:
        try:
            resumed = registry.run_study(study, cfg, checkpoint_dir=tmp_path,
                                   stop_after=1)
            break
        except KeyboardInterrupt:
            interruptions += 1
            done.append(len(load_checkpoint(ckpt)["units"]))
    assert interruptions >= 1
    assert done == list(range(1, interruptions + 1))  # one new unit per call, none lost
    assert _same(resumed, straight)
    # a complete checkpoint is reused as it is: nothing left to compute
    assert _same(registry.run_study(study, cfg, checkpoint_dir=tmp_path,
                              stop_after=0), straight)


@pytest.mark.usefixtures("one_thread")
def test_checkpoint_of_another_config_is_ignored(tmp_path: Path, data_root: Path) -> None:
    """L-BUDGET: a checkpoint holding a planted unit is used under its own config only."""
    from numerics.records import save_checkpoint

    cfg = registry.config_for("budget", "ci", **TINY["budget"])
    other = dataclasses.replace(cfg, steps=cfg.steps + 1)
    with pytest.raises(KeyboardInterrupt):
        registry.run_study("budget", cfg, checkpoint_dir=tmp_path, stop_after=1)
    ckpt = units.checkpoint_path("budget", tmp_path)
    state = load_checkpoint(ckpt)
    (name,) = state["units"]
    series = list(state["units"][name])  # the first exact series: one row per ratio
    state["units"][name] = [dict(series[0], w_norm=-123.0), *series[1:]]  # a planted value
    save_checkpoint(ckpt, state)
    # under its own config the planted unit is taken (so the checkpoint is really read) ...
    planted = [r["w_norm"] for r in registry.run_study("budget", cfg,
                                                  checkpoint_dir=tmp_path)["exact"]]
    assert -123.0 in planted
    save_checkpoint(ckpt, state)  # ... and under another config it is not
    res = registry.run_study("budget", other, checkpoint_dir=tmp_path)
    assert -123.0 not in [r["w_norm"] for r in res["exact"]]
    assert _same(res, registry.run_study("budget", other, progress=False))
    assert "steps=5" in load_checkpoint(ckpt)["key"]  # replaced by the new config's units


# The MNIST2 sensitivity study (Y-T1, Y-T2 under the hyperparameters the paper lost)

@pytest.mark.usefixtures("one_thread")
def test_sensitivity_study_counts_what_it_reports(data_root: Path) -> None:
    """Y-T1, Y-T2: every setting is an MNIST2 run under its overrides (the base setting is
    exactly ``mnist2.run_table``); "reproduced" counts the rows whose paper train and test
    accuracies lie in the seed interval; the judgement splits the settings into holds / fails."""
    cfg = registry.config_for("sensitivity", "ci", **TINY["sensitivity"])
    res = registry.run_study("sensitivity", cfg, progress=False)
    assert set(res["settings"]) == {"adam-lr-1e-2", "sgd"}
    assert res["settings"]["sgd"]["train"]["optimizer"] == "sgd"
    assert res["settings"]["adam-lr-1e-2"]["train"]["optimizer"] == "adam"
    mcfg = sensitivity.setting_config(cfg, "adam-lr-1e-2")
    direct = mnist2.run_table(1, mcfg, mnist2.load_data(mcfg), seed=1)
    stored = res["settings"]["adam-lr-1e-2"]["tables"]["1"]["per_seed"][1]
    kept = [{k: r[k] for k in stored["rows"][0]} for r in direct["rows"]]
    assert _same(stored["rows"], kept)  # the study keeps these fields of each run, unchanged
    assert set(stored["rows"][0]) == {"eps", "label", "train_acc", "test_acc", "gap",
                                      "exact_test"}
    # the study measures robust accuracy by the exact worst case (eval_method="exact")
    assert all(r["test_acc"] == r["exact_test"] for r in direct["rows"])
    assert direct["eval_attack"][0]["kind"] == "exact"
    sgd_rows = res["settings"]["sgd"]["tables"]["1"]["per_seed"][1]["rows"]
    assert not _same(sgd_rows, direct["rows"])  # the override reached the trainer
    for name, setting in res["settings"].items():
        for key, table in setting["tables"].items():
            inside = sum(  # the paper's value as printed, +- 0.005, meets the seed interval
                all(row["stats"][f]["ci95"][0] <= row["paper"][f] + 0.005
                    and row["paper"][f] - 0.005 <= row["stats"][f]["ci95"][1]
                    for f in ("train_acc", "test_acc")) for row in table["rows"])
            got = setting["summary"]["reproduced"][key]["early_stopped"]
            assert (got["rows"], got["of"]) == (inside, len(table["rows"]))
            assert res["judgement"]["reproduced"][name][key] == inside
    for claim in ("y_t1", "y_t2"):
        split = res["judgement"][claim]
        assert sorted(split["holds_in"] + split["fails_in"]) == ["adam-lr-1e-2", "sgd"]
        for name in split["holds_in"]:
            assert res["settings"][name]["summary"][claim]["holds"] is True
    line = registry.get_study("sensitivity").judge(res)
    assert "Y-T1 (b) holds in" in line
    assert "most rows reproduced" in line


def test_sensitivity_config_refuses_unknown_settings() -> None:
    with pytest.raises(ConfigError, match="unknown settings"):
        sensitivity.SensitivityConfig(settings=("adam-lr-1e-2", "rmsprop"))
    with pytest.raises(ConfigError, match="seeds"):
        sensitivity.SensitivityConfig(seeds=(0, 0))


def test_sensitivity_madry_setting_scales_madrys_step() -> None:
    """The madry setting: Adam lr 1e-4, batch 50, PGD-40 whose step is Madry et al.'s 0.01 at
    eps = 0.3 and eps / 30 at every other budget, in both norms; the other training settings
    are the base's."""
    cfg = sensitivity.SensitivityConfig()
    mcfg = sensitivity.setting_config(cfg, "madry")
    assert (mcfg.train.optimizer, mcfg.train.lr, mcfg.train.batch_size) == ("adam", 1e-4, 50)
    assert mcfg.train.epochs == sensitivity.BASE_TRAIN.epochs
    attack = mcfg.train_attack
    assert attack.steps == 40
    assert attack.step_factor * 0.3 / attack.steps == pytest.approx(0.01, rel=1e-12)
    for eps in (0.1, 2.0, 76.5 / 255):
        assert attack.step_factor * eps / attack.steps == pytest.approx(eps / 30, rel=1e-12)
    assert (attack.start, attack.projection) == (mnist2.TRAIN_PGD.start,
                                                 mnist2.TRAIN_PGD.projection)


def test_sensitivity_names_the_suite_default() -> None:
    """The setting :func:`suite_default` names trains exactly as the suite's MNIST2 default."""
    name = sensitivity.suite_default()
    assert name in sensitivity.SETTINGS
    full = mnist2.config_for("full")
    mcfg = sensitivity.setting_config(sensitivity.SensitivityConfig(), name)
    assert (mcfg.train, mcfg.train_attack) == (full.train, full.train_attack)


def test_budget_thresholds_are_mnist2_s_own(data_root: Path) -> None:
    """L-BUDGET: the committed record states eps* on all 12,665 MNIST2 training images, equal
    to budget_threshold recomputed here; with a bias the L2 threshold is larger, as the bias
    absorbs the class imbalance."""
    every = units.load_record("budget", None)["results"]["thresholds_all"]
    assert every["n"] == 12665
    assert every == budget.whole_data_thresholds()
    assert every["l2_bias"] > every["l2"]
    assert abs(every["l2"] - 3.6277) < 1e-4
