# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Theorem 1: adversarial training sharpens the landscape (Y-T1)
#
# Yamada et al. state that the top Hessian eigenvalue of the logistic loss grows with the L2
# adversarial budget $\varepsilon$. Part (a) is a statement at fixed weights, which we derive
# and prove here, with the exact condition under which it holds; part (b), the comparison of
# models *trained* at each $\varepsilon$, is a data experiment (section at the end).

# %% tags=["parameters"]
from numerics.profiles import current_profile

PROFILE = current_profile()
print(f"profile: {PROFILE}")

# %%
import matplotlib.pyplot as plt
import mpmath
import numpy as np
from IPython.display import display

from numerics.checks.theorem1 import check_y_t1
from numerics.display import show_claim, typeset
from theory import theorem1 as t1
from theory.proof import steps_text

# %% [markdown]
# ## Y-T1 (a): $d\lambda_1/d\varepsilon$ at fixed $w$

# %%
show_claim("Y-T1")

# %% [markdown]
# For one point with the worst-case L2 perturbation, write $W = \|w\|$, $A = y\,\hat w^\top x$,
# $P = \|x_\perp\|$ (the part of $x$ orthogonal to $w$), the robust margin
# $m = y\,w^\top x - \varepsilon W = W(A - \varepsilon)$ and $v = yx - \varepsilon \hat w$. Then
# $\|v\|^2 = (A-\varepsilon)^2 + P^2$ and (Y-EIG) $\lambda_1 = g(m)\|v\|^2$ with
# $g = s(m)s(-m)$. SymPy differentiates in $\varepsilon$ (with $W$ fixed):

# %%
# NBVAL_CHECK_OUTPUT
display(typeset(t1.LAMBDA_1, r"\lambda_1"))
display(typeset(t1.DLAMBDA_DEPS_FACTORED, r"\frac{d\lambda_1}{d\varepsilon}"))

# %% [markdown]
# With $g'(m) = -\tanh(m/2)\,g(m)$,
# $$\frac{d\lambda_1}{d\varepsilon} = g(m)\Big[W\tanh\tfrac m2\,\|v\|^2 - \tfrac{2m}{W}\Big]
#   = \frac{g(m)\tanh(m/2)}{W}\big(W^2P^2 - \varphi(m)\big),\qquad
#   \varphi(m) = 2m\coth\tfrac m2 - m^2 .$$
# **Exact condition**: $\lambda_1$ grows with $\varepsilon$ iff $m\,(W^2P^2 - \varphi(m)) > 0$.
# **Sufficient condition**: $m \ge m^*$, the root of $m\tanh(m/2) = 2$, because then
# $\varphi(m) = m\coth(m/2)\,(2 - m\tanh(m/2)) \le 0$. In loss terms, the point's robust loss is
# at most $\zeta(-m^*)$, near its minimum: the theorem's premise. Below $m^*$ the sign depends
# on $P$; for $x$ parallel to $w$ and $0 < m < m^*$ the eigenvalue *decreases*.

# %%
m_star = t1.margin_threshold()
print("m* =", mpmath.nstr(m_star, 30))

# %%
ev_sym = t1.verify_y_t1()
print(ev_sym.summary)
print(steps_text(ev_sym))
print("condition:", ev_sym.conditions[0])
print("counterexample:", ev_sym.counterexample)

# %% [markdown]
# The sign of $d\lambda_1/d\varepsilon$ depends only on $m$ and $WP = \|w\|\,\|x_\perp\|$. Blue:
# $\lambda_1$ grows with $\varepsilon$; red: it shrinks. Right of the dashed line ($m \ge m^*$)
# it always grows.

# %%
m_grid = np.linspace(-6, 6, 400)
wp_grid = np.linspace(0, 3, 300)
MM, WP = np.meshgrid(m_grid, wp_grid)
sign = np.sign(t1.DLAMBDA_DEPS_NP(MM, np.ones_like(MM), WP))
fig, ax = plt.subplots(figsize=(6.5, 3.6))
ax.contourf(MM, WP, sign, levels=[-1.5, 0, 1.5], colors=["#f4a3a3", "#a3c4f4"])
phi = 2 * m_grid / np.tanh(m_grid / 2) - m_grid**2
ax.plot(m_grid, np.sqrt(np.clip(phi, 0, None)), "k-", lw=1, label=r"$W^2P^2 = \varphi(m)$")
ax.axvline(float(m_star), color="k", ls="--", lw=1, label=r"$m^*$")
ax.set_xlabel("robust margin m")
ax.set_ylabel(r"$\|w\|\,\|x_\perp\|$")
ax.set_title(r"sign of $d\lambda_1/d\varepsilon$ (blue: sharper with $\varepsilon$)")
ax.legend(loc="upper left", fontsize=8)
plt.show()

