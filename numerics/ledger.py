"""The claims ledger: the checks of every claim, registered by claim id, and verdicts computed
from their evidence when they run.

The claims themselves (ids, statements, tolerances) are :data:`theory.claims.CLAIMS`. Each check
registers itself under a claim id and a kind (:func:`register`):

* ``symbolic``: a SymPy derivation, ``theory.<topic>.verify_*``, registered by the numeric
  check module of the same topic, ``numerics.checks.<topic>`` (``theory`` knows nothing of
  ``numerics``);
* ``numeric``: float64 against autograd, the ``check_*`` functions of ``numerics.checks.<topic>``;
* ``data``: an experiment's committed results, as listed by the study registry
  (:func:`numerics.experiments.registry.evidence_by_claim`).

Every check returns an :class:`~theory.evidence.Evidence`. The verdict is computed from the
evidence, never typed in:

* ``fails``: some check did not pass (its evidence carries the counterexample);
* ``holds under conditions``: all checks passed, and some needed stated conditions;
* ``proved``: all passed, unconditionally, and the symbolic evidence is a proof whose every step
  was machine-checked (:mod:`theory.proof`: ``details["steps"]``) for every dimension
  (``details["dimension"] == "any"``);
* ``derived, not fully machine-checked``: as ``proved``, except that some step is argued in prose
  or was checked at fixed dimensions only (the ledger says which);
* ``confirmed numerically``: all passed, unconditionally, with numeric or data evidence only;
* ``not verified``: no check could run (its data is absent, or its data file is unreadable).

``docs/claims.md`` is generated from the claims and the registered checks
(:func:`claims_markdown`; a test keeps the two equal).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from theory.claims import CLAIMS, NOTATION, TOLERANCES, Claim, claim_ids
from theory.errors import ConfigError, DataError, ResultFileError
from theory.evidence import Evidence
from theory.hypotheses import SETTING

__all__ = [
    "KINDS",
    "Check",
    "CheckFunction",
    "LedgerRow",
    "Verdict",
    "argued_steps",
    "build_ledger",
    "checks_for",
    "claims_markdown",
    "format_ledger",
    "fully_machine_checked",
    "load_checks",
    "register",
    "registered",
    "run_check",
    "verdict",
]

#: The kinds of check, in the order a claim's checks run and its row lists them.
KINDS = ("symbolic", "numeric", "data")

CheckFunction = TypeVar("CheckFunction", bound=Callable[..., Any])


class Verdict(StrEnum):
    """The possible verdicts of a claim."""

    PROVED = "proved"
    DERIVED = "derived, not fully machine-checked"
    CONFIRMED = "confirmed numerically"
    CONDITIONAL = "holds under conditions"
    FAILS = "fails"
    NOT_VERIFIED = "not verified"


# --- the registry --------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """A check registered for a claim: a function of no arguments returning :class:`Evidence`."""

    claim_id: str
    kind: str
    func: Callable[[], Evidence]

    @property
    def name(self) -> str:
        """The function's name (``check_y_eq7``): what a notebook section calls."""
        return self.func.__name__

    @property
    def path(self) -> str:
        """``"module:function"``, as ``docs/claims.md`` names the check."""
        return f"{self.func.__module__}:{self.func.__qualname__}"


_REGISTRY: dict[str, list[Check]] = {}
_loaded = False


