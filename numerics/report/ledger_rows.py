"""The parts of one ledger row: the one-line note, compact counterexamples, the links to the
notebook sections, and the fold beneath the row (conditions, evidence, proof steps, figures and
the numbers of every check). :mod:`numerics.report.ledger_page` assembles them into the page."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from numerics.ledger import LedgerRow
from numerics.report.notebooks import ClaimSection
from theory.evidence import Evidence

__all__ = [
    "CEX_FIRST",
    "CEX_NAMES",
    "NOTE_CHARS",
    "SectionLink",
    "compact_counterexample",
    "fold_html",
    "links_html",
    "row_note",
]

#: Characters of the one-line note in a claim's row (the full text is folded beneath it).
NOTE_CHARS = 120


# --- short forms -------------------------------------------------------------------------


def _short(text: str, limit: int = NOTE_CHARS) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters (with an ellipsis)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + " \u2026"


def _number(value: float | int) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.4g}"


#: How counterexample keys read on the page (others are shown as they are named).
CEX_NAMES = {"eps": "\u03b5", "m": "m", "y": "y", "P": "P",
             "dlambda1_deps": "d\u03bb\u2081/d\u03b5"}
#: Keys shown first in a counterexample, in this order: the scalars a reader checks first.
CEX_FIRST = ("m", "w", "eps", "y")


def _is_vector(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value)


def compact_counterexample(cex: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The scalars of a counterexample that a reader needs, as (name, value) pairs.

    Vectors are reduced to their norm (``w`` -> ``||w||``) or, for the others, to their
    dimension; scalars keep 4 significant digits; ``m``, ``||w||``, ``eps``, ``y`` come first,
    then the other scalars (the quantity that fails), then any text (``why``). The full vectors
    are in the JSON ledger.
    """
    pairs: list[tuple[str, str]] = []
    vectors: list[str] = []
    texts: list[tuple[str, str]] = []
    order = sorted(cex, key=lambda k: CEX_FIRST.index(k) if k in CEX_FIRST else len(CEX_FIRST))
    for key in order:
        value = cex[key]
        if _is_vector(value):
            if key == "w":
                pairs.append(("\u2016w\u2016", _number(math.sqrt(sum(v * v for v in value)))))
            vectors.append(f"{key} (d = {len(value)})")
        elif isinstance(value, int | float):
            pairs.append((CEX_NAMES.get(key, key), _number(value)))
        elif isinstance(value, str):
            texts.append((key, value))
        else:
            vectors.append(key)
    if vectors:
        pairs.append(("in the JSON", ", ".join(vectors)))
    return pairs + texts


def _cex_html(cex: Mapping[str, Any]) -> str:
    parts = []
    for name, value in compact_counterexample(cex):
        if name == "in the JSON":
            parts.append(f'<span class="muted">vectors {html.escape(value)} in the JSON</span>')
        elif name in ("why", "reason"):
            parts.append(f"<i>{html.escape(value)}</i>")
        else:
            parts.append(f"{html.escape(name)} = {html.escape(value)}")
    return ", ".join(parts)


def _conditions(row: LedgerRow) -> list[tuple[str, list[str]]]:
    """The row's conditions, each once, with the kinds of the checks that state it."""
    found: dict[str, list[str]] = {}
    for e in row.evidence:
        for cond in e.conditions:
            found.setdefault(cond, [])
            if e.kind not in found[cond]:
                found[cond].append(e.kind)
    return list(found.items())


def row_note(row: LedgerRow) -> str:
    """The one-line note of a row (HTML): the failing check's counterexample, else the first
    condition, else why nothing ran, else "unconditional"."""
    failed = [e for e in row.evidence if e.ran and not e.passed]
    if failed:
        e = failed[0]
        if e.counterexample:
            return f"<b>counterexample</b> ({html.escape(e.kind)}): {_cex_html(e.counterexample)}"
        return f"<b>{html.escape(e.kind)} failed</b>: {html.escape(_short(e.summary))}"
    conditions = _conditions(row)
    if conditions:
        more = f' <span class="muted">(+{len(conditions) - 1} more)</span>' \
            if len(conditions) > 1 else ""
        return f"<b>condition</b>: {html.escape(_short(conditions[0][0]))}{more}"
    if not any(e.ran for e in row.evidence):
        reasons = "; ".join(e.summary for e in row.evidence) or "no check"
        return f'<span class="muted">not run: {html.escape(_short(reasons))}</span>'
    return '<span class="muted">unconditional</span>'


