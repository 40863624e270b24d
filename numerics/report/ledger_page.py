"""The claims ledger as HTML: a summary line, one compact row per claim with its evidence folded
beneath it (for notebooks and the index), and the site's index page.

A row shows the claim's id, paper, statement (LaTeX, typeset by MathJax), verdict badge, the one
condition or counterexample that matters, and links to the notebook sections where the claim is
derived and where its data evidence is shown. Folded beneath it (``<details>``, no script): the
conditions (each once), every check's evidence with a compact counterexample, the proof steps
when a check lists them (``details["steps"]``), figures, and the checks' numbers. Full vectors
stay in the JSON ledger (``advlandscape verify --json``).
"""

from __future__ import annotations

import html
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from numerics.report.mathjax import MATHJAX_FILE
from numerics.report.notebooks import ClaimSection
from numerics.report.pages import MATHJAX_CONFIG
from numerics.report.summary import ReportSummary, verdict_counts, verdict_label
from theory.claims import Evidence, LedgerRow, Verdict

VERDICT_CLASS = {
    Verdict.PROVED: "proved",
    Verdict.CONFIRMED: "confirmed",
    Verdict.CONDITIONAL: "conditional",
    Verdict.FAILS: "fails",
    Verdict.NOT_VERIFIED: "not-verified",
}
#: The badge of a verdict this page does not know (the ledger may grow new ones).
OTHER_VERDICT_CLASS = "other"

#: Characters of the one-line note in a claim's row (the full text is folded beneath it).
NOTE_CHARS = 120

LEDGER_CSS = """
.ledger-summary { font-size: 15px; margin: 0.6em 0 1em; line-height: 1.9; }
.ledger-summary .sep { color: #8c959f; margin: 0 0.35em; }
.ledger { font-size: 14px; border-top: 1px solid #d0d7de; }
.ledger .claim-row { display: grid; align-items: baseline; column-gap: 12px;
  grid-template-columns: 7.6em 7em minmax(0, 3fr) 12.6em minmax(0, 2fr) 7.4em;
  padding: 7px 6px; border-bottom: 1px solid #d0d7de; }
.ledger.no-links .claim-row {
  grid-template-columns: 7.6em 7em minmax(0, 3fr) 12.6em minmax(0, 2fr); }
.ledger .ledger-head { font-weight: 600; background: #f6f8fa; }
.ledger details > summary { cursor: pointer; list-style: none; }
.ledger details > summary::-webkit-details-marker { display: none; }
.ledger details.claim > summary:hover { background: #f6f8fa; }
.ledger .cid { font-weight: 600; white-space: nowrap; }
.ledger details.claim > summary .cid::before { content: "\\25B8\\00A0"; color: #57606a; }
.ledger details.claim[open] > summary .cid::before { content: "\\25BE\\00A0"; }
.ledger .paper, .ledger .muted { color: #57606a; }
.ledger .note { color: #3a3f45; font-size: 13px; }
.ledger .links a { display: block; white-space: nowrap; }
.verdict { display: inline-block; font-weight: 600; font-size: 12.5px; white-space: nowrap;
  padding: 1px 8px; border-radius: 10px; border: 1px solid currentColor; }
.verdict.proved { color: #1a7f37; background: #dafbe1; }
.verdict.confirmed { color: #0969da; background: #ddf4ff; }
.verdict.conditional { color: #9a6700; background: #fff8c5; }
.verdict.fails { color: #cf222e; background: #ffebe9; }
.verdict.not-verified { color: #6e7781; background: #f6f8fa; }
.verdict.other { color: #57606a; background: #eaeef2; }
.ledger .fold { padding: 4px 14px 12px 2.2em; border-bottom: 1px solid #d0d7de;
  background: #fbfcfd; font-size: 13.5px; }
.ledger .fold h4 { font-size: 13.5px; margin: 10px 0 4px; }
.ledger .fold ul, .ledger .fold ol { margin: 2px 0; padding-left: 1.4em; }
.ledger .fold li { margin: 2px 0; }
.ledger .ev { font-weight: 600; }
.ledger .ev.passed { color: #1a7f37; } .ledger .ev.failed { color: #cf222e; }
.ledger .ev.skipped { color: #6e7781; }
.ledger .cex { margin-top: 2px; }
.ledger .method { color: #57606a; font-style: italic; }
.ledger .mc { font-size: 12px; padding: 0 5px; border-radius: 8px; white-space: nowrap; }
.ledger .mc.yes { color: #1a7f37; background: #dafbe1; }
.ledger .mc.no { color: #9a6700; background: #fff8c5; }
.ledger figure { display: inline-block; margin: 6px 14px 6px 0; max-width: 460px;
  vertical-align: top; }
.ledger figure img { max-width: 100%; border: 1px solid #d0d7de; }
.ledger figcaption { font-size: 12.5px; color: #3a3f45; }
.ledger table.nums { border-collapse: collapse; font-size: 12.5px; margin: 4px 0 8px; }
.ledger table.nums td { border: 1px solid #d8dee4; padding: 2px 6px; vertical-align: top; }
.ledger table.nums td:first-child { font-family: ui-monospace, monospace; color: #57606a; }
.ledger pre.tb { white-space: pre-wrap; font-size: 12px; color: #cf222e; }
"""


