# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # MNIST2 experiments: Yamada et al.'s tables 1-4 and figures 2-3
#
# Linear logistic regression on MNIST digits 0 and 1 (12,665 training and 2,115 test images,
# pixels in $[0, 1]$, labels $\pm 1$), trained at every budget of the paper's tables:
# adversarially with PGD (Madry et al.) and with uniform random noise, under $L_2$ and
# $L_\infty$. All models of a table are trained at once (one weight matrix, one matmul per
# minibatch); the input gradient of a linear model is analytic, $-s(-z)\,y\,w$, so PGD needs no
# autograd. This notebook runs the experiment at the profile's scale (`ci`: a subset, fewer epochs
# and steps; `full`: the paper's data) and shows the committed full-scale run beside the paper.

# %% tags=["parameters"]
from numerics.profiles import current_profile

PROFILE = current_profile()
print(f"profile: {PROFILE}")

# %%
import dataclasses

from IPython.display import Image, Markdown, display

from numerics.display import show_claim
from numerics.experiments.mnist2 import (
    RESULT_DIR,
    RESULT_FILE,
    config_for,
    evidence_y_t1,
    evidence_y_t2,
    render_tables,
    save_figures,
    trends,
)
from numerics.experiments.reproduce import committed_record
from numerics.records import read_result

# %% [markdown]
# ## Settings, and how we read the paper's tables
#
# The paper's PGD steps, step sizes and epochs were lost from its text. The run records every
# choice in its config; the conventions and our reading of the tables are:

# %%
config = config_for(PROFILE)
print(config.interpretation)
for line in config.conventions:
    print("-", line)
print({k: v for k, v in dataclasses.asdict(config).items()
       if k not in ("interpretation", "conventions")})

# %% [markdown]
# ## The run at this profile's scale
#
# The committed record of this profile's scale (`results/mnist2/ci/mnist2.json` for `ci`, the
# full record below for `full`). `advlandscape study mnist2 --scale ci` makes it, and
# `advlandscape reproduce --scale ci --only mnist2` reruns it from scratch and compares it with
# this one number by number. It must be a run of the configuration above: a changed default
# fails here until the record is made again.

# %%
record = committed_record("mnist2", PROFILE)  # refused if not a run of this configuration
results = record["results"]
print(f"{record['provenance']['created']}, commit {record['provenance']['git_commit'][:10]}: "
      f"{results['seconds']:.0f} s")
display(Markdown(render_tables(results)))

# %% [markdown]
# ## The committed full-scale run (`advlandscape mnist2 --profile full`)
#
# Tables beside the paper's values; `d` columns are ours minus the paper's. First the
# early-stopped models (selected on the test accuracy of the table, as the paper did), then the
# last epoch.

# %%
full = read_result(RESULT_FILE) if RESULT_FILE.exists() else None
if full is None:
    print("no committed full run: `advlandscape mnist2 --profile full --out results/mnist2`")
else:
    prov = full["provenance"]
    print(f"run of {prov['created']} at commit {prov['git_commit']}, {prov['device']}; "
          f"{full['results']['seconds']:.0f} s")
    display(Markdown(render_tables(full["results"])))
    display(Markdown(render_tables(full["results"], last=True)))

# %% [markdown]
# The same models trained with weight decay $10^{-3}$ (tables 1 and 3; the regime of Y-T1 below):

# %%
from numerics.experiments.mnist2 import WEIGHT_DECAY_FILE

if WEIGHT_DECAY_FILE.exists():
    display(Markdown(render_tables(read_result(WEIGHT_DECAY_FILE)["results"])))

# %% [markdown]
# **Differences from the paper.** The largest absolute difference of any cell, per table
# (early-stopped models):

# %%
shown = full["results"] if full is not None else results
for key, table in shown["tables"].items():
    worst = max(abs(r["diff"][c]) for r in table["rows"] for c in ("train_acc", "test_acc"))
    print(f"table {key}: max |ours - paper| = {worst:.2f} points")

