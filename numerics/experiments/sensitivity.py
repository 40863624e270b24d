"""The hyperparameters Yamada et al.'s text lost, as a sensitivity study of MNIST2 tables 1-4.

The paper gives no optimiser, learning rate, epochs or PGD settings for its logistic models ("same
as [20]", Madry et al., is all it says). The study's base (:data:`BASE_TRAIN`, the suite's first
MNIST2 default: Adam, lr 0.01, batch 128, 10 epochs, PGD-10 in training with Madry's
ball-then-box step of 2.5 eps / K, early stopping on test robust accuracy) is one choice. This
study re-runs the tables under other choices (:data:`SETTINGS`, each the base with what it
names changed; ``madry`` is Madry et al.'s own MNIST setting), each over the same seeds, and
reports for each setting:

* which table cells reproduce the paper (its train and test accuracy, as printed to 0.01,
  inside the 95% seed interval), at the early-stopped epoch and at the last one (every run
  records both, so "early stopping vs last epoch" costs no extra run);
* whether the qualitative claims hold: Y-T1 (b) (||w||^2 lambda_1 rises with the L2 eps: strictly
  in the seed mean, in rank in every seed) and Y-T2 (adversarial training sharpens more than
  random noise, in the mean and in every seed);
* table 3's row at 76.5/255 and figure 3's L-inf series at 16/255 and 25.5/255 (the "dip"), with
  the weight norms that explain them.

The settings are fixed here, not relative to the suite's MNIST2 default, so the record keeps its
meaning when that default changes; the judgement names the setting that is the suite's default
(:func:`suite_default`). The suite's default is the setting this study's evidence favours: the
most rows reproduced, and Y-T1 (b) holding (:mod:`numerics.experiments.mnist2.config`).

Each (setting, table, seed) run is a unit of :class:`numerics.experiments.units.Units`
(checkpointed, resumable). The record keeps the per-seed rows and eigenvalues, not the curves.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from numerics.experiments import mnist2
from numerics.experiments import seeds as seeds_mod
from numerics.experiments.paper_values import PRINTED_RESOLUTION
from numerics.experiments.seeds import count_true
from numerics.experiments.units import Units
from numerics.linear.train import TrainConfig
from numerics.records import read_result
from theory.errors import ConfigError

__all__ = ["AXES", "BASE_TRAIN", "CLAIMS", "EVIDENCE", "MADRY_STEP_FACTOR", "MINUTES", "NAME",
           "RESULT", "SCALES", "SETTINGS", "TITLE", "Config", "SensitivityConfig", "judge",
           "judge_sensitivity", "run", "run_sensitivity", "sensitivity_conditions",
           "setting_config", "suite_default", "summary_line", "unit_names"]

#: The base every setting changes: Adam, lr 0.01, batch 128, 10 epochs (the suite's first MNIST2
#: default), with :data:`numerics.experiments.mnist2.TRAIN_PGD` in training (PGD-10, step
#: 2.5 eps / K, uniform start in the ball, projection onto the ball then the box).
BASE_TRAIN = TrainConfig(epochs=10, batch_size=128, optimizer="adam", lr=1e-2, weight_decay=0.0,
                         seed=0)

#: Madry et al.'s MNIST PGD takes 40 steps of 0.01 at eps = 0.3 (L-inf): a step of eps / 30,
#: K alpha = 4/3 eps. The ``madry`` setting scales it to every budget and both norms as the
#: other settings do (alpha = step_factor eps / K): step_factor = 40 * 0.01 / 0.3 = 4/3.
MADRY_STEP_FACTOR = 40 * 0.01 / 0.3

#: name -> (what it changes in :data:`BASE_TRAIN` and the training PGD, MNIST2Config overrides:
#: "train" holds TrainConfig overrides, "train_attack" the training AttackSpec's).
SETTINGS: dict[str, tuple[str, dict[str, Any]]] = {
    "adam-lr-1e-2": ("the base: Adam lr 0.01, batch 128, 10 epochs, PGD-10 ball-then-box "
                     "(the suite's first MNIST2 default)", {}),
    "sgd": ("SGD with momentum 0.9, lr 0.1", {"train": {"optimizer": "sgd", "lr": 0.1}}),
    "madry": ("Madry et al.'s MNIST setting, a reading of the paper's 'same as [20]': Adam "
              "lr 1e-4, batch 50, PGD-40 in training with their step 0.01 at eps 0.3 scaled to "
              "each budget and norm (eps / 30, K alpha = 4/3 eps), uniform start, ball then box; "
              "the base's 10 epochs (Madry's 100,000 iterations would be about 395 epochs of "
              "MNIST2)",
              {"train": {"lr": 1e-4, "batch_size": 50},
               "train_attack": {"steps": 40, "step_factor": MADRY_STEP_FACTOR}}),
    "adam-lr-1e-3": ("Adam lr 0.001", {"train": {"lr": 1e-3}}),
    "epochs-20": ("20 epochs", {"train": {"epochs": 20}}),
    "pgd-5": ("PGD-5 in training", {"train_attack": {"steps": 5}}),
    "pgd-20": ("PGD-20 in training", {"train_attack": {"steps": 20}}),
    "step-1.25": ("PGD step 1.25 eps / K in training", {"train_attack": {"step_factor": 1.25}}),
    "exact-projection": ("training PGD projects exactly onto ball cap box (BOX-PROJ)",
                         {"train_attack": {"projection": "exact"}}),
}


@dataclass(frozen=True)
class SensitivityConfig:
    """The study: which settings, seeds and tables, at which data size.

    Attributes:
        profile: ``ci`` (a subset, two seeds) or ``full`` (:data:`FULL`).
        settings: names in :data:`SETTINGS`. seeds: the repetitions of every setting (the same
            for all, common random numbers). tables: Yamada et al.'s tables 1-4.
        n_train, n_test: MNIST2 subset sizes (None: all). landscape_points: kept minimal, the
            study reads no curves.
        eval_method: how the tables' robust accuracies are measured (``MNIST2Config``):
            ``"exact"`` (BOX-MAX) by default, which the suite's evaluation PGD reaches on this
            linear model (attack gap 0.00 in every cell of the committed MNIST2 run) at a
            quarter of the run's cost; ``"pgd"`` for the evaluation PGD itself.
        seed: the data subsets' seed.
    """

    profile: str = "full"
    settings: tuple[str, ...] = tuple(SETTINGS)
    seeds: tuple[int, ...] = (0, 1, 2)
    tables: tuple[int, ...] = (1, 2, 3, 4)
    n_train: int | None = None
    n_test: int | None = None
    landscape_points: int = 3
    eval_method: str = "exact"
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = [s for s in self.settings if s not in SETTINGS]
        if unknown or not self.settings:
            raise ConfigError(f"unknown settings {unknown}: use names from {sorted(SETTINGS)}")
        for name in self.settings:
            setting_config(self, name)  # each setting's MNIST2 config validates


def setting_config(cfg: SensitivityConfig, name: str) -> mnist2.MNIST2Config:
    """The MNIST2 configuration of one setting: the full profile's evaluation with the study's
    base (:data:`BASE_TRAIN`, :data:`numerics.experiments.mnist2.TRAIN_PGD`), data sizes and
    seeds, and the setting's overrides."""
    base = dataclasses.replace(
        mnist2.config_for("full"), train=BASE_TRAIN, train_attack=mnist2.TRAIN_PGD,
        profile=cfg.profile, tables=cfg.tables, n_train=cfg.n_train,
        n_test=cfg.n_test, seeds=cfg.seeds, landscape_points=cfg.landscape_points,
        landscape_n=min(200, cfg.n_train or 200), seed=cfg.seed, eval_method=cfg.eval_method)
    overrides = dict(SETTINGS[name][1])
    for nested in ("train", "train_attack"):  # changes inside a field's own dataclass
        if nested in overrides:
            overrides[nested] = dataclasses.replace(getattr(base, nested), **overrides[nested])
    return dataclasses.replace(base, **overrides)


