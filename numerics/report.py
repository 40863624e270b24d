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
cells' sources, the profile, the code (:func:`code_state`: commit plus a digest of uncommitted
changes), Python and library versions, and the ``ADVLANDSCAPE_*`` environment the kernel inherits.
The checkpoint folder is removed once the site is swapped in; ``fresh=True`` discards it first.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat

from theory.claims import LedgerRow, Verdict
from theory.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
MAX_NOTEBOOK_BYTES = 1024 * 1024  # a stored .ipynb above this holds raw data, not a summary

MATHJAX_VERSION = "3.2.2"
MATHJAX_FILE = "tex-svg-full.js"  # every TeX extension and the SVG fonts in one script
# The npm registry's dist.integrity of mathjax@3.2.2 (checked when the tarball is fetched by HTTPS).
MATHJAX_SHA512 = (
    "Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
)
MATHJAX_TARBALL = f"https://registry.npmjs.org/mathjax/-/mathjax-{MATHJAX_VERSION}.tgz"
MATHJAX_ENV = "ADVLANDSCAPE_MATHJAX"  # path to a tex-svg-full.js to use instead of the cache
# Non-interactive, and puts figures into the outputs (Agg would drop them from the notebook).
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
TQDM_WIDGET_FILTER = "ignore:IProgress not found"

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


