"""Budget threshold and gradient bound of the adversarial logistic loss (L-BUDGET, Liu et al.).

The loss over the data (x_n, y_n), n = 1..N, with an L_p threat model of budget eps is

    L_eps(w) = (1/N) sum_n zeta(-y_n w.x_n + eps ||w||_q),      1/p + 1/q = 1,

(INNER-MAX: each term is the worst case of zeta(-y_n w.(x_n + eta)) over ||eta||_p <= eps).

**Threshold.** L_eps is convex (zeta is convex and nondecreasing, its argument is convex in w).
Its one-sided directional derivative at 0 along u is, with mu = (1/N) sum_n y_n x_n,

    L_eps'(0; u) = (1/2) (-u.mu + eps ||u||_q),

and by Hoelder sup_{||u||_q = 1} u.mu = ||mu||_p (the dual norm). Hence

    w = 0 is a global minimiser of L_eps   <=>   eps >= eps_0 := ||mu||_p,

(L2 threat: ||mu||_2; L-inf threat: ||mu||_inf). Sufficiency: convexity gives
L(w) >= L(0) + L'(0; w) >= L(0) + ||w||_q (eps - ||mu||_p)/2. Necessity: for eps < ||mu||_p the
direction u* attaining Hoelder has L'(0; u*) = (eps - ||mu||_p)/2 < 0.

**With a bias** b (not perturbed), L_eps(w, b) = (1/N) sum_n zeta(-y_n (w.x_n + b) + eps ||w||_q).
At w = 0 the best bias is b* = log(N+/N-); then (0, b*) is a global minimiser iff

    eps >= eps_0^b := ||sum_n a_n y_n x_n||_p / sum_n a_n,   a_n = s(-y_n b*),

a weighted mean of y_n x_n; since s(-b*) = N-/N and s(b*) = N+/N it equals
||xbar_+ - xbar_-||_p / 2, half the distance between the class means.

**Gradient bound (L2).** With m_n = y_n w.x_n - eps ||w||_2 and w^ = w/||w||,
grad L_eps(w) = (1/N) sum_n s(-m_n)(-y_n x_n + eps w^), and for all w1, w2 != 0

    ||grad L_eps(w1) - grad L_eps(w2)|| <= A ||w1 - w2|| + B eps,
    A = (1/(4N)) sum_n (||x_n||_2 + eps)^2,   B = 2,

from grad_1 - grad_2 = mean (s(-m_n(w1)) - s(-m_n(w2)))(-y_n x_n + eps w1^) + eps mean
s(-m_n(w2))(w1^ - w2^), the sigmoid being 1/4-Lipschitz, |m_n(w1) - m_n(w2)| <=
(||x_n|| + eps)||w1 - w2||, and ||w1^ - w2^|| <= 2. The additive term cannot be dropped: for
w1 = delta u = -w2 with delta -> 0 the gradient difference tends to eps ||u|| = eps while
||w1 - w2|| -> 0, so any valid B is at least 1.
"""

from __future__ import annotations

import sympy as sp

from theory._symbolic import is_zero
from theory.claims import Evidence
from theory.notation import eps, s, t, vector_symbols, zeta

#: Symbols: the one-sided step length tau > 0 along a direction u, ||u||_q, and class counts.
tau = sp.Symbol("tau", positive=True)
U_NORM_Q = sp.Symbol(r"\|u\|_q", positive=True)
N_POS = sp.Symbol("N_+", positive=True)
N_NEG = sp.Symbol("N_-", positive=True)
B = sp.Symbol("b", real=True)

#: L-BUDGET: the one-sided directional derivative at w = 0 of one term zeta(-y w.x + eps||w||_q)
#: along u, with c = y u.x; the mean over n is linear, so L'(0; u) = (1/2)(-u.mu + eps ||u||_q).
C_DOT = sp.Symbol("c", real=True)
DIRECTIONAL_DERIVATIVE_AT_0: sp.Expr = (-C_DOT + eps * U_NORM_Q) / 2

#: L-BUDGET with a bias: the best bias at w = 0, b* = log(N+/N-).
B_STAR: sp.Expr = sp.log(N_POS / N_NEG)


def _ok(flag: bool, name: str, checks: dict[str, bool]) -> None:
    checks[name] = bool(flag)