def verdict_class(verdict: object) -> str:
    """The CSS class of a verdict's badge; a verdict this page does not know gets a neutral one."""
    for known, cls in VERDICT_CLASS.items():
        if verdict_label(verdict) == known.value:
            return cls
    return OTHER_VERDICT_CLASS


def _badge(verdict: object) -> str:
    return (f'<span class="verdict {verdict_class(verdict)}">'
            f"{html.escape(verdict_label(verdict))}</span>")


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


def _links_html(links: Sequence[SectionLink]) -> str:
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


def _fold_html(row: LedgerRow, links: Sequence[SectionLink] | None, figures: bool) -> str:
    conditions = _conditions(row)
    parts = []
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


# --- the page parts ------------------------------------------------------------------------


def absent_data(rows: Iterable[LedgerRow]) -> list[tuple[str, str]]:
    """(claim id, why) for every claim with a data check whose evidence did not run now (its
    results are absent) or was not asked for."""
    out = []
    for row in rows:
        if not row.claim.data:
            continue
        data = [e for e in row.evidence if e.kind == "data"]
        if not data:
            out.append((row.claim.id, "data check not run"))
        out += [(row.claim.id, e.summary) for e in data if not e.ran]
    return out


def ledger_summary_html(rows: Sequence[LedgerRow], profile: str | None = None,
                        commit: str | None = None, created: str | None = None) -> str:
    """The ledger's summary line: the count per verdict, then profile, commit, date, and which
    claims' data evidence was absent (styled by :func:`ledger_html`'s ``<style>``)."""
    counts = verdict_counts(rows)
    badges = " ".join(
        f'<span class="verdict {verdict_class(label)}">{n} {html.escape(label)}</span>'
        for label, n in counts.items())
    sep = '<span class="sep">\u00b7</span>'
    facts = [f"<b>{len(rows)} claims</b>: {badges}"]
    if profile:
        facts.append(f"profile <b>{html.escape(profile)}</b>")
    if commit:
        sha, plus, state = commit.partition("+")  # "+dirty": uncommitted changes
        facts.append(f"commit <code>{html.escape(sha[:12] + plus + state)}</code>")
    if created:
        facts.append(f"built {html.escape(created)}")
    absent = absent_data(rows)
    if absent:
        facts.append("data evidence absent: " + ", ".join(
            f'<a href="#{html.escape(cid)}" title="{html.escape(why)}">{html.escape(cid)}</a>'
            for cid, why in absent))
    else:
        facts.append("data evidence absent: none")
    return '<p class="ledger-summary">' + f" {sep} ".join(facts) + "</p>"


