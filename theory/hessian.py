"""Gradients, Hessians, eigenpairs of the adversarial logistic loss (Y-HESS, HESS-DEP, Y-EIG).

Two readings of "the Hessian of the adversarial loss":

* Y-HESS (Yamada et al. Eq. 9, Appendix B): the perturbation eta is held fixed while w varies,
  z = y w.(x + eta): grad l = -s(-z) y (x + eta), Hessian s(z) s(-z) (x + eta)(x + eta)^T.
* HESS-DEP: the worst-case perturbation depends on w, l(w) = zeta(-m) with the robust margin
  m = y w.x - eps ||w_f||_q (INNER-MAX). With g = grad_w ||w_f||_q (g = w^ = w_f/||w_f|| for
  p = 2, g = sign(w_f) for p = inf, zero on a bias coordinate) and v = y x - eps g:

      grad l = -s(-m) v,
      Hessian = s(m) s(-m) v v^T + s(-m) eps Hess(||w_f||_q),

  where Hess(||w_f||_2) = (D - w^ w^T)/||w_f|| (D = identity, or the identity with a zero on the
  bias coordinate) and Hess(||w_f||_1) = 0 off the hyperplanes w_i = 0. At eta = eta*(w) the
  first term equals the Y-HESS Hessian (y^2 = 1 makes (x + eta*) y = v), and the gradients agree
  (Danskin); the second term is what the fixed-noise reading misses.

Y-EIG: for the rank-one Hessians (fixed noise; p = inf) the eigenvector is u = x + eta (resp. v)
with eigenvalue lambda_1 = s s ||u||^2 and every orthogonal vector has eigenvalue 0. With the
HESS-DEP term (p = 2, no bias), writing A = s(m)s(-m), B = s(-m) eps/||w||, alpha = v.w^:
vectors orthogonal to v and w^ have eigenvalue B (multiplicity d - 2), and span{v, w^} carries
the roots lambda_pm of q(lambda) = lambda^2 - (A ||v||^2 + B) lambda + A B alpha^2 with
eigenvectors lambda v - B alpha w^. Both roots bracket A ||v||^2 and B (q(A||v||^2) = q(B) =
-A B (||v||^2 - alpha^2) <= 0): Yamada's lambda_1 = A ||v||^2 is a lower bound of the top
eigenvalue once the attack's dependence on w is kept. The full-data Hessian is the mean over
points.

Numeric side: the scalar coefficients A, B and s(-m) as lambdified float64 callables
(``A_TORCH``, ``B_TORCH``, ``G_TORCH`` and their numpy twins). The gradients, Hessians and
eigenpairs of data sets, built from them, are in :mod:`numerics.linear.curvature`.
"""

from __future__ import annotations

import functools

import sympy as sp

from theory._symbolic import lambdify_pair
from theory.claims import Evidence
from theory.lemmas import DIM, I, J, K, isum, linear, vector
from theory.notation import Y_VALUES, eps, s, zeta
from theory.proof import Proof, drop_index_range
from theory.validate import check_norm

__all__ = [
    "A_NP",
    "A_TORCH",
    "B_NP",
    "B_TORCH",
    "CURVATURE_A",
    "CURVATURE_B",
    "EIG_CONDITION",
    "GRAD_COEF",
    "G_NP",
    "G_TORCH",
    "W_IDX",
    "W_NORM",
    "M",
    "eigen_roots_expr",
    "fixed_noise_closed_form",
    "robust_closed_form",
    "robust_gradient_proof",
    "verify_hess_dep",
    "verify_y_eig",
    "verify_y_eig_dep",
    "verify_y_hess",
]

# ---------------------------------------------------------------------------------------------
# SymPy: closed forms in explicit components
# ---------------------------------------------------------------------------------------------

M = sp.Symbol("m", real=True)
"""The robust margin m (or z = y w.(x + eta) for fixed noise)."""
W_NORM = sp.Symbol("norm_w", positive=True)
"""||w_f||_2 (> 0)."""
#: A = s(m) s(-m): the curvature of zeta(-m) along m.
CURVATURE_A: sp.Expr = s(M) * s(-M)
#: B = s(-m) eps / ||w||: the coefficient of the HESS-DEP projector term (p = 2).
CURVATURE_B: sp.Expr = s(-M) * eps / W_NORM
#: s(-m): the gradient coefficient.
GRAD_COEF: sp.Expr = s(-M)