#: What the study keeps of a table (:func:`compact`): the fields its summary and trends read.
_ROW_KEEP = ("eps", "label", "train_acc", "test_acc", "gap", "exact_test", "best_epoch", "last",
             "paper", "paper_inside")
_ROW_STATS = ("train_acc", "test_acc", "gap")
_HESS_KEEP = ("eps", "label", "w_norm", "top_fixed", "normalized_fixed", "top_robust",
              "normalized_robust")


def _pick(d: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: d[k] for k in keys if k in d}


def compact(table: dict[str, Any]) -> dict[str, Any]:
    """A table of :func:`numerics.experiments.mnist2.aggregate` cut to what the study reads:
    per row the accuracies, gap, exact test accuracy, paper values and their seed intervals;
    per budget the eigenvalues and ||w|| (with the intervals of lambda_1 and ||w||); the same
    for each seed's run. No curves, histories or unused columns."""
    keep = ("number", "norm", "training", "seeds", "train_attack", "eval_attack")
    out = {k: table[k] for k in keep if k in table}
    out["rows"] = [dict(_pick(r, _ROW_KEEP), stats=_pick(r["stats"], _ROW_STATS),
                        stats_last=_pick(r["stats_last"], ("train_acc", "test_acc")))
                   for r in table["rows"]]
    out["hessian"] = [dict(_pick(h, _HESS_KEEP), stats=_pick(h["stats"], ("top_fixed", "w_norm")))
                      for h in table["hessian"]]
    out["per_seed"] = [{"seed": r["seed"],
                        "rows": [_pick(x, ("eps", "label", "train_acc", "test_acc", "gap",
                                           "exact_test")) for x in r["rows"]],
                        "hessian": [_pick(h, _HESS_KEEP) for h in r["hessian"]]}
                       for r in table["per_seed"]]
    return out