def ledger_html(rows: Iterable[LedgerRow], links: Mapping[str, Sequence[SectionLink]] | None = None,
                figures: bool = True) -> str:
    """The claims ledger as HTML (with its own ``<style>``), for notebooks and the index.

    Args:
        rows: ledger rows from ``theory.claims.build_ledger``; their verdicts are shown as computed
            (a verdict this module does not know gets a neutral badge).
        links: optional claim id -> the notebook sections where the claim is presented.
        figures: draw the claims' figures (:mod:`numerics.report.ledger_figures`).

    Returns:
        An HTML fragment: a header and one ``<details>`` per claim (``id`` = the claim id) whose
        summary is the compact row (id, paper, statement, verdict, note, links) and whose body is
        the folded evidence.
    """
    head = ["claim", "paper", "statement", "verdict", "condition or counterexample"]
    head += ["notebooks"] if links is not None else []
    out = [f"<style>{LEDGER_CSS}</style>",
           '<div class="ledger">' if links is not None else '<div class="ledger no-links">',
           '<div class="claim-row ledger-head">'
           + "".join(f"<span>{h}</span>" for h in head) + "</div>"]
    for row in rows:
        cid = row.claim.id
        row_links = list(links.get(cid, ())) if links is not None else None
        statement = row.claim.latex or row.claim.statement
        out.append(
            f'<details class="claim" id="{html.escape(cid)}"><summary class="claim-row">'
            f'<span class="cid">{html.escape(cid)}</span>'
            f'<span class="paper">{html.escape(row.claim.paper)}</span>'
            f'<span class="stmt">{html.escape(statement)}</span>'
            f"<span>{_badge(row.verdict)}</span>"
            f'<span class="note">{row_note(row)}</span>'
            + (f'<span class="links">{_links_html(row_links)}</span>'
               if row_links is not None else "")
            + "</summary>"
            + _fold_html(row, row_links, figures) + "</details>")
    out.append("</div>")
    return "\n".join(out)


INDEX_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 1.5em auto;
  max-width: 1320px; padding: 0 1em; color: #1f2328; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 1.6em; }
.lead { color: #3a3f45; margin-top: 0.2em; }
table.runs { border-collapse: collapse; font-size: 14px; }
table.runs td, table.runs th { border: 1px solid #ccc; padding: 4px 8px; text-align: left;
  vertical-align: top; }
pre.err { white-space: pre-wrap; color: #cf222e; font-size: 12px; margin: 0; }
.ok { color: #1a7f37; font-weight: bold; } .bad { color: #cf222e; font-weight: bold; }
.prov { color: #57606a; font-size: 13px; }
"""


def section_links(summary: ReportSummary) -> dict[str, list[SectionLink]]:
    """Claim id -> its sections on the rendered notebook pages, in notebook order."""
    links: dict[str, list[SectionLink]] = {}
    for run in summary.runs:
        if run.page:
            for section in run.sections:
                links.setdefault(section.claim, []).append(SectionLink(run.page, run.name, section))
    return links


def index_html(summary: ReportSummary, created: str, commit: str) -> str:
    """The site's ``index.html``: the summary line, the ledger with links to the notebook
    sections, and the notebooks' runs."""
    rows = []
    for run in summary.runs:
        name = (f'<a href="{html.escape(run.page)}">{html.escape(run.name)}</a>' if run.page
                else html.escape(run.name))
        status = ('<span class="ok">passed</span>' if run.passed
                  else '<span class="bad">failed</span>')
        err = f'<pre class="err">{html.escape(run.error)}</pre>' if run.error else ""
        rows.append(f"<tr><td>{name}</td><td>{status}</td><td>{run.seconds:.1f} s</td>"
                    f"<td>{', '.join(run.claims)}</td><td>{err}</td></tr>")
    if summary.ledger:
        ledger = (ledger_summary_html(summary.ledger, summary.profile, commit, created)
                  + ledger_html(summary.ledger, section_links(summary)))
    else:
        ledger = "<p><i>ledger not computed</i></p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>advlandscape: the claims ledger</title>
<style>{INDEX_CSS}</style>
{MATHJAX_CONFIG}
<script id="MathJax-script" src="_static/mathjax/{MATHJAX_FILE}"></script></head>
<body>
<h1>advlandscape: the claims ledger</h1>
<p class="lead">Verdicts computed when this report was built, from each claim's symbolic, numeric
and data checks (<code>theory.claims.build_ledger</code>). Open a row for its evidence, proof
steps, figures and numbers; its links lead to the notebook sections where the claim is derived
and where its data evidence is shown.</p>
{ledger}
<h2>Notebooks ({html.escape(summary.profile)} profile)</h2>
<table class="runs"><thead><tr><th>notebook</th><th>status</th><th>time</th><th>claims</th>
<th>error</th></tr></thead><tbody>
{"".join(rows)}
</tbody></table>
<p class="prov">Built {html.escape(created)} from commit {html.escape(commit)}, profile
{html.escape(summary.profile)}, Python {html.escape(sys.version.split()[0])}.</p>
</body></html>
"""
