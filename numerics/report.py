"""The offline HTML report: execute the notebooks with a profile, render them, index the ledger.

``build_report`` runs every notebook (``notebooks/NN_topic.ipynb``) in a fresh kernel with the
chosen profile (nbclient; the profile reaches the kernel through ``ADVLANDSCAPE_PROFILE``), renders
each executed notebook to a static page, and writes ``index.html`` with the claims ledger whose
verdicts are computed at build time (``theory.claims.build_ledger(include_data=True)``).

The site stands alone and works offline: figures are embedded as data URIs, no page refers to a
script, stylesheet or image outside the site, and math is typeset in the browser by MathJax 3
(``tex-svg-full.js``, SVG output with its fonts inside the one script) copied into
``_static/mathjax/``. MathJax comes from the npm registry (``npm pack mathjax@3.2.2``, or the same
tarball fetched over HTTPS and checked against the registry's sha512 when npm is absent) into a
cache, once. Pages are written to a temporary folder beside the output and swapped in at the end,
so a failed run never leaves a half-written site.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from pathlib import Path

from theory.claims import LedgerRow, Verdict

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
# Non-interactive, and puts figures into the outputs (Agg would drop them from the notebook).
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"

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
  text-align: left; }
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


def kernel_environment(profile: str) -> dict[str, str]:
    """Environment variables a notebook kernel needs to run with ``profile``.

    Args:
        profile: ``ci``, ``full`` or ``gpu`` (checked by ``numerics.profiles.current_profile``).

    Returns:
        ``ADVLANDSCAPE_PROFILE`` set to the profile, matplotlib's inline backend (figures become
        outputs, no window opens) and ``TQDM_DISABLE=1`` (progress bars would be stderr output,
        which a rendered page must not contain).
    """
    from numerics.profiles import ENV_VAR, current_profile

    return {
        ENV_VAR: current_profile(profile),
        "MPLBACKEND": INLINE_BACKEND,
        "TQDM_DISABLE": "1",
    }


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
