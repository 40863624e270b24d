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
# # Gradient, Hessian and eigen-structure of the adversarial loss (Y-HESS, HESS-DEP, Y-EIG, Y-EIG-DEP)
#
# Two readings of "the Hessian of the adversarial loss" of a linear logistic model:
#
# * **noise held fixed** (Yamada et al., Eq. 9 and Appendix B): $\eta$ does not move with $w$;
# * **attack depending on $w$**: the loss is the inner maximum $\zeta(-m)$ with the robust margin
#   $m = y\,w^\top x - \varepsilon\|w\|_q$ (notebook 01, INNER-MAX), and $\eta^* = \eta^*(w)$.
#
# Derivations: `theory/hessian.py`; float64 checks against `torch.func`:
# `numerics/checks/hessian.py`. Notation: $s$ the sigmoid, $y \in \{-1, +1\}$, so $y^2 = 1$
# (SymPy handles $y = +1$ and $y = -1$ separately wherever that matters).

# %% tags=["parameters"]
from numerics.profiles import current_profile

PROFILE = current_profile()
print(f"profile: {PROFILE}")

# %%
import matplotlib.pyplot as plt
import sympy as sp
import torch
from IPython.display import Math, display

from numerics import robust_direction
from numerics.checks import hessian as checks
from numerics.display import show_claim
from numerics.linear import robust_eigenpairs
from theory import hessian as th
from theory.notation import vector_symbols
from theory.proof import steps_text

# %% [markdown]
# ## Y-HESS: noise held fixed

# %%
show_claim("Y-HESS")

# %% [markdown]
# With $z = y\,w^\top(x + \eta)$ and $\ell = \zeta(-z)$, the chain rule gives
# $$\nabla_w \ell = -s(-z)\,y\,(x + \eta),\qquad
#   \nabla^2_w \ell = y^2\, s(z)s(-z)\,(x+\eta)(x+\eta)^\top = s(z)s(-z)\,(x+\eta)(x+\eta)^\top,$$
# using $s'(t) = s(t)s(-t)$ and $y^2 = 1$. SymPy differentiates $\zeta(-y\,w^\top(x+\eta))$ in the
# components of $w$ ($d = 3$) and simplifies the difference with the closed form to 0. For $d = 2$
# the closed forms read:

# %%
w2, x2, eta2 = vector_symbols("w", 2), vector_symbols("x", 2), vector_symbols("eta", 2)
_, grad2, hess2 = th.fixed_noise_closed_form(w2, x2, eta2, sp.Integer(1))
display(Math(r"\nabla_w\ell\big|_{y=1} = " + sp.latex(grad2)))
display(Math(r"\nabla_w^2\ell\big|_{y=1} = " + sp.latex(hess2)))

# %%
ev_hess = th.verify_y_hess()
print(ev_hess.summary)
print(steps_text(ev_hess))

# %%
num_hess = checks.check_y_hess()
print(num_hess.summary)

# %%
assert ev_hess.passed
assert num_hess.passed
assert max(num_hess.details["max_rel_err"].values()) <= 1e-10

# %% [markdown]
# ## HESS-DEP: the attack depends on $w$

# %%
show_claim("HESS-DEP")

# %% [markdown]
# For $p = 2$, $m = y\,w^\top x - \varepsilon\|w\|$, $\nabla m = yx - \varepsilon\hat w =: v$
# ($\hat w = w/\|w\|$) and $\nabla^2 m = -\varepsilon(I - \hat w\hat w^\top)/\|w\|$. With
# $\ell = \zeta(-m)$:
# $$\nabla\ell = -s(-m)\,v,\qquad
#   \nabla^2\ell = \underbrace{s(m)s(-m)\,v v^\top}_{\text{Y-HESS at }\eta^*}
#   + \underbrace{s(-m)\,\frac{\varepsilon}{\|w\|}\,(I - \hat w\hat w^\top)}_{\text{missed with the noise fixed}} .$$
# At $\eta^* = -\varepsilon y\hat w$ one has $y(x + \eta^*) = v$ and $y\,w^\top(x + \eta^*) = m$,
# so the first term is exactly the fixed-noise Hessian at the worst case, and the gradients agree
# (Danskin's theorem); the projector term is what the fixed-noise reading misses. For
# $p = \infty$, $m = y\,w^\top x - \varepsilon\|w\|_1$ is linear on each open orthant, so off the
# hyperplanes $w_i = 0$ the Hessian is $s(m)s(-m)\,vv^\top$ with $v = yx - \varepsilon\,
# \mathrm{sign}(w)$ (SymPy's derivative of $\mathrm{sign}$ is $2\delta(w_i)$, zero there).
# With a bias, the norm is that of the feature weights and $I$ becomes the identity with a 0 on
# the bias coordinate. SymPy checks all of these in components ($d = 3$, $y = \pm 1$).