# %% [markdown]
# ## Figures 2 and 3
#
# Figure 2: filter-normalised 1-D landscapes $L(w + a\,d)$, $\|d\| = \|w\|$ (solid: adversarial
# loss, re-attacked at every point; dashed: random-noise training loss). Figure 3: the top three
# eigenvalues of the Hessian at the trained weights with the PGD examples held fixed (the paper's
# Eq. 9), the top eigenvalue of the exact robust-loss Hessian (attack depending on $w$), and the top
# eigenvalue of the random-noise models.

# %%
if full is not None and (RESULT_DIR / "figure2_landscapes.png").exists():
    figure_dir = RESULT_DIR
else:
    import tempfile

    figure_dir = tempfile.mkdtemp()
    save_figures(results, figure_dir)
display(Image(filename=f"{figure_dir}/figure2_landscapes.png"))
display(Image(filename=f"{figure_dir}/figure3_eigenvalues.png"))

# %% [markdown]
# ## Y-T1: models trained with a larger L2 eps are sharper (part b, data)

# %%
show_claim("Y-T1")

# %% [markdown]
# Top Hessian eigenvalue $\lambda_1$ at the trained weights, raw and scale-normalised
# ($\|w\|^2\lambda_1$, the curvature along a filter-normalised direction), against $\varepsilon$.
# The models are trained without weight decay and early-stopped, so their training loss is not at
# its minimum at large $\varepsilon$: the regime where Theorem 1's eigenvalue grows (notebook 03,
# part a). On separable data without early stopping, $\|w\| \to \infty$ at $\varepsilon = 0$ and
# every eigenvalue goes to 0; the normalised sharpness is what compares models of different norms.
# The committed evidence judges both regimes of the full-scale runs, without weight decay and
# with $10^{-3}$. Under the default training (SGD with momentum) the strict trend holds over the
# whole grid in both, in every seed. With Adam at learning rate 0.01 (the first default; the
# sensitivity study below) the standard model ($\varepsilon = 0$) ends with the largest $\|w\|$
# without weight decay, and its normalised sharpness exceeds that of the $\varepsilon = 0.2$
# model, so the trend held only from $\varepsilon = 0.2$ on. The verdict names the regime.

# %%
tr = trends(results)
for key in ("t1_top_fixed", "t1_normalized_fixed", "t1_top_robust", "t3_top_fixed",
            "t3_normalized_fixed"):
    vals = ", ".join(f"{v:.3g}" for v in tr[key]["values"])
    print(f"{key:22s} increasing={tr[key]['increasing']!s:5s} "
          f"spearman={tr[key]['spearman']:.2f}  [{vals}]")
ev_t1 = evidence_y_t1()
print("committed full run:", ev_t1.summary)
for c in ev_t1.conditions:
    print("  condition:", c)

# %%
assert tr["t1_top_fixed"]["spearman"] >= 0.9
assert tr["t1_normalized_fixed"]["spearman"] >= 0.9
assert tr["t3_normalized_fixed"]["spearman"] >= 0.9
assert ev_t1.ran, ev_t1.summary
assert ev_t1.passed, ev_t1.summary

# %% [markdown]
# ## Y-T2: random noise sharpens far less than adversarial noise (data)

# %%
show_claim("Y-T2")

# %% [markdown]
# Growth of $\lambda_1$ from $\varepsilon = 0$ to the largest budget both tables share
# ($L_2$: 1.0, tables 1 vs 2; $L_\infty$: 16/255, tables 3 vs 4), and the spread of the tables'
# test accuracies.

# %%
for name in ("adv_vs_random_l2", "adv_vs_random_linf"):
    c = tr[name]
    print(f"{name}: eps {c['eps']}: adversarial x{c['adversarial_growth']:.2f}, "
          f"random x{c['random_growth']:.2f}")