def verify_l_budget() -> Evidence:
    """L-BUDGET (Liu et al. 2020): threshold of the budget and the gradient bound, in SymPy.

    Checks, each done by SymPy (``simplify(a - b) == 0`` or a sign SymPy establishes):

    1. convexity ingredients: zeta' = s > 0 and zeta'' = s(t)s(-t) > 0;
    2. directional derivative at 0: d/dtau zeta(-tau c + eps tau ||u||_q) at tau = 0 equals
       (-c + eps ||u||_q)/2;
    3. Hoelder with attainment: Lagrange's identity ||u||^2 ||mu||^2 - (u.mu)^2 = sum_{i<j}
       (u_i mu_j - u_j mu_i)^2 (d = 3) and u* = mu/||mu|| gives u*.mu = ||mu||_2; for p = inf,
       u* = sign(mu_k) e_k gives u*.mu = |mu_k| = ||mu||_inf with ||u*||_1 = 1;
    4. both directions: L'(0; u*) = (eps - ||mu||_p)/2, negative below the threshold, and
       L'(0; w) >= ||w||_q (eps - ||mu||_p)/2 >= 0 above it (with convexity, the minimum);
    5. bias: d/db [N+ zeta(-b) + N- zeta(b)] = 0 at b* = log(N+/N-); s(-b*) = N-/N,
       s(b*) = N+/N; the b-component of the directional derivative at (0, b*) is 0; the
       weighted threshold equals ||xbar_+ - xbar_-||_p / 2;
    6. gradient bound: the exact split of grad_1 - grad_2, 1/4 - s(t)s(-t) = tanh(t/2)^2/4 >= 0
       (the sigmoid is 1/4-Lipschitz), and the limit of the gradient difference across 0.

    Returns:
        Evidence of kind ``"symbolic"``; ``details`` lists every check and the thresholds.
    """
    checks: dict[str, bool] = {}
    # 1. convexity of zeta and monotonicity
    _ok(sp.simplify(sp.diff(zeta(t), t) - s(t)) == 0, "zeta' = s", checks)
    _ok(sp.simplify(sp.diff(zeta(t), t, 2) - s(t) * s(-t)) == 0, "zeta'' = s(t)s(-t)", checks)
    _ok(bool(s(t).is_positive) and bool((s(t) * s(-t)).is_positive), "s > 0, s s(-) > 0", checks)

    # 2. one-sided directional derivative at 0 of one term
    term = zeta(-tau * C_DOT + eps * tau * U_NORM_Q)
    deriv0 = sp.limit(sp.diff(term, tau), tau, 0, "+")
    _ok(is_zero(deriv0 - DIRECTIONAL_DERIVATIVE_AT_0), "L'(0;u) = (-u.mu + eps||u||_q)/2", checks)

    # 3. Hoelder (p = q = 2): Lagrange's identity, attainment
    u = vector_symbols("u", 3)
    mu = vector_symbols("mu", 3)
    lagrange = sum(
        (u[i] * mu[j] - u[j] * mu[i]) ** 2 for i in range(3) for j in range(i + 1, 3)
    )
    _ok(
        is_zero(u.dot(u) * mu.dot(mu) - u.dot(mu) ** 2 - lagrange),
        "Lagrange identity (Cauchy-Schwarz, d = 3)", checks,
    )
    mu_norm = sp.sqrt(mu.dot(mu))
    u_star = mu / mu_norm
    _ok(is_zero(u_star.dot(mu) - mu_norm), "u* = mu/||mu||: u*.mu = ||mu||_2", checks)
    _ok(is_zero(u_star.dot(u_star) - 1), "||u*||_2 = 1", checks)
    # p = inf, q = 1: u* = sign(mu_k) e_k
    mu_k = sp.Symbol("mu_k", real=True)
    _ok(is_zero(sp.sign(mu_k) * mu_k - sp.Abs(mu_k)), "u* = sign(mu_k) e_k: u*.mu = |mu_k|",
        checks)
    # per-coordinate step of |u.mu| <= sum |u_i| |mu_i| <= ||mu||_inf ||u||_1
    # |u_i| M - u_i mu_i >= 0 for M = |mu_i| + r, r >= 0: each sign case of (u_i, mu_i)
    big_u, big_mu = sp.symbols("U V", nonnegative=True)
    r_ = sp.Symbol("r", nonnegative=True)
    cases = [
        (sp.Abs(su * big_u) * (sp.Abs(smu * big_mu) + r_) - su * big_u * smu * big_mu)
        for su in (1, -1) for smu in (1, -1)
    ]
    _ok(all(bool(sp.expand(c).is_nonnegative) for c in cases),
        "|u_i| ||mu||_inf - u_i mu_i >= 0 (Hoelder, p = inf)", checks)

    # 4. both directions, with the dual norm written M = ||mu||_p
    M = sp.Symbol("M", nonnegative=True)
    at_u_star = DIRECTIONAL_DERIVATIVE_AT_0.subs({C_DOT: M, U_NORM_Q: 1})
    _ok(is_zero(at_u_star - (eps - M) / 2), "L'(0;u*) = (eps - ||mu||_p)/2", checks)
    below = at_u_star.subs(eps, M - sp.Symbol("delta", positive=True))
    _ok(bool(below.is_negative), "eps < ||mu||_p => L'(0;u*) < 0 (0 not a minimiser)", checks)
    # above: -u.mu + eps||u|| >= ||u||(eps - M) since u.mu <= M ||u||_q (Hoelder)
    slack = sp.Symbol("h", nonnegative=True)  # h = M||u||_q - u.mu >= 0 by Hoelder
    above = DIRECTIONAL_DERIVATIVE_AT_0.subs(C_DOT, M * U_NORM_Q - slack).subs(
        eps, M + sp.Symbol("gamma", nonnegative=True))
    _ok(bool(sp.expand(above).is_nonnegative), "eps >= ||mu||_p => L'(0;u) >= 0 for all u",
        checks)

    # 5. bias
    n_tot = N_POS + N_NEG
    bias_loss = N_POS * zeta(-B) + N_NEG * zeta(B)
    _ok(is_zero(sp.diff(bias_loss, B).subs(B, B_STAR)), "b* = log(N+/N-) is stationary", checks)
    _ok(is_zero(sp.diff(bias_loss, B, 2) - n_tot * s(B) * s(-B)),
        "the bias loss is strictly convex: d2/db2 = N s(b)s(-b) > 0", checks)
    w_pos = sp.simplify(s(-B_STAR))
    w_neg = sp.simplify(s(B_STAR))
    _ok(is_zero(w_pos - N_NEG / n_tot) and is_zero(w_neg - N_POS / n_tot),
        "s(-b*) = N-/N, s(b*) = N+/N", checks)
    _ok(is_zero(N_POS * w_pos - N_NEG * w_neg), "d/db at (0, b*) is 0", checks)
    # sum_n a_n y_n x_n = N+ w_pos xbar+ - N- w_neg xbar-; sum_n a_n = N+ w_pos + N- w_neg
    coef = sp.simplify(N_POS * w_pos / (N_POS * w_pos + N_NEG * w_neg))
    _ok(is_zero(coef - sp.Rational(1, 2)) and is_zero(N_POS * w_pos - N_NEG * w_neg),
        "weighted threshold = ||xbar+ - xbar-||_p / 2", checks)

    # 6. gradient bound
    s1, s2 = sp.symbols("s_1 s_2", real=True)
    x = vector_symbols("x", 2)
    u1, u2 = vector_symbols("a", 2), vector_symbols("b", 2)
    yy = sp.Symbol("y", real=True)
    g1 = s1 * (-yy * x + eps * u1)
    g2 = s2 * (-yy * x + eps * u2)
    split = (s1 - s2) * (-yy * x + eps * u1) + eps * s2 * (u1 - u2)
    _ok(is_zero(g1 - g2 - split), "grad_1 - grad_2 split", checks)
    _ok(is_zero((sp.Rational(1, 4) - s(t) * s(-t) - sp.tanh(t / 2) ** 2 / 4).rewrite(sp.exp)),
        "1/4 - s(t)s(-t) = tanh(t/2)^2/4 (sigmoid is 1/4-Lipschitz)", checks)
    # across 0: w = +-delta u, ||u|| = 1: m -> 0, s(-m) -> 1/2, difference -> eps (u - (-u))/2
    delta = sp.Symbol("delta", positive=True)
    yx_u = sp.Symbol("c_u", real=True)  # y x.u
    m_plus = delta * yx_u - eps * delta
    m_minus = -delta * yx_u - eps * delta
    jump = sp.limit(s(-m_plus) * eps - s(-m_minus) * (-eps), delta, 0, "+")
    _ok(is_zero(jump - eps), "||grad(delta u) - grad(-delta u)|| -> eps (B >= 1 needed)", checks)

    passed = all(checks.values())
    return Evidence(
        "symbolic", passed,
        f"{sum(checks.values())}/{len(checks)} SymPy checks: w = 0 minimises L_eps iff "
        "eps >= ||mean y x||_p (bias: ||xbar+ - xbar-||_p/2); gradient bound "
        "A = mean(||x||+eps)^2/4, B = 2",
        details={"checks": checks, "threshold": "||mean_n y_n x_n||_p",
                 "threshold_with_bias": "||xbar_+ - xbar_-||_p / 2",
                 "A": "(1/4) mean_n (||x_n||_2 + eps)^2", "B": "2 (any valid B >= 1)"},
    )