def register(claim_id: str, kind: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check of claim ``claim_id`` of kind ``kind``; a decorator that returns the
    function unchanged, usable on a function defined elsewhere too:
    ``register("Y-EQ7", "symbolic")(verify_y_eq7)``.

    A claim's checks of one kind run in the order they were registered; registering the same
    function again (a reloaded module) replaces it in place.

    Raises:
        ConfigError: ``claim_id`` names no claim of :data:`theory.claims.CLAIMS`, or ``kind`` is
            not one of :data:`KINDS` (raised when the registering module is imported).
    """
    known = [c.id for c in CLAIMS]
    if claim_id not in known:
        raise ConfigError(f"cannot register a check for unknown claim id {claim_id!r}: use one "
                          f"of {', '.join(known)}")
    if kind not in KINDS:
        raise ConfigError(f"cannot register a check of unknown kind {kind!r} for {claim_id}: "
                          f"use one of {', '.join(KINDS)}")

    def decorator(func: CheckFunction) -> CheckFunction:
        check = Check(claim_id, kind, func)
        checks = _REGISTRY.setdefault(claim_id, [])
        same = [i for i, c in enumerate(checks) if (c.kind, c.path) == (kind, check.path)]
        if same:
            checks[same[0]] = check
        else:
            checks.append(check)
        return func

    return decorator


def load_checks() -> None:
    """Load every registration (once): the numeric check modules, which register their own
    checks and the symbolic ones of their topic, and the data evidence of the study registry."""
    global _loaded
    if _loaded:
        return
    import numerics.checks  # noqa: F401  (each topic module registers its checks)
    from numerics.experiments.registry import evidence_by_claim

    for claim_id, funcs in evidence_by_claim().items():
        for func in funcs:
            register(claim_id, "data")(func)
    _loaded = True


def registered() -> dict[str, list[Check]]:
    """Every registered check by claim id (registrations loaded), in the ledger's order."""
    load_checks()
    return {cid: checks_for(cid, include_data=True) for cid in _REGISTRY}


def checks_for(claim_id: str, include_data: bool = False) -> list[Check]:
    """The checks of claim ``claim_id`` to run: symbolic, numeric, then (with ``include_data``)
    data, each kind in the order registered; registrations are loaded first."""
    load_checks()
    kinds = KINDS if include_data else KINDS[:2]
    checks = _REGISTRY.get(claim_id, [])
    return [c for kind in kinds for c in checks if c.kind == kind]


# --- running checks and judging ------------------------------------------------------------


def _crashed(kind: str, exc: BaseException) -> Evidence:
    return Evidence(kind, False, f"check crashed: {type(exc).__name__}: {exc}",
                    details={"traceback": traceback.format_exc(limit=5)})


def run_check(check: Check) -> Evidence:
    """Run one check; a check that crashes yields evidence that says so.

    A check stopped by a data file it cannot use (a results record that is not valid JSON or
    lacks its keys, :class:`theory.errors.ResultFileError`; a data set file that fails its
    checksum, :class:`theory.errors.DataError`) did not run: its evidence reads ``not verified
    (invalid data file: ...)`` with ``ran=False``, so the claim is never judged ``fails`` on a
    damaged file. So does a data check stopped by a ``KeyError`` or ``TypeError`` (a record
    lacking a key, or holding a value of the wrong type, that the reader let through).
    """
    kind = check.kind
    try:
        evidence = check.func()
    except (ResultFileError, DataError) as exc:  # the data, not the claim, are at fault
        return Evidence(kind, False, f"not verified (invalid data file: {exc})", ran=False)
    except (KeyError, TypeError) as exc:
        if kind != "data":
            return _crashed(kind, exc)
        # a data check reading a record that lacks a key, or holds a value of the wrong type
        what = f"lacks the key {exc}" if isinstance(exc, KeyError) else \
            f"holds a value of the wrong type ({exc})"
        return Evidence(kind, False, f"not verified (invalid data file: a record {what}; "
                        "re-create it with the command in its provenance, or restore it from "
                        "git)", ran=False, details={"traceback": traceback.format_exc(limit=5)})
    except Exception as exc:  # a crashing check is a failed check, reported, not hidden
        return _crashed(kind, exc)
    if not isinstance(evidence, Evidence):
        return Evidence(kind, False,
                        f"{check.path} returned {type(evidence).__name__}, not Evidence")
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


# --- the ledger ----------------------------------------------------------------------------


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
            "hypotheses": [h.text for h in self.claim.hypotheses],
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
    """Run the checks of every claim (or of ``ids``, see :func:`theory.claims.claim_ids`) and
    return the ledger rows.

    Raises:
        ConfigError: an id in ``ids`` names no claim (before any check runs).
    """
    wanted = set(claim_ids(ids)) if ids is not None else None
    load_checks()
    rows = []
    for claim in CLAIMS:
        if wanted is not None and claim.id not in wanted:
            continue
        if progress is not None:
            progress(claim.id)
        start = time.perf_counter()
        evidence = tuple(run_check(c) for c in checks_for(claim.id, include_data))
        rows.append(LedgerRow(claim, evidence, verdict(evidence), time.perf_counter() - start))
    return rows


def format_ledger(rows: Iterable[LedgerRow]) -> str:
    """The ledger as a plain-text table: id, verdict, and one line of evidence per check."""
    lines = []
    for row in rows:
        lines.append(f"{row.claim.id:<11} {row.verdict.value:<23} ({row.claim.paper})")
        own = [h.text for h in row.claim.hypotheses if h not in SETTING]
        if own:
            lines.append("    hypotheses: " + "; ".join(own))
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


def claims_markdown() -> str:
    """The statement of every claim (id, paper, statement, the registered checks as
    ``module:function``) and every tolerance, as markdown: the text of ``docs/claims.md``."""
    lines = [
        "# The claims the suite verifies",
        "",
        "Generated from `theory/claims.py` (`python -c \"from numerics.ledger import "
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
        checks = checks_for(c.id, include_data=True)
        cells = ["<br>".join(f"`{k.path}`" for k in checks if k.kind == kind) for kind in KINDS]
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
