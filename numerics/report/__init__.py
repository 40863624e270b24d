"""The offline HTML report: execute the notebooks with a profile, render them, index the ledger.

:func:`build_report` runs every notebook in a fresh kernel with the chosen profile, renders each
to a static page and writes ``index.html`` with the claims ledger, its verdicts computed at build
time (:func:`numerics.ledger.build_ledger`). The site stands alone and works offline (MathJax
copied in, figures embedded), is swapped in whole at the end, and a build interrupted halfway
resumes from its checkpoints. DEVELOPING.md ("The report") describes it; one job a submodule:
``notebooks`` (discovery, pairing, hygiene, claim sections), ``execute`` (kernels), ``pages``
(rendering, the page audit), ``ledger_page`` and ``ledger_rows`` (the ledger as HTML),
``ledger_figures``, ``summary``, ``checkpoints``, ``mathjax``, ``build``.

Exported here: what the command line, the notebooks and the tests use. What notebooks display
(:func:`~numerics.display.show_claim`, :func:`~numerics.display.typeset`) is
:mod:`numerics.display`.
"""

from __future__ import annotations

from numerics.report.build import build_report, is_site
from numerics.report.checkpoints import checkpoint_folder, code_state, notebook_key
from numerics.report.execute import INLINE_BACKEND, execute_notebook, kernel_environment
from numerics.report.ledger_page import ledger_html, ledger_summary_html
from numerics.report.mathjax import MATHJAX_FILE, ensure_mathjax
from numerics.report.notebooks import (
    NOTEBOOK_DIR,
    claim_sections,
    discover_notebooks,
    notebook_problems,
    output_problems,
    pair_problems,
    section_map,
)
from numerics.report.pages import audit_page, render_notebook
from numerics.report.summary import ReportSummary, verdict_counts

__all__ = [
    "INLINE_BACKEND",
    "MATHJAX_FILE",
    "NOTEBOOK_DIR",
    "ReportSummary",
    "audit_page",
    "build_report",
    "checkpoint_folder",
    "claim_sections",
    "code_state",
    "discover_notebooks",
    "ensure_mathjax",
    "execute_notebook",
    "is_site",
    "kernel_environment",
    "ledger_html",
    "ledger_summary_html",
    "notebook_key",
    "notebook_problems",
    "output_problems",
    "pair_problems",
    "render_notebook",
    "section_map",
    "verdict_counts",
]
