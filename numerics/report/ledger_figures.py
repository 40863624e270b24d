"""Small figures for the ledger page, where one says more than the numbers beside it.

Each figure is drawn from what the ledger row already holds (its evidence's details, the numbers
the verdict was judged on) or from the theory's own lambdified formulas, never from a file the
row did not use. Figures are PNG data URIs, so the page stands alone. A figure that cannot be
drawn (its evidence did not run, or carries other numbers) is left out with the reason.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from numerics.ledger import LedgerRow
from theory.evidence import Evidence

__all__ = [
    "DPI",
    "FIGSIZE",
    "FIGURES",
    "LedgerFigure",
    "claim_figures",
    "l_budget_collapse",
    "y_t1_mnist2_series",
    "y_t1_sign_diagram",
]

#: Size of one figure in inches and its resolution: about 440 x 270 pixels.
FIGSIZE = (4.4, 2.7)
DPI = 100


@dataclass(frozen=True)
class LedgerFigure:
    """One figure: its caption (HTML-safe text with ``$...$`` math) and its PNG data URI."""

    caption: str
    uri: str


def _figure() -> tuple[Any, Any]:
    """A matplotlib figure outside pyplot (no global state, no backend needed)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    return fig, fig.add_subplot()


def _uri(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _evidence(row: LedgerRow, kind: str) -> Evidence | None:
    found = [e for e in row.evidence if e.kind == kind and e.ran]
    return found[0] if found else None


def y_t1_sign_diagram(row: LedgerRow) -> LedgerFigure:
    """Y-T1 (a): the sign of d lambda_1 / d eps over the robust margin m and ||w|| ||x_perp||."""
    import numpy as np

    from theory import theorem1 as t1

    m_star = float(t1.margin_threshold())
    m = np.linspace(-6, 6, 241)
    wp = np.linspace(0, 3, 151)
    mm, pp = np.meshgrid(m, wp)
    sign = np.sign(t1.DLAMBDA_DEPS_NP(mm, np.ones_like(mm), pp))
    fig, ax = _figure()
    ax.contourf(mm, pp, sign, levels=[-1.5, 0, 1.5], colors=["#f4a3a3", "#a3c4f4"])
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = 2 * m / np.tanh(m / 2) - m**2
    ax.plot(m, np.sqrt(np.clip(phi, 0, None)), "k-", lw=1, label=r"$\|w\|^2P^2 = \varphi(m)$")
    ax.axvline(m_star, color="k", ls="--", lw=1, label=rf"$m^* = {m_star:.3f}$")
    ax.set_xlabel(r"robust margin $m$")
    ax.set_ylabel(r"$\|w\|\,\|x_\perp\|$")
    ax.legend(loc="upper left", fontsize=7)
    return LedgerFigure(
        r"Sign of $d\lambda_1/d\varepsilon$ at fixed $w$ (blue: sharper with $\varepsilon$, red: "
        r"flatter); right of $m^*$ it always grows.", _uri(fig))


def y_t1_mnist2_series(row: LedgerRow) -> LedgerFigure:
    """Y-T1 (b): the trained models' sharpness against eps, per training regime."""
    data = next((e for e in row.evidence if e.kind == "data" and e.ran
                 and "regimes" in e.details), None)  # MNIST2's, not the deep net's
    if data is None:
        raise LookupError("the data evidence did not run (results/mnist2/ absent?)")
    regimes = data.details["regimes"]
    fig, ax = _figure()
    for regime in regimes:
        values = regime["normalized"]["values"]
        ax.plot(regime["eps"], values, "o-", ms=3,
                label=f"weight decay {regime['weight_decay']:g}"
                      + ("" if regime["normalized"]["increasing"] else " (not increasing)"))
    ax.set_xlabel(r"$L_2$ training budget $\varepsilon$")
    ax.set_ylabel(r"$\|w\|^2\lambda_1$")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    return LedgerFigure(
        r"MNIST2, the trained models' filter-normalised sharpness $\|w\|^2\lambda_1$ (Hessian with "
        r"the PGD examples fixed) against $\varepsilon$. The committed records hold one training "
        "seed per regime: there is no seed band to draw.", _uri(fig))


def l_budget_collapse(row: LedgerRow) -> LedgerFigure:
    """L-BUDGET on data: ||w_f|| of the trained models against eps, beside the threshold eps*."""
    data = _evidence(row, "data")
    if data is None:
        raise LookupError("the data evidence did not run (results/budget/budget.json absent?)")
    box = data.details["box"]
    fig, ax = _figure()
    for (norm, runs), colour in zip(box.items(), ("C0", "C1"), strict=False):
        star = runs["eps_star_no_box"]
        ax.plot([r["eps"] / star for r in runs["rows"]], [r["w_norm"] for r in runs["rows"]],
                "o-", ms=3, color=colour,
                label=f"{norm}: collapse at {runs['collapse_eps'] / star:.2f} "
                      r"$\varepsilon^*$")
    ax.axvline(1.0, color="k", ls="--", lw=1, label=r"$\varepsilon^*$ (no box)")
    ax.set_xlabel(r"$\varepsilon / \varepsilon^*$")
    ax.set_ylabel(r"$\|w_f\|$ after training")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    return LedgerFigure(
        r"MNIST2, PGD training in the $[0, 1]$ pixel box: the trained weights collapse to 0 just "
        r"above the threshold $\varepsilon^*$ of the closed form without the box.", _uri(fig))


#: The figures of each claim id, in the order shown.
FIGURES: dict[str, tuple[Callable[[LedgerRow], LedgerFigure], ...]] = {
    "Y-T1": (y_t1_sign_diagram, y_t1_mnist2_series),
    "L-BUDGET": (l_budget_collapse,),
}


def claim_figures(row: LedgerRow) -> tuple[list[LedgerFigure], list[str]]:
    """The figures of a ledger row, and one message per figure that could not be drawn."""
    figures, missing = [], []
    for draw in FIGURES.get(row.claim.id, ()):
        try:
            figures.append(draw(row))
        except (LookupError, TypeError, ValueError) as exc:
            missing.append(f"{draw.__name__}: {type(exc).__name__}: {exc}")
    return figures, missing