def _summary(tables: dict[str, Any]) -> dict[str, Any]:
    """What one setting shows (module docstring)."""
    results = {"seeds": next(iter(tables.values()))["seeds"], "tables": tables}
    trends = mnist2.trends(results)
    counts = mnist2.seed_trends(results)
    out: dict[str, Any] = {"reproduced": {}}
    for key, table in tables.items():
        for when, stats_key in (("early_stopped", "stats"), ("last", "stats_last")):
            inside = []
            for row in table["rows"]:
                st = row[stats_key]
                inside.append(all(
                    seeds_mod.inside(row["paper"][f], st[f], PRINTED_RESOLUTION)
                    for f in ("train_acc", "test_acc")))
            out["reproduced"].setdefault(key, {})[when] = {
                "rows": sum(inside), "of": len(inside),
                "labels": [r["label"] for r, ok in zip(table["rows"], inside, strict=True)
                           if ok]}
    if "t1_normalized_fixed" in trends:
        spear = counts["spearman"]["t1_normalized_fixed"]
        out["y_t1"] = {"mean_increasing": trends["t1_normalized_fixed"]["increasing"],
                       "strict_seeds": counts["counts"]["t1_normalized_fixed"],
                       "spearman": spear,
                       "holds": bool(trends["t1_normalized_fixed"]["increasing"]
                                     and min(spear) > 0)}
    comps = [k for k in ("adv_vs_random_l2", "adv_vs_random_linf") if k in trends]
    if comps:
        out["y_t2"] = {k: {"mean": trends[k]["adversarial_sharper"],
                           "seeds": counts["counts"][k]} for k in comps}
        out["y_t2"]["holds"] = all(trends[k]["adversarial_sharper"]
                                   and counts["counts"][k]["k"] == counts["counts"][k]["n"]
                                   for k in comps)
    if "3" in tables:
        t3 = tables["3"]
        row = next((r for r in t3["rows"] if abs(r["eps"] - 76.5 / 255) < 1e-12), None)
        if row is not None:
            out["row_76.5"] = {
                "early_stopped": {f: row["stats"][f] for f in ("train_acc", "test_acc")},
                "last": {f: row["stats_last"][f] for f in ("train_acc", "test_acc")},
                "paper": {f: row["paper"][f] for f in ("train_acc", "test_acc")}}
        dip = {h["label"]: {"top_fixed": h["stats"]["top_fixed"], "w_norm": h["stats"]["w_norm"]}
               for h in t3["hessian"] if h["label"] in ("16/255", "25.5/255")}
        if len(dip) == 2:
            per_seed = [
                {h["label"]: h["top_fixed"][0] for h in run["hessian"]
                 if h["label"] in ("16/255", "25.5/255")} for run in t3["per_seed"]]
            out["figure3_dip"] = {
                **dip, "dips": count_true([p["25.5/255"] < p["16/255"] for p in per_seed])}
    return out


