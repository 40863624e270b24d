"""The offline HTML report: execute the notebooks with a profile, render them, index the ledger.

``build_report`` runs every notebook (``notebooks/NN_topic.ipynb``) in a fresh kernel with the
chosen profile (nbclient; the profile reaches the kernel through ``ADVLANDSCAPE_PROFILE``), renders
each executed notebook to a static page, and writes ``index.html`` with the claims ledger whose
verdicts are computed at build time (``theory.claims.build_ledger(include_data=True)``).

The site stands alone and works offline: figures are embedded as data URIs, no page refers to a
script, stylesheet or image outside the site, and math is typeset in the browser by MathJax 3
(``tex-svg-full.js``, SVG output with its fonts inside the one script) copied into
``_static/mathjax/``. MathJax comes from the npm registry (``npm pack mathjax@3.2.2``, or the same
tarball fetched over HTTPS when npm is absent; either is checked against the registry's sha512)
into a cache, once. Pages are written to a temporary folder beside the output and swapped in at
the end, so a failed run never leaves a half-written site.

The build is resumable: each notebook that passes is checkpointed (the executed notebook and its
key) in ``.<out>.partial/`` beside the site, and a build started again after an interruption
(``kill -9`` included) reuses every checkpointed notebook whose key is unchanged and executes the
rest. The key (:func:`notebook_key`) is what determines a notebook's outputs: the digest of its
cells' sources, the profile, the code and records it reads (:func:`code_state`: a digest of the
files of ``theory/``, ``numerics/``, ``notebooks/`` and ``results/``, stored notebooks excepted),
Python and library versions, and the ``ADVLANDSCAPE_*`` environment the kernel inherits.
The checkpoint folder is removed once the site is swapped in; ``fresh=True`` discards it first.

The submodules, one job each (every name below is importable from ``numerics.report`` itself):

- :mod:`~numerics.report.display`: what notebooks display: SymPy results typeset
  (:func:`typeset`) and a claim's statement at its section (:func:`show_claim`).
- :mod:`~numerics.report.mathjax`: fetching MathJax into its cache (:func:`ensure_mathjax`).
- :mod:`~numerics.report.notebooks`: the stored notebooks: discovery, pairing with their percent
  sources, hygiene (:func:`notebook_problems`, :func:`output_problems`), :func:`claim_sections`,
  :func:`section_map` (claim sections, what they show, their anchors).
- :mod:`~numerics.report.execute`: executing a notebook in a fresh kernel
  (:func:`execute_notebook`, :func:`kernel_environment`, the kernel's transport).
- :mod:`~numerics.report.pages`: rendering a notebook to a page (:func:`render_notebook`) and
  checking that it stands alone (:func:`audit_page`).
- :mod:`~numerics.report.ledger_page`: the ledger as HTML (:func:`ledger_summary_html`, the
  summary line; :func:`ledger_html`, one folded row per claim) and the site's ``index.html``
  (:func:`index_html`); :mod:`~numerics.report.ledger_figures`: the claims' small figures.
- :mod:`~numerics.report.summary`: what a build did (:class:`NotebookRun`, :class:`ReportSummary`).
- :mod:`~numerics.report.checkpoints`: resuming an interrupted build (:func:`code_state`,
  :func:`notebook_key`, :class:`NotebookCheckpoints`).
- :mod:`~numerics.report.build`: the build itself (:func:`build_report`, :func:`is_site`).
"""

from __future__ import annotations

from numerics.report.build import build_report, is_site
from numerics.report.checkpoints import (
    CHECKPOINT_FORMAT,
    NotebookCheckpoints,
    checkpoint_folder,
    code_state,
    notebook_key,
)
from numerics.report.display import ClaimStatement, Typeset, show_claim, typeset
from numerics.report.execute import (
    INLINE_BACKEND,
    TQDM_WIDGET_FILTER,
    execute_notebook,
    kernel_environment,
)
from numerics.report.ledger_figures import FIGURES, LedgerFigure, claim_figures
from numerics.report.ledger_page import (
    INDEX_CSS,
    LEDGER_CSS,
    VERDICT_CLASS,
    SectionLink,
    absent_data,
    compact_counterexample,
    index_html,
    ledger_html,
    ledger_summary_html,
    row_note,
    section_links,
    verdict_class,
)
from numerics.report.mathjax import (
    MATHJAX_ENV,
    MATHJAX_FILE,
    MATHJAX_SHA512,
    MATHJAX_TARBALL,
    MATHJAX_VERSION,
    ensure_mathjax,
)
from numerics.report.notebooks import (
    MAX_NOTEBOOK_BYTES,
    NOTEBOOK_DIR,
    ClaimSection,
    claim_sections,
    discover_notebooks,
    notebook_problems,
    output_problems,
    pair_problems,
    section_map,
)
from numerics.report.pages import (
    MATHJAX_CONFIG,
    PAGE_TEMPLATE,
    PageAudit,
    audit_page,
    render_notebook,
)
from numerics.report.summary import NotebookRun, ReportSummary, verdict_counts, verdict_label

__all__ = [
    "CHECKPOINT_FORMAT",
    "FIGURES",
    "INDEX_CSS",
    "INLINE_BACKEND",
    "LEDGER_CSS",
    "MATHJAX_CONFIG",
    "MATHJAX_ENV",
    "MATHJAX_FILE",
    "MATHJAX_SHA512",
    "MATHJAX_TARBALL",
    "MATHJAX_VERSION",
    "MAX_NOTEBOOK_BYTES",
    "NOTEBOOK_DIR",
    "PAGE_TEMPLATE",
    "TQDM_WIDGET_FILTER",
    "VERDICT_CLASS",
    "ClaimSection",
    "ClaimStatement",
    "LedgerFigure",
    "NotebookCheckpoints",
    "NotebookRun",
    "PageAudit",
    "ReportSummary",
    "SectionLink",
    "Typeset",
    "absent_data",
    "audit_page",
    "build_report",
    "checkpoint_folder",
    "claim_figures",
    "claim_sections",
    "code_state",
    "compact_counterexample",
    "discover_notebooks",
    "ensure_mathjax",
    "execute_notebook",
    "index_html",
    "is_site",
    "kernel_environment",
    "ledger_html",
    "ledger_summary_html",
    "notebook_key",
    "notebook_problems",
    "output_problems",
    "pair_problems",
    "render_notebook",
    "row_note",
    "section_links",
    "section_map",
    "show_claim",
    "typeset",
    "verdict_class",
    "verdict_counts",
    "verdict_label",
]