A_NP, A_TORCH = lambdify_pair((M,), CURVATURE_A)
B_NP, B_TORCH = lambdify_pair((M, eps, W_NORM), CURVATURE_B)
G_NP, G_TORCH = lambdify_pair((M,), GRAD_COEF)


def fixed_noise_closed_form(
    w: sp.Matrix, x: sp.Matrix, eta: sp.Matrix, y_: sp.Expr
) -> tuple[sp.Expr, sp.Matrix, sp.Matrix]:
    """Y-HESS closed forms (loss, gradient, Hessian) for symbolic vectors and y = +-1."""
    u = x + eta
    z = y_ * (w.T * u)[0]
    return zeta(-z), -s(-z) * y_ * u, s(z) * s(-z) * u * u.T


def robust_closed_form(
    w: sp.Matrix, x: sp.Matrix, y_: sp.Expr, norm: str, bias: bool = False,
    margin: sp.Expr | None = None,
) -> tuple[sp.Expr, sp.Expr, sp.Matrix, sp.Matrix]:
    """HESS-DEP closed forms (loss, margin, gradient, Hessian) for symbolic vectors, y = +-1.

    Returns the loss zeta(-m) written with the norm itself (to be differentiated), the margin
    m = y w.x - eps ||w_f||_q, the closed-form gradient -s(-m) v and the closed-form Hessian
    (p = 2: A v v^T + B (D - w^ w^T); p = inf: A v v^T with v = y x - eps sign(w_f)). With
    ``margin`` given (e.g. the symbol ``M``), the sigmoids in the gradient and Hessian take it
    in place of the explicit m.
    """
    d = w.shape[0]
    mask = sp.Matrix([0 if (bias and i == d - 1) else 1 for i in range(d)])
    wf = w.multiply_elementwise(mask)
    l2 = check_norm(norm) == "l2"
    wn = sp.sqrt((wf.T * wf)[0]) if l2 else sum(sp.Abs(c) for c in wf)
    g = wf / wn if l2 else wf.applyfunc(sp.sign)
    m = y_ * (w.T * x)[0] - eps * wn
    mm = m if margin is None else margin
    second = s(-mm) * eps / wn * (sp.diag(*mask) - g * g.T) if l2 else sp.zeros(d, d)
    v = y_ * x - eps * g
    return zeta(-m), m, -s(-mm) * v, s(mm) * s(-mm) * v * v.T + second


# ---------------------------------------------------------------------------------------------
# Symbolic verification
# ---------------------------------------------------------------------------------------------


