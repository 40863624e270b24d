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
# # The adversarial logistic loss and its inner maximum (Y-EQ7, Y-L1, INNER-MAX)
#
# Linear logistic model, per-point loss $\ell(w; x, y) = \zeta(-y\,w^\top x)$ with
# $\zeta(t) = \log(1 + e^t)$, $s = \zeta' $ the sigmoid, $y \in \{-1, +1\}$. A perturbation
# $\eta$ with $\|\eta\|_p \le \varepsilon$; $q$ is the dual exponent. The derivations are in
# `theory/adversarial_loss.py`, the float64 checks in `numerics/checks/adversarial_loss.py`.
#
# **Bias.** With a bias the input carries a constant last coordinate 1 that the attack does not
# perturb: $\eta$ is zero there, and every weight norm below is the norm of the feature weights
# $w_f$ (the bias enters the margin, not the attack).

# %% tags=["parameters"]
from numerics.profiles import current_profile

PROFILE = current_profile()
print(f"profile: {PROFILE}")

# %%
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from IPython.display import display

from numerics.checks import adversarial_loss as checks
from numerics.checks.box import check_box_max, check_box_proj
from numerics.display import show_claim, typeset
from numerics.ledger import argued_steps, fully_machine_checked
from theory import adversarial_loss as al
from theory.box import verify_box_max, verify_box_proj
from theory.notation import eps
from theory.proof import steps_text

# %% [markdown]
# ## Y-EQ7: the loss through the angle between $w$ and the perturbation

# %%
show_claim("Y-EQ7")

# %% [markdown]
# Write $\eta = \varepsilon u$ with $\|u\|_2 = 1$ and $\theta$ the angle between $w$ and $u$.
# Since $w^\top u = \|w\|\cos\theta$,
# $$w^\top(x + \varepsilon u) = w^\top x + \varepsilon\|w\|\cos\theta,\qquad
#   \ell = \zeta(-y\,w^\top x - y\,\varepsilon\|w\|\cos\theta).$$
# SymPy checks this in polar coordinates for $d = 2$ (there it is a trigonometric identity,
# $\cos a\cos b + \sin a \sin b = \cos(b - a)$) and with free components for $d = 3$.

# %%
# NBVAL_CHECK_OUTPUT
typeset(al.LOSS_EQ7, r"\ell", symbol_names=al.LATEX_NAMES)

# %%
ev_eq7 = al.verify_y_eq7()
print(ev_eq7.summary)
print(steps_text(ev_eq7))

# %% [markdown]
# Numerically, $u$ is built at a prescribed angle $\theta$ to $w$ (not computed from $w^\top u$),
# and the loss at $x + \varepsilon u$ is compared with the lambdified formula.

# %%
num_eq7 = checks.check_y_eq7()
print(num_eq7.summary)

# %%
assert ev_eq7.passed
assert num_eq7.passed
assert num_eq7.details["max_rel_err"] <= 1e-10

# %% [markdown]
# ## Y-L1: Lemma 1, the sign of $d\ell/d\varepsilon$

# %%
show_claim("Y-L1")

# %% [markdown]
# Differentiating the Y-EQ7 form,
# $$\frac{d\ell}{d\varepsilon} = -y\,\|w\|\cos\theta\; s(-y\,w^\top x - y\,\varepsilon\|w\|\cos\theta).$$
# Since $s > 0$ and $\|w\| > 0$, the derivative has the sign of $-y\cos\theta$: the loss grows
# with $\varepsilon$ when $y\cos\theta < 0$ and falls when $y\cos\theta > 0$. SymPy establishes
# the sign for $y = +1$ and $y = -1$ separately (the ratio $(d\ell/d\varepsilon)/(-y\cos\theta)$
# simplifies to an expression it declares positive). The loss is increasing in $-y\cos\theta$,
# so the worst case is $\cos\theta = -y$, i.e. $u = -y\,w/\|w\|$.

# %% [markdown]
# SymPy's derivative of the Y-EQ7 form, then the closed form `theory.adversarial_loss.DLOSS_DEPS`
# (the cell asserts they are equal):

# %%
# NBVAL_CHECK_OUTPUT
dl_deps = sp.diff(al.LOSS_EQ7, eps)
assert sp.simplify(dl_deps - al.DLOSS_DEPS) == 0
display(typeset(dl_deps, r"\frac{d\ell}{d\varepsilon}", symbol_names=al.LATEX_NAMES))
display(typeset(al.DLOSS_DEPS, r"\frac{d\ell}{d\varepsilon}", symbol_names=al.LATEX_NAMES))