# --- the fold ------------------------------------------------------------------------------


def _steps_html(e: Evidence) -> str:
    steps = e.details.get("steps")
    if not isinstance(steps, list | tuple) or not steps:
        return ""
    items, checked = [], 0
    for step in steps:
        if not isinstance(step, Mapping):
            step = {"statement": str(step)}
        machine = bool(step.get("machine_checked"))
        checked += machine
        method = step.get("method")
        items.append(
            f"<li>{html.escape(str(step.get('statement', '')))}"
            + (f' <span class="method">({html.escape(str(method))})</span>' if method else "")
            + (f' <span class="method">[confirmed by {html.escape(", ".join(map(str, engines)))}]'
               "</span>" if (engines := step.get("engines")) else "")
            + (' <span class="mc yes">machine-checked</span>' if machine
               else ' <span class="mc no">argued</span>') + "</li>")
    dimension = e.details.get("dimension")
    if dimension is None:
        dim = ""
    elif dimension == "any":
        dim = "; any dimension"
    elif isinstance(dimension, list | tuple):
        dim = "; dimension " + ", ".join(str(d) for d in dimension)
    else:
        dim = f"; dimension {dimension}"
    return (f'<details class="steps"><summary><b>Proof steps</b> ({html.escape(e.kind)} check): '
            f"{len(steps)}, {checked} machine-checked, {len(steps) - checked} argued"
            f"{html.escape(dim)}</summary><ol>{''.join(items)}</ol></details>")


_NOT_NUMBERS = ("steps", "dimension", "checks", "traceback")


def _flatten(value: Any, prefix: str = "", depth: int = 0) -> list[tuple[str, str]]:
    """(dotted key, short value) pairs of a details dict, for the numbers table."""
    if isinstance(value, Mapping) and depth < 4:
        out = []
        for k, v in value.items():
            if depth == 0 and k in _NOT_NUMBERS:
                continue
            out += _flatten(v, f"{prefix}.{k}" if prefix else str(k), depth + 1)
        return out
    if isinstance(value, list | tuple) and value and all(isinstance(v, Mapping) for v in value) \
            and depth < 4:
        out = []
        for i, v in enumerate(value):
            out += _flatten(v, f"{prefix}[{i}]", depth + 1)
        return out
    if _is_vector(value):
        if len(value) <= 8:
            text = "[" + ", ".join(_number(v) for v in value) + "]"
        else:
            text = f"{len(value)} values, {_number(min(value))} .. {_number(max(value))}"
        return [(prefix, text)]
    if isinstance(value, int | float):
        return [(prefix, _number(value))]
    return [(prefix, _short(str(value), 240))]


def _numbers_html(row: LedgerRow) -> str:
    blocks = []
    for e in row.evidence:
        parts = []
        checks = e.details.get("checks")
        if isinstance(checks, Mapping) and checks:
            marks = ", ".join(("\u2713 " if ok else "\u2717 ") + html.escape(str(name))
                              for name, ok in checks.items())
            parts.append(f"<p><b>checks</b>: {marks}</p>")
        pairs = _flatten(e.details)
        if pairs:
            parts.append('<table class="nums">' + "".join(
                f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in pairs)
                + "</table>")
        if "traceback" in e.details:
            parts.append(f'<pre class="tb">{html.escape(str(e.details["traceback"]))}</pre>')
        if parts:
            blocks.append(f"<h4>{html.escape(e.kind)}</h4>" + "".join(parts))
    if not blocks:
        return ""
    return ("<details class=\"numbers\"><summary><b>Numbers</b> (each check's details; full "
            "vectors in <code>advlandscape verify --json</code>)</summary>" + "".join(blocks)
            + "</details>")