def kernel_environment(profile: str) -> dict[str, str]:
    """Environment variables a notebook kernel needs to run with ``profile``.

    Args:
        profile: ``ci``, ``full`` or ``gpu`` (checked by ``numerics.profiles.current_profile``).

    Returns:
        ``ADVLANDSCAPE_PROFILE`` set to the profile, matplotlib's inline backend (figures become
        outputs, no window opens), ``TQDM_DISABLE=1`` (progress bars would be stderr output,
        which a rendered page must not contain) and, added to ``PYTHONWARNINGS``, an ignore for
        ``tqdm.auto``'s "IProgress not found" (it only says that ipywidgets is absent, which is
        irrelevant with the bars disabled).
    """
    from numerics.profiles import ENV_VAR, current_profile

    warnings_filters = [f for f in os.environ.get("PYTHONWARNINGS", "").split(",") if f]
    if TQDM_WIDGET_FILTER not in warnings_filters:
        warnings_filters.append(TQDM_WIDGET_FILTER)
    return {
        ENV_VAR: current_profile(profile),
        "MPLBACKEND": INLINE_BACKEND,
        "TQDM_DISABLE": "1",
        "PYTHONWARNINGS": ",".join(warnings_filters),
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


# --------------------------------------------------------------------------------------------
# Notebooks: discovery, pairing and hygiene


def discover_notebooks(directory: str | os.PathLike[str] = NOTEBOOK_DIR) -> list[Path]:
    """The stored notebooks ``NN_topic.ipynb`` of ``directory``, in their numbered order."""
    return sorted(p for p in Path(directory).glob("[0-9][0-9]_*.ipynb") if p.is_file())


def _cell_key(cell: Any) -> tuple[str, str, tuple[str, ...]]:
    source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
    return cell.cell_type, source.strip(), tuple(cell.get("metadata", {}).get("tags", ()))


def pair_problems(ipynb: str | os.PathLike[str]) -> list[str]:
    """Differences between a stored notebook and its jupytext percent source.

    Args:
        ipynb: path of ``NN_topic.ipynb``; its pair is ``NN_topic.py`` beside it.

    Returns:
        One message per problem (missing pair, different number of cells, first differing cell by
        type, source or tags); empty when the pair is in sync.
    """
    import jupytext

    ipynb = Path(ipynb)
    source = ipynb.with_suffix(".py")
    if not source.exists():
        return [f"{ipynb.name} has no paired {source.name}: run `jupytext --set-formats "
                f"ipynb,py:percent {ipynb}`"]
    from_py = [_cell_key(c) for c in jupytext.read(source).cells]
    stored = [_cell_key(c) for c in nbformat.read(ipynb, as_version=4).cells]
    fix = f"run `jupytext --sync {source}` and re-execute"
    if len(from_py) != len(stored):
        return [f"{source.name} has {len(from_py)} cells, {ipynb.name} {len(stored)}: {fix}"]
    for i, (a, b) in enumerate(zip(from_py, stored, strict=True)):
        if a != b:
            what = "type" if a[0] != b[0] else ("source" if a[1] != b[1] else "tags")
            return [f"cell {i} differs in {what} between {source.name} and {ipynb.name}: {fix}"]
    return []


def output_problems(nb: Any) -> list[str]:
    """Error, stderr and warning outputs of an executed notebook (none may reach a page).

    Returns:
        One message per offending output: ``cell N: error ...`` or ``cell N: stderr ...``.
    """
    problems = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", ()):
            kind = out.get("output_type")
            if kind == "error":
                problems.append(f"cell {i}: error {out.get('ename')}: {out.get('evalue')}")
            elif kind == "stream" and out.get("name") == "stderr":
                text = "".join(out.get("text", ""))
                problems.append(f"cell {i}: stderr output: {text.strip()[:300]}")
    return problems


def notebook_problems(
    ipynb: str | os.PathLike[str], max_bytes: int = MAX_NOTEBOOK_BYTES,
) -> list[str]:
    """Everything wrong with a stored notebook: pairing, size, outputs, conventions.

    Checks: the pair is in sync (:func:`pair_problems`); the file is at most ``max_bytes``; every
    code cell was executed and no output is an error or stderr; the first code cell is tagged
    ``parameters`` and sets ``PROFILE`` from ``current_profile()``; no cell touches ``sys.path``
    (the kernel imports the installed packages); every ``## ID: ...`` heading names a claim id of
    SPEC.md.

    Returns:
        One message per problem, each saying what to do; empty for a good notebook.
    """
    from theory.claims import CLAIMS

    ipynb = Path(ipynb)
    problems = pair_problems(ipynb)
    size = ipynb.stat().st_size
    if size > max_bytes:
        problems.append(f"{ipynb.name} is {size} bytes (> {max_bytes}): store summaries and "
                        "smaller figures, not raw arrays")
    nb = nbformat.read(ipynb, as_version=4)
    problems += [f"{ipynb.name} {p}" for p in output_problems(nb)]
    code = [c for c in nb.cells if c.cell_type == "code"]
    if any(c.get("execution_count") is None and c.source.strip() for c in code):
        problems.append(f"{ipynb.name} has unexecuted code cells: execute it (DEVELOPING.md)")
    if not code or "parameters" not in code[0].get("metadata", {}).get("tags", ()) or \
            not re.search(r"^PROFILE\s*=\s*current_profile\(\)", code[0].source, re.M):
        problems.append(f"{ipynb.name}: the first code cell must be tagged parameters "
                        "(`# %% tags=[\"parameters\"]`) and set `PROFILE = current_profile()`")
    if any("sys.path" in c.source for c in code):
        problems.append(f"{ipynb.name} touches sys.path: import the installed packages "
                        "(`pip install -e .`)")
    known = {c.id for c in CLAIMS}
    for cid in claim_sections(nb, known=None):
        if cid not in known:
            problems.append(f"{ipynb.name}: heading names unknown claim id {cid!r}; use the ids "
                            "of SPEC.md")
    return problems


_HEADING_ID = re.compile(r"^#{1,6}\s+([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+)\b", re.M)


def claim_sections(nb: Any, known: Iterable[str] | None = None) -> list[str]:
    """Claim ids that head a section of a notebook (markdown ``## Y-T1: ...``), in order.

    Args:
        nb: a notebook (nbformat node).
        known: if given, keep only these ids.
    """
    keep = set(known) if known is not None else None
    ids: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for cid in _HEADING_ID.findall(cell.source):
            if (keep is None or cid in keep) and cid not in ids:
                ids.append(cid)
    return ids


# --------------------------------------------------------------------------------------------
# MathJax, bundled


def _mathjax_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "advlandscape" / "mathjax" / MATHJAX_VERSION


def _fetch_mathjax_tarball(workdir: Path) -> bytes:
    data = b""
    npm = shutil.which("npm")
    if npm:
        done = subprocess.run(
            [npm, "pack", f"mathjax@{MATHJAX_VERSION}", "--silent"], cwd=workdir,
            capture_output=True, text=True, timeout=300,
        )
        tarballs = list(workdir.glob("mathjax-*.tgz"))
        if done.returncode == 0 and tarballs:
            data = tarballs[0].read_bytes()
    if not data:
        try:
            with urllib.request.urlopen(MATHJAX_TARBALL, timeout=120) as response:
                data = response.read()
        except OSError as exc:
            raise ConfigError(
                f"cannot fetch MathJax {MATHJAX_VERSION} ({exc}): install npm (Debian: apt-get "
                f"install npm) with access to registry.npmjs.org, or set {MATHJAX_ENV} to a "
                f"{MATHJAX_FILE} you have"
            ) from None
    digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != MATHJAX_SHA512:
        raise ConfigError(f"the MathJax tarball fetched does not match the registry's sha512; "
                          f"delete {_mathjax_cache()} and retry, or set {MATHJAX_ENV}")
    return data


def ensure_mathjax(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of MathJax's ``tex-svg-full.js``, fetched once from the npm registry into a cache.

    Order: ``$ADVLANDSCAPE_MATHJAX`` (a file), else the cache (``~/.cache/advlandscape/mathjax/
    3.2.2/``), else ``npm pack mathjax@3.2.2`` (or the registry tarball by HTTPS when npm is
    absent), checked against the registry's sha512, into the cache.

    Raises:
        ConfigError: when it can be neither found nor fetched; the message says what to install.
    """
    explicit = os.environ.get(MATHJAX_ENV)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{MATHJAX_ENV}={explicit} is not a file: point it to MathJax 3's "
                              f"es5/{MATHJAX_FILE}, or unset it to fetch MathJax from npm")
        return path
    cache = Path(cache_dir) if cache_dir is not None else _mathjax_cache()
    target = cache / MATHJAX_FILE
    if target.is_file():
        return target
    from numerics.results import atomic_write_bytes

    with tempfile.TemporaryDirectory() as tmp:
        data = _fetch_mathjax_tarball(Path(tmp))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        member = tar.extractfile(f"package/es5/{MATHJAX_FILE}")
        license_member = tar.extractfile("package/LICENSE")
        if member is None or license_member is None:
            raise ConfigError(f"the MathJax tarball lacks es5/{MATHJAX_FILE}")
        atomic_write_bytes(cache / "LICENSE", license_member.read(), overwrite=True)
        atomic_write_bytes(target, member.read(), overwrite=True)
    return target


MATHJAX_CONFIG = """<script>
window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']],
        displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']],
        processEscapes: true, processEnvironments: true},
  options: {enableMenu: false},
  svg: {fontCache: 'global'}
};
</script>"""

# nbconvert's lab template, minus every reference outside the page: no require.js, widgets or
# mermaid from a CDN; MathJax from the site's own _static folder; a link back to the ledger.
PAGE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
{{ resources.advl_mathjax_config }}
<script id="MathJax-script" src="{{ resources.advl_mathjax_src }}"></script>
{%- endblock html_head_js_mathjax -%}
{%- block body_header -%}
{{ super() }}
<nav style="padding: 8px 16px; font-family: sans-serif;">
<a href="index.html">&larr; claims ledger</a> &middot; profile {{ resources.advl_profile }}
</nav>
{%- endblock body_header -%}
"""


