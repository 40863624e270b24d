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
from numerics.display import show_claim
from theory.proof import steps_text
from theory.smoothness import verify_k_smooth

# %% [markdown]
# ## K-SMOOTH: the theory

# %%
show_claim("K-SMOOTH")

# %% [markdown]
# **L2.** With $m = y\,w^\top x - \varepsilon\|w\|$, $v = yx - \varepsilon\hat w$:
# $\nabla\ell = -s(-m)\,v$. For any $w_1, w_2$ with $\|w_1\|, \|w_2\| \ge r$, writing
# $s_k = s(-m(w_k))$,
# $$\nabla\ell(w_1) - \nabla\ell(w_2) = -(s_1 - s_2)(yx - \varepsilon\hat w_1)
#   + \varepsilon s_2(\hat w_1 - \hat w_2),$$
# and $|s_1 - s_2| \le |m_1 - m_2|/4 \le (\|x\| + \varepsilon)\|w_1 - w_2\|/4$,
# $\|yx - \varepsilon\hat w_1\| \le \|x\| + \varepsilon$, $s_2 \le 1$ and
# $\|\hat w_1 - \hat w_2\| \le \|w_1 - w_2\|/r$ ($w \mapsto \hat w$ is $1/r$-Lipschitz outside
# the ball of radius $r$), so
# $$\|\nabla\ell(w_1) - \nabla\ell(w_2)\| \le K(r)\,\|w_1 - w_2\|, \qquad
#   K(r) = \tfrac14\,\overline{(\|x_n\| + \varepsilon)^2} + \varepsilon/r,$$
# for every pair in $\{\|w\| \ge r\}$ (no segment inside the set is needed). The constant must
# grow like $\varepsilon/r$: $w_k = r e_k$ with $x \perp e_1, e_2$ reach
# $\varepsilon s(\varepsilon r)/r \ge \varepsilon/(2r)$. At $w = 0$ the gradient has no limit:
# along $w = \delta u$ it tends to $-(yx - \varepsilon u)/2$. Every step is checked by SymPy with
# index sums, for every dimension $d$.
#
# **L-inf.** $\partial_i\ell = s(-m)(-y x_i + \varepsilon\,\mathrm{sign}(w_i))$ jumps by
# $2\varepsilon s(-m)$ across $w_i = 0$ (mean over data: $2\varepsilon\,\overline{s(-m_n)}$).

# %%
ev_sym = verify_k_smooth()
print(ev_sym.summary)
print(steps_text(ev_sym))

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
assert all(a <= k for a, k in zip(l2["max_ratio_any"], l2["K"], strict=True))
assert l2["max_ratio_times_r_over_eps"][-1] >= 0.495
assert math.isclose(li["jump_measured"][-1], li["jump_theory"], rel_tol=1e-6)

# %% [markdown]
# ## K-SMOOTH on data
#
# The same ratios on MNIST2 (digits 0 and 1, pixels in $[0, 1]$), with the robust loss
# $L_\varepsilon(w) = \frac1N\sum_n \zeta(-y_n w^\top x_n + \varepsilon\|w\|_q)$ (closed-form inner
# maximum, so the attack's dependence on $w$ is differentiated) and gradients by autograd
# (`numerics.experiments.smoothness.run_smoothness`, `advlandscape study smoothness`):
#
# * **L2**, $\varepsilon = 1$: pairs $w_1 = r u$, $w_2 = w_1 + 10^{-3} r\, v$ with $v \perp u$, for
#   $r$ from 1 down to $10^{-5}$. Measured: $\|\nabla L(w_2) - \nabla L(w_1)\| / \|w_2 - w_1\|$,
#   against $K(r)$. Near 0 every margin vanishes, $s(-m_n) \to 1/2$, and the ratio must behave
#   like $\varepsilon/(2r)$.
# * **L-inf**, $\varepsilon = 0.1$: steps $w_0 \pm (h/2) e_i$ across $w_i = 0$ on pixels that are
#   non-zero somewhere in the data; the gradient difference must tend to the jump
#   $2\varepsilon\,\overline{s(-m_n)}$ and the ratio must grow like jump$/h$.
#
# The numbers below are the committed record of the notebook's profile (ci: 500 training
# points, `results/smoothness/ci/smoothness.json`): `advlandscape study smoothness --scale ci`
# makes it, and `advlandscape reproduce --scale ci --only smoothness` reruns it from scratch and
# compares it with this one number by number (a test does so). It must be a run of this code's
# configuration.

# %%
from numerics.experiments import registry, smoothness
from numerics.experiments.reproduce import committed_record

