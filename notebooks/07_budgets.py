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
# # Budgets: when adversarial training collapses to $w = 0$ (L-BUDGET)
#
# Liu et al. observe that large budgets make adversarial training hard. For the convex
# adversarial logistic loss
# $L_\varepsilon(w) = \frac1N\sum_n \zeta(-y_n w^\top x_n + \varepsilon\|w\|_q)$ there is an
# exact threshold above which the trivial model $w = 0$ is optimal, and the gradient is Lipschitz
# only up to an additive term proportional to $\varepsilon$.

# %% tags=["parameters"]
from numerics.profiles import current_profile

PROFILE = current_profile()
print(f"profile: {PROFILE}")

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from numerics.checks.budget import check_l_budget, make_problem
from theory.budget import (
    budget_threshold,
    robust_logistic_loss,
    threshold_direction,
    verify_l_budget,
)

# %% [markdown]
# ## L-BUDGET: the threshold
#
# $L_\varepsilon$ is convex, and its one-sided derivative at 0 along $u$ is
# $L'_\varepsilon(0; u) = \tfrac12(-u^\top\mu + \varepsilon\|u\|_q)$,
# $\mu = \frac1N\sum_n y_n x_n$. By Hölder, $\sup_{\|u\|_q = 1} u^\top\mu = \|\mu\|_p$, so
# $$w = 0 \text{ minimises } L_\varepsilon \iff \varepsilon \ge \varepsilon_0 = \|\mu\|_p$$
# ($\|\mu\|_2$ for the L2 threat, $\|\mu\|_\infty$ for L-inf). Sufficiency by convexity,
# $L(w) \ge L(0) + L'(0; w) \ge L(0) + \|w\|_q(\varepsilon - \|\mu\|_p)/2$; necessity because the
# Hölder direction $u^*$ has $L'(0; u^*) = (\varepsilon - \|\mu\|_p)/2 < 0$ below it.
#
# With an unperturbed bias, the best bias at $w = 0$ is $b^* = \log(N_+/N_-)$, the threshold
# becomes the weighted mean $\|\sum_n a_n y_n x_n\|_p / \sum_n a_n$ with $a_n = s(-y_n b^*)$, and
# since $s(-b^*) = N_-/N$, $s(b^*) = N_+/N$ it equals $\|\bar x_+ - \bar x_-\|_p/2$.
#
# **Gradient bound (L2).** For $w_1, w_2 \ne 0$,
# $\|\nabla L_\varepsilon(w_1) - \nabla L_\varepsilon(w_2)\| \le A\|w_1 - w_2\| + B\varepsilon$
# with $A = \frac14\overline{(\|x_n\| + \varepsilon)^2}$ and $B = 2$ (the sigmoid is
# $\tfrac14$-Lipschitz, $|m_n(w_1) - m_n(w_2)| \le (\|x_n\| + \varepsilon)\|w_1 - w_2\|$,
# $\|\hat w_1 - \hat w_2\| \le 2$). Across 0 the gradient difference tends to $\varepsilon$, so
# any valid $B$ is at least 1.

# %%
ev_sym = verify_l_budget()
print(ev_sym.summary)
for name, ok in ev_sym.details["checks"].items():
    print(("ok  " if ok else "NO  ") + name)

# %% [markdown]
# ## L-BUDGET: numeric evidence
#
# On a small random problem: just above the threshold no sampled $(w, b)$ beats $(0, b^*)$, just
# below it the Hölder direction does; the gradient bound holds on random pairs, including pairs on
# opposite sides of 0, where the plain Lipschitz ratio is unbounded.

# %%
ev_num = check_l_budget()
print(ev_num.summary)
for key in ("l2", "l2_bias", "linf", "linf_bias"):
    print(f"{key:>9}: eps_0 = {ev_num.details[key + '_threshold']:.6f}")

# %% [markdown]
# The loss along the descent direction, $\tau \mapsto L_\varepsilon(\tau u^*) - L_\varepsilon(0)$,
# for budgets around the threshold (L2, no bias): it dips below 0 only for $\varepsilon < \varepsilon_0$.

# %%
x, y = make_problem()
eps0 = budget_threshold(x, y, "l2")
u_star = threshold_direction(x, y, "l2")
taus = np.linspace(0, 0.6, 121)
zero = torch.zeros(x.shape[1], dtype=x.dtype)
fig, ax = plt.subplots(figsize=(6.5, 3.4))
for factor in (0.8, 0.95, 1.0, 1.05, 1.2):
    eps = factor * eps0
    base = float(robust_logistic_loss(zero, x, y, eps))
    vals = [float(robust_logistic_loss(t * u_star, x, y, eps)) - base for t in taus]
    ax.plot(taus, vals, label=rf"$\varepsilon = {factor}\,\varepsilon_0$")
ax.axhline(0, color="k", lw=0.5)
ax.set_xlabel(r"$\tau$")
ax.set_ylabel(r"$L_\varepsilon(\tau u^*) - L_\varepsilon(0)$")
ax.set_title(rf"threshold $\varepsilon_0 = \|\mu\|_2 = {eps0:.3f}$")
ax.legend(fontsize=8)
plt.show()

# %%
assert ev_sym.passed
assert ev_num.passed
assert ev_num.details["opposite_bound_ratio_max"] <= 1
assert ev_num.details["opposite_lipschitz_ratio_max"] > 1e3 * ev_num.details["A"]
for key in ("l2", "l2_bias", "linf", "linf_bias"):
    assert ev_num.details[key + "_gap_above"] >= -1e-14
    assert ev_num.details[key + "_gap_below"] < 0

# %% [markdown]
# ## L-BUDGET on data
#
# *Data section: training on MNIST2 just below and just above `budget_threshold` (L2 and L-inf,
# with and without bias) is added here by the data experiments.*