def run_sensitivity(cfg: SensitivityConfig, units: Units | None = None) -> dict[str, Any]:
    """Run every (setting, table, seed) unit; summarise each setting and judge the study.

    ``units`` runs each unit ``"<setting>/<table>@<seed>"``, checkpointing and resuming it
    (:func:`numerics.experiments.protocol.execute` builds it; default: none kept); the data are
    loaded only when some unit is computed.
    """
    units = units if units is not None else Units(NAME, cfg, len(unit_names(cfg)))
    loaded: list[tuple[Any, ...]] = []

    def data() -> tuple[Any, ...]:
        if not loaded:
            loaded.append(mnist2.load_data(setting_config(cfg, cfg.settings[0])))
        return loaded[0]

    settings: dict[str, Any] = {}
    try:
        for name in cfg.settings:
            mcfg = setting_config(cfg, name)
            tables = {}
            for number in cfg.tables:
                runs = [units(f"{name}/{number}@{seed}",
                              lambda number=number, seed=seed, mcfg=mcfg:
                              _strip(mnist2.run_table(number, mcfg, data(), seed=seed)))
                        for seed in cfg.seeds]
                tables[str(number)] = compact(mnist2.aggregate(runs))
            settings[name] = {"what": SETTINGS[name][0], "overrides": SETTINGS[name][1],
                              "train": dataclasses.asdict(mcfg.train),
                              "tables": tables, "summary": _summary(tables)}
    finally:
        units.close()
    out = {"seeds": list(cfg.seeds), "settings": settings}
    out["judgement"] = judge_sensitivity(out)
    return out


def _strip(run: dict[str, Any]) -> dict[str, Any]:
    """A unit's run without its training history (the study does not read it)."""
    return {k: v for k, v in run.items() if k != "history"}


def judge_sensitivity(results: dict[str, Any]) -> dict[str, Any]:
    """In which settings Y-T1 (b) and Y-T2 hold on MNIST2, and which settings reproduce which
    table rows (paper inside the seed interval)."""
    settings = results["settings"]
    out: dict[str, Any] = {}
    for claim in ("y_t1", "y_t2"):
        have = {n: s["summary"][claim]["holds"] for n, s in settings.items()
                if claim in s["summary"]}
        out[claim] = {"holds_in": [n for n, ok in have.items() if ok],
                      "fails_in": [n for n, ok in have.items() if not ok]}
    out["reproduced"] = {
        n: {k: v["early_stopped"]["rows"] for k, v in s["summary"]["reproduced"].items()}
        for n, s in settings.items()}
    out["reproduced_last"] = {
        n: {k: v["last"]["rows"] for k, v in s["summary"]["reproduced"].items()}
        for n, s in settings.items()}
    return out