record = committed_record("smoothness", PROFILE)  # refused if not a run of this configuration
smooth_cfg = registry.config_for("smoothness", "full" if PROFILE == "gpu" else PROFILE)
smooth = record["results"]
print(f"{record['provenance']['created']}, {record['provenance']['device']}")
ev_data = smoothness.judge_smoothness(smooth)
print(ev_data.summary)

# %%
rows2, rowsi = smooth["l2"]["rows"], smooth["linf"]["rows"]
radii = sorted({r["r"] for r in rows2})
hs = sorted({r["h"] for r in rowsi})
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
ax1.loglog(radii, [max(r["ratio"] for r in rows2 if r["r"] == rr) for rr in radii], "o-",
           label="max measured ratio")
ax1.loglog(radii, [rows2[[r["r"] for r in rows2].index(rr)]["bound"] for rr in radii], "k-",
           lw=1, label="K(r)")
ax1.loglog(radii, [smooth_cfg.eps_l2 / (2 * rr) for rr in radii], "k:", lw=1,
           label=r"$\varepsilon/(2r)$")
ax1.set_xlabel(r"$r = \|w_1\|$")
ax1.set_ylabel("gradient ratio")
ax1.set_title(r"L2, MNIST2: blow-up at $w = 0$")
ax1.legend(fontsize=8)
for c in sorted({r["coordinate"] for r in rowsi}):
    sel = [r for r in rowsi if r["coordinate"] == c]
    ax2.loglog([r["h"] for r in sel], [r["ratio"] for r in sel], "o-", ms=3, alpha=0.6)
jump = rowsi[0]["jump_theory"]
ax2.loglog(hs, [jump / h for h in hs], "k:", lw=1, label="jump / h (first coordinate)")
ax2.set_xlabel("crossing width h")
ax2.set_ylabel("gradient ratio")
ax2.set_title(r"L-inf, MNIST2: crossing $w_i = 0$")
ax2.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# **Practical consequence.** The L-inf loss (with weight decay $\lambda = 10^{-3}$) minimised by
# three methods from $w \approx 0$: L-BFGS on the non-smooth function (autograd's gradient, with
# $\mathrm{sign}(0) = 0$), a subgradient method with step $1/(\lambda(t+1))$, and the exact smooth
# split form $w = u - v$, $u, v \ge 0$ (L-BFGS-B with bounds) as the reference optimum. For
# contrast, L-BFGS on the L2 loss, smooth away from 0. A large part of the L-inf minimiser sits
# exactly on kinks $w_i = 0$ (all pixels that are 0 in every image, and more), which L-BFGS's
# quasi-Newton model cannot represent.

# %%
opt = smooth["optimisers"]
print(f"{'method':<16} {'F':>12} {'F - F*':>10} {'|w_i|<1e-8':>11} {'iters':>6}  termination")
for name in ("lbfgs", "subgradient", "split_reference", "lbfgs_l2"):
    run = opt[name]
    gap = run.get("gap", 0.0 if name == "split_reference" else float("nan"))
    print(f"{name:<16} {run['F']:>12.6f} {gap:>10.2e} {run['near_zero_coords']:>11d} "
          f"{run.get('nit', smooth_cfg.opt_iters):>6}  {run.get('message', '-')}")

# %% [markdown]
# The committed record (`results/smoothness/smoothness.json`, its profile in the summary) gives the
# ledger's data evidence for K-SMOOTH. It was run on all 12,665 MNIST2 training images with 1,000
# iterations per optimiser; there the failure mode is sharper than at ci scale: L-BFGS on the
# L-inf loss stops with scipy's *convergence* message, yet 1.4% above the optimum, with a small
# fraction of the optimum's ~650 zero coordinates (table below), while the same method on the L2
# loss converges in about 20 iterations. No line-search failure was observed: the quasi-Newton
# model fails silently.

# %%
ev_committed = smoothness.evidence_k_smooth()
print(ev_committed.summary if ev_committed.ran else "no committed record: " + ev_committed.summary)
if ev_committed.ran:
    full_opt = ev_committed.details["optimisers"]
    for name in ("lbfgs", "split_reference", "lbfgs_l2"):
        run = full_opt[name]
        print(f"{name:<16} F = {run['F']:.6f}  zeros = {run['near_zero_coords']:>4}  "
              f"iterations = {run['nit']:>4}  {run['message']}")

# %%
assert ev_data.passed, ev_data.summary
assert all(r["ratio"] <= r["bound"] for r in rows2)
assert all(abs(r["ratio_r_over_eps"] - 0.5) < 0.05 for r in rows2 if r["r"] == radii[0])
assert max(r["rel_err_jump"] for r in rowsi if r["h"] == hs[0]) < 1e-3
assert opt["split_reference"]["near_zero_coords"] > opt["lbfgs"]["near_zero_coords"]
assert ev_committed.ran, ev_committed.summary
assert ev_committed.passed, ev_committed.summary