def _index_derivatives(loss: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """d loss / d w_j and d^2 loss / d w_j d w_k of an index-sum expression, indices in 1..d."""
    grad = drop_index_range(sp.diff(loss, W_IDX[J]).doit(), DIM, (J,))
    hess = drop_index_range(sp.diff(loss, W_IDX[J], W_IDX[K]).doit(), DIM, (J, K))
    return grad, hess


W_IDX = vector("w")
"""The weights w_1..w_d as index-sum components."""


def verify_y_hess() -> Evidence:
    """Y-HESS: grad l = -s(-z) y (x + eta), Hessian = s(z) s(-z) (x + eta)(x + eta)^T.

    For every dimension d: SymPy differentiates zeta(-y sum_i w_i u_i), u = x + eta held fixed,
    by the components w_j, w_k (index sums, ``KroneckerDelta``) and simplifies the differences
    with the closed forms to 0, for y = +1 and y = -1 (the Hessian needs y^2 = 1).
    """
    p = Proof(claim="Y-HESS")
    u, z = vector("u"), sp.Symbol("z", real=True)
    for yv in Y_VALUES:
        score = isum(W_IDX[I] * u[I])
        grad, hess = _index_derivatives(zeta(-yv * score))
        grad, hess = (e.subs(score, yv * z) for e in (grad, hess))  # z = y w.u
        p.identity(f"y = {yv}: d/dw_j zeta(-y w.(x + eta)) = -s(-z) y (x + eta)_j",
                   grad - (-s(-z) * yv * u[J]))
        p.identity(f"y = {yv}: d2/dw_j dw_k = s(z) s(-z) (x + eta)_j (x + eta)_k",
                   (hess - s(z) * s(-z) * u[J] * u[K]).rewrite(sp.exp))
    return p.evidence("autodiff of zeta(-y w.(x + eta)) minus the closed-form gradient and "
                      "Hessian simplifies to 0 (y = +-1)")


def _robust_entries(yv: int, norm: str, bias: bool, only: tuple[str, ...] | None = None,
                    ) -> dict[str, tuple[sp.Expr, sp.Expr]]:
    """(SymPy's derivative, the closed form) of the entries of the HESS-DEP gradient and
    Hessian of zeta(-m), m = y (w.x + b) - eps ||w||_q, for features i = 1..d and a bias b."""
    x, b = vector("x"), sp.Symbol("b", real=True)
    score = isum(W_IDX[I] * x[I]) + (b if bias else 0)
    l2 = norm == "l2"
    wn = sp.sqrt(isum(W_IDX[I] ** 2)) if l2 else isum(sp.Abs(W_IDX[I]))
    m = yv * score - eps * wn
    loss = zeta(-m)
    grad, hess = _index_derivatives(loss) if only != ("gradient",) else (
        drop_index_range(sp.diff(loss, W_IDX[J]).doit(), DIM, (J,)), sp.Integer(0))
    mm, nw = sp.Symbol("m", real=True), sp.Symbol("n_w", positive=True)

    big_e = sp.Symbol("E", positive=True)  # e^m

    def plain(e: sp.Expr) -> sp.Expr:
        """In the margin m and ||w|| (e^m as E: rational functions simplify fast)."""
        e = e.replace(sp.DiracDelta, lambda *_: 0)  # off the hyperplanes w_i = 0 (p = inf)
        e = e.subs(wn, nw)
        e = e.subs(b, (mm + eps * nw) / yv - isum(W_IDX[I] * x[I])) if bias else \
            e.subs(score, (mm + eps * nw) / yv)
        return sp.expand(sp.powsimp(sp.expand(e.rewrite(sp.exp)))).replace(
            lambda f: isinstance(f, sp.exp), lambda f: big_e ** sp.expand(f.args[0] / mm))

    g = (lambda j: W_IDX[j] / nw) if l2 else (lambda j: sp.sign(W_IDX[j]))
    v = {j: yv * x[j] - eps * g(j) for j in (J, K)}
    a_, b_ = s(mm) * s(-mm), s(-mm) * eps / nw
    sig = {s(mm): big_e / (1 + big_e), s(-mm): 1 / (1 + big_e)}
    hess_closed = a_ * v[J] * v[K] + (b_ * (sp.KroneckerDelta(J, K) - g(J) * g(K)) if l2 else 0)
    out = {"gradient": (grad, -s(-mm) * v[J]), "hessian": (hess, hess_closed)}
    if bias:
        out["gradient (bias)"] = (sp.diff(loss, b), -s(-mm) * yv)
        out["hessian (feature, bias)"] = (
            drop_index_range(sp.diff(loss, W_IDX[J], b).doit(), DIM, (J,)), a_ * v[J] * yv)
        out["hessian (bias, bias)"] = (sp.diff(loss, b, 2), a_)
    return {k: (plain(auto), closed.subs(sig)) for k, (auto, closed) in out.items()
            if only is None or k in only}


@functools.cache
def robust_gradient_proof() -> Proof:
    """HESS-DEP's gradient, p = 2, any d: d/dw_j zeta(-m) = -s(-m)(y x_j - eps w_j/||w||)."""
    p = Proof()
    for yv in Y_VALUES:
        auto, closed = _robust_entries(yv, "l2", False, ("gradient",))["gradient"]
        p.identity(f"y = {yv}: d/dw_j zeta(-m) = -s(-m) v_j, v = y x - eps w^ (index sums)",
                   sp.cancel(sp.together(auto - closed)))
    return p


def verify_hess_dep() -> Evidence:
    """HESS-DEP: gradient and Hessian of zeta(-m), m = y w.x - eps ||w_f||_q, attack depending on w.

    For every dimension d: SymPy differentiates zeta(-m) with m written with index sums,
    ||w||_2 = sqrt(sum_i w_i^2) or ||w||_1 = sum_i |w_i| (and a bias b, never perturbed), by the
    components w_j, w_k (and b), and simplifies the differences with the closed forms to 0, for
    y = +1 and y = -1:

    * p = 2 (w_f != 0): gradient -s(-m) v, Hessian s(m)s(-m) v v^T + s(-m)(eps/||w_f||)
      (D - w^ w^T), v = y x - eps w^ (with a bias: v gains the entry y, D is 0 on the bias);
    * p = inf: the second derivative of |w_i| is 2 DiracDelta(w_i), 0 off the hyperplanes
      w_i = 0, where the Hessian is s(m)s(-m) v v^T, v = y x - eps sign(w);
    * the second term vanishes at the loss minimum: lim_{m -> oo} s(-m) eps/||w|| = 0, and at
      eta* = -eps y w^ the Y-HESS Hessian is the first term (y (x + eta*) = v, z = m).
    """
    p = Proof(claim="HESS-DEP")
    for yv in Y_VALUES:
        for norm, bias in (("l2", False), ("l2", True), ("linf", False)):
            label = (f"p = 2 (m = y w.x - eps ||w||_2, v = y x - eps w^){', bias' if bias else ''}"
                     if norm == "l2" else "p = inf (m = y w.x - eps ||w||_1, v = y x - eps "
                     "sign(w), off w_i = 0)") + f", y = {yv}"
            for what, (auto, closed) in _robust_entries(yv, norm, bias).items():
                p.identity(f"{label}: {what} of zeta(-m) equals the closed form",
                           sp.cancel(sp.together(auto - closed)))
        x = vector("x")
        wn = sp.sqrt(isum(W_IDX[I] ** 2))
        eta_star = -eps * yv * W_IDX[I] / wn
        p.identity(f"y = {yv}: at eta*, z = y w.(x + eta*) equals m",
                   linear(yv * isum(W_IDX[I] * (x[I] + eta_star)))
                   - linear(yv * isum(W_IDX[I] * x[I]) - eps * wn), uses=("w != 0",))
        p.identity(f"y = {yv}: y (x + eta*) = v", (yv * (x[J] + eta_star.subs(I, J)))
                   - (yv * x[J] - eps * W_IDX[J] / wn), uses=("w != 0",))
    p.limit("s(-m) eps/||w|| -> 0 as m -> oo: the second term vanishes at the minimum",
            CURVATURE_B, M, sp.oo, 0, "-")
    return p.evidence(
        "autodiff of zeta(-m) minus the closed forms is 0 (p = 2 with and without bias, p = inf "
        "off w_i = 0, y = +-1); s(-m) eps/||w|| -> 0 as m -> oo",
        details={"domain": "p = 2: w_f != 0; p = inf: every w_i != 0 (no Hessian on w_i = 0)",
                 "p = inf": "m = y w.x - eps ||w||_1, v = y x - eps sign(w), Hessian "
                            "s(m)s(-m) v v^T off the hyperplanes w_i = 0"})


#: Y-EIG-DEP: when v = y x - eps w^ is an eigenvector of the w-dependent (HESS-DEP, p = 2)
#: Hessian, and with which eigenvalue.
EIG_CONDITION = (
    "with the p = 2 term s(-m)(eps/||w||)(I - w^ w^T) kept, v = y x - eps w^ is an eigenvector "
    "only if alpha = v.w^ = 0 (eigenvalue s(m)s(-m)||v||^2 + s(-m) eps/||w||) or v || w^ "
    "(eigenvalue s(m)s(-m)||v||^2, which need not be the top one); otherwise the top eigenpair "
    "is (lambda_+, lambda_+ v - B alpha w^), lambda_+ >= s(m)s(-m)||v||^2"
)


def _gram_hessian(a_: sp.Expr, b_: sp.Expr) -> tuple[sp.Expr, ...]:
    """Index-sum form of H = A v v^T + B (I - n n^T), ||n|| = 1: (H z)_j for a vector z."""
    v, n = vector("v"), vector("n")

    def apply(z: sp.IndexedBase | sp.Expr) -> sp.Expr:
        zk = z[K] if isinstance(z, sp.IndexedBase) else z.subs(J, K)
        zj = z[J] if isinstance(z, sp.IndexedBase) else z
        return (a_ * v[J] * sp.Sum(v[K] * zk, (K, 1, DIM))
                + b_ * (zj - n[J] * sp.Sum(n[K] * zk, (K, 1, DIM))))

    return v, n, apply


def verify_y_eig() -> Evidence:
    """Y-EIG (Eqs. 10-11), the paper's statement: the Hessian with the noise held fixed,
    H = s(z)s(-z) u u^T with u = x + eta (u = y v at eta*), has the eigenvector u with eigenvalue
    s(z)s(-z)||u||^2, and every vector orthogonal to u has eigenvalue 0.

    For every dimension d (index sums), y = +-1, with H_jk computed by SymPy as the second
    derivatives of the loss zeta(-y w.u) (not the closed form): (H u)_j = s(z)s(-z)||u||^2 u_j
    and (H r)_j = s(z)s(-z)(u.r) u_j, which is 0 for r orthogonal to u; at eta* the eigenvalue is
    s(m)s(-m)||v||^2. The full-data Hessian is the mean of the per-point ones.
    """
    p = Proof(claim="Y-EIG")
    u, r, z = vector("u"), vector("r"), sp.Symbol("z", real=True)
    lam = s(z) * s(-z) * linear(isum(u[I] ** 2))
    for yv in Y_VALUES:
        score = isum(W_IDX[I] * u[I])
        _, hess = _index_derivatives(zeta(-yv * score))  # H_jk from the loss, not the closed form
        hess = hess.subs(score, yv * z)  # z = y w.u
        hu = linear(sp.Sum(hess * u[K], (K, 1, DIM)))
        p.identity(f"y = {yv}: with H_jk = d2/dw_j dw_k zeta(-y w.u) (SymPy's derivatives, u = "
                   "x + eta fixed), (H u)_j = s(z)s(-z) ||u||^2 u_j: u is an eigenvector, "
                   "eigenvalue s(z)s(-z)||x + eta||^2", (hu - lam * u[J]).rewrite(sp.exp))
        hr = linear(sp.Sum(hess * r[K], (K, 1, DIM)))
        ur = linear(isum(u[I] * r[I]))
        p.identity(f"y = {yv}: (H r)_j = s(z)s(-z) (u.r) u_j for every r, so H r = 0 when "
                   "u.r = 0: eigenvalue 0 on u-perp",
                   (hr - s(z) * s(-z) * ur * u[J]).rewrite(sp.exp))
    x = vector("x")
    wn = sp.sqrt(isum(W_IDX[I] ** 2))
    for yv in Y_VALUES:
        eta_star = -eps * yv * W_IDX[I] / wn
        v_i = yv * x[I] - eps * W_IDX[I] / wn
        p.identity(f"y = {yv}: at eta* = -eps y w^, ||x + eta*||^2 = ||y x - eps w^||^2 = "
                   "||v||^2 (w != 0), and z = m (HESS-DEP): the eigenvalue is s(m)s(-m)||v||^2",
                   linear(isum((x[I] + eta_star) ** 2)) - linear(isum(v_i ** 2)), uses=("w != 0",))
    return p.evidence("rank-one eigenpair (A ||u||^2, u) with eigenvalue 0 on u-perp, "
                      "u = x + eta held fixed")


def verify_y_eig_dep() -> Evidence:
    """Y-EIG-DEP: does v = y x - eps w^ stay the top eigenvector once the attack depends on w?
    It does not: the statement fails, and the steps establish why, for every d.

    Hypotheses: eps > 0 and w != 0 (so B > 0), y in {-1, +1} (H depends on y only through v and
    m, so the steps below hold for both signs). With H = A v v^T + B (I - n n^T) (HESS-DEP,
    p = 2, no bias; n = w^, A = s(m)s(-m), B = s(-m) eps/||w||, alpha = v.n, V = ||v||^2), by
    index sums:

    * (H v)_j = (A V + B) v_j - B alpha n_j: v is an eigenvector iff B alpha n is parallel to v,
      i.e. (B > 0) alpha = 0 (eigenvalue A V + B) or v || n (eigenvalue A V);
    * e = lambda v - B alpha n satisfies H e - lambda e = -q(lambda) v with q(lambda) =
      lambda^2 - (A V + B) lambda + A B alpha^2: the eigenpairs on span{v, n} are the roots
      lambda_pm; vectors orthogonal to v and n have eigenvalue B; q(A V) = -A B (V - alpha^2)
      <= 0, so lambda_+ >= A V (Yamada's lambda_1 is a lower bound);
    * a counterexample (d = 2): w = (1, 0), x = (1, 1), y = 1, eps = 1/2: v is not an
      eigenvector (the 2-D cross product of H v and v is -B/2 != 0);
    * lambda_+ / lambda_1 is unbounded: on w = e_1, x = t e_1, y = -1 (robustly misclassified,
      v || w^) the top eigenvalue is max(A V, B) and B / (A V) -> oo as t -> oo; on w = delta e_1,
      x = c e_1, y = 1, c > eps (correctly classified) B / (A V) -> oo as delta -> 0+.
    """
    p = Proof(claim="Y-EIG-DEP")
    mm, e_pos, wn_pos = sp.Symbol("m", real=True), sp.Symbol("epsilon", positive=True), \
        sp.Symbol("norm_w", positive=True)
    p.positive("A = s(m)s(-m) > 0 for every m (either sign of y, any margin)", s(mm) * s(-mm),
               gives=("A > 0",))
    p.positive("B = s(-m) eps/||w|| > 0 under the hypotheses eps > 0 and w != 0 (at eps = 0, "
               "B = 0 and v = y x is an eigenvector)", s(-mm) * e_pos / wn_pos, gives=("B > 0",))
    a_, b_ = sp.Symbol("A", positive=True), sp.Symbol("B", positive=True)
    v, n, apply = _gram_hessian(a_, b_)
    alpha, vv, lam = sp.Symbol("alpha", real=True), sp.Symbol("V", nonnegative=True), \
        sp.Symbol("lambda", real=True)
    p.nonnegative("V = ||v||^2 = sum_i v_i^2 >= 0", isum(v[I] ** 2), gives=("V >= 0",))
    gram = {linear(isum(n[I] ** 2)): 1, linear(isum(v[I] * n[I])): alpha,
            linear(isum(v[I] ** 2)): vv}
    p.identity("(H v)_j = (A V + B) v_j - B alpha n_j (||n|| = 1, alpha = v.n, V = ||v||^2)",
               linear(apply(v)).subs(gram) - ((a_ * vv + b_) * v[J] - b_ * alpha * n[J]))
    e = lam * v[J] - b_ * alpha * n[J]
    q = lam ** 2 - (a_ * vv + b_) * lam + a_ * b_ * alpha ** 2
    p.identity("e = lambda v - B alpha n: (H e)_j - lambda e_j = -q(lambda) v_j",
               sp.expand(linear(apply(e)).subs(gram) - lam * e + q * v[J]))
    for root in eigen_roots_expr(a_, b_, vv, alpha):
        p.identity("the roots lambda_pm of q make e an eigenvector", sp.expand(q.subs(lam, root)))
    zz = vector("z")
    hz = linear(apply(zz)).subs({linear(isum(v[I] * zz[I])): 0, linear(isum(n[I] * zz[I])): 0})
    p.identity("z orthogonal to v and n: (H z)_j = B z_j", hz - b_ * zz[J])
    gap = sp.Symbol("g", nonnegative=True)  # V - alpha^2 = ||v - alpha n||^2 >= 0
    p.identity("||v - alpha n||^2 = V - alpha^2 (||n|| = 1, alpha = v.n)",
               linear(isum((v[I] - alpha * n[I]) ** 2)).subs(gram) - (vv - alpha ** 2))
    p.nonnegative("g = V - alpha^2 = ||v - alpha n||^2 = sum_i (v_i - alpha n_i)^2 >= 0",
                  isum((v[I] - alpha * n[I]) ** 2), gives=("g >= 0",))
    p.identity("q(A V) = -A B (V - alpha^2)", sp.expand(q.subs(lam, a_ * vv)
                                                         + a_ * b_ * (vv - alpha ** 2)))
    p.nonnegative("A B (V - alpha^2) >= 0 with V - alpha^2 = ||v - alpha n||^2 >= 0: "
                  "q(A V) <= 0, so lambda_- <= A V <= lambda_+", a_ * b_ * gap)
    p.identity("alpha = 0: H v = (A V + B) v", sp.expand(
        ((a_ * vv + b_) * v[J] - b_ * alpha * n[J]).subs(alpha, 0) - (a_ * vv + b_) * v[J]))
    p.identity("v || n (v = alpha n): H v = A V v", sp.expand(
        ((a_ * vv + b_) * alpha * n[J] - b_ * alpha * n[J]) - a_ * vv * alpha * n[J]))
    # the counterexample, exactly
    w2, x2 = sp.Matrix([1, 0]), sp.Matrix([1, 1])
    half = sp.Rational(1, 2)
    n2 = w2 / w2.norm()
    v2 = x2 - half * n2
    m2 = (w2.T * x2)[0] - half * w2.norm()
    a2, b2 = s(m2) * s(-m2), s(-m2) * half / w2.norm()
    h2 = a2 * v2 * v2.T + b2 * (sp.eye(2) - n2 * n2.T)
    hv = h2 * v2
    cross = sp.simplify(hv[0] * v2[1] - hv[1] * v2[0])
    p.identity("counterexample w = (1, 0), x = (1, 1), y = 1, eps = 1/2: (Hv) x v = -B/2",
               cross + b2 / 2, dimension=(2,))
    p.positive("B = s(-m) eps/||w|| > 0 there, so H v is not parallel to v", b2)
    x2m = sp.Matrix([-1, -1])  # y = -1: x -> -x gives the same v and m, hence the same H
    p.identity("the same counterexample with y = -1, x = (-1, -1): v = y x - eps w^ and m = "
               "y w.x - eps ||w|| are unchanged, so H is too",
               sp.Matrix([*((-1) * x2m - half * n2), (-1) * (w2.T * x2m)[0] - half * w2.norm()])
               - sp.Matrix([*v2, m2]), dimension=(2,))
    t, c, delta = sp.Symbol("t", positive=True), sp.Symbol("c", positive=True), \
        sp.Symbol("delta", positive=True)
    e_pos = sp.Symbol("epsilon", positive=True)
    m_mis = -t - e_pos  # w = e_1, x = t e_1, y = -1: v = -(t + eps) e_1
    ratio_mis = (s(-m_mis) * e_pos) / (s(m_mis) * s(-m_mis) * (t + e_pos) ** 2)
    p.limit("misclassified family (any eps > 0): B / (A V) -> oo as t -> oo", ratio_mis, t,
            sp.oo, sp.oo, "-", bound=(e_pos,))
    m_ok = delta * c  # w = delta e_1, x = (c + eps) e_1, y = 1: m = delta c > 0, v = c e_1
    ratio_ok = (s(-m_ok) * e_pos / delta) / (s(m_ok) * s(-m_ok) * c ** 2)
    p.limit("correctly classified family (any c > 0, eps > 0; m = delta c > 0): B / (A V) -> "
            "oo as delta -> 0+", ratio_ok, delta, 0, sp.oo, "+", bound=(c, e_pos))
    counterexample = {"w": [1.0, 0.0], "x": [1.0, 1.0], "y": 1, "eps": 0.5, "m": float(m2),
                      "alpha": float(v2.dot(n2)), "B": float(b2),
                      "cross(Hv, v)": float(cross), "why": "alpha != 0 and v not parallel to w^"}
    return p.evidence(
        "with the attack depending on w, v is not an eigenvector in general; the top eigenpair "
        "is (lambda_+, lambda_+ v - B alpha w^), lambda_+ >= s(m)s(-m)||v||^2, and "
        "lambda_+ / lambda_1 is unbounded", refuted=True, conditions=(EIG_CONDITION,),
        counterexample=counterexample)


def eigen_roots_expr(
    a_: sp.Expr, b_: sp.Expr, v2: sp.Expr, alpha: sp.Expr
) -> tuple[sp.Expr, sp.Expr]:
    """Y-EIG: (lambda_+, lambda_-), the roots of lambda^2 - (A V + B) lambda + A B alpha^2.

    Args: A = s(m)s(-m), B = s(-m) eps/||w||, V = ||v||^2, alpha = v.w^.
    """
    tr = a_ * v2 + b_
    disc = sp.sqrt(tr**2 - 4 * a_ * b_ * alpha**2)
    return (tr + disc) / 2, (tr - disc) / 2