def render_notebook(nb: Any, title: str, mathjax_src: str, profile: str) -> str:
    """An executed notebook as a standalone HTML page (figures as data URIs, local MathJax).

    Args:
        nb: the executed notebook.
        title: the page title.
        mathjax_src: relative URL of ``tex-svg-full.js`` from the page.
        profile: shown in the page's header.
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"advlandscape_page.html.j2": PAGE_TEMPLATE})],
        template_file="advlandscape_page.html.j2",
        embed_images=True,
    )
    nb = nbformat.from_dict(nb)
    nb.metadata["title"] = title
    anchored: set[str] = set()
    for cell in nb.cells:  # an anchor named by the claim id, for the ledger's links
        if cell.cell_type == "markdown":
            new = [cid for cid in claim_sections(nbformat.v4.new_notebook(cells=[cell]))
                   if cid not in anchored]
            if new:
                cell.source = "".join(f'<a id="{cid}"></a>' for cid in new) + "\n\n" + \
                    cell.source
                anchored.update(new)
    body, _ = exporter.from_notebook_node(nb, resources={
        "advl_mathjax_src": mathjax_src, "advl_mathjax_config": MATHJAX_CONFIG,
        "advl_profile": html.escape(profile),
    })
    return body


# --------------------------------------------------------------------------------------------
# Checking a page: it stands alone


class _RefCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.stderr_blocks = 0
        self.error_blocks = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attrs_d = dict(attrs)
        for attr in ("src", "href", "data", "poster", "srcset"):
            value = attrs_d.get(attr)
            if value is not None:
                self.refs.append((tag, attr, value))
        mime = attrs_d.get("data-mime-type") or ""
        if mime == "application/vnd.jupyter.stderr":
            self.stderr_blocks += 1
        if "jp-OutputArea-error" in (attrs_d.get("class") or "") or \
                mime == "application/vnd.jupyter.error":
            self.error_blocks += 1


_EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:|/|\\)", re.I)  # scheme, //host, /root
_CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:https?:)?//[^'")\s]+)""", re.I)