print("test-accuracy spread per table:", {k: round(v, 2) for k, v in tr["test_acc_range"].items()})
print("L-inf gap at large eps:", tr["gap_linf_large"])
ev_t2 = evidence_y_t2()
print("committed full run:", ev_t2.summary)

# %%
assert tr["adv_vs_random_l2"]["adversarial_sharper"]
assert tr["adv_vs_random_linf"]["adversarial_sharper"]
assert tr["test_acc_range"]["2"] <= tr["test_acc_range"]["1"]
assert tr["test_acc_range"]["4"] <= tr["test_acc_range"]["3"]
assert ev_t2.ran, ev_t2.summary
assert ev_t2.passed, ev_t2.summary

# %% [markdown]
# ## Seeds: agreement or noise
#
# Every cell of the committed tables is the mean over the seeds of the full profile (each seeds
# the initial weights, the data order and the PGD starts; the data, budgets and landscape
# points are shared, common random numbers). The trends are counted seed by seed; the ledger's
# data evidence requires the mean trend and every seed's rank trend.

# %%
from numerics.experiments.mnist2 import seed_trends

if full is not None:
    counted = seed_trends(full["results"])
    print(f"{len(counted['seeds'])} seeds: {counted['seeds']}")
    for name, c in counted["counts"].items():
        extra = (f", Spearman per seed {[round(v, 2) for v in counted['spearman'][name]]}"
                 if name in counted["spearman"] else "")
        print(f"  {name:22s} holds in {c['text']}{extra}")
    inside = [(key, r["label"], r["paper_inside"]) for key, t in full["results"]["tables"].items()
              for r in t["rows"]]
    both = sum(1 for _, _, p in inside if p["train_acc"] and p["test_acc"])
    print(f"cells whose paper train and test accuracy lie in the 95% seed interval: {both} of "
          f"{len(inside)} rows")

# %% [markdown]
# ## The lost hyperparameters: a sensitivity study (Y-T1, Y-T2)
#
# The paper's optimiser, learning rate, epochs and PGD settings were lost from its text. The
# study (`advlandscape study sensitivity`, `numerics.experiments.sensitivity`) re-runs tables
# 1-4 on the whole MNIST2 data under each setting below, over three seeds, and reports which
# rows reproduce the paper (its printed train and test accuracy inside the 95% seed interval),
# at the early-stopped and at the last epoch, and whether Y-T1 (b) and Y-T2 hold on the data
# in that setting. Those settings are the conditions of the ledger's data evidence.

# %%
from numerics.experiments.mnist2 import SENSITIVITY_FILE  # results/sensitivity/sensitivity.json
from numerics.experiments.sensitivity import summary_line

sens = read_result(SENSITIVITY_FILE)["results"] if SENSITIVITY_FILE.exists() else None
if sens is None:
    print("no committed study: `advlandscape study sensitivity --scale full`")
else:
    print(summary_line(sens))
    print()
    print(f"{'setting':<18} {'rows reproduced (early-stopped / last), tables 1-4':<52} "
          f"{'Y-T1 (b)':<9} Y-T2")
    for name, setting in sens["settings"].items():
        rep = setting["summary"]["reproduced"]
        cells = "  ".join(f"{k}: {v['early_stopped']['rows']}/{v['last']['rows']} of "
                          f"{v['early_stopped']['of']}" for k, v in rep.items())
        y1 = setting["summary"].get("y_t1", {}).get("holds")
        y2 = setting["summary"].get("y_t2", {}).get("holds")
        print(f"{name:<18} {cells:<52} {y1!s:<9} {y2}")

# %% [markdown]
# Table 3's row at 76.5/255 (the paper: 95.40 train, 96.64 test) and figure 3's $L_\infty$
# series at 16/255 and 25.5/255, per setting: train and test robust accuracy (mean over the
# seeds, early-stopped and last epoch), and the top eigenvalue and $\|w\|$ at the two budgets
# with the number of seeds where $\lambda_1$ drops from 16/255 to 25.5/255.

