"""The claims ledger: every claim with its checks, and verdicts computed at run time.

The claims, their ids and the tolerances of their checks are stated here and only here;
``docs/claims.md`` is generated from this module (:func:`claims_markdown`; a test keeps the two
equal), so a clone of the repository is self-contained.

A claim points to up to three checks by import path: ``symbolic`` (SymPy), ``numeric`` (float64
against autograd) and ``data`` (an experiment's results). Each check returns an :class:`Evidence`.
The verdict is computed from the evidence, never typed in:

* ``fails``: some check did not pass (its evidence carries the counterexample);
* ``holds under conditions``: all checks passed, and some needed stated conditions;
* ``proved``: all passed, unconditionally, and the symbolic evidence is a proof whose every step
  was machine-checked (:mod:`theory.proof`: ``details["steps"]``) for every dimension
  (``details["dimension"] == "any"``);
* ``derived, not fully machine-checked``: as ``proved``, except that some step is argued in prose
  or was checked at fixed dimensions only (the ledger says which);
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

from theory.errors import ConfigError, DataError, ResultFileError


class Verdict(StrEnum):
    """The possible verdicts of a claim."""

    PROVED = "proved"
    DERIVED = "derived, not fully machine-checked"
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
    extra_data: tuple[str, ...] = ()

    def checks(self, include_data: bool = False) -> list[tuple[str, str]]:
        """The (kind, import path) pairs to run: ``extra_data`` are further data checks (another
        model family or scale), each its own evidence in the claim's row."""
        pairs = [("symbolic", self.symbolic), ("numeric", self.numeric)]
        if include_data:
            pairs.append(("data", self.data))
            pairs += [("data", p) for p in self.extra_data]
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
MADRY = "Madry et al. 2018"
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
        "BOX-PROJ", MADRY,
        "The Euclidean projection onto the L2 eps-ball intersected with the pixel box "
        "(lo <= delta <= hi, lo <= 0 <= hi) is clip(z/(1 + mu), lo, hi), with mu >= 0 zero when "
        "||clip(z, lo, hi)|| <= eps and else fixed by ||delta|| = eps; for L-inf it is the clip "
        "onto [max(lo, -eps), min(hi, eps)]. Ball-then-box, PGD's usual step, is not it (L2).",
        symbolic="theory.box:verify_box_proj",
        numeric="numerics.checks.box:check_box_proj",
        latex=(
            r"The Euclidean projection onto $\{\|\delta\|_2 \le \varepsilon\} \cap \{l \le "
            r"\delta \le h\}$ ($l \le 0 \le h$) is $\operatorname{clip}(z/(1 + \mu), l, h)$, "
            r"with $\mu \ge 0$ zero when $\|\operatorname{clip}(z, l, h)\| \le \varepsilon$ and "
            r"else fixed by $\|\delta\| = \varepsilon$; for $L_\infty$ it is the clip onto "
            r"$[\max(l, -\varepsilon), \min(h, \varepsilon)]$. Ball-then-box, PGD's usual "
            r"step, is not it ($L_2$)."
        ),
    ),
    Claim(
        "BOX-MAX", YAMADA,
        "The worst case of a linear model inside the eps-ball and the pixel box: "
        "clip(-t y w, lo, hi) with ||delta|| = eps (or the box corner when it lies in the ball) "
        "for L2, clip(-eps y sign(w), lo, hi) for L-inf.",
        symbolic="theory.box:verify_box_max",
        numeric="numerics.checks.box:check_box_max",
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
        "Eqs. 10-11, noise held fixed: the per-point Hessian s(z)s(-z)(x + eta)(x + eta)^T has "
        "the eigenvector x + eta (y x - eps w^ at eta*) with eigenvalue s(z)s(-z)||x + eta||^2; "
        "vectors orthogonal to it have eigenvalue 0. The full-data Hessian is the mean.",
        symbolic="theory.hessian:verify_y_eig",
        numeric="numerics.checks.hessian:check_y_eig",
        latex=(
            r"Eqs. 10-11, noise held fixed: the per-point Hessian $s(z)s(-z)\,(x + \eta)(x + "
            r"\eta)^\top$ has the eigenvector $x + \eta$ ($y x - \varepsilon \hat w$ at "
            r"$\eta^*$) with eigenvalue $s(z)s(-z)\,\|x + \eta\|^2$; vectors orthogonal to it "
            r"have eigenvalue $0$. The full-data Hessian is the mean."
        ),
    ),
    Claim(
        "Y-EIG-DEP", YAMADA,
        "With the attack depending on w (HESS-DEP, p = 2), v = y x - eps w^ stays the top "
        "eigenvector of the per-point Hessian, with eigenvalue s(m)s(-m)||v||^2.",
        symbolic="theory.hessian:verify_y_eig_dep",
        numeric="numerics.checks.hessian:check_y_eig_dep",
        latex=(
            r"With the attack depending on $w$ (HESS-DEP, $p = 2$), $v = y x - \varepsilon "
            r"\hat w$ stays the top eigenvector of the per-point Hessian, with eigenvalue "
            r"$s(m)s(-m)\,\|v\|^2$."
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
        "Under L2 the adversarial loss of a linear classifier is smooth except at w = 0: its "
        "gradient is K(r)-Lipschitz on ||w|| >= r, K(r) = mean(||x|| + eps)^2/4 + eps/r, for "
        "every pair of points there, no constant below eps/(2r) works, and the gradient has no "
        "limit at 0; under L-inf the gradient jumps by 2 eps s(-m) across each hyperplane "
        "w_i = 0.",
        symbolic="theory.smoothness:verify_k_smooth",
        numeric="numerics.checks.smoothness:check_k_smooth",
        data="numerics.experiments.smoothness:evidence_k_smooth",
        latex=(
            r"Under $L_2$ the adversarial loss of a linear classifier is smooth except at $w = "
            r"0$: its gradient is $K(r)$-Lipschitz on $\|w\| \ge r$, $K(r) = \frac{1}{N}\sum_n "
            r"(\|x_n\| + \varepsilon)^2/4 + \varepsilon/r$, for every pair of points there, no "
            r"constant below $\varepsilon/(2r)$ works, and the gradient has no limit at $0$; "
            r"under $L_\infty$ the gradient jumps by $2 \varepsilon\, s(-m)$ across each "
            r"hyperplane $w_i = 0$."
        ),
    ),
    Claim(
        "L-BUDGET", LIU,
        "w = 0 minimises L_eps(w) = mean zeta(-y w.x + eps ||w||_q) (threat ||eta||_p <= eps, "
        "1/p + 1/q = 1) exactly when eps >= ||mean_n y_n x_n||_p; and, under the L2 threat, "
        "||grad L_eps(w1) - grad L_eps(w2)|| <= A ||w1 - w2|| + B eps.",
        symbolic="theory.budget:verify_l_budget",
        numeric="numerics.checks.budget:check_l_budget",
        data="numerics.experiments.budget:evidence_l_budget",
        latex=(
            r"$w = 0$ minimises $L_\varepsilon(w) = \frac{1}{N} \sum_n \zeta(-y_n w^\top x_n + "
            r"\varepsilon \|w\|_q)$ (threat $\|\eta\|_p \le \varepsilon$, $1/p + 1/q = 1$) "
            r"exactly when $\varepsilon \ge \|\frac{1}{N} \sum_n y_n x_n\|_p$; and, under the "
            r"$L_2$ threat, $\|\nabla L_\varepsilon(w_1) - \nabla L_\varepsilon(w_2)\| \le A "
            r"\|w_1 - w_2\| + B \varepsilon$."
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
        cells[2] += "".join(f"<br>`{p}`" for p in c.extra_data)
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


def resolve(path: str) -> Callable[[], Evidence]:
    """Import ``"module:function"``."""
    module_name, _, func_name = path.partition(":")
    return getattr(importlib.import_module(module_name), func_name)


def run_check(kind: str, path: str) -> Evidence:
    """Run one check; a check that is missing or crashes yields evidence that says so.

    A check stopped by a data file it cannot use (a results record that is not valid JSON or
    lacks its keys, :class:`theory.errors.ResultFileError`; a data set file that fails its
    checksum, :class:`theory.errors.DataError`) did not run: its evidence reads ``not verified
    (invalid data file: ...)`` with ``ran=False``, so the claim is never judged ``fails`` on a
    damaged file.
    """
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
    except (ResultFileError, DataError) as exc:  # the data, not the claim, are at fault
        return Evidence(kind, False, f"not verified (invalid data file: {exc})", ran=False)
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
    symbolic = [e for e in ran if e.kind == "symbolic"]
    if symbolic:
        return Verdict.PROVED if all(fully_machine_checked(e) for e in symbolic) \
            else Verdict.DERIVED
    return Verdict.CONFIRMED


def fully_machine_checked(evidence: Evidence) -> bool:
    """Whether symbolic evidence is a proof with every step machine-checked, for any d."""
    steps = evidence.details.get("steps") or []
    return (bool(steps) and all(step["machine_checked"] for step in steps)
            and evidence.details.get("dimension") == "any")


def argued_steps(evidence: Evidence) -> list[dict[str, Any]]:
    """The steps of symbolic evidence that are not machine-checked (prose, or failed)."""
    return [step for step in evidence.details.get("steps") or [] if not step["machine_checked"]]


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
            "argued_steps": sum(len(argued_steps(e)) for e in self.evidence
                                if e.kind == "symbolic"),
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
    """Run the checks of every claim (or of ``ids``, see :func:`claim_ids`) and return the
    ledger rows.

    Raises:
        ConfigError: an id in ``ids`` names no claim (before any check runs).
    """
    wanted = set(claim_ids(ids)) if ids is not None else None
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
            for step in e.details.get("steps") or []:
                mark = "+" if step["machine_checked"] else ("~" if step["method"] == "prose"
                                                            else "x")
                dim = "" if step.get("dimension", "any") == "any" else \
                    f" [d = {step['dimension']}]"
                lines.append(f"               {mark} {step['method']}: {step['statement']}{dim}")
    return "\n".join(lines)