# %%
ev_dep = th.verify_hess_dep()
print(ev_dep.summary)
print(steps_text(ev_dep))
print("domain:", ev_dep.details["domain"])

# %%
num_dep = checks.check_hess_dep()
print(num_dep.summary)

# %% [markdown]
# **Does the second term vanish at the minimum?** Its coefficient $s(-m)\,\varepsilon/\|w\|$ goes
# to 0 as $m \to \infty$ (SymPy's limit above). But so does the first term's $s(m)s(-m)$, at the
# same rate $e^{-m}$: relative to the first term, the second tends to
# $\varepsilon / (\|w\|\,\|v\|^2)$, not to 0. The figure shows both on one point
# ($\|w\| = 1$, $\varepsilon = 0.5$, $x$ moved along $w$ to vary $m$).

# %%
eps_fig = 0.5
w_fig = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
t = torch.linspace(-4, 12, 300, dtype=torch.float64)
x_fig = torch.stack([t, torch.ones_like(t), torch.zeros_like(t)], dim=1)
y_fig = torch.ones_like(t)
m_fig = y_fig * (x_fig @ w_fig) - eps_fig * w_fig.norm()
v_fig = robust_direction(w_fig, x_fig, y_fig, eps_fig, "l2")
first = th.A_TORCH(m_fig) * (v_fig * v_fig).sum(1)
second = th.B_TORCH(m_fig, eps_fig, w_fig.norm())
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
axes[0].semilogy(m_fig, first, label=r"$s(m)s(-m)\|v\|^2$ (first term)")
axes[0].semilogy(m_fig, second, label=r"$s(-m)\varepsilon/\|w\|$ (second term)")
axes[0].set_xlabel("robust margin m")
axes[0].legend(fontsize=8)
axes[1].plot(m_fig, second / first)
axes[1].set_xlabel("robust margin m")
axes[1].set_ylabel("second / first")
axes[1].set_title("relative size of the projector term", fontsize=9)
plt.tight_layout()
plt.show()

# %%
assert ev_dep.passed
assert num_dep.passed
assert ev_dep.details["dimension"] == "any"
assert all(step["machine_checked"] for step in ev_dep.details["steps"])
assert num_dep.details["max_rel_size_of_projector_term"]["linf"] <= 1e-10

# %% [markdown]
# ## Y-EIG: eigenpairs of the Hessian with the noise held fixed (Eqs. 10-11)

# %%
show_claim("Y-EIG")

# %% [markdown]
# The paper's statement: with the noise held fixed (its Eq. 9 Hessian), $H = A\,uu^\top$ with
# $A = s(z)s(-z)$ and $u = x + \eta$ ($u = y\,v$ at $\eta^*$, $v = yx - \varepsilon\hat w$). Then
# $Hu = A\|u\|^2 u$, so $\lambda_1 = A\|u\|^2$ with eigenvector $u$, and $Hr = A(u^\top r)\,u = 0$
# for every $r \perp u$. SymPy checks both with index sums, for every dimension $d$.

# %%
ev_eig = th.verify_y_eig()
print(ev_eig.summary)
print(steps_text(ev_eig))

# %%
num_eig = checks.check_y_eig()
print(num_eig.summary)

# %%
assert ev_eig.passed
assert num_eig.passed
assert ev_eig.details["dimension"] == "any"
assert not ev_eig.conditions

# %% [markdown]
# ## Y-EIG-DEP: the eigenpairs once the attack depends on $w$

# %%
show_claim("Y-EIG-DEP")