# %%
if sens is not None:
    for name, setting in sens["settings"].items():
        s = setting["summary"]
        row, dip = s.get("row_76.5"), s.get("figure3_dip")
        if row is None or dip is None:
            continue
        es, la = row["early_stopped"], row["last"]
        print(f"{name:<18} 76.5/255: early-stopped {es['train_acc']['mean']:.2f} / "
              f"{es['test_acc']['mean']:.2f}, last {la['train_acc']['mean']:.2f} / "
              f"{la['test_acc']['mean']:.2f};  lambda_1 16/255 "
              f"{dip['16/255']['top_fixed']['mean']:.4f} (||w|| "
              f"{dip['16/255']['w_norm']['mean']:.2f}) -> 25.5/255 "
              f"{dip['25.5/255']['top_fixed']['mean']:.4f} (||w|| "
              f"{dip['25.5/255']['w_norm']['mean']:.2f}), drops in {dip['dips']['text']}")

# %% [markdown]
# **What the study shows** (committed run, three seeds per setting, printed above):
#
# - *Rows reproduced.* SGD with momentum (learning rate 0.1) puts 16 of the paper's 25 rows
#   inside the seed interval at the early-stopped epoch (tables 1-4: 6/6, 6/6, 4/8, 0/5); the
#   base, Adam at learning rate 0.01 (the suite's first default), 5 (3/6, 0/6, 2/8, 0/5); no
#   other setting more. No setting reproduces table 4: its $\varepsilon = 0$ row (99.89 /
#   99.91) is not table 2's (99.89 / 99.95), though both are the same clean model.
# - *Madry et al.'s own MNIST setting* (Adam, learning rate $10^{-4}$, batch 50, PGD-40 of
#   step $\varepsilon/30$, their 0.01 at $\varepsilon = 0.3$), read as the paper's "same as
#   [20]", reproduces no row at 10 epochs: it is still improving at the last epoch in almost
#   every row (early stopping picks epoch 10) and ends with $\|w\| \approx 1.4$ against 4 to 7
#   for the others. Madry's own schedule, 100,000 iterations of 50, would be about 395 epochs
#   of MNIST2, some 40 times this study's cost; it is not run here.
# - *Table 3 at 76.5/255* (the paper: 95.40 train, 96.64 test). The base gives 94.35 / 96.01;
#   20 epochs (95.62 / 97.10) or SGD (95.56 / 96.94) close the gap: the base under-trains the
#   largest $L_\infty$ budget. The PGD-10 variants cannot move it: at
#   $K\alpha = 2.5\varepsilon \ge 2\varepsilon$ the $L_\infty$ PGD reaches its closed-form limit
#   whatever the steps or the projection.
# - *Figure 3's $L_\infty$ dip from 16/255 to 25.5/255.* With the base it appears in 2 of 3
#   seeds (not in the mean of these three: 0.1525 to 0.1760), with $\|w\|$ jumping from 3.72 to
#   4.86; with SGD in none (0.0909 to 0.1513): an effect of the optimiser on the weight norm, not
#   of the budget.
# - *Y-T1 (b)* holds with SGD, with Adam at learning rate $10^{-3}$ and in Madry's setting
#   (Spearman 1.00 in every seed), not with the base, where the $\varepsilon = 0$ model ends
#   with the largest norm (7.2 against 5.5 at $\varepsilon = 0.2$ in table 1), which puts its
#   normalised sharpness above the $\varepsilon = 0.2$ model's. Under SGD the norm grows with
#   $\varepsilon$ (3.96 to 4.74), so $\|w\|^2\lambda_1$ rises with $\lambda_1$. *Y-T2* holds in
#   every setting.
#
# The suite's default is therefore SGD with momentum 0.9 at learning rate 0.1
# (`numerics.experiments.mnist2.DEFAULT_TRAIN`): the most rows reproduced, and Y-T1 (b) holding
# for a stated reason. The committed tables above (and CIFAR2's, notebook 09) are run under it.