# %%
ev_l1 = al.verify_y_l1()
print(ev_l1.summary)
print(steps_text(ev_l1))

# %% [markdown]
# The loss against $\varepsilon$ for several angles ($y = +1$, $w^\top x = 1$, $\|w\| = 1$): it
# rises for $\theta > \pi/2$, is flat at $\theta = \pi/2$ and falls for $\theta < \pi/2$; the
# steepest rise is $\theta = \pi$, the direction $-y\,w/\|w\|$.

# %%
eps_grid = np.linspace(0, 3, 200)
fig, ax = plt.subplots(figsize=(6.5, 3.6))
for theta_deg in (0, 45, 90, 135, 180):
    cos_theta = np.cos(np.deg2rad(theta_deg))
    ax.plot(eps_grid, al.LOSS_EQ7_NP(1.0, 1.0, cos_theta, 1.0, eps_grid),
            label=rf"$\theta = {theta_deg}^\circ$")
ax.set_xlabel(r"$\varepsilon$")
ax.set_ylabel(r"$\ell$")
ax.set_title(r"Lemma 1: $\ell(\varepsilon)$ for $y = +1$, $w^\top x = 1$, $\|w\| = 1$")
ax.legend(fontsize=8)
plt.show()

# %%
num_l1 = checks.check_y_l1()
print(num_l1.summary)

# %%
assert ev_l1.passed
assert num_l1.passed
assert num_l1.details["sign_mismatches"] == 0

# %% [markdown]
# ## INNER-MAX: the closed-form inner maximum

# %%
show_claim("INNER-MAX")

# %% [markdown]
# $\zeta$ is increasing, so maximising the loss maximises $-y\,w^\top\eta$. By Hölder,
# $-y\,w^\top\eta \le \|w\|_q\|\eta\|_p \le \varepsilon\|w\|_q$, with equality at
# $\eta^* = -\varepsilon y\, w/\|w\|_2$ ($p = 2$) and $\eta^* = -\varepsilon y\,\mathrm{sign}(w)$
# ($p = \infty$, $q = 1$). Hence, with the **robust margin** $m = y\,w^\top x - \varepsilon\|w\|_q$,
# $$\max_{\|\eta\|_p \le \varepsilon}\ell(w; x + \eta, y) = \zeta(-m).$$
# SymPy checks: $\zeta' = s > 0$; for $p = 2$ Lagrange's identity
# $\|w\|^2\|\eta\|^2 - (w^\top\eta)^2 = \sum_{i<j}(w_i\eta_j - w_j\eta_i)^2$; for $p = \infty$ the
# termwise bound; and $\|\eta^*\|_p = \varepsilon$, $-y\,w^\top\eta^* = \varepsilon\|w\|_q$.

# %%
# NBVAL_CHECK_OUTPUT
display(typeset(al.ROBUST_MARGIN, "m", symbol_names=al.LATEX_NAMES))
display(typeset(al.ROBUST_LOSS, r"\max_{\|\eta\|_p \le \varepsilon} \ell",
                symbol_names=al.LATEX_NAMES))

# %%
ev_im = al.verify_inner_max()
print(ev_im.summary)
print(steps_text(ev_im))

# %% [markdown]
# Numerically: the closed form against the loss at $\eta^*$, against random $\eta$ in and on the
# ball, and against PGD (`numerics.attacks.pgd`, random start, no box), for $p = 2$ and
# $p = \infty$, with and without a bias.

# %%
num_im = checks.check_inner_max()
print(num_im.summary)

# %%
assert ev_im.passed
assert num_im.passed
assert num_im.details["pgd_max_abs_gap"] <= 1e-6

# %% [markdown]
# ## BOX-PROJ: projecting onto the ball and the pixel box at once

# %%
show_claim("BOX-PROJ")