@dataclass(frozen=True)
class PageAudit:
    """What a page refers to and contains (see :func:`audit_page`)."""

    external: tuple[str, ...]
    images: tuple[str, ...]
    scripts: tuple[str, ...]
    stderr_blocks: int
    error_blocks: int

    def problems(self) -> list[str]:
        """Messages for every reason the page does not stand alone or shows an error."""
        out = [f"refers outside the site: {ref}" for ref in self.external]
        if self.stderr_blocks:
            out.append(f"{self.stderr_blocks} stderr output block(s)")
        if self.error_blocks:
            out.append(f"{self.error_blocks} error output block(s)")
        return out


def audit_page(text: str) -> PageAudit:
    """Parse an HTML page and collect its references, images, scripts and error/stderr blocks.

    A reference is external when it has a scheme other than ``data:`` (``http:``, ``https:``,
    ``file:``...) or starts with ``/`` (another host, or the file system's root); hyperlinks
    (``<a href>``) load nothing and are not counted; ``url(...)``/``@import`` in inline CSS are.
    """
    parser = _RefCollector()
    parser.feed(text)
    external = []
    for tag, attr, value in parser.refs:
        if tag == "a" and attr == "href":
            continue  # a hyperlink loads nothing; links to the papers are allowed
        if not value.startswith(("data:", "#")) and _EXTERNAL.match(value):
            external.append(f"<{tag} {attr}={value[:120]}>")
    external += [f"css url {u[:120]}" for u in _CSS_URL.findall(text)]
    images = tuple(v for t, a, v in parser.refs if t == "img" and a == "src")
    scripts = tuple(v for t, a, v in parser.refs if t == "script" and a == "src")
    return PageAudit(tuple(external), images, scripts, parser.stderr_blocks, parser.error_blocks)


# --------------------------------------------------------------------------------------------
# Executing notebooks and building the site


@dataclass
class NotebookRun:
    """The outcome of executing and rendering one notebook."""

    path: Path
    passed: bool = False
    seconds: float = 0.0
    error: str | None = None
    page: str | None = None  # file name of the rendered page, relative to the site
    claims: list[str] = field(default_factory=list)
    reused: bool = False  # taken from the checkpoint of an interrupted build, not executed now

    @property
    def name(self) -> str:
        """The notebook's stem, ``NN_topic``."""
        return self.path.stem


