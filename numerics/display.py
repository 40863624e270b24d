"""What the notebooks display: SymPy results typeset, and a claim's statement at its section.

The notebooks import both from here (``from numerics.display import show_claim, typeset``).
Both are plain objects with IPython's rich-display methods (no IPython import): Jupyter and the
report's pages typeset them with MathJax, and their ``text/plain`` form is exact text that nbval
compares in cells marked ``# NBVAL_CHECK_OUTPUT``:

* :func:`typeset` shows a SymPy expression as ``text/latex`` (``$\\displaystyle lhs = ...$``) with
  ``sympy.sstr`` of it as ``text/plain``;
* :func:`show_claim` shows a claim's LaTeX statement (:attr:`theory.claims.Claim.latex`) as
  ``text/markdown`` with its plain statement as ``text/plain``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ClaimStatement", "Typeset", "show_claim", "typeset"]


@dataclass(frozen=True)
class Typeset:
    """A SymPy expression to display typeset (see :func:`typeset`)."""

    latex: str
    plain: str

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex}$"

    def __repr__(self) -> str:
        return self.plain


def typeset(expr: Any, lhs: str | None = None, plain_lhs: str | None = None,
            symbol_names: Mapping[Any, str] | None = None) -> Typeset:
    """A SymPy expression (or anything ``sympy.sympify`` takes) for display, typeset.

    Args:
        expr: the expression.
        lhs: LaTeX of a left-hand side (``\\lambda_1``): shown as ``lhs = expr``.
        plain_lhs: the left-hand side in the plain form (default: none, the plain form is
            ``sympy.sstr(expr)`` alone, exact text for nbval to compare).
        symbol_names: LaTeX names of symbols, as ``sympy.latex(symbol_names=...)``; a symbol
            named ``epsilon`` is written ``\varepsilon`` unless named here.

    Returns:
        An object whose ``text/latex`` form is the typeset expression and whose ``text/plain``
        form is ``sympy.sstr(expr)`` (after ``plain_lhs = `` if given).
    """
    import sympy as sp

    expr = sp.sympify(expr)
    names = {sym: r"\varepsilon" for sym in getattr(expr, "free_symbols", ())
             if getattr(sym, "name", None) == "epsilon"}  # the papers' epsilon
    names.update(symbol_names or {})
    body = sp.latex(expr, **({"symbol_names": names} if names else {}))
    plain = sp.sstr(expr)
    return Typeset(f"{lhs} = {body}" if lhs else body,
                   f"{plain_lhs} = {plain}" if plain_lhs else plain)


@dataclass(frozen=True)
class ClaimStatement:
    """A claim's statement for display at the head of its notebook section."""

    id: str
    paper: str
    latex: str
    plain: str
    hypotheses: tuple[str, ...] = ()

    def _repr_markdown_(self) -> str:
        text = f"**{self.id}** ({self.paper}). {self.latex}"
        if self.hypotheses:
            text += "\n\n*Hypotheses:* " + "; ".join(self.hypotheses) + "."
        return text

    def __repr__(self) -> str:
        text = f"{self.id} ({self.paper}). {self.plain}"
        if self.hypotheses:
            text += " Hypotheses: " + "; ".join(self.hypotheses) + "."
        return text


def show_claim(claim_id: str) -> ClaimStatement:
    """The statement of claim ``claim_id`` as ``theory.claims`` states it, with its hypotheses
    (beyond the setting every claim shares, :mod:`theory.hypotheses`), for display: typeset
    (markdown with ``$...$`` math) in Jupyter and on the report's pages, plain text otherwise."""
    from theory.claims import get_claim
    from theory.hypotheses import HYPOTHESES

    claim = get_claim(claim_id)
    return ClaimStatement(claim.id, claim.paper, claim.latex or claim.statement, claim.statement,
                          tuple(h.text for h in HYPOTHESES.get(claim.id, ())))
