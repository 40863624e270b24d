"""The claims ledger as HTML: a summary line, one compact row per claim with its evidence folded
beneath it (for notebooks and the index), and the site's index page.

A row shows the claim's id, paper, statement (LaTeX, typeset by MathJax), verdict badge, the one
condition or counterexample that matters, and links to the notebook sections where the claim is
derived and where its data evidence is shown. Folded beneath it (``<details>``, no script): the
conditions (each once), every check's evidence with a compact counterexample, the proof steps
when a check lists them (``details["steps"]``), figures, and the checks' numbers. Full vectors
stay in the JSON ledger (``advlandscape verify --json``). The parts of a row are built by
:mod:`numerics.report.ledger_rows`.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Iterable, Mapping, Sequence

from numerics.ledger import LedgerRow, Verdict, checks_for
from numerics.report.ledger_rows import SectionLink, fold_html, links_html, row_note
from numerics.report.mathjax import MATHJAX_FILE
from numerics.report.pages import MATHJAX_CONFIG
from numerics.report.summary import ReportSummary, verdict_counts, verdict_label

__all__ = [
    "INDEX_CSS",
    "LEDGER_CSS",
    "OTHER_VERDICT_CLASS",
    "VERDICT_CLASS",
    "absent_data",
    "index_html",
    "ledger_html",
    "ledger_summary_html",
    "section_links",
    "verdict_class",
]

VERDICT_CLASS = {
    Verdict.PROVED: "proved",
    Verdict.CONFIRMED: "confirmed",
    Verdict.CONDITIONAL: "conditional",
    Verdict.FAILS: "fails",
    Verdict.NOT_VERIFIED: "not-verified",
}
#: The badge of a verdict this page does not know (the ledger may grow new ones).
OTHER_VERDICT_CLASS = "other"

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


# --- the page parts ------------------------------------------------------------------------


def absent_data(rows: Iterable[LedgerRow]) -> list[tuple[str, str]]:
    """(claim id, why) for every claim with a data check registered
    (:func:`numerics.ledger.checks_for`) whose evidence did not run now (its results are absent)
    or was not asked for."""
    out = []
    for row in rows:
        if not any(c.kind == "data" for c in checks_for(row.claim.id, include_data=True)):
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
        rows: ledger rows from :func:`numerics.ledger.build_ledger`; their verdicts are shown as
            computed (a verdict this module does not know gets a neutral badge).
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
            + (f'<span class="links">{links_html(row_links)}</span>'
               if row_links is not None else "")
            + "</summary>"
            + fold_html(row, row_links, figures) + "</details>")
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
and data checks (<code>numerics.ledger.build_ledger</code>). Open a row for its evidence, proof
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