# %% [markdown]
# The experiments also keep $x + \delta$ in $[0, 1]^d$: $l \le \delta \le h$ with
# $l = -x \le 0 \le h = 1 - x$. For $\mu \ge 0$ the penalised objective
# $\tfrac12\|\delta - z\|^2 + \tfrac{\mu}{2}\|\delta\|^2$ separates into coordinates,
# $\tfrac{1+\mu}{2}(\delta_i - z_i/(1+\mu))^2 + \text{const}$, each minimised over
# $[l_i, h_i]$ by the clip of its vertex; complementary slackness picks $\mu$. So the projection
# onto ball $\cap$ box is $\operatorname{clip}(z/(1+\mu), l, h)$, not "project onto the ball,
# then clip" (Madry et al.'s PGD step), which stays feasible but is farther from $z$. The numeric
# side finds $\mu$ exactly from the sorted breakpoints of the clip
# (`numerics.attacks.project_ball_box`) and is checked against SLSQP.
#
# **The multiplier, machine-checked.** With $l \le 0 \le h$ each coordinate of the clip has
# absolute value $f_i(s) = \min(s a_i, b_i)$, $a_i = |z_i|$, $b_i = h_i$ or $-l_i$, at
# $s = 1/(1+\mu) \in (0, 1]$. For any $d$, $F(s) = \|f(s)\|$ is nondecreasing and
# $\|a\|$-Lipschitz (so continuous), $F(s) \le s\|z\|$, strictly increasing wherever a
# coordinate with $a_i > 0$ is unclipped and constant once all are clipped (`clip_norm_lemma`,
# three cases per coordinate). In the case $\|\operatorname{clip}(z, l, h)\| = F(1) >
# \varepsilon > 0$, $F(s_1) < \varepsilon$ at $s_1 = \varepsilon/(\varepsilon + \|z\|)$, and
# the intermediate value theorem (cited, its premises established by the steps above) gives
# $s$ with $F(s) = \varepsilon$, unique where $F$ is not constant. At $\varepsilon = 0$ the set
# is $\{0\}$: the projection is $0$, the limit $\mu \to \infty$.

# %%
ev_bp = verify_box_proj()
print(ev_bp.summary)
print(steps_text(ev_bp))

# %%
num_bp = check_box_proj()
print(num_bp.summary)

# %%
assert ev_bp.passed
assert num_bp.passed
assert not argued_steps(ev_bp)  # the existence of mu too: clip_norm_lemma, then the IVT
assert fully_machine_checked(ev_bp)

# %% [markdown]
# ## BOX-MAX: the worst case of a linear model inside the ball and the box

# %%
show_claim("BOX-MAX")

# %% [markdown]
# The same separation with the concave quadratic $-y\,w^\top\delta - \|\delta\|^2/(2t)$ gives
# $\delta^* = \operatorname{clip}(-t\,y\,w, l, h)$ at $\|\delta^*\| = \varepsilon$ (or the box
# corner when it lies in the ball); for $p = \infty$ the problem separates per pixel. On a
# MNIST-like image (a drawn "0", mostly black pixels) many pixels cannot move in the worst-case
# direction, so the boxed maximum is below the closed form; PGD with the ball-then-box step stops
# short of it, PGD with the exact projection reaches it. The $t$ with $\|\delta^*\| =
# \varepsilon$ exists by the same lemma ($s = t$, $a_i = |w_i|$): $F(0) = 0 \le \varepsilon$ and
# $F(T) = \|\delta_\infty\|$ once every coordinate is clipped, $T = \max_i b_i/a_i$.

# %%
ev_bm = verify_box_max()
print(ev_bm.summary)
num_bm = check_box_max()
print(num_bm.summary)

# %%
box = num_im.details["box_effect"]
print(f"clean loss: {box['clean_loss']:.4f}")
print(f"{'threat':<7}{'eps':>7}{'no box':>9}{'PGD ball, box':>15}{'PGD exact proj':>16}"
      f"{'BOX-MAX':>10}")
for p in ("l2", "linf"):
    print(f"{p:<7}{box[p + '_eps']:>7.3f}{box[p + '_closed_form_no_box']:>9.4f}"
          f"{box[p + '_pgd_box']:>15.4f}{box[p + '_pgd_exact_projection']:>16.4f}"
          f"{box[p + '_exact_box']:>10.4f}")

fig, ax = plt.subplots(1, 1, figsize=(2.4, 2.4))
ax.imshow(checks.mnist_like_point().reshape(28, 28).numpy(), cmap="gray", vmin=0, vmax=1)
ax.set_axis_off()
ax.set_title("MNIST-like point", fontsize=9)
plt.show()

# %%
assert ev_bm.passed
assert fully_machine_checked(ev_bm)
assert num_bm.passed
for p in ("l2", "linf"):
    assert box[p + "_pgd_box"] <= box[p + "_exact_box"] * (1 + 1e-12)
    assert box[p + "_exact_box"] <= box[p + "_closed_form_no_box"]
assert box["l2_pgd_box"] < box["l2_pgd_exact_projection"]  # ball-then-box stops short
assert abs(box["l2_pgd_exact_projection"] - box["l2_exact_box"]) < 1e-6
