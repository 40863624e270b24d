"""Rendering an executed notebook to a standalone page, and checking that it stands alone.

A page is nbconvert's lab template without its CDN scripts: figures are embedded as data URIs and
math is typeset by the site's own MathJax; :func:`audit_page` finds anything a page would load
from outside the site, and any error or stderr output it shows.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import nbformat

from numerics.report.notebooks import section_map

__all__ = ["MATHJAX_CONFIG", "PAGE_TEMPLATE", "PageAudit", "audit_page", "render_notebook"]

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
<style>
/* typeset math is a little taller than its line box: no scroll bars on every output */
.jp-OutputArea-output.jp-RenderedLatex { overflow-x: auto; overflow-y: hidden; padding: 3px 0; }
</style>
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

    Each claim section gets the anchors of :func:`~numerics.report.notebooks.section_map` just
    before its heading, so that the ledger's links land on it.
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
    for section in reversed(section_map(nb)):  # anchors for the ledger's links
        cell = nb.cells[section.cell]
        lines = cell.source.splitlines()
        tags = "".join(f'<a id="{a}"></a>' for a in section.anchors)
        lines[section.line:section.line] = [tags, ""]
        cell.source = "\n".join(lines)
    body, _ = exporter.from_notebook_node(nb, resources={
        "advl_mathjax_src": mathjax_src, "advl_mathjax_config": MATHJAX_CONFIG,
        "advl_profile": html.escape(profile),
    })
    return body


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
