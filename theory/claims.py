"""The claims of the three papers: ids, statements, and the tolerances of their checks.

The claims, their ids and the tolerances of their checks are stated here and only here;
``docs/claims.md`` is generated from this table and the checks registered for each claim
(:func:`numerics.ledger.claims_markdown`; a test keeps the two equal), so a clone of the
repository is self-contained.

This module is the table only: which checks establish a claim is said on the numerics side,
where each check registers itself under the claim's id (:func:`numerics.ledger.register`), and
the verdicts are computed there from the checks' :class:`Evidence` (:mod:`numerics.ledger`).
Nothing here imports :mod:`numerics`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from theory.errors import ConfigError
from theory.evidence import Evidence as Evidence  # re-exported: checks import it from here
from theory.hypotheses import Hypothesis, hypotheses

__all__ = [
    "BUDGET_COLLAPSE_RTOL",
    "BUDGET_GAIN_TOL",
    "CLAIMS",
    "KANAI",
    "LIU",
    "MADRY",
    "MC_STANDARD_ERRORS",
    "NOTATION",
    "NUMERIC_RTOL",
    "PGD_TOL",
    "SMOOTH_BLOWUP_TOL",
    "SMOOTH_GROWTH_MIN",
    "SMOOTH_JUMP_RTOL",
    "SUITE",
    "TOLERANCES",
    "YAMADA",
    "Claim",
    "Evidence",
    "claim_ids",
    "get_claim",
]


@dataclass(frozen=True)
class Claim:
    """A claim of one of the papers.

    ``statement`` is plain text (the terminal, ``docs/claims.md``); ``latex`` says the same in
    text with ``$...$`` math, typeset by MathJax in the ledger page and the notebooks. Its checks
    are registered under ``id`` on the numerics side (:func:`numerics.ledger.checks_for`).
    """

    id: str
    paper: str
    statement: str
    latex: str = ""

    @property
    def hypotheses(self) -> tuple[Hypothesis, ...]:
        """What a proof of the claim may assume beyond the shared setting
        (:data:`theory.hypotheses.HYPOTHESES`): each with its text and the facts it grants."""
        return hypotheses(self.id)


NOTATION = (
    "Data (x_n, y_n), n = 1..N, x in R^d, y in {-1, +1}. Linear logistic model with weights w (a "
    "bias is handled by appending a constant 1 to x, never perturbed). zeta(t) = log(1 + e^t) "
    "(softplus), s(t) = 1/(1 + e^-t) (sigmoid). Per-point loss l(w; x, y) = zeta(-y w.x); "
    "empirical loss L(w) = mean over n. A perturbation eta with ||eta||_p <= eps; q is the dual "
    "exponent of p (1/p + 1/q = 1): q = 2 for the L2 threat, q = 1 for L-inf. Robust margin "
    "m = y w.x - eps ||w||_q; w^ = w/||w||."
)

#: Relative error allowed between a closed form and autograd / torch.func (float64).
NUMERIC_RTOL = 1e-10
#: Agreement of PGD (no box) with the closed-form inner maximum, in the loss value.
PGD_TOL = 1e-6

#: Y-T2: Monte Carlo moments of the noise agree with c^2 within this many standard errors.
MC_STANDARD_ERRORS = 4.0
#: K-SMOOTH data: |ratio r / eps - 1/2| at the smallest radius (the eps/(2r) blow-up).
SMOOTH_BLOWUP_TOL = 0.05
#: K-SMOOTH data: relative error of the measured L-inf gradient jump at the smallest step.
SMOOTH_JUMP_RTOL = 1e-3
#: K-SMOOTH data: the ratio grows at least this factor times 10 per 10x smaller step.
SMOOTH_GROWTH_MIN = 0.9
#: L-BUDGET data: ||w_f|| at most this fraction of its value at the smallest budget is "zero".
BUDGET_COLLAPSE_RTOL = 1e-2
#: L-BUDGET data: a loss difference to the trivial model within this is "no gain".
BUDGET_GAIN_TOL = 1e-8

#: Every tolerance a check uses: name -> (value, what it bounds). Checks import the values.
TOLERANCES: dict[str, tuple[float, str]] = {
    "NUMERIC_RTOL": (NUMERIC_RTOL, "relative error of a closed form (value, gradient, Hessian, "
                     "eigenpair) against torch.autograd / torch.func, float64"),
    "PGD_TOL": (PGD_TOL, "absolute gap between PGD without a box and the closed-form inner "
                "maximum, in the loss value (INNER-MAX)"),
    "MC_STANDARD_ERRORS": (MC_STANDARD_ERRORS, "Monte Carlo noise moments against c^2, in "
                           "standard errors (Y-T2)"),
    "SMOOTH_BLOWUP_TOL": (SMOOTH_BLOWUP_TOL, "|ratio r/eps - 1/2| at the smallest radius on "
                          "data (K-SMOOTH)"),
    "SMOOTH_JUMP_RTOL": (SMOOTH_JUMP_RTOL, "relative error of the measured L-inf gradient jump "
                         "against 2 eps mean s(-m) on data (K-SMOOTH)"),
    "SMOOTH_GROWTH_MIN": (SMOOTH_GROWTH_MIN, "least growth of the L-inf ratio per 10x smaller "
                          "step, over the ideal 10x (K-SMOOTH)"),
    "BUDGET_COLLAPSE_RTOL": (BUDGET_COLLAPSE_RTOL, "||w_f|| over its value at the smallest "
                             "budget below which a run counts as collapsed to 0 (L-BUDGET)"),
    "BUDGET_GAIN_TOL": (BUDGET_GAIN_TOL, "loss difference to the trivial model that counts as "
                        "no gain (L-BUDGET)"),
}

YAMADA = "Yamada et al. 2021"
MADRY = "Madry et al. 2018"
KANAI = "Kanai et al. 2021"
LIU = "Liu et al. 2020"
SUITE = "this suite (beyond Yamada et al. 2021)"

CLAIMS: tuple[Claim, ...] = (
    Claim(
        "Y-EQ7", YAMADA,
        "With eta = eps u, ||u||_2 = 1 and theta the angle between w and u: "
        "w.(x + eta) = w.x + eps ||w|| cos(theta), so l = zeta(-y w.x - y eps ||w|| cos theta).",
        latex=(
            r"With $\eta = \varepsilon u$, $\|u\|_2 = 1$ and $\theta$ the angle between $w$ "
            r"and $u$: $w^\top(x + \eta) = w^\top x + \varepsilon \|w\| \cos\theta$, so $\ell "
            r"= \zeta(-y\, w^\top x - y\, \varepsilon \|w\| \cos\theta)$."
        ),
    ),
    Claim(
        "Y-L1", YAMADA,
        "Lemma 1: dl/deps has the sign of -y cos(theta); for eps > 0 and w != 0 the worst case "
        "is u = -y w/||w||.",
        latex=(
            r"Lemma 1: $d\ell/d\varepsilon$ has the sign of $-y\cos\theta$; for $\varepsilon > "
            r"0$, $w \ne 0$ the worst case is $u = -y\, w/\|w\|$."
        ),
    ),
    Claim(
        "INNER-MAX", YAMADA,
        "max_{||eta||_p <= eps} l(w; x + eta, y) = zeta(-y w.x + eps ||w||_q), attained at "
        "eta* = -eps y w/||w||_2 (p = 2) and -eps y sign(w) (p = inf) (w != 0 for the p = 2 "
        "maximiser; eps >= 0).",
        latex=(
            r"$\max_{\|\eta\|_p \le \varepsilon} \ell(w; x + \eta, y) = \zeta(-y\, w^\top x + "
            r"\varepsilon \|w\|_q)$, attained at $\eta^* = -\varepsilon y\, w/\|w\|_2$ ($p = "
            r"2$) and $\eta^* = -\varepsilon y \operatorname{sign}(w)$ ($p = \infty$) ($w \ne "
            r"0$ for the $p = 2$ maximiser; $\varepsilon \ge 0$)."
        ),
    ),
    Claim(
        "BOX-PROJ", MADRY,
        "The Euclidean projection onto the L2 eps-ball intersected with the pixel box "
        "(lo <= delta <= hi, lo <= 0 <= hi) is clip(z/(1 + mu), lo, hi), with mu >= 0 zero when "
        "||clip(z, lo, hi)|| <= eps and else fixed by ||delta|| = eps (eps > 0; at eps = 0 the "
        "projection is 0); for L-inf it is the clip "
        "onto [max(lo, -eps), min(hi, eps)]. Ball-then-box, PGD's usual step, is not it (L2).",
        latex=(
            r"The Euclidean projection onto $\{\|\delta\|_2 \le \varepsilon\} \cap \{l \le "
            r"\delta \le h\}$ ($l \le 0 \le h$) is $\operatorname{clip}(z/(1 + \mu), l, h)$, "
            r"with $\mu \ge 0$ zero when $\|\operatorname{clip}(z, l, h)\| \le \varepsilon$ and "
            r"else fixed by $\|\delta\| = \varepsilon$ ($\varepsilon > 0$; at $\varepsilon = 0$ "
            r"the projection is $0$); for $L_\infty$ it is the clip onto "
            r"$[\max(l, -\varepsilon), \min(h, \varepsilon)]$. Ball-then-box, PGD's usual "
            r"step, is not it ($L_2$)."
        ),
    ),
    Claim(
        "BOX-MAX", YAMADA,
        "The worst case of a linear model inside the eps-ball and the pixel box: "
        "clip(-t y w, lo, hi) with ||delta|| = eps (or the box corner when it lies in the ball) "
        "for L2, clip(-eps y sign(w), lo, hi) for L-inf.",
        latex=(
            r"The worst case of a linear model inside the $\varepsilon$-ball and the pixel box: "
            r"$\operatorname{clip}(-t y w, l, h)$ with $\|\delta\| = \varepsilon$ (or the box "
            r"corner when it lies in the ball) for $L_2$, $\operatorname{clip}(-\varepsilon y "
            r"\operatorname{sign}(w), l, h)$ for $L_\infty$."
        ),
    ),
    Claim(
        "Y-HESS", YAMADA,
        "Noise held fixed, z = y w.(x + eta): grad l = -s(-z) y (x + eta), "
        "Hessian = s(z) s(-z) (x + eta)(x + eta)^T.",
        latex=(
            r"Noise held fixed, $z = y\, w^\top(x + \eta)$: $\nabla_w \ell = -s(-z)\, y\, (x + "
            r"\eta)$, $\nabla_w^2 \ell = s(z)\, s(-z)\, (x + \eta)(x + \eta)^\top$."
        ),
    ),
    Claim(
        "HESS-DEP", YAMADA,
        "Attack depending on w, m = y w.x - eps ||w||_2: Hessian = s(m)s(-m) v v^T + "
        "s(-m)(eps/||w||)(I - w^ w^T), v = y x - eps w^; for p = inf (m = y w.x - eps ||w||_1, "
        "v = y x - eps sign(w)) the Hessian is s(m)s(-m) v v^T off the hyperplanes w_i = 0.",
        latex=(
            r"Attack depending on $w$, $m = y\, w^\top x - \varepsilon \|w\|_2$: $\nabla_w^2 "
            r"\ell = s(m)s(-m)\, v v^\top + s(-m)\, \frac{\varepsilon}{\|w\|} (I - \hat w \hat "
            r"w^\top)$, $v = y x - \varepsilon \hat w$; for $p = \infty$ ($m = y\, w^\top x - "
            r"\varepsilon \|w\|_1$, $v = y x - \varepsilon \operatorname{sign}(w)$) the Hessian "
            r"is $s(m)s(-m)\, v v^\top$ off the hyperplanes $w_i = 0$."
        ),
    ),
    Claim(
        "Y-EIG", YAMADA,
        "Eqs. 10-11, noise held fixed: the per-point Hessian s(z)s(-z)(x + eta)(x + eta)^T has "
        "the eigenvector x + eta (y x - eps w^ at eta*) with eigenvalue s(z)s(-z)||x + eta||^2; "
        "vectors orthogonal to it have eigenvalue 0. The full-data Hessian is the mean.",
        latex=(
            r"Eqs. 10-11, noise held fixed: the per-point Hessian $s(z)s(-z)\,(x + \eta)(x + "
            r"\eta)^\top$ has the eigenvector $x + \eta$ ($y x - \varepsilon \hat w$ at "
            r"$\eta^*$) with eigenvalue $s(z)s(-z)\,\|x + \eta\|^2$; vectors orthogonal to it "
            r"have eigenvalue $0$. The full-data Hessian is the mean."
        ),
    ),
    Claim(
        "Y-EIG-DEP", YAMADA,
        "With the attack depending on w (HESS-DEP, p = 2; eps > 0, w != 0), v = y x - eps w^ "
        "stays the top "
        "eigenvector of the per-point Hessian, with eigenvalue s(m)s(-m)||v||^2.",
        latex=(
            r"With the attack depending on $w$ (HESS-DEP, $p = 2$; $\varepsilon > 0$, $w \ne "
            r"0$), $v = y x - \varepsilon "
            r"\hat w$ stays the top eigenvector of the per-point Hessian, with eigenvalue "
            r"$s(m)s(-m)\,\|v\|^2$."
        ),
    ),
    Claim(
        "Y-T1", YAMADA,
        "Theorem 1: the weight-loss landscape is sharper (larger top Hessian eigenvalue, "
        "filter-normalised weights) for models trained with a larger L2 adversarial eps.",
        latex=(
            r"Theorem 1: the weight-loss landscape is sharper (larger top Hessian eigenvalue "
            r"$\lambda_1$, filter-normalised weights) for models trained with a larger $L_2$ "
            r"adversarial $\varepsilon$."
        ),
    ),
    Claim(
        "Y-T1-LINF", SUITE,
        "Theorem 1 under L-inf (fixed w, no w_i = 0): the per-point Hessian is s(m)s(-m) v v^T, "
        "m = y w.x - eps ||w||_1, v = y x - eps sign(w), top eigenpair (v, lambda_1 = "
        "s(m)s(-m)||v||^2), ||v||^2 = ||x||^2 - 2 eps y sign(w).x + eps^2 d; d lambda_1/d eps = "
        "s(m)s(-m)[||w||_1 tanh(m/2)||v||^2 - 2 sign(w).v], > 0 exactly when the bracket is; "
        "sufficient: m > 0 and eps d > y sign(w).x, or m tanh(m/2) >= 1 + sqrt(d)||w||_2/||w||_1 "
        "(a threshold at or above Y-T1's m*, which alone does not suffice).",
        latex=(
            r"Theorem 1 under $L_\infty$ (fixed $w$, no $w_i = 0$): the per-point Hessian is "
            r"$s(m)s(-m)\, v v^\top$, $m = y\, w^\top x - \varepsilon \|w\|_1$, $v = y x - "
            r"\varepsilon \operatorname{sign}(w)$, top eigenpair $(v, \lambda_1 = s(m)s(-m)\, "
            r"\|v\|^2)$, $\|v\|^2 = \|x\|^2 - 2 \varepsilon y \operatorname{sign}(w)^\top x + "
            r"\varepsilon^2 d$; $\frac{d\lambda_1}{d\varepsilon} = s(m)s(-m) [\|w\|_1 "
            r"\tanh(m/2) \|v\|^2 - 2 \operatorname{sign}(w)^\top v]$, $> 0$ exactly when the "
            r"bracket is; sufficient: $m > 0$ and $\varepsilon d > y \operatorname{sign}(w)^\top "
            r"x$, or $m \tanh(m/2) \ge 1 + \sqrt{d}\, \|w\|_2 / \|w\|_1$ (a threshold at or "
            r"above Y-T1's $m^*$, which alone does not suffice)."
        ),
    ),
    Claim(
        "Y-T2", YAMADA,
        "Theorem 2: for zero-mean noise with E[eta eta^T] = c^2 I independent of w, the expected "
        "Hessian is about s(z)s(-z)(x x^T + c^2 I): eigenvalues grow only by c^2.",
        latex=(
            r"Theorem 2: for zero-mean noise with $\mathbb{E}[\eta \eta^\top] = c^2 I$ "
            r"independent of $w$, the expected Hessian is about $s(z)s(-z)\, (x x^\top + c^2 "
            r"I)$: eigenvalues grow only by $c^2$."
        ),
    ),
    Claim(
        "K-SMOOTH", KANAI,
        "Under L2 the adversarial loss of a linear classifier is smooth except at w = 0: its "
        "gradient is K(r)-Lipschitz on ||w|| >= r, K(r) = mean_n (||x_n|| + eps)^2/4 + eps/r "
        "(the mean of the squares), for every pair of points there, no constant below eps/(2r) "
        "works, and the gradient has no limit at 0 (eps > 0); under L-inf the gradient jumps by "
        "2 eps s(-m) across each hyperplane w_i = 0.",
        latex=(
            r"Under $L_2$ the adversarial loss of a linear classifier is smooth except at $w = "
            r"0$: its gradient is $K(r)$-Lipschitz on $\|w\| \ge r$, $K(r) = \frac{1}{N}\sum_n "
            r"(\|x_n\| + \varepsilon)^2/4 + \varepsilon/r$, for every pair of points there, no "
            r"constant below $\varepsilon/(2r)$ works, and the gradient has no limit at $0$ "
            r"($\varepsilon > 0$); "
            r"under $L_\infty$ the gradient jumps by $2 \varepsilon\, s(-m)$ across each "
            r"hyperplane $w_i = 0$."
        ),
    ),
    Claim(
        "L-BUDGET", LIU,
        "w = 0 minimises L_eps(w) = mean zeta(-y w.x + eps ||w||_q) (threat ||eta||_p <= eps, "
        "1/p + 1/q = 1) exactly when eps >= ||mean_n y_n x_n||_p; and, under the L2 threat, "
        "||grad L_eps(w1) - grad L_eps(w2)|| <= A ||w1 - w2|| + B eps. With a bias (both "
        "classes present), the threshold is ||xbar_+ - xbar_-||_p / 2.",
        latex=(
            r"$w = 0$ minimises $L_\varepsilon(w) = \frac{1}{N} \sum_n \zeta(-y_n w^\top x_n + "
            r"\varepsilon \|w\|_q)$ (threat $\|\eta\|_p \le \varepsilon$, $1/p + 1/q = 1$) "
            r"exactly when $\varepsilon \ge \|\frac{1}{N} \sum_n y_n x_n\|_p$; and, under the "
            r"$L_2$ threat, $\|\nabla L_\varepsilon(w_1) - \nabla L_\varepsilon(w_2)\| \le A "
            r"\|w_1 - w_2\| + B \varepsilon$. With a bias (both classes present), the threshold "
            r"is $\|\bar x_+ - \bar x_-\|_p / 2$."
        ),
    ),
    Claim(
        "L-FINDINGS", LIU,
        "Large budgets impede escape from a poor initialisation, leave non-vanishing gradients and "
        "give sharper minima; periodic adversarial scheduling (PAS) trains better and is less "
        "sensitive to the learning rate.",
        latex=(
            r"Large budgets $\varepsilon$ impede escape from a poor initialisation, leave "
            r"non-vanishing gradients and give sharper minima; periodic adversarial scheduling "
            r"(PAS) trains better and is less sensitive to the learning rate."
        ),
    ),
)


def get_claim(claim_id: str) -> Claim:
    """Return the claim with id ``claim_id`` (as in ``docs/claims.md``)."""
    for claim in CLAIMS:
        if claim.id == claim_id:
            return claim
    raise KeyError(f"unknown claim id {claim_id!r}; known: {[c.id for c in CLAIMS]}")


def claim_ids(ids: Iterable[str]) -> list[str]:
    """The claim ids ``ids`` as ``docs/claims.md`` spells them, in the order given, duplicates
    dropped.

    Ids are matched case-insensitively (``y-eq7`` is ``Y-EQ7``): every id is upper case, and no
    two differ only in case (``tests/test_claims.py`` checks it), so nothing is ambiguous.

    Raises:
        ConfigError: an id that names no claim (all such ids, and the known ones).
    """
    known = {c.id.upper(): c.id for c in CLAIMS}
    wanted, unknown = [], []
    for claim_id in ids:
        canonical = known.get(str(claim_id).strip().upper())
        if canonical is None:
            unknown.append(str(claim_id))
        elif canonical not in wanted:
            wanted.append(canonical)
    if unknown:
        raise ConfigError(
            f"unknown claim id{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: use one of "
            f"{', '.join(c.id for c in CLAIMS)} (case does not matter)")
    return wanted
