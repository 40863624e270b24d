"""The claims ledger: every claim with its checks, and verdicts computed at run time.

The claims, their ids and the tolerances of their checks are stated here and only here;
``docs/claims.md`` is generated from this module (:func:`claims_markdown`; a test keeps the two
equal), so a clone of the repository is self-contained.

A claim points to up to three checks by import path: ``symbolic`` (SymPy), ``numeric`` (float64
against autograd) and ``data`` (an experiment's results). Each check returns an :class:`Evidence`.
The verdict is computed from the evidence, never typed in:

* ``fails``: some check did not pass (its evidence carries the counterexample);
* ``holds under conditions``: all checks passed, and some needed stated conditions;
* ``proved``: all passed, unconditionally, and one of them is a symbolic proof;
* ``confirmed numerically``: all passed, unconditionally, with numeric or data evidence only;
* ``not verified``: no check could run (not implemented, or its data is absent).
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    """The possible verdicts of a claim."""

    PROVED = "proved"
    CONFIRMED = "confirmed numerically"
    CONDITIONAL = "holds under conditions"
    FAILS = "fails"
    NOT_VERIFIED = "not verified"


@dataclass(frozen=True)
class Evidence:
    """What one check found.

    Attributes:
        kind: ``"symbolic"``, ``"numeric"`` or ``"data"``.
        passed: whether the check confirmed the claim (under ``conditions`` if any are given).
        summary: one line a reader can check, e.g. ``"max rel err 2e-15 over 300 instances"``.
        conditions: conditions under which the claim was found to hold; empty if unconditional.
        counterexample: an instance where the claim (or its unconditional form) fails.
        details: further numbers (errors, counts, thresholds) for the JSON ledger.
        ran: False when the check could not run (e.g. its data is absent); it then counts for
            nothing.
    """

    kind: str
    passed: bool
    summary: str
    conditions: tuple[str, ...] = ()
    counterexample: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)
    ran: bool = True


@dataclass(frozen=True)
class Claim:
    """A claim of one of the papers, with import paths ``"module:function"`` of its checks.

    ``statement`` is plain text (the terminal, ``docs/claims.md``); ``latex`` says the same in
    text with ``$...$`` math, typeset by MathJax in the ledger page and the notebooks.
    """

    id: str
    paper: str
    statement: str
    symbolic: str | None = None
    numeric: str | None = None
    data: str | None = None
    latex: str = ""

    def checks(self, include_data: bool = False) -> list[tuple[str, str]]:
        """The (kind, import path) pairs to run."""
        pairs = [("symbolic", self.symbolic), ("numeric", self.numeric)]
        if include_data:
            pairs.append(("data", self.data))
        return [(k, p) for k, p in pairs if p]


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
KANAI = "Kanai et al. 2021"
LIU = "Liu et al. 2020"

CLAIMS: tuple[Claim, ...] = (
    Claim(
        "Y-EQ7", YAMADA,
        "With eta = eps u, ||u||_2 = 1 and theta the angle between w and u: "
        "w.(x + eta) = w.x + eps ||w|| cos(theta), so l = zeta(-y w.x - y eps ||w|| cos theta).",
        symbolic="theory.adversarial_loss:verify_y_eq7",
        numeric="numerics.checks.adversarial_loss:check_y_eq7",
        latex=(
            r"With $\eta = \varepsilon u$, $\|u\|_2 = 1$ and $\theta$ the angle between $w$ "
            r"and $u$: $w^\top(x + \eta) = w^\top x + \varepsilon \|w\| \cos\theta$, so $\ell "
            r"= \zeta(-y\, w^\top x - y\, \varepsilon \|w\| \cos\theta)$."
        ),
    ),
    Claim(
        "Y-L1", YAMADA,
        "Lemma 1: dl/deps has the sign of -y cos(theta); the worst case is u = -y w/||w||.",
        symbolic="theory.adversarial_loss:verify_y_l1",
        numeric="numerics.checks.adversarial_loss:check_y_l1",
        latex=(
            r"Lemma 1: $d\ell/d\varepsilon$ has the sign of $-y\cos\theta$; the worst case is "
            r"$u = -y\, w/\|w\|$."
        ),
    ),
    Claim(
        "INNER-MAX", YAMADA,
        "max_{||eta||_p <= eps} l(w; x + eta, y) = zeta(-y w.x + eps ||w||_q), attained at "
        "eta* = -eps y w/||w||_2 (p = 2) and -eps y sign(w) (p = inf).",
        symbolic="theory.adversarial_loss:verify_inner_max",
        numeric="numerics.checks.adversarial_loss:check_inner_max",
        latex=(
            r"$\max_{\|\eta\|_p \le \varepsilon} \ell(w; x + \eta, y) = \zeta(-y\, w^\top x + "
            r"\varepsilon \|w\|_q)$, attained at $\eta^* = -\varepsilon y\, w/\|w\|_2$ ($p = "
            r"2$) and $\eta^* = -\varepsilon y \operatorname{sign}(w)$ ($p = \infty$)."
        ),
    ),
    Claim(
        "Y-HESS", YAMADA,
        "Noise held fixed, z = y w.(x + eta): grad l = -s(-z) y (x + eta), "
        "Hessian = s(z) s(-z) (x + eta)(x + eta)^T.",
        symbolic="theory.hessian:verify_y_hess",
        numeric="numerics.checks.hessian:check_y_hess",
        latex=(
            r"Noise held fixed, $z = y\, w^\top(x + \eta)$: $\nabla_w \ell = -s(-z)\, y\, (x + "
            r"\eta)$, $\nabla_w^2 \ell = s(z)\, s(-z)\, (x + \eta)(x + \eta)^\top$."
        ),
    ),
    Claim(
        "HESS-DEP", YAMADA,
        "Attack depending on w, m = y w.x - eps ||w||_2: Hessian = s(m)s(-m) v v^T + "
        "s(-m)(eps/||w||)(I - w^ w^T), v = y x - eps w^; for p = inf the second term is zero "
        "off the hyperplanes w_i = 0.",
        symbolic="theory.hessian:verify_hess_dep",
        numeric="numerics.checks.hessian:check_hess_dep",
        latex=(
            r"Attack depending on $w$, $m = y\, w^\top x - \varepsilon \|w\|_2$: $\nabla_w^2 "
            r"\ell = s(m)s(-m)\, v v^\top + s(-m)\, \frac{\varepsilon}{\|w\|} (I - \hat w \hat "
            r"w^\top)$, $v = y x - \varepsilon \hat w$; for $p = \infty$ the second term is "
            r"zero off the hyperplanes $w_i = 0$."
        ),
    ),
    Claim(
        "Y-EIG", YAMADA,
        "Eqs. 10-11: the per-point Hessian has eigenvector y x - eps w^ (resp. x + eta) with "
        "eigenvalue s(m)s(-m)||y x - eps w^||^2; vectors orthogonal to it have eigenvalue 0 "
        "(plus the HESS-DEP term where kept).",
        symbolic="theory.hessian:verify_y_eig",
        numeric="numerics.checks.hessian:check_y_eig",
        latex=(
            r"Eqs. 10-11: the per-point Hessian has eigenvector $y x - \varepsilon \hat w$ "
            r"(resp. $x + \eta$) with eigenvalue $s(m)s(-m)\, \|y x - \varepsilon \hat w\|^2$; "
            r"vectors orthogonal to it have eigenvalue $0$ (plus the HESS-DEP term where "
            r"kept)."
        ),
    ),
    Claim(
        "Y-T1", YAMADA,
        "Theorem 1: the weight-loss landscape is sharper (larger top Hessian eigenvalue, "
        "filter-normalised weights) for models trained with a larger L2 adversarial eps.",
        symbolic="theory.theorem1:verify_y_t1",
        numeric="numerics.checks.theorem1:check_y_t1",
        data="numerics.experiments.mnist2:evidence_y_t1",
        latex=(
            r"Theorem 1: the weight-loss landscape is sharper (larger top Hessian eigenvalue "
            r"$\lambda_1$, filter-normalised weights) for models trained with a larger $L_2$ "
            r"adversarial $\varepsilon$."
        ),
    ),
    Claim(
        "Y-T2", YAMADA,
        "Theorem 2: for zero-mean noise with E[eta eta^T] = c^2 I independent of w, the expected "
        "Hessian is about s(z)s(-z)(x x^T + c^2 I): eigenvalues grow only by c^2.",
        symbolic="theory.random_noise:verify_y_t2",
        numeric="numerics.checks.random_noise:check_y_t2",
        data="numerics.experiments.mnist2:evidence_y_t2",
        latex=(
            r"Theorem 2: for zero-mean noise with $\mathbb{E}[\eta \eta^\top] = c^2 I$ "
            r"independent of $w$, the expected Hessian is about $s(z)s(-z)\, (x x^\top + c^2 "
            r"I)$: eigenvalues grow only by $c^2$."
        ),
    ),
    Claim(
        "K-SMOOTH", KANAI,
        "Under L2 the adversarial loss of a linear classifier is smooth except at w = 0 (gradient "
        "Lipschitz on ||w|| >= r with a constant growing like eps/r); under L-inf the gradient "
        "jumps by 2 eps s(-m) across each hyperplane w_i = 0.",
        symbolic="theory.smoothness:verify_k_smooth",
        numeric="numerics.checks.smoothness:check_k_smooth",
        data="numerics.experiments.smoothness:evidence_k_smooth",
        latex=(
            r"Under $L_2$ the adversarial loss of a linear classifier is smooth except at $w = "
            r"0$ (gradient Lipschitz on $\|w\| \ge r$ with a constant growing like "
            r"$\varepsilon/r$); under $L_\infty$ the gradient jumps by $2 \varepsilon\, s(-m)$ "
            r"across each hyperplane $w_i = 0$."
        ),
    ),
    Claim(
        "L-BUDGET", LIU,
        "w = 0 minimises L_eps(w) = mean zeta(-y w.x + eps ||w||_q) exactly when eps is at least a "
        "norm of mean_n y_n x_n; and ||grad L_eps(w1) - grad L_eps(w2)|| <= A ||w1 - w2|| + B eps.",
        symbolic="theory.budget:verify_l_budget",
        numeric="numerics.checks.budget:check_l_budget",
        data="numerics.experiments.budget:evidence_l_budget",
        latex=(
            r"$w = 0$ minimises $L_\varepsilon(w) = \frac{1}{N} \sum_n \zeta(-y_n w^\top x_n + "
            r"\varepsilon \|w\|_q)$ exactly when $\varepsilon$ is at least a norm of "
            r"$\frac{1}{N} \sum_n y_n x_n$; and $\|\nabla L_\varepsilon(w_1) - \nabla "
            r"L_\varepsilon(w_2)\| \le A \|w_1 - w_2\| + B \varepsilon$."
        ),
    ),
    Claim(
        "L-FINDINGS", LIU,
        "Large budgets impede escape from a poor initialisation, leave non-vanishing gradients and "
        "give sharper minima; periodic adversarial scheduling (PAS) trains better and is less "
        "sensitive to the learning rate.",
        data="numerics.experiments.findings:evidence_l_findings",
        latex=(
            r"Large budgets $\varepsilon$ impede escape from a poor initialisation, leave "
            r"non-vanishing gradients and give sharper minima; periodic adversarial scheduling "
            r"(PAS) trains better and is less sensitive to the learning rate."
        ),
    ),
)


def claims_markdown() -> str:
    """The statement of every claim (id, paper, statement, checks) and every tolerance, as
    markdown: the text of ``docs/claims.md``."""
    lines = [
        "# The claims the suite verifies",
        "",
        "Generated from `theory/claims.py` (`python -c \"from theory.claims import "
        "claims_markdown; print(claims_markdown(), end='')\" > docs/claims.md`); "
        "`tests/test_claims.py` checks that the two agree. Verdicts are not written here: "
        "`advlandscape verify` computes them.",
        "",
        "## Notation",
        "",
        NOTATION,
        "",
        "## Claims",
        "",
        "| id | paper | statement | symbolic | numeric | data |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in CLAIMS:
        cells = [f"`{p}`" if p else "" for p in (c.symbolic, c.numeric, c.data)]
        statement = c.statement.replace("|", "\\|")
        lines.append(f"| {c.id} | {c.paper} | {statement} | " + " | ".join(cells) + " |")
    lines += ["", "## Tolerances", "", "| name | value | what it bounds |", "| --- | --- | --- |"]
    lines += [f"| `{name}` | {value:g} | {meaning} |"
              for name, (value, meaning) in TOLERANCES.items()]
    lines += ["", "Symbolic means: a SymPy derivation whose result is checked by "
              "`simplify(a - b) == 0` or a sign SymPy establishes under stated assumptions. "
              "Numeric means: float64 evaluation against `torch.autograd` / `torch.func` at "
              "random points, relative error <= `NUMERIC_RTOL`. Data means: an experiment's "
              "committed record under `results/`, judged by the function named.", ""]
    return "\n".join(lines)


def get_claim(claim_id: str) -> Claim:
    """Return the claim with id ``claim_id`` (as in ``docs/claims.md``)."""
    for claim in CLAIMS:
        if claim.id == claim_id:
            return claim
    raise KeyError(f"unknown claim id {claim_id!r}; known: {[c.id for c in CLAIMS]}")


def resolve(path: str) -> Callable[[], Evidence]:
    """Import ``"module:function"``."""
    module_name, _, func_name = path.partition(":")
    return getattr(importlib.import_module(module_name), func_name)


def run_check(kind: str, path: str) -> Evidence:
    """Run one check; a check that is missing or crashes yields evidence that says so."""
    try:
        func = resolve(path)
    except (ImportError, AttributeError) as exc:
        return Evidence(kind, False, f"not implemented ({path}: {exc})", ran=False)
    except Exception as exc:  # a module that fails at import is a crashed check
        return Evidence(
            kind, False, f"check crashed at import: {type(exc).__name__}: {exc}",
            details={"traceback": traceback.format_exc(limit=5)},
        )
    try:
        evidence = func()
    except Exception as exc:  # a crashing check is a failed check, reported, not hidden
        return Evidence(
            kind, False, f"check crashed: {type(exc).__name__}: {exc}",
            details={"traceback": traceback.format_exc(limit=5)},
        )
    if not isinstance(evidence, Evidence):
        return Evidence(kind, False, f"{path} returned {type(evidence).__name__}, not Evidence")
    return evidence


def verdict(evidence: Iterable[Evidence]) -> Verdict:
    """Compute a verdict from the evidence of a claim's checks (see the module docstring)."""
    ran = [e for e in evidence if e.ran]
    if not ran:
        return Verdict.NOT_VERIFIED
    if any(not e.passed for e in ran):
        return Verdict.FAILS
    if any(e.conditions for e in ran):
        return Verdict.CONDITIONAL
    if any(e.kind == "symbolic" for e in ran):
        return Verdict.PROVED
    return Verdict.CONFIRMED