# %% [markdown]
# ### Numeric check against autograd
#
# On random instances, the closed form is compared with autograd through the top eigenvalue of
# `torch.func.hessian` (noise held at the worst case), and the sign condition with the autograd
# sign. As an observation, not a proof, the check also differentiates the top eigenvalue of the
# full HESS-DEP Hessian (attack following $w$, with its $s(-m)\frac{\varepsilon}{\|w\|}(I - \hat w
# \hat w^\top)$ term, whose coefficient always grows with $\varepsilon$) on the instances with
# $m \ge m^*$.

# %%
ev_num = check_y_t1()
print(ev_num.summary)
print(ev_num.details)

# %% [markdown]
# ### Filter normalisation for logistic regression
#
# Li et al.'s filter-normalised direction is rescaled to $\|d\| = \|w\|$ (the whole weight vector
# is a single filter here), so the curvature along it is $W^2 \hat d^\top H \hat d$: the top
# filter-normalised eigenvalue is the scale-normalised sharpness
# $W^2\lambda_1 = g(m)\,(m^2 + W^2P^2)$. At fixed $w$ it has the sign of $d\lambda_1/d\varepsilon$;
# it matters in part (b), where the trained weights (and their norms) differ between models.
# `numerics.linear.top_eigenvalue_per_point` and `numerics.linear.normalized_sharpness` compute
# both.

# %%
assert ev_sym.passed
assert ev_num.passed
assert ev_sym.conditions
assert ev_sym.counterexample["dlambda1_deps"] < 0
assert ev_num.details["above_increase"] == ev_num.details["above_m_star"] > 0
assert abs(float(m_star) - 2.3993572805154677) < 1e-12

# %% [markdown]
# ## Y-T1 (b): models trained at each $\varepsilon$ (MNIST2)
#
# The models of tables 1 ($L_2$) and 3 ($L_\infty$) of notebook 05 (committed full-scale runs in
# `results/mnist2/`): linear logistic regression trained with PGD at each $\varepsilon$,
# early-stopped on robust test accuracy, without weight decay and with weight decay $10^{-3}$.
# At the trained weights: the top eigenvalue of the Hessian with the PGD examples held fixed (the
# paper's Eq. 9), raw and scale-normalised ($\|w\|^2\lambda_1$, the filter-normalised curvature
# of part a), and the top eigenvalue of the exact robust loss (HESS-DEP, the attack depending on
# $w$). The verdict is computed by `numerics.experiments.mnist2.evidence_y_t1` from those files.

# %%
from numerics.experiments.mnist2 import RESULT_FILE, WEIGHT_DECAY_FILE, evidence_y_t1
from numerics.records import read_result

ev_data = evidence_y_t1()
print(ev_data.summary)
for cond in ev_data.conditions:
    print("  condition:", cond)
runs = [read_result(f) for f in (RESULT_FILE, WEIGHT_DECAY_FILE) if f.exists()]
if runs:
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for record in runs:
        wd = record["config"]["train"]["weight_decay"]
        for ax, key, name in zip(axes, ("1", "3"), ("L2", "L-inf"), strict=True):
            table = record["results"]["tables"][key]
            print(f"{name}, weight decay {wd:g}: eps | ||w|| | lambda_1 (fixed) | "
                  "||w||^2 lambda_1 | lambda_1 (robust) | final training loss")
            for h, row in zip(table["hessian"], table["rows"], strict=True):
                print(f"  {h['label']:>8} | {h['w_norm']:6.2f} | {h['top_fixed'][0]:8.4f} | "
                      f"{h['normalized_fixed'][0]:8.3f} | {h['top_robust'][0]:8.4f} | "
                      f"{row['train_loss_last']:.4f}")
            ax.plot([h["eps"] for h in table["hessian"]],
                    [h["normalized_fixed"][0] for h in table["hessian"]], "o-",
                    label=rf"$\|w\|^2\lambda_1$, weight decay {wd:g}")
            ax.set_xlabel(r"$\varepsilon$")
            ax.set_yscale("log")
            ax.set_title(f"{name} PGD training (MNIST2)", fontsize=9)
            ax.legend(fontsize=7)
    plt.tight_layout()
    plt.show()

# %%
assert ev_data.ran, ev_data.summary  # the committed records are in results/mnist2/
assert ev_data.passed, ev_data.summary
assert ev_data.conditions
