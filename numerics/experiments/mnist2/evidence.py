"""What the MNIST2 results show: the paper's trends and the ledger's data evidence.

:func:`trends` computes the trends Yamada et al. report from a results dict (eigenvalues against
eps, adversarial against random-noise sharpening, the large-eps L-inf gap) and
:func:`seed_trends` counts the seeds each holds in. :func:`evidence_y_t1` and
:func:`evidence_y_t2` judge claims Y-T1 (b) and Y-T2 on the committed records
(``results/mnist2/mnist2.json``, with weight decay, CIFAR2), naming as conditions the settings
of the sensitivity study (:func:`numerics.experiments.sensitivity.sensitivity_conditions`)
where each holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from numerics.experiments import seeds as seeds_mod
from numerics.experiments.mnist2.config import CIFAR2_RESULT_FILE, RESULT_FILE, WEIGHT_DECAY_FILE
from numerics.records import read_result
from numerics.stats import increasing, spearman
from theory.claims import Evidence

__all__ = ["evidence_y_t1", "evidence_y_t2", "seed_trends", "trends"]


def trends(results: dict[str, Any]) -> dict[str, Any]:
    """The trends the paper reports, computed from a results dict (no threshold typed by hand
    except 'strictly increasing' and the sign of a comparison).

    Returns keys (present when the tables are): ``t1_top_fixed``, ``t1_normalized_fixed``,
    ``t1_top_robust`` (table 1 eigenvalues vs eps, increasing?), the same for table 3 (``t3_*``),
    ``growth`` (lambda_1(eps) / lambda_1(0) per table), ``adv_vs_random_l2`` /
    ``adv_vs_random_linf`` (adversarial growth / random growth at the largest shared eps),
    ``gap_linf_large`` (table 3 gap increasing over eps >= 25.5/255), ``random_flat``
    (max - min of test acc in tables 2 and 4, and of adversarial tables for comparison).
    """
    t = results["tables"]
    out: dict[str, Any] = {}
    for key in ("1", "3"):
        if key not in t:
            continue
        h = t[key]["hessian"]
        for field_ in ("top_fixed", "normalized_fixed", "top_robust", "normalized_robust"):
            vals = [x[field_][0] for x in h]
            out[f"t{key}_{field_}"] = {"values": vals, "increasing": increasing(vals),
                                       "spearman": spearman([x["eps"] for x in h], vals)}
    out["growth"] = {}
    for key, table in t.items():
        h = table["hessian"]
        base = h[0]["top_fixed"][0]
        out["growth"][key] = {x["label"]: x["top_fixed"][0] / base for x in h}
    for adv, rnd, name in (("1", "2", "l2"), ("3", "4", "linf")):
        if adv in t and rnd in t:
            ha = {x["label"]: x["top_fixed"][0] for x in t[adv]["hessian"]}
            hr = {x["label"]: x["top_fixed"][0] for x in t[rnd]["hessian"]}
            shared = [lab for lab in hr if lab in ha]
            top = shared[-1]
            ga, gr = ha[top] / ha[shared[0]], hr[top] / hr[shared[0]]
            out[f"adv_vs_random_{name}"] = {
                "eps": top, "adversarial_growth": ga, "random_growth": gr,
                "adversarial_sharper": bool(ga > gr),
                "per_eps": {lab: ha[lab] / hr[lab] for lab in shared},
            }
    large = [r for r in t["3"]["rows"] if r["eps"] >= 25.5 / 255 - 1e-12] if "3" in t else []
    if len(large) >= 2:
        gaps = [r["gap"] for r in large]
        out["gap_linf_large"] = {"labels": [r["label"] for r in large], "gaps": gaps,
                                 "increasing": increasing(gaps)}
    out["test_acc_range"] = {
        key: max(r["test_acc"] for r in table["rows"]) - min(r["test_acc"] for r in table["rows"])
        for key, table in t.items()}
    return out


def seed_trends(results: dict[str, Any]) -> dict[str, Any]:
    """:func:`trends` of each seed's runs and how many seeds each property holds in.

    Returns ``{"seeds", "per_seed": [trends...], "counts": {name: {"k", "n", "text"}},
    "spearman": {name: [per seed]}}`` for the eigenvalue series (strictly increasing), the
    adversarial-vs-random comparisons and the large-eps L-inf gap. A record of one seed (or of
    the layout before seeds) counts as one.
    """
    tables = results["tables"]
    seeds = results.get("seeds") or [0]
    per = []
    for i in range(len(seeds)):
        runs = {k: t["per_seed"][i] if "per_seed" in t else t for k, t in tables.items()}
        per.append(trends({"tables": runs}))
    counts, spear = {}, {}
    for name in ("t1_normalized_fixed", "t1_top_fixed", "t1_top_robust", "t3_normalized_fixed",
                 "t3_top_fixed", "t3_top_robust"):
        if name in per[0]:
            counts[name] = seeds_mod.count_true([p[name]["increasing"] for p in per])
            spear[name] = [p[name]["spearman"] for p in per]
    for name in ("adv_vs_random_l2", "adv_vs_random_linf"):
        if name in per[0]:
            counts[name] = seeds_mod.count_true([p[name]["adversarial_sharper"] for p in per])
    if "gap_linf_large" in per[0]:
        counts["gap_linf_large"] = seeds_mod.count_true(
            [p["gap_linf_large"]["increasing"] for p in per])
    return {"seeds": list(seeds), "per_seed": per, "counts": counts, "spearman": spear}


def _load_committed(path: str | Path | None) -> dict[str, Any] | None:
    path = Path(path) if path is not None else RESULT_FILE
    if not path.exists():
        return None
    return read_result(path)


def _regime(record: dict[str, Any]) -> str:
    cfg = record["config"]
    wd = cfg["train"]["weight_decay"]
    losses = [r["train_loss_last"] for t in record["results"]["tables"].values()
              for r in t["rows"]]
    seeds = record["results"].get("seeds") or [cfg["train"]["seed"]]
    return (f"{cfg.get('dataset', 'mnist2').upper()}, {cfg['profile']} profile, weight decay "
            f"{wd:g}, {cfg['train']['epochs']} epochs, "
            f"{cfg['train']['optimizer']} lr {cfg['train']['lr']:g}, {len(seeds)} seed(s), "
            f"early stopping on test accuracy; final training losses "
            f"{min(losses):.3g}..{max(losses):.3g} (not near 0 at large eps)")


def _sensitivity(claim: str) -> tuple[str, ...]:
    """The committed sensitivity study's conditions on ``claim``
    (:func:`numerics.experiments.sensitivity.sensitivity_conditions`, imported when called:
    that module imports this package)."""
    from numerics.experiments.sensitivity import sensitivity_conditions

    return sensitivity_conditions(claim)


def _t1_regime(record: dict[str, Any]) -> dict[str, Any]:
    """Y-T1 trends of one run (table 1; table 3 when present), with the norms that explain them:
    the series of the means over seeds, and per seed (``seeds``)."""
    tr = trends(record["results"])
    st = seed_trends(record["results"])
    hess = record["results"]["tables"]["1"]["hessian"]
    spearman = st["spearman"]["t1_normalized_fixed"]
    out = {
        "regime": _regime(record),
        "dataset": record["config"].get("dataset", "mnist2"),
        "share_above_m_star": [h.get("share_above_m_star") for h in hess],
        "weight_decay": record["config"]["train"]["weight_decay"],
        "normalized": tr["t1_normalized_fixed"], "raw": tr["t1_top_fixed"],
        "robust": tr["t1_top_robust"], "w_norm": [h["w_norm"] for h in hess],
        "eps": [h["eps"] for h in hess],
        "seeds": {"n": len(st["seeds"]),
                  "strictly_increasing": st["counts"]["t1_normalized_fixed"],
                  "spearman": spearman, "rank_increasing_every_seed": min(spearman) > 0},
    }
    if "t3_normalized_fixed" in tr:
        out["linf_normalized"] = tr["t3_normalized_fixed"]
        out["linf_raw"] = tr["t3_top_fixed"]
    return out


def _holds(r: dict[str, Any]) -> bool:
    """Y-T1 (b) in a regime: the seed mean of ||w||^2 lambda_1 increases strictly with eps and
    its rank correlation with eps is positive in every seed."""
    return bool(r["normalized"]["increasing"] and r["seeds"]["rank_increasing_every_seed"])


def _describe(r: dict[str, Any]) -> str:
    n, raw, sd = r["normalized"], r["raw"], r["seeds"]
    mean = "the mean over seeds of " if sd["n"] > 1 else ""
    text = (f"{r.get('dataset', 'mnist2').upper()}, weight decay {r['weight_decay']:g}: "
            f"{mean}||w||^2 lambda_1 "
            f"{'increases strictly' if n['increasing'] else 'does NOT increase strictly'} with "
            f"eps ({', '.join(f'{v:.3g}' for v in n['values'])}), strictly in "
            f"{sd['strictly_increasing']['text']}, Spearman per seed "
            f"{', '.join(f'{v:.2f}' for v in sd['spearman'])}; raw lambda_1 "
            f"{'increases' if raw['increasing'] else 'does not increase'} strictly")
    if not n["increasing"]:
        drops = [i for i in range(1, len(n["values"])) if n["values"][i] <= n["values"][i - 1]]
        text += "; drops at eps " + ", ".join(
            f"{r['eps'][i - 1]:g}->{r['eps'][i]:g} (||w|| {r['w_norm'][i - 1]:.3g}->"
            f"{r['w_norm'][i]:.3g})" for i in drops)
    shares = [v for v in r.get("share_above_m_star", []) if v is not None]
    if shares:
        text += (f"; training points with robust margin >= m* (Y-T1 (a)'s condition): "
                 f"{100 * shares[0]:.0f}% at eps 0 to {100 * shares[-1]:.0f}% at the largest eps")
    if "linf_normalized" in r:
        text += (f"; L-inf: ||w||^2 lambda_1 "
                 f"{'increases' if r['linf_normalized']['increasing'] else 'does not increase'}"
                 f" strictly (Spearman {r['linf_normalized']['spearman']:.2f})")
    return text


def evidence_y_t1(path: str | Path | None = None,
                  weight_decay_path: str | Path | None = None,
                  cifar2_path: str | Path | None = None) -> Evidence:
    """Y-T1 (b), data: does the filter-normalised top Hessian eigenvalue ||w||^2 lambda_1 at the
    trained weights (the claim's measure; the Hessian with the PGD examples held fixed, the
    paper's Eq. 9) increase with the L2 adversarial eps on MNIST2 (table 1 models)? Over
    several seeds: strictly in the mean, and in rank (Spearman > 0) in every seed; the count of
    seeds with a strict increase is reported.

    The regimes are judged where their committed runs exist: MNIST2 without weight decay
    (``results/mnist2/mnist2.json``) and with it (``results/mnist2/weight_decay/``), CIFAR2
    (``results/cifar2/mnist2.json``, the same experiment on frog vs ship), and deep nets that fit
    at CPU scale (``results/madry_cnn/mnist_cpu.json``,
    :func:`numerics.experiments.madry_cnn.evidence_y_t1_deep`: Madry's MNIST CNN, narrowed, raw
    lambda_1 over the models whose robust training accuracy reached its plateau, L-inf PGD; the
    scale-free landscape curvature beside it). The CPU ResNet18 record
    (``results/resnet/mnist_cpu.json``) is reported beside it and not counted: its nets
    under-fit the larger budgets. The claim holds under
    the conditions of the regimes where the trend is strict (a data set where it does not hold
    is named in the conditions: a finding about the data, not a failure); it fails when it
    holds in none. Raw lambda_1, L-inf (table 3) and the share of training points with robust
    margin >= m* (Y-T1 (a)'s sufficient condition) are reported. ran=False without results.
    """
    record = _load_committed(path)
    if record is None or "1" not in record["results"]["tables"]:
        return Evidence("data", False, "no MNIST2 results with table 1: run `advlandscape mnist2 "
                        "--profile full --out results/mnist2`", ran=False)
    regimes = [_t1_regime(record)]
    wd_path = Path(weight_decay_path) if weight_decay_path is not None else (
        WEIGHT_DECAY_FILE if path is None else None)
    wd_record = _load_committed(wd_path) if wd_path is not None and wd_path.exists() else None
    if wd_record is not None and "1" in wd_record["results"]["tables"]:
        regimes.append(_t1_regime(wd_record))
    c2_path = Path(cifar2_path) if cifar2_path is not None else (
        CIFAR2_RESULT_FILE if path is None else None)
    c2_record = _load_committed(c2_path) if c2_path is not None and c2_path.exists() else None
    if c2_record is not None and "1" in c2_record["results"]["tables"]:
        regimes.append(_t1_regime(c2_record))
    deep = resnet = gpu = None
    if path is None:
        from numerics.experiments.madry_cnn import evidence_y_t1_deep
        from numerics.experiments.resnet import GPU_RESULT_FILE
        from numerics.experiments.resnet import evidence_y_t1_deep as resnet_deep

        deep, resnet = evidence_y_t1_deep(), resnet_deep()
        deep = deep if deep.ran else None
        resnet = resnet if resnet.ran else None
        gpu = resnet_deep(GPU_RESULT_FILE) if GPU_RESULT_FILE.exists() else None
    holding = [r for r in regimes if _holds(r)]
    passed = (bool(holding) or bool(deep is not None and deep.passed)
              or bool(gpu is not None and gpu.passed))
    conditions = tuple(
        [f"holds in the regime: {r['regime']}" for r in holding]
        + [f"does not hold without that condition: {_describe(r)}"
           for r in regimes if r not in holding and holding]
        + ([f"deep nets that fit ({deep.conditions[0]}): "
            f"{'holds' if deep.passed else 'does NOT hold'}: {deep.summary}"]
           if deep is not None else [])
        + ([f"ResNet18 on CIFAR-10 at GPU scale ({gpu.conditions[0]}): "
            f"{'holds' if gpu.passed else 'does NOT hold'}: {gpu.summary}"]
           if gpu is not None else [])
        + ([f"not counted: ResNet18 ({resnet.conditions[0]}), whose nets under-fit the larger "
            f"budgets, {'holds' if resnet.passed else 'does not hold'}: {resnet.summary}"]
           if resnet is not None else [])
        + ["sharpness = ||w||^2 lambda_1 (filter normalisation ||d|| = ||w||) of the Hessian "
           "with the PGD examples held fixed"]
        + list(_sensitivity("y_t1") if path is None else ())
    ) if passed else ()
    summary = " | ".join([_describe(r) for r in regimes]
                         + ([f"deep nets that fit: {deep.summary}"] if deep is not None else [])
                         + ([f"ResNet18, CIFAR-10, GPU scale: {gpu.summary}"]
                            if gpu is not None else []))
    counter = None if passed else {"regimes": [
        {"weight_decay": r["weight_decay"], "eps": r["eps"],
         "normalized": r["normalized"]["values"], "w_norm": r["w_norm"]} for r in regimes]}
    return Evidence("data", passed, summary, conditions=conditions, counterexample=counter,
                    details={"regimes": regimes,
                             "deep": None if deep is None else {
                                 "passed": deep.passed, "summary": deep.summary,
                                 "details": deep.details},
                             "deep_resnet_not_counted": None if resnet is None else {
                                 "passed": resnet.passed, "summary": resnet.summary}})


def _t2_comparisons(record: dict[str, Any]) -> dict[str, Any]:
    """Y-T2 on one record: adversarial vs random lambda_1 growth per threat, with seed counts."""
    tr = trends(record["results"])
    counts = seed_trends(record["results"])["counts"]
    return {k: dict(tr[k], seeds=counts[k]) for k in ("adv_vs_random_l2", "adv_vs_random_linf")
            if k in tr}


def _t2_holds(comps: dict[str, Any]) -> bool:
    return all(c["adversarial_sharper"] and c["seeds"]["k"] == c["seeds"]["n"]
               for c in comps.values())


def _t2_text(record: dict[str, Any], comps: dict[str, Any]) -> str:
    mean = "mean " if len(record["results"].get("seeds") or [0]) > 1 else ""
    name = record["config"].get("dataset", "mnist2").upper()
    return f"{name}: " + "; ".join(
        f"{k.rsplit('_', 1)[1]}: {mean}lambda_1 growth at eps {c['eps']}: adversarial "
        f"x{c['adversarial_growth']:.3g} vs random x{c['random_growth']:.3g}, adversarial "
        f"sharper in {c['seeds']['text']}"
        for k, c in comps.items())


def evidence_y_t2(path: str | Path | None = None,
                  cifar2_path: str | Path | None = None) -> Evidence:
    """Y-T2, data: random-noise training sharpens far less than adversarial training: the growth
    lambda_1(eps)/lambda_1(0) of adversarially trained models exceeds that of noise-trained models
    at the largest eps both tables share (L2: tables 1 vs 2, L-inf: tables 3 vs 4), in the mean
    over seeds and in every seed.

    Reads the committed ``results/mnist2/mnist2.json`` (ran=False when it is absent) and, where
    it exists, ``results/cifar2/mnist2.json``: the claim holds on the data sets where the
    comparison does (named in the conditions, with any where it does not) and fails when it
    holds on none.
    """
    record = _load_committed(path)
    tables = set(record["results"]["tables"]) if record else set()
    if record is None or not ({"1", "2"} <= tables or {"3", "4"} <= tables):
        return Evidence("data", False, "no MNIST2 results with tables 1-2 or 3-4: run "
                        "`advlandscape mnist2 --profile full --out results/mnist2`", ran=False)
    records = [record]
    c2_path = Path(cifar2_path) if cifar2_path is not None else (
        CIFAR2_RESULT_FILE if path is None else None)
    c2 = _load_committed(c2_path) if c2_path is not None and c2_path.exists() else None
    if c2 is not None and _t2_comparisons(c2):
        records.append(c2)
    judged = [(r, _t2_comparisons(r)) for r in records]
    holding = [(r, c) for r, c in judged if _t2_holds(c)]
    passed = bool(holding)
    summary = " | ".join(_t2_text(r, c) for r, c in judged)
    conditions = tuple(
        [f"holds in the regime: {_regime(r)}" for r, _ in holding]
        + [f"does not hold there: {_t2_text(r, c)}" for r, c in judged
           if not _t2_holds(c) and holding]
        + list(_sensitivity("y_t2") if path is None and holding else ()))
    first = judged[0][1]
    return Evidence("data", passed, summary, conditions=conditions,
                    counterexample=None if passed else first,
                    details={r["config"].get("dataset", "mnist2"): c for r, c in judged})
