"""The ledger computes verdicts from evidence: the claims of theory/claims.py, their checks as
registered by claim id in numerics/ledger.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from numerics.ledger import (
    KINDS,
    Check,
    Verdict,
    checks_for,
    claims_markdown,
    register,
    registered,
    run_check,
    verdict,
)
from theory.claims import CLAIMS, TOLERANCES, Evidence, get_claim
from theory.errors import ConfigError

#: The papers' claims, and Y-T1-LINF (the suite's own L-inf analogue of Theorem 1), in order.
SPEC_IDS = ("Y-EQ7", "Y-L1", "INNER-MAX", "BOX-PROJ", "BOX-MAX", "Y-HESS", "HESS-DEP", "Y-EIG",
            "Y-EIG-DEP", "Y-T1", "Y-T1-LINF", "Y-T2", "K-SMOOTH", "L-BUDGET", "L-FINDINGS")

CHECKED = {"steps": [{"statement": "a = a", "method": "sympy-identity",
                      "machine_checked": True}], "dimension": "any"}
ARGUED = {"steps": [*CHECKED["steps"], {"statement": "b", "method": "prose",
                                         "machine_checked": False}], "dimension": "any"}
FIXED_D = {"steps": CHECKED["steps"], "dimension": [2, 3]}


def test_every_spec_claim_is_registered_once() -> None:
    assert [c.id for c in CLAIMS] == list(SPEC_IDS)


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        ([], Verdict.NOT_VERIFIED),
        ([Evidence("symbolic", False, "absent", ran=False)], Verdict.NOT_VERIFIED),
        ([Evidence("symbolic", True, "", details=CHECKED), Evidence("numeric", True, "")],
         Verdict.PROVED),
        ([Evidence("symbolic", True, "", details=ARGUED)], Verdict.DERIVED),
        ([Evidence("symbolic", True, "", details=FIXED_D)], Verdict.DERIVED),
        ([Evidence("symbolic", True, "")], Verdict.DERIVED),
        ([Evidence("numeric", True, ""), Evidence("data", True, "")], Verdict.CONFIRMED),
        ([Evidence("symbolic", True, ""), Evidence("numeric", True, "", conditions=("m > 0",))],
         Verdict.CONDITIONAL),
        ([Evidence("symbolic", True, ""), Evidence("numeric", False, "", counterexample={})],
         Verdict.FAILS),
        ([Evidence("symbolic", True, "", details=CHECKED),
          Evidence("data", False, "absent", ran=False)], Verdict.PROVED),
    ],
)
def test_verdict_is_computed_from_evidence(evidence: list[Evidence], expected: Verdict) -> None:
    assert verdict(evidence) is expected


def test_every_claim_has_a_registered_check_and_every_registered_id_is_a_claim() -> None:
    """The registry (numeric checks, the symbolic ones their modules register, the studies'
    data evidence) covers every claim, and names no claim that does not exist."""
    ids = [c.id for c in CLAIMS]
    checks = registered()
    assert set(checks) <= set(ids)
    for claim_id in ids:
        assert checks_for(claim_id, include_data=True), f"{claim_id} has no registered check"
    for claim_id, found in checks.items():
        assert all(c.claim_id == claim_id and c.kind in KINDS for c in found)
    assert all(c.kind != "data" for cid in ids for c in checks_for(cid, include_data=False))


def test_registering_an_unknown_claim_or_kind_raises() -> None:
    def check() -> Evidence:
        return Evidence("numeric", True, "")

    with pytest.raises(ConfigError, match="Y-EQ99"):
        register("Y-EQ99", "numeric")(check)
    with pytest.raises(ConfigError, match="proof"):
        register("Y-EQ7", "proof")(check)
    assert all(c.func is not check for found in registered().values() for c in found)


def test_checks_run_in_the_ledger_order() -> None:
    """Symbolic, numeric, then data; the data only when asked for; the data evidence of Y-T1 is
    the MNIST2 study's (which reads the deep net as one more regime)."""
    paths = [c.path for c in checks_for("Y-T1", include_data=True)]
    assert paths == ["theory.theorem1:verify_y_t1", "numerics.checks.theorem1:check_y_t1",
                     "numerics.experiments.mnist2.evidence:evidence_y_t1"]
    assert [c.kind for c in checks_for("Y-T1")] == ["symbolic", "numeric"]
    assert [c.kind for c in checks_for("L-FINDINGS", include_data=True)] == ["data"]


