"""The stored notebooks: discovery, pairing with their percent sources, hygiene, claim sections.

A stored notebook is ``notebooks/NN_topic.ipynb``, paired (jupytext) with ``NN_topic.py``;
:func:`notebook_problems` says everything wrong with one (pairing, size, outputs, conventions),
:func:`claim_sections` lists the claim ids that head its sections, and :func:`section_map` says
what each claim section holds (the derivation, the data evidence) and the anchors the ledger page
links to.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from numerics.records import REPO_ROOT

__all__ = [
    "MAX_NOTEBOOK_BYTES",
    "NOTEBOOK_DIR",
    "ROLES",
    "ClaimSection",
    "claim_sections",
    "discover_notebooks",
    "notebook_problems",
    "output_problems",
    "pair_problems",
    "section_map",
]

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
MAX_NOTEBOOK_BYTES = 1024 * 1024  # a stored .ipynb above this holds raw data, not a summary


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
    """Error, stderr and warning outputs of an executed notebook (none may reach a page), and
    scripts: a JavaScript output, or HTML, SVG or markdown (outputs or markdown cells) holding
    a ``<script>``, a ``javascript:`` URL or an ``on...=`` handler, which a page would run in its
    reader's browser.

    Returns:
        One message per offending output: ``cell N: error ...``, ``cell N: stderr ...``,
        ``cell N: ... holds a script ...``.
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
            for mime, data in (out.get("data") or {}).items():
                text = data if isinstance(data, str) else "".join(map(str, data)) \
                    if isinstance(data, list) else ""
                if mime in _SCRIPT_MIMES or (mime in _MARKUP_MIMES and _SCRIPT.search(text)):
                    problems.append(f"cell {i}: {mime} output holds a script, which the page "
                                    "would run in the reader's browser: clear that output (or "
                                    "show the data as text or a figure)")
        if cell.cell_type == "markdown" and _SCRIPT.search(
                cell.source if isinstance(cell.source, str) else "".join(cell.source)):
            problems.append(f"cell {i}: markdown holds a script, which the page would run in the "
                            "reader's browser: remove it")
    return problems


#: Outputs that are scripts, and markup whose script a page would run (:func:`output_problems`).
_SCRIPT_MIMES = frozenset({"application/javascript", "text/javascript",
                           "application/vnd.jupyter.widget-view+json"})
_MARKUP_MIMES = frozenset({"text/html", "image/svg+xml", "text/markdown"})
_SCRIPT = re.compile(r"<\s*script\b|\bjavascript\s*:|<[^>]*\son[a-z]+\s*=", re.I)


def notebook_problems(
    ipynb: str | os.PathLike[str], max_bytes: int = MAX_NOTEBOOK_BYTES,
) -> list[str]:
    """Everything wrong with a stored notebook: pairing, size, outputs, conventions.

    Checks: the pair is in sync (:func:`pair_problems`); the file is at most ``max_bytes``; every
    code cell was executed and no output is an error or stderr; the first code cell is tagged
    ``parameters`` and sets ``PROFILE`` from ``current_profile()``; no cell touches ``sys.path``
    (the kernel imports the installed packages); every ``## ID: ...`` heading names a claim id of
    docs/claims.md, and the notebook shows that claim's statement (a ``show_claim("ID")`` cell).

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
                            "of docs/claims.md")
        elif not any(re.search(rf"""^show_claim\(["']{re.escape(cid)}["']\)""", c.source, re.M)
                     for c in code):
            problems.append(f"{ipynb.name}: the {cid} section does not show the claim: add a code "
                            f'cell `show_claim("{cid}")` under its first heading (from '
                            "numerics.display)")
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


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)

#: What a claim section shows, by the checks its code cells call: ``derivation`` (the symbolic
#: check, else the numeric one), ``data`` (the data check).
ROLES = ("derivation", "data")


@dataclass(frozen=True)
class ClaimSection:
    """A section of a notebook headed by a claim id (``## Y-T1 (b): ...``).

    Attributes:
        claim: the claim id.
        heading: the heading's text, as written (markdown).
        cell: index of the markdown cell that holds the heading.
        line: index of the heading's line in that cell's source.
        anchors: the ids the rendered page gives the section: the claim id for its first section
            in the notebook (``<id>-2``, ``<id>-3``... for the next), and ``<id>-derivation`` /
            ``<id>-data`` for the first section of each role.
        roles: what the section shows (:data:`ROLES`), from the check functions its cells call.
    """

    claim: str
    heading: str
    cell: int
    line: int
    anchors: tuple[str, ...]
    roles: tuple[str, ...]


def _role_names(claim: Any) -> dict[str, tuple[str, ...]]:
    """Function names whose call in a section says what it shows, per role: the claim's checks
    as registered with the ledger (:func:`numerics.ledger.checks_for`)."""
    from numerics.ledger import checks_for

    checks = checks_for(claim.id, include_data=True)
    return {"derivation": tuple(c.name for c in checks if c.kind in ("symbolic", "numeric")),
            "data": tuple(c.name for c in checks if c.kind == "data")}


def section_map(nb: Any, claims: Sequence[Any] | None = None) -> list[ClaimSection]:
    """The claim sections of a notebook, with what each shows and its anchors, in order.

    A section starts at a markdown heading whose text begins with a claim id and runs to the next
    heading of the same or a higher level. Its roles come from the code cells inside it: a call
    (or import) of the claim's symbolic or numeric check makes it a ``derivation`` section, of its
    data check a ``data`` section. A section that names an unknown id is left out.

    Args:
        nb: a notebook (nbformat node).
        claims: the claims (default: ``theory.claims.CLAIMS``).
    """
    from theory.claims import CLAIMS

    by_id = {c.id: c for c in (CLAIMS if claims is None else claims)}
    found: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for i, cell in enumerate(nb.cells):
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        if cell.cell_type == "markdown":
            for line_no, line in enumerate(source.splitlines()):
                heading = _HEADING.match(line)
                if not heading:
                    continue
                level = len(heading.group(1))
                if current is not None and level <= current["level"]:
                    current = None
                cid = _HEADING_ID.match(line)
                if cid and cid.group(1) in by_id:
                    current = {"claim": cid.group(1), "heading": heading.group(2), "cell": i,
                               "line": line_no, "level": level, "code": []}
                    found.append(current)
        elif cell.cell_type == "code" and current is not None:
            current["code"].append(source)
    sections = []
    first_of: set[tuple[str, str]] = set()
    count: dict[str, int] = {}
    for sec in found:
        code = "\n".join(sec["code"])
        names = _role_names(by_id[sec["claim"]])
        roles = tuple(role for role in ROLES
                      if any(re.search(rf"\b{re.escape(n)}\b", code) for n in names[role]))
        count[sec["claim"]] = count.get(sec["claim"], 0) + 1
        n = count[sec["claim"]]
        anchors = [sec["claim"] if n == 1 else f"{sec['claim']}-{n}"]
        for role in roles:
            if (sec["claim"], role) not in first_of:
                first_of.add((sec["claim"], role))
                anchors.append(f"{sec['claim']}-{role}")
        sections.append(ClaimSection(sec["claim"], sec["heading"], sec["cell"], sec["line"],
                                     tuple(anchors), roles))
    return sections
