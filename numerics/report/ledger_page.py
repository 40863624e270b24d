"""The claims ledger as HTML: the table (for notebooks and the index) and the site's index page."""

from __future__ import annotations

import html
import sys
from collections.abc import Iterable, Mapping

from numerics.report.summary import ReportSummary
from theory.claims import LedgerRow, Verdict

VERDICT_CLASS = {
    Verdict.PROVED: "proved",
    Verdict.CONFIRMED: "confirmed",
    Verdict.CONDITIONAL: "conditional",
    Verdict.FAILS: "fails",
    Verdict.NOT_VERIFIED: "not-verified",
}

LEDGER_CSS = """
table.ledger { border-collapse: collapse; width: 100%; font-size: 14px; }
table.ledger th, table.ledger td { border: 1px solid #ccc; padding: 6px 8px; vertical-align: top;
  text-align: left !important; }
table.ledger th { background: #f2f2f2; }
table.ledger ul { margin: 0; padding-left: 1.1em; }
.verdict { font-weight: bold; white-space: nowrap; }
.verdict.proved { color: #1a7f37; }
.verdict.confirmed { color: #0969da; }
.verdict.conditional { color: #9a6700; }
.verdict.fails { color: #cf222e; }
.verdict.not-verified { color: #6e7781; }
.ev-fail { color: #cf222e; }
.ev-skip { color: #6e7781; }
"""


def _evidence_html(row: LedgerRow) -> str:
    items = []
    for e in row.evidence:
        cls = "ev-skip" if not e.ran else ("ev-ok" if e.passed else "ev-fail")
        mark = "not run" if not e.ran else ("passed" if e.passed else "FAILED")
        text = f"<b>{html.escape(e.kind)}</b> ({mark}): {html.escape(e.summary)}"
        for cond in e.conditions:
            text += f"<br><i>condition:</i> {html.escape(cond)}"
        if e.counterexample:
            text += f"<br><i>counterexample:</i> <code>{html.escape(str(e.counterexample))}</code>"
        items.append(f'<li class="{cls}">{text}</li>')
    return "<ul>" + "".join(items) + "</ul>" if items else "<i>no check</i>"


def ledger_html(rows: Iterable[LedgerRow], links: Mapping[str, list[tuple[str, str]]] | None = None,
                ) -> str:
    """The claims ledger as an HTML table (with its own ``<style>``), for notebooks and the index.

    Args:
        rows: ledger rows from ``theory.claims.build_ledger``; their verdicts are shown as computed.
        links: optional claim id -> list of (page href, page title) where the claim is presented.

    Returns:
        An HTML fragment: one row per claim with id, paper, statement, verdict, the evidence of
        each check (summary, conditions, counterexample) and, when given, links to notebook pages.
    """
    head = ["claim", "paper", "statement", "verdict", "evidence"]
    if links is not None:
        head.append("notebooks")
    out = [f"<style>{LEDGER_CSS}</style>", '<table class="ledger">', "<thead><tr>"]
    out += [f"<th>{h}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for row in rows:
        cid = row.claim.id
        out.append(f'<tr id="{html.escape(cid)}">')
        out.append(f"<td><b>{html.escape(cid)}</b></td>")
        out.append(f"<td>{html.escape(row.claim.paper)}</td>")
        out.append(f"<td>{html.escape(row.claim.statement)}</td>")
        out.append(f'<td><span class="verdict {VERDICT_CLASS[row.verdict]}">'
                   f"{html.escape(row.verdict.value)}</span></td>")
        out.append(f"<td>{_evidence_html(row)}</td>")
        if links is not None:
            pages = links.get(cid, [])
            cell = ", ".join(f'<a href="{html.escape(href)}">{html.escape(title)}</a>'
                             for href, title in pages) or "<i>none</i>"
            out.append(f"<td>{cell}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


INDEX_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
  max-width: 1200px; padding: 0 1em; color: #1f2328; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; }
table.runs { border-collapse: collapse; } table.runs td, table.runs th { border: 1px solid #ccc;
  padding: 4px 8px; text-align: left; vertical-align: top; }
pre.err { white-space: pre-wrap; color: #cf222e; font-size: 12px; margin: 0; }
.ok { color: #1a7f37; font-weight: bold; } .bad { color: #cf222e; font-weight: bold; }
.prov { color: #57606a; font-size: 13px; }
"""


def index_html(summary: ReportSummary, created: str, commit: str) -> str:
    """The site's ``index.html``: the ledger with links to the notebook pages, and the runs."""
    links: dict[str, list[tuple[str, str]]] = {}
    for run in summary.runs:
        if run.page:
            for cid in run.claims:
                links.setdefault(cid, []).append((f"{run.page}#{cid}", run.name))
    rows = []
    for run in summary.runs:
        name = (f'<a href="{html.escape(run.page)}">{html.escape(run.name)}</a>' if run.page
                else html.escape(run.name))
        status = ('<span class="ok">passed</span>' if run.passed
                  else '<span class="bad">failed</span>')
        err = f'<pre class="err">{html.escape(run.error)}</pre>' if run.error else ""
        rows.append(f"<tr><td>{name}</td><td>{status}</td><td>{run.seconds:.1f} s</td>"
                    f"<td>{', '.join(run.claims)}</td><td>{err}</td></tr>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>advlandscape: the claims ledger</title>
<style>{INDEX_CSS}</style></head>
<body>
<h1>advlandscape: the claims ledger</h1>
<p>Verdicts computed when this report was built, from each claim's symbolic, numeric and data
checks (<code>theory.claims.build_ledger</code>); a row's evidence states what each check found.</p>
{ledger_html(summary.ledger, links) if summary.ledger else "<p><i>ledger not computed</i></p>"}
<h2>Notebooks ({summary.profile} profile)</h2>
<table class="runs"><thead><tr><th>notebook</th><th>status</th><th>time</th><th>claims</th>
<th>error</th></tr></thead><tbody>
{"".join(rows)}
</tbody></table>
<p class="prov">Built {html.escape(created)} from commit {html.escape(commit)}, profile
{html.escape(summary.profile)}, Python {html.escape(sys.version.split()[0])}.</p>
</body></html>
"""