def test_crashing_check_fails() -> None:
    def crashes() -> Evidence:
        raise ZeroDivisionError("half-written check")

    e = run_check(Check("Y-EQ7", "numeric", crashes))
    assert e.ran
    assert not e.passed
    assert "ZeroDivisionError" in e.summary
    e = run_check(Check("Y-EQ7", "numeric", lambda: ZeroDivisionError))  # not Evidence
    assert not e.passed
    assert "not Evidence" in e.summary


def test_get_claim() -> None:
    assert get_claim("Y-T1").paper.startswith("Yamada")
    with pytest.raises(KeyError):
        get_claim("Y-T9")


def test_claim_ids_appear_in_check_docstrings() -> None:
    """A claim's id is in its check function's docstring, so a reader can follow it."""
    for claim in CLAIMS:
        for check in checks_for(claim.id, include_data=True):
            assert re.search(re.escape(claim.id), check.func.__doc__ or ""), check.path


def test_docs_state_every_claim_as_the_ledger_does() -> None:
    """docs/claims.md is the ledger's own statement of every claim id, its registered checks and
    every tolerance (generated from theory/claims.py and numerics/ledger.py): a clone is
    self-contained, and the two never drift apart."""
    docs = Path(__file__).resolve().parents[1] / "docs" / "claims.md"
    text = docs.read_text()
    assert text == claims_markdown(), (
        "docs/claims.md is out of date: regenerate it with the command at its top")
    for claim_id in SPEC_IDS:
        assert f"| {claim_id} |" in text
    for name, (value, _) in TOLERANCES.items():
        assert f"| `{name}` | {value:g} |" in text


def test_every_claim_has_a_latex_statement() -> None:
    """Every claim states itself twice: plain text for the terminal, LaTeX for the pages. The
    LaTeX is text with ``$...$`` math (balanced; MathJax typesets it, tests/test_report.py checks
    it renders) and keeps the plain form's ASCII notation out of the text."""
    for claim in CLAIMS:
        tex = claim.latex
        assert tex.strip(), f"{claim.id} has no latex statement"
        assert tex.count("$") % 2 == 0, f"{claim.id}: unbalanced $ in {tex!r}"
        text_parts = tex.split("$")[::2]  # outside math
        for part in text_parts:
            assert not re.search(r"\|\||\beps\b|\\[a-zA-Z]", part), (claim.id, part)


def test_json_ledger_carries_both_forms_and_the_terminal_plain_text() -> None:
    from numerics.ledger import LedgerRow, format_ledger

    claim = get_claim("INNER-MAX")
    row = LedgerRow(claim, (Evidence("symbolic", True, "ok"),), Verdict.PROVED, 0.0)
    assert row.to_dict()["statement"] == claim.statement
    assert row.to_dict()["latex"] == claim.latex
    assert "$" not in format_ledger([row])


def test_theory_does_not_reach_numerics() -> None:
    """theory/ states the claims; the numerics side registers their checks. Nothing under theory/
    imports numerics, at load or at run time, nor names a check by its import path."""
    theory = Path(__file__).resolve().parents[1] / "theory"
    pattern = re.compile(r"""["']numerics\.|import_module|importlib|^\s*(from|import) numerics""",
                         re.M)
    found = [f"{p.name}: {m.group(0)}" for p in sorted(theory.rglob("*.py"))
             for m in pattern.finditer(p.read_text())]
    assert not found