@dataclass
class ReportSummary:
    """What ``build_report`` did: the runs, the ledger, and where the site is."""

    out: Path
    profile: str
    runs: list[NotebookRun]
    ledger: list[LedgerRow]
    seconds: float

    @property
    def passed(self) -> bool:
        """True when every notebook executed without error and rendered to a clean page."""
        return all(r.passed for r in self.runs)

    def format(self) -> str:
        """A plain-text summary: one line per notebook, failures with their error, the site."""
        lines = [f"report ({self.profile} profile, {self.seconds:.0f} s):"]
        for r in self.runs:
            mark = "passed" if r.passed else "FAILED"
            reused = "  (reused)" if r.reused else ""
            lines.append(f"  {mark:<7} {r.name:<28} {r.seconds:7.1f} s{reused}")
            if r.error:
                lines += [f"          {line}" for line in r.error.strip().splitlines()[-12:]]
        counts = {v.value: sum(row.verdict == v for row in self.ledger) for v in Verdict}
        lines.append("  ledger: " + (", ".join(f"{n} {k}" for k, n in counts.items() if n)
                                     or "not computed"))
        reused = [r.name for r in self.runs if r.reused]
        if reused:
            lines.append("  reused from the checkpoint of an interrupted build (not executed "
                         "again): " + ", ".join(reused))
        n_ok = sum(r.passed for r in self.runs)
        lines.append(f"{n_ok}/{len(self.runs)} notebooks passed; site: {self.out / 'index.html'}")
        return "\n".join(lines)


def execute_notebook(
    path: str | os.PathLike[str], profile: str, timeout: int = 1800,
) -> tuple[Any, str | None]:
    """Execute a notebook in a fresh kernel of this Python, with ``profile``.

    The kernel runs in the notebook's folder with :func:`kernel_environment` added to this
    process's environment. Nothing is written back to the stored notebook.

    Args:
        path: the ``.ipynb`` file.
        profile: ``ci``, ``full`` or ``gpu``.
        timeout: seconds one cell may run.

    Returns:
        The executed notebook (partially executed on failure) and ``None``, or the error text
        (the failing cell's exception, or an error/stderr output found after the run).
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    env = {**os.environ, **kernel_environment(profile)}
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", allow_errors=False, record_timing=False,
        resources={"metadata": {"path": str(path.parent)}}, config=_kernel_transport(),
    )
    try:
        client.execute(env=env, cwd=str(path.parent))
    except CellExecutionError as exc:
        return nb, _strip_ansi(str(exc))
    except (CellTimeoutError, DeadKernelError) as exc:
        return nb, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a kernel that does not start is this notebook's failure only
        return nb, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
    problems = output_problems(nb)
    if problems:
        return nb, "outputs a page must not show:\n" + "\n".join(problems)
    return nb, None


# A Unix socket's path is limited to 107 bytes on Linux (103 on macOS).
_IPC_PATH_MAX = 100


def _kernel_transport() -> Any:
    """Kernel manager configuration: IPC where possible, over Unix sockets named by an absolute
    path in Jupyter's private runtime folder (the kernel runs in the notebook's folder, so the
    default relative ``kernel-ipc`` would not meet). Over TCP, ipykernel warns for every notebook
    that the traffic is unencrypted."""
    import uuid

    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets.config import Config

    runtime = Path(jupyter_runtime_dir())
    ip = runtime / f"kernel-{uuid.uuid4().hex}-ipc"
    if os.name != "posix" or len(os.fsencode(ip)) + 3 > _IPC_PATH_MAX:  # + "-<port>"
        return Config()
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    return Config({"KernelManager": {"transport": "ipc", "ip": str(ip)}})


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


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


def is_site(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` holds a site this module wrote (``index.html`` and ``_static/mathjax``),
    and nothing else that is not an HTML page."""
    folder = Path(folder)
    if not (folder / "index.html").is_file() or not (folder / "_static" / "mathjax").is_dir():
        return False
    return all(p.name == "_static" or (p.is_file() and p.suffix == ".html")
               for p in folder.iterdir())


# --------------------------------------------------------------------------------------------
# Checkpoints of executed notebooks (resuming an interrupted build)

CHECKPOINT_FORMAT = 1
# Notebooks are keyed by their own cells; their files are left out of the code's state, so that
# editing (or --store writing back) one notebook does not invalidate the others.
_NOT_CODE = (":(exclude)notebooks/[0-9][0-9]_*.ipynb", ":(exclude)notebooks/[0-9][0-9]_*.py",
             # a build's own checkpoints, and a site set aside by a build that was killed
             ":(exclude,glob)**/.*.partial/**", ":(exclude,glob)**/.*.old-*/**")