# %% [markdown]
# A different statement from the paper's: is $v$ still the top eigenvector of the Hessian of the
# robust loss, whose attack follows $w$? With the HESS-DEP term ($p = 2$):
# $H = A\,vv^\top + B(I - nn^\top)$, $n = \hat w$, $A = s(m)s(-m)$, $B = s(-m)\varepsilon/\|w\|$,
# $\alpha = v^\top n$.
# * $Hv = (A\|v\|^2 + B)\,v - B\alpha\,n$: $v$ is an eigenvector only when $\alpha = 0$
#   (eigenvalue $A\|v\|^2 + B$) or $v \parallel n$ (eigenvalue $A\|v\|^2$).
# * Vectors orthogonal to both $v$ and $n$ have eigenvalue $B$ (multiplicity $d - 2$).
# * On $\mathrm{span}\{v, n\}$: for any $\lambda$, $e = \lambda v - B\alpha n$ satisfies
#   $He - \lambda e = -q(\lambda)\,v$ with $q(\lambda) = \lambda^2 - (A\|v\|^2 + B)\lambda
#   + AB\alpha^2$, so the two roots $\lambda_\pm$ of $q$ are eigenvalues with eigenvectors
#   $\lambda_\pm v - B\alpha n$; $q(A\|v\|^2) = -AB\,\|v - \alpha n\|^2 \le 0$, so Yamada's
#   $\lambda_1 = A\|v\|^2$ lies between $\lambda_-$ and $\lambda_+$.
# * The ratio $\lambda_+/\lambda_1$ is unbounded: on the families $w = e_1, x = t e_1, y = -1$
#   ($t \to \infty$, robustly misclassified) and $w = \delta e_1, x = (c + \varepsilon) e_1,
#   y = 1$ ($\delta \to 0^+$, correctly classified), $v \parallel \hat w$, the top eigenvalue is
#   $\max(A\|v\|^2, B)$ and $B/(A\|v\|^2) \to \infty$ (SymPy's limits).
#
# So the statement fails, with the exact condition above and a counterexample; the full-data
# Hessian is the mean of the point Hessians (`numerics.linear.hessian_robust`, checked against
# the Hessian of the mean loss).

# %%
A, B, V, alpha = sp.symbols("A B V alpha", positive=True)
roots = th.eigen_roots_expr(A, B, V, alpha)  # V = ||v||^2
display(Math(r"\lambda_\pm = \tfrac12\Big(" + sp.latex(A * V + B) + r" \pm "
             + sp.latex(sp.sqrt((A * V + B) ** 2 - 4 * A * B * alpha**2)) + r"\Big)"))
# Vieta: the roots sum to the trace and multiply to the determinant of H on span{v, w^}
assert sp.simplify(roots[0] + roots[1] - (A * V + B)) == 0
assert sp.simplify(roots[0] * roots[1] - A * B * alpha**2) == 0

# %%
ev_eig_dep = th.verify_y_eig_dep()
print(ev_eig_dep.summary)
print(steps_text(ev_eig_dep))
print("condition:", ev_eig_dep.conditions[0])

# %%
num_eig_dep = checks.check_y_eig_dep()
print(num_eig_dep.summary)
print("counterexample (p = 2):", {k: v for k, v in (num_eig_dep.counterexample or {}).items()
                                  if k not in ("w", "x")})

# %% [markdown]
# The spectrum on the same point as above: $\lambda_+$, $\lambda_-$, the bulk $B$, and Yamada's
# $\lambda_1 = A\|v\|^2$, which lies between $\lambda_-$ and $\lambda_+$.

# %%
values, _ = robust_eigenpairs(w_fig, x_fig, y_fig, eps_fig, "l2")
fig, ax = plt.subplots(figsize=(6.5, 3.6))
ax.semilogy(m_fig, values[:, 0], label=r"$\lambda_+$")
ax.semilogy(m_fig, first, "k--", lw=1, label=r"$s(m)s(-m)\|v\|^2$ (Eq. 10)")
ax.semilogy(m_fig, values[:, 2], label=r"$B$ (multiplicity $d-2$)")
ax.semilogy(m_fig, values[:, 1], label=r"$\lambda_-$")
ax.set_xlabel("robust margin m")
ax.set_title(r"point-Hessian eigenvalues, $p = 2$, attack depending on $w$", fontsize=9)
ax.legend(fontsize=8)
plt.show()

# %%
assert not ev_eig_dep.passed  # the statement is refuted ...
assert all(step["machine_checked"] for step in ev_eig_dep.details["steps"])  # ... by a proof
assert ev_eig_dep.counterexample["cross(Hv, v)"] < 0
assert not num_eig_dep.passed
assert num_eig_dep.details["bracket_violations"] == 0
assert bool(torch.all(values[:, 0] >= first * (1 - 1e-12)))
assert bool(torch.all(values[:, 1] <= first * (1 + 1e-12)))
