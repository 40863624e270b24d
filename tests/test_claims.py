"""The ledger computes verdicts from evidence (claims framework of theory/claims.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from theory.claims import (
    CLAIMS,
    TOLERANCES,
    Evidence,
    Verdict,
    claims_markdown,
    get_claim,
    run_check,
    verdict,
)

SPEC_IDS = ("Y-EQ7", "Y-L1", "INNER-MAX", "BOX-PROJ", "BOX-MAX", "Y-HESS", "HESS-DEP", "Y-EIG",
            "Y-EIG-DEP", "Y-T1", "Y-T2", "K-SMOOTH", "L-BUDGET", "L-FINDINGS")

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


def test_missing_check_is_reported_not_passed() -> None:
    e = run_check("numeric", "numerics.checks:no_such_check")
    assert not e.ran
    assert not e.passed


def test_crashing_check_fails() -> None:
    e = run_check("numeric", "builtins:ZeroDivisionError")  # returns an exception, not Evidence
    assert not e.passed


def test_get_claim() -> None:
    assert get_claim("Y-T1").paper.startswith("Yamada")
    with pytest.raises(KeyError):
        get_claim("Y-T9")


def test_claim_ids_appear_in_check_docstrings() -> None:
    """A claim's id is in its check function's docstring, so a reader can follow it."""
    from theory.claims import resolve

    for claim in CLAIMS:
        for _, path in claim.checks(include_data=True):
            try:
                func = resolve(path)
            except (ImportError, AttributeError):
                continue  # reported by the ledger as not implemented
            assert re.search(re.escape(claim.id), func.__doc__ or ""), path


def test_docs_state_every_claim_as_the_ledger_does() -> None:
    """docs/claims.md is the ledger's own statement of every claim id and tolerance (generated
    from theory/claims.py): a clone is self-contained, and the two never drift apart."""
    docs = Path(__file__).resolve().parents[1] / "docs" / "claims.md"
    text = docs.read_text()
    assert text == claims_markdown(), (
        "docs/claims.md is out of date: regenerate it with the command at its top")
    for claim_id in SPEC_IDS:
        assert f"| {claim_id} |" in text
    for name, (value, _) in TOLERANCES.items():
        assert f"| `{name}` | {value:g} |" in text


def test_check_whose_module_fails_at_import_is_a_failed_check(tmp_path, monkeypatch) -> None:
    """A module that raises at import (not ImportError) crashes its check; the ledger goes on."""
    (tmp_path / "broken_check_module.py").write_text("raise RuntimeError('half-written module')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    e = run_check("numeric", "broken_check_module:check")
    assert e.ran
    assert not e.passed
    assert "RuntimeError" in e.summary


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
    from theory.claims import LedgerRow, format_ledger

    claim = get_claim("INNER-MAX")
    row = LedgerRow(claim, (Evidence("symbolic", True, "ok"),), Verdict.PROVED, 0.0)
    assert row.to_dict()["statement"] == claim.statement
    assert row.to_dict()["latex"] == claim.latex
    assert "$" not in format_ledger([row])