def code_state(repo: str | os.PathLike[str] = REPO_ROOT) -> str | None:
    """The state of the code a notebook imports: the commit, and a digest of what differs from it.

    Args:
        repo: the git checkout.

    Returns:
        ``<commit>`` for a clean tree, ``<commit>+dirty:<sha256 prefix>`` when tracked files differ
        from the commit (``git diff HEAD``) or untracked, unignored files exist (names and
        contents are digested), the stored notebooks ``notebooks/NN_*`` and the report's own
        ``.<out>.partial/`` folders excepted; ``None`` when
        ``repo`` is not a git checkout (then no checkpoint can be trusted).
    """
    def git(*args: str) -> bytes:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, check=True,
                              timeout=60).stdout

    try:
        head = git("rev-parse", "HEAD").decode().strip()
        diff = git("diff", "HEAD", "--binary", "--", ".", *_NOT_CODE)
        untracked = git("ls-files", "--others", "--exclude-standard", "-z", "--", ".",
                        *_NOT_CODE).split(b"\0")
    except (OSError, subprocess.SubprocessError):
        return None
    if not diff and not any(untracked):
        return head
    digest = hashlib.sha256(diff)
    for name in sorted(n for n in untracked if n):
        file = Path(repo) / os.fsdecode(name)
        digest.update(b"\0" + name + b"\0")
        if file.is_file():
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return f"{head}+dirty:{digest.hexdigest()[:16]}"


def notebook_key(nb: Any, profile: str, code: str) -> dict[str, Any]:
    """What determines an executed notebook's outputs; equal keys allow reusing a checkpoint.

    Args:
        nb: the stored notebook (its outputs, execution counts and cell ids do not count).
        profile: the profile it runs with.
        code: :func:`code_state` of the checkout.

    Returns:
        A JSON-able dict: the sha256 of the cells' (type, source, tags), the profile, the code
        state, Python's and the numerical libraries' versions, and the ``ADVLANDSCAPE_*``
        variables of this process's environment (the kernel inherits them: data location,
        MathJax, ...). The ledger options are not in it: the ledger is computed by the build, not
        by a notebook.
    """
    from numerics.results import library_versions

    cells = [[c.cell_type, c.source if isinstance(c.source, str) else "".join(c.source),
              list(c.get("metadata", {}).get("tags", ()))] for c in nb.cells]
    source = hashlib.sha256(json.dumps(cells, sort_keys=True).encode()).hexdigest()
    return {
        "format": CHECKPOINT_FORMAT, "source": source, "profile": profile, "code": code,
        "libraries": library_versions(), "executable": sys.executable,
        "environment": {k: v for k, v in sorted(os.environ.items())
                        if k.startswith("ADVLANDSCAPE_")},
    }


def checkpoint_folder(out: str | os.PathLike[str]) -> Path:
    """Where a build of the site ``out`` keeps the notebooks it executed: ``.<out>.partial/``."""
    out = Path(out).resolve()
    return out.with_name(f".{out.name}.partial")