@dataclass(frozen=True)
class LedgerRow:
    """A claim, its evidence and its verdict."""

    claim: Claim
    evidence: tuple[Evidence, ...]
    verdict: Verdict
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view of the row."""
        return {
            "id": self.claim.id,
            "paper": self.claim.paper,
            "statement": self.claim.statement,
            "latex": self.claim.latex,
            "verdict": self.verdict.value,
            "conditions": sorted({c for e in self.evidence for c in e.conditions}),
            "seconds": round(self.seconds, 3),
            "evidence": [
                {
                    "kind": e.kind, "passed": e.passed, "ran": e.ran, "summary": e.summary,
                    "conditions": list(e.conditions), "counterexample": e.counterexample,
                    "details": e.details,
                }
                for e in self.evidence
            ],
        }


def build_ledger(
    include_data: bool = False, ids: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[LedgerRow]:
    """Run the checks of every claim (or of ``ids``) and return the ledger rows."""
    wanted = set(ids) if ids is not None else None
    rows = []
    for claim in CLAIMS:
        if wanted is not None and claim.id not in wanted:
            continue
        if progress is not None:
            progress(claim.id)
        start = time.perf_counter()
        evidence = tuple(run_check(kind, path) for kind, path in claim.checks(include_data))
        rows.append(LedgerRow(claim, evidence, verdict(evidence), time.perf_counter() - start))
    return rows


def format_ledger(rows: Iterable[LedgerRow]) -> str:
    """The ledger as a plain-text table: id, verdict, and one line of evidence per check."""
    lines = []
    for row in rows:
        lines.append(f"{row.claim.id:<11} {row.verdict.value:<23} ({row.claim.paper})")
        for e in row.evidence:
            mark = "ok " if e.passed else ("-- " if not e.ran else "NO ")
            lines.append(f"    {mark}{e.kind:<9} {e.summary}")
            for cond in e.conditions:
                lines.append(f"               condition: {cond}")
            if e.counterexample:
                lines.append(f"               counterexample: {e.counterexample}")
    return "\n".join(lines)
