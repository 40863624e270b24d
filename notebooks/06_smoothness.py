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
# # Smoothness of the adversarial loss (K-SMOOTH)
#
# Kanai et al. show that, once the attack's dependence on $w$ is taken into account, the
# adversarial loss of a linear classifier is smooth under L2 constraints except at $w = 0$, and
# not smooth under L-inf constraints. We derive exactly what holds, with explicit constants.

# %% tags=["parameters"]
from numerics.profiles import current_profile

PROFILE = current_profile()
print(f"profile: {PROFILE}")

# %%
import math

import matplotlib.pyplot as plt

from numerics.checks.smoothness import check_k_smooth
from theory.smoothness import verify_k_smooth

# %% [markdown]
# ## K-SMOOTH: the theory
#
# **L2.** With $m = y\,w^\top x - \varepsilon\|w\|$, $v = yx - \varepsilon\hat w$:
# $\nabla\ell = -s(-m)\,v$ and
# $H = s(m)s(-m)\,vv^\top + s(-m)\tfrac{\varepsilon}{\|w\|}(I - \hat w\hat w^\top)$.
# Since $s(m)s(-m) \le 1/4$, $\|v\| \le \|x\| + \varepsilon$, $s(-m) \le 1$ and
# $I - \hat w\hat w^\top$ is a projector,
# $$\|H\| \le K(r) = \tfrac14\,\overline{(\|x_n\| + \varepsilon)^2} + \varepsilon/r
#   \quad\text{on } \{\|w\| \ge r\}.$$
# Exactly what this proves: the gradient is $K(r)$-Lipschitz along segments that stay in
# $\{\|w\| \ge r\}$, and $(\pi/2)K(r)$-Lipschitz for any two of its points when $d \ge 2$ (the set
# is not convex; the part of a segment inside the ball is replaced by a great-circle arc, at most
# $\pi/2$ times longer). The constant must grow like $\varepsilon/r$: on vectors orthogonal to $w$
# and $v$ the Hessian is $s(-m)\varepsilon/\|w\| \ge \varepsilon/(2r)$ where $m \le 0$. At $w = 0$
# the gradient has no limit: along $w = \delta u$ it tends to $-(yx - \varepsilon u)/2$.
#
# **L-inf.** $\partial_i\ell = s(-m)(-y x_i + \varepsilon\,\mathrm{sign}(w_i))$ jumps by
# $2\varepsilon s(-m)$ across $w_i = 0$ (mean over data: $2\varepsilon\,\overline{s(-m_n)}$).

# %%
ev_sym = verify_k_smooth()
print(ev_sym.summary)
for name, ok in ev_sym.details["checks"].items():
    print(("ok  " if ok else "NO  ") + name)

# %% [markdown]
# ## K-SMOOTH: finite-difference gradient ratios
#
# Pairs in $\{\|w\| \ge r\}$ (far pairs, close pairs near the sphere of radius $r$, near-antipodal
# pairs whose segments cross the ball) and, for L-inf, symmetric steps $\pm h$ across $w_1 = 0$.

# %%
ev_num = check_k_smooth()
print(ev_num.summary)
l2, li = ev_num.details["l2"], ev_num.details["linf"]

# %%
eps = 0.5  # the budget used by numerics.checks.smoothness.l2_ratios
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
ax1.loglog(l2["r"], l2["max_ratio_any"], "o-", label="max ratio, any pair")
ax1.loglog(l2["r"], l2["max_ratio_segment_inside"], "x--", label="max ratio, segment in set")
ax1.loglog(l2["r"], l2["K"], "k-", lw=1, label="K(r)")
ax1.loglog(l2["r"], l2["K_any"], "k:", lw=1, label=r"$(\pi/2)K(r)$")
ax1.loglog(l2["r"], [eps / (2 * r) for r in l2["r"]], "C3-.", lw=1, label=r"$\varepsilon/(2r)$")
ax1.set_xlabel("r (pairs with ||w|| >= r)")
ax1.set_ylabel("||g1 - g2|| / ||w1 - w2||")
ax1.set_title("L2: blow-up like eps/r")
ax1.legend(fontsize=7)
ax2.loglog(li["h"], li["ratio"], "o-", label="ratio across $w_1 = 0$")
ax2.loglog(li["h"], [li["jump_theory"] / (2 * h) for h in li["h"]], "k:",
           label=r"$2\varepsilon\,\overline{s(-m)}/(2h)$")
ax2.set_xlabel("step h")
ax2.set_title("L-inf: ratio grows like 1/h")
ax2.legend(fontsize=7)
plt.show()

# %%
assert ev_sym.passed
assert ev_num.passed
assert all(a <= k for a, k in zip(l2["max_ratio_any"], l2["K_any"], strict=True))
assert l2["max_ratio_times_r_over_eps"][-1] >= 0.495
assert math.isclose(li["jump_measured"][-1], li["jump_theory"], rel_tol=1e-6)

# %% [markdown]
# ## K-SMOOTH on data
#
# *Data section: the gradient-ratio study on MNIST2 along training is added here by the data
# experiments.*