def suite_default() -> str | None:
    """The setting whose training (optimiser, learning rate, batch, epochs, training PGD) is the
    suite's MNIST2 default now (:func:`numerics.experiments.mnist2.config_for`), None if none
    is."""
    full = mnist2.config_for("full")
    cfg = SensitivityConfig()
    for name in SETTINGS:
        mcfg = setting_config(cfg, name)
        if mcfg.train == full.train and mcfg.train_attack == full.train_attack:
            return name
    return None


def summary_line(results: dict[str, Any]) -> str:
    """One line: where Y-T1 (b) and Y-T2 hold, the settings reproducing the most rows, and which
    setting is the suite's MNIST2 default."""
    j = results["judgement"]
    best = max(j["reproduced"], key=lambda n: sum(j["reproduced"][n].values()))
    return (f"Y-T1 (b) holds in {j['y_t1']['holds_in'] or 'no setting'}, not in "
            f"{j['y_t1']['fails_in'] or 'none'}; Y-T2 holds in {j['y_t2']['holds_in'] or 'none'}"
            f", not in {j['y_t2']['fails_in'] or 'none'}; most rows reproduced: {best} "
            f"{j['reproduced'][best]} (early-stopped), {j['reproduced_last'][best]} (last epoch)"
            f"; the suite's MNIST2 default is the setting {suite_default() or '(none of them)'}")


def sensitivity_conditions(claim: str, path: str | Path | None = None) -> tuple[str, ...]:
    """The settings of the committed sensitivity study (``results/mnist2/sensitivity.json``,
    :data:`numerics.experiments.mnist2.SENSITIVITY_FILE`) in which ``claim`` (``"y_t1"`` or
    ``"y_t2"``) holds on MNIST2 and those in which it does not, as conditions of the MNIST2 data
    evidence; () without the study."""
    path = Path(path if path is not None else mnist2.SENSITIVITY_FILE)
    if not path.exists():
        return ()
    record = read_result(path)
    split = record["results"]["judgement"][claim]
    n = len(record["results"]["seeds"])
    name = {"y_t1": "Y-T1 (b)", "y_t2": "Y-T2"}[claim]
    text = (f"sensitivity study (whole MNIST2, {n} seeds per setting): {name} holds on the data "
            f"in the settings {', '.join(split['holds_in']) or 'none'}")
    if split["fails_in"]:
        text += f", NOT in {', '.join(split['fails_in'])}"
    return (text,)


# -- the study protocol (numerics.experiments.protocol) ---------------------------------------

NAME = "sensitivity"
TITLE = (f"MNIST2 tables 1-4 under the hyperparameters the paper's text lost "
         f"({len(SETTINGS)} settings)")
CLAIMS = ("Y-T1", "Y-T2")
Config = SensitivityConfig
#: The paper's scale is the Config's defaults (the whole MNIST2, three seeds); ``ci`` a subset.
SCALES: dict[str, dict[str, Any]] = {
    "ci": {"n_train": 1000, "n_test": 300, "seeds": (0, 1), "tables": (1, 2)},
    "full": {},
}
MINUTES = {"ci": 1.0, "full": 8.5}
#: Its independent parts (:mod:`numerics.experiments.parts`): one (setting, table, seed) each.
AXES = {"setting": "settings", "table": "tables", "seed": "seeds"}
RESULT = "sensitivity.json"
run = run_sensitivity
judge = summary_line
#: Read by the MNIST2 study's Y-T1 and Y-T2 evidence as conditions
#: (:func:`sensitivity_conditions`).
EVIDENCE: dict[str, Any] = {}


def unit_names(cfg: SensitivityConfig) -> list[str]:
    """One unit per (setting, table, seed): ``"<setting>/<table>@<seed>"``."""
    return [f"{name}/{number}@{seed}" for name in cfg.settings for number in cfg.tables
            for seed in cfg.seeds]