def _evidence_html(row: LedgerRow, conditions: list[tuple[str, list[str]]]) -> str:
    index = {cond: i + 1 for i, (cond, _) in enumerate(conditions)}
    items = []
    for e in row.evidence:
        cls, mark = (("skipped", "not run") if not e.ran
                     else ("passed", "passed") if e.passed else ("failed", "FAILED"))
        text = (f'<span class="ev {cls}">{html.escape(e.kind)} ({mark})</span>: '
                f"{html.escape(e.summary)}")
        refs = [str(index[c]) for c in e.conditions if c in index]
        if refs:
            text += f' <span class="muted">[condition {", ".join(refs)}]</span>'
        if e.counterexample:
            text += f'<div class="cex"><i>counterexample</i>: {_cex_html(e.counterexample)}</div>'
        items.append(f"<li>{text}</li>")
    return "<ul>" + "".join(items) + "</ul>" if items else "<p><i>no check</i></p>"


@dataclass(frozen=True)
class SectionLink:
    """A claim section of a rendered notebook page."""

    page: str  # the page's file name, relative to the site
    notebook: str  # NN_topic
    section: ClaimSection

    def href(self, role: str | None = None) -> str:
        anchor = f"{self.section.claim}-{role}" if role else self.section.anchors[0]
        return f"{self.page}#{anchor}"


def links_html(links: Sequence[SectionLink]) -> str:
    out = []
    for role, label in (("derivation", "derivation"), ("data", "data")):
        match = next((lk for lk in links if role in lk.section.roles), None)
        if match is not None:
            out.append(f'<a href="{html.escape(match.href(role))}" '
                       f'title="{html.escape(match.notebook)}">{label}&nbsp;'
                       f"({html.escape(match.notebook[:2])})</a>")
    if not out and links:
        first = links[0]
        out.append(f'<a href="{html.escape(first.href())}" title="{html.escape(first.notebook)}">'
                   f"section&nbsp;({html.escape(first.notebook[:2])})</a>")
    return "".join(out) or '<span class="muted">none</span>'


def _sections_html(links: Sequence[SectionLink]) -> str:
    if not links:
        return ""
    items = [f'<li><a href="{html.escape(lk.href())}">{html.escape(lk.notebook)}</a>: '
             f"{html.escape(lk.section.heading)}"
             + (f' <span class="muted">({", ".join(lk.section.roles)})</span>'
                if lk.section.roles else "") + "</li>" for lk in links]
    return "<h4>In the notebooks</h4><ul>" + "".join(items) + "</ul>"


def fold_html(row: LedgerRow, links: Sequence[SectionLink] | None, figures: bool) -> str:
    conditions = _conditions(row)
    parts = ["<h4>Hypotheses</h4><ul>" + "".join(
        f"<li>{html.escape(h.text)}</li>" for h in row.claim.hypotheses) + "</ul>"]
    if conditions:
        parts.append("<h4>Conditions</h4><ol>" + "".join(
            f'<li>{html.escape(c)} <span class="muted">({", ".join(kinds)})</span></li>'
            for c, kinds in conditions) + "</ol>")
    parts.append("<h4>Evidence</h4>" + _evidence_html(row, conditions))
    parts += [s for s in (_steps_html(e) for e in row.evidence) if s]
    if figures:
        from numerics.report.ledger_figures import claim_figures

        drawn, missing = claim_figures(row)
        if drawn:
            parts.append("<div>" + "".join(
                f'<figure><img src="{f.uri}" alt="figure for {html.escape(row.claim.id)}">'
                f"<figcaption>{html.escape(f.caption)}</figcaption></figure>" for f in drawn)
                + "</div>")
        parts += [f'<p class="muted">figure not drawn: {html.escape(m)}</p>' for m in missing]
    parts.append(_numbers_html(row))
    if links:
        parts.append(_sections_html(links))
    return '<div class="fold">' + "".join(parts) + "</div>"