@dataclass
class NotebookCheckpoints:
    """The executed notebooks of an unfinished build, each with its key and execution time.

    ``NN_topic.ipynb`` and then ``NN_topic.json`` (the key) are written atomically; the key file
    is written last, so a notebook whose key file exists is complete.
    """

    folder: Path

    def load(self, name: str, key: Mapping[str, Any]) -> tuple[Any, float] | None:
        """The checkpointed notebook ``name`` and its execution seconds if its key equals ``key``;
        ``None`` when there is none, its key differs, or a file cannot be read."""
        meta_path, nb_path = self.folder / f"{name}.json", self.folder / f"{name}.ipynb"
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("key") != json.loads(json.dumps(dict(key))):
                return None
            return nbformat.read(nb_path, as_version=4), float(meta["seconds"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # absent, or torn by hand: execute again

    def save(self, name: str, key: Mapping[str, Any], nb: Any, seconds: float) -> None:
        """Checkpoint an executed notebook that passed (replacing an older checkpoint of it)."""
        from numerics.results import atomic_write_bytes

        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"{name}.json").unlink(missing_ok=True)
        atomic_write_bytes(self.folder / f"{name}.ipynb", nbformat.writes(nb).encode(),
                           overwrite=True)
        meta = {"key": dict(key), "seconds": seconds}
        atomic_write_bytes(self.folder / f"{name}.json",
                           json.dumps(meta, indent=1, sort_keys=True).encode(), overwrite=True)

    def discard(self) -> None:
        """Remove the folder and every checkpoint in it."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _swap_in(tmp: Path, out: Path) -> None:
    """Replace ``out`` by the finished ``tmp`` folder (two renames; no half-written pages)."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build_report(
    profile: str = "ci",
    out: str | os.PathLike[str] = "site",
    notebooks: Sequence[str | os.PathLike[str]] | None = None,
    timeout: int = 1800,
    include_data: bool = True,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
    execute: bool = True,
    ledger: Sequence[LedgerRow] | None = None,
    store: bool = False,
    fresh: bool = False,
) -> ReportSummary:
    """Execute notebooks with ``profile`` and write the offline site to ``out``, resumably.

    Every notebook runs even when another fails. A notebook passes when it executes without error,
    has no error/stderr output, and its page stands alone (:func:`audit_page`). The site is built in
    a temporary folder inside :func:`checkpoint_folder` and moved into place at the end. Each
    notebook that passes is checkpointed there with its :func:`notebook_key`; a build interrupted
    (even by ``kill -9``) and started again reuses the notebooks whose key is unchanged instead of
    executing them, and says so. The folder is removed once the site is in place.

    Args:
        profile: ``ci`` (minutes), ``full`` (the papers' scale) or ``gpu``.
        out: the site's folder; replaced as a whole when the build completes.
        notebooks: ``.ipynb`` paths (or ``NN_topic`` names in ``notebooks/``); default: all.
        timeout: seconds one cell may run.
        include_data: also run the claims' data checks for the ledger.
        progress: tqdm bar over the notebooks (``None``: only on a terminal).
        log: where to write "running NN_topic" lines (default: ``tqdm.write`` to stderr).
        execute: False renders the stored outputs as they are (a quick look: the stored notebooks
            were executed with the ci profile); they must still be free of errors and stderr.
        ledger: rows to show instead of computing ``build_ledger(include_data)`` now.
        store: write each notebook that passed back to its ``.ipynb`` (the notebook ritual;
            only with the ``ci`` profile, the one the stored notebooks and nbval use).
        fresh: discard the checkpoints of an interrupted build and execute every notebook.

    Returns:
        The :class:`ReportSummary` (``.passed``, ``.format()``).
    """
    from tqdm import tqdm

    from numerics.profiles import ENV_VAR, current_profile
    from numerics.results import git_commit
    from theory.claims import CLAIMS, build_ledger

    profile = current_profile(profile)
    if store and (profile != "ci" or not execute):
        raise ConfigError("--store writes executed notebooks back: it needs the ci profile "
                          "(stored notebooks are ci runs) and execution (drop --no-execute)")
    paths = _resolve_notebooks(notebooks)
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file: give a folder for the site")
    if out.is_dir() and any(out.iterdir()) and not is_site(out):
        raise ConfigError(f"--out {out} is a folder with other content, and the site replaces "
                          "its folder as a whole: give a new or empty folder, or an earlier site")
    say = log or (lambda msg: tqdm.write(msg, file=sys.stderr))
    mathjax = ensure_mathjax()
    start = time.perf_counter()
    checkpoints = NotebookCheckpoints(checkpoint_folder(out))
    if fresh:
        checkpoints.discard()
    code = code_state() if execute else None
    if execute and code is None:
        say(f"{REPO_ROOT} is not a git checkout: notebooks are not reused from checkpoints")
    checkpoints.folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=checkpoints.folder))
    tmp.chmod(0o755)  # mkdtemp makes it private; a site is to be read
    try:
        static = tmp / "_static" / "mathjax"
        static.mkdir(parents=True)
        shutil.copyfile(mathjax, static / MATHJAX_FILE)
        if (mathjax.parent / "LICENSE").exists():
            shutil.copyfile(mathjax.parent / "LICENSE", static / "LICENSE")
        known = [c.id for c in CLAIMS]
        runs = []
        bar = tqdm(paths, desc="notebooks", unit="nb", file=sys.stderr, disable=progress is False
                   if progress is not None else None)
        for path in bar:
            bar.set_postfix_str(path.stem)
            run = NotebookRun(path)
            t0 = time.perf_counter()
            executed_seconds = 0.0
            key = None if code is None else \
                notebook_key(nbformat.read(path, as_version=4), profile, code)
            cached = None if key is None else checkpoints.load(path.stem, key)
            if cached is not None:
                (nb, executed_seconds), error, run.reused = cached, None, True
                say(f"reusing {path.stem}: executed by an interrupted build with the same "
                    "notebook, profile and code")
            elif execute:
                say(f"running {path.stem} ({profile} profile)")
                nb, error = execute_notebook(path, profile, timeout=timeout)
                executed_seconds = time.perf_counter() - t0
            else:
                say(f"rendering {path.stem} (stored outputs)")
                nb = nbformat.read(path, as_version=4)
                problems = output_problems(nb)
                error = "stored outputs a page must not show:\n" + "\n".join(problems) \
                    if problems else None
            run.claims = claim_sections(nb, known)
            if error is None:
                page = render_notebook(nb, path.stem, f"_static/mathjax/{MATHJAX_FILE}", profile)
                page_problems = audit_page(page).problems()
                if page_problems:
                    error = "the rendered page does not stand alone:\n" + "\n".join(page_problems)
                else:
                    (tmp / f"{path.stem}.html").write_text(page, encoding="utf-8")
                    run.page = f"{path.stem}.html"
            run.error, run.passed = error, error is None
            if run.passed and key is not None and not run.reused:
                checkpoints.save(path.stem, key, nb, executed_seconds)
            if store and run.passed:
                from numerics.results import atomic_write_bytes

                atomic_write_bytes(path, nbformat.writes(nb).encode() + b"\n", overwrite=True)
            # a reused notebook reports the time it took to execute, as a fresh build would
            run.seconds = executed_seconds if run.reused else time.perf_counter() - t0
            say(f"{'passed' if run.passed else 'FAILED'} {path.stem} ({run.seconds:.1f} s"
                f"{', reused' if run.reused else ''})")
            runs.append(run)
        bar.close()
        if ledger is None:
            say("computing the ledger")
            previous = os.environ.get(ENV_VAR)
            os.environ[ENV_VAR] = profile
            try:
                ledger = build_ledger(include_data=include_data)
            finally:
                if previous is None:
                    os.environ.pop(ENV_VAR, None)
                else:
                    os.environ[ENV_VAR] = previous
        summary = ReportSummary(out, profile, runs, list(ledger), 0.0)
        summary.seconds = time.perf_counter() - start
        created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        (tmp / "index.html").write_text(index_html(summary, created, git_commit()),
                                        encoding="utf-8")
        _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            checkpoints.folder.rmdir()  # only when no notebook was checkpointed
        raise
    if execute:
        checkpoints.discard()  # the site is in place: nothing is left to resume
    else:  # a quick look leaves the checkpoints of an interrupted executing build alone
        with contextlib.suppress(OSError):
            checkpoints.folder.rmdir()
    summary.seconds = time.perf_counter() - start
    return summary


def _resolve_notebooks(notebooks: Sequence[str | os.PathLike[str]] | None) -> list[Path]:
    if not notebooks:
        found = discover_notebooks()
        if not found:
            raise ConfigError(f"no notebooks NN_topic.ipynb in {NOTEBOOK_DIR}")
        return found
    paths = []
    for item in notebooks:
        path = Path(item)
        if not path.suffix:
            path = NOTEBOOK_DIR / f"{path.name}.ipynb"
        if not path.is_file():
            names = ", ".join(p.stem for p in discover_notebooks())
            raise ConfigError(f"notebook {item} not found: give a path to an .ipynb or one of: "
                              f"{names}")
        paths.append(path.resolve())
    return paths
