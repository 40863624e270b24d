"""Building the site: execute and render every notebook, write ``index.html``, swap the site in.

Every notebook runs even when another fails. Pages are written to a temporary folder beside the
output and swapped in at the end, so a failed run never leaves a half-written site; notebooks that
passed are checkpointed on the way (:mod:`numerics.report.checkpoints`), so a build started again
after an interruption executes only the rest.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import nbformat

from numerics.ledger import LedgerRow
from numerics.records import REPO_ROOT, atomic_write_bytes, git_commit
from numerics.report.checkpoints import (
    NotebookCheckpoints,
    checkpoint_folder,
    code_state,
    notebook_key,
)
from numerics.report.execute import execute_notebook
from numerics.report.ledger_page import index_html
from numerics.report.mathjax import MATHJAX_FILE, ensure_mathjax
from numerics.report.notebooks import (
    NOTEBOOK_DIR,
    claim_sections,
    discover_notebooks,
    output_problems,
    section_map,
)
from numerics.report.pages import audit_page, render_notebook
from numerics.report.summary import NotebookRun, ReportSummary
from theory.errors import ConfigError

__all__ = ["SITE_MARKER", "build_report", "is_site"]

#: The file a build writes into every site it makes: only a folder holding it is replaced.
SITE_MARKER = ".advlandscape-site"


def is_site(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` holds a site this module wrote: its marker file :data:`SITE_MARKER`
    (a folder of a user's pages with an ``index.html`` and ``_static/`` is not one)."""
    return (Path(folder) / SITE_MARKER).is_file()


class _Interrupt:
    """Ctrl-C (SIGINT) during a build: remembered, and raised as ``KeyboardInterrupt``.

    The kernel client catches what interrupts it and reports the notebook as failed (a dead
    kernel), and the build would go on with the next one; the flag lets the build stop there.
    """

    def __init__(self) -> None:
        self.seen = False
        self.previous: object = None

    def __enter__(self) -> _Interrupt:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if Ctrl-C came, whatever caught it since."""
        if self.seen:
            raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


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

    from numerics.profiles import current_profile
    from numerics.validate import check_count

    profile = current_profile(profile)
    timeout = check_count(timeout, "timeout (seconds a cell may run)", 1)
    if store and (profile != "ci" or not execute):
        raise ConfigError("--store writes executed notebooks back: it needs the ci profile "
                          "(stored notebooks are ci runs) and execution (drop --no-execute)")
    paths = _resolve_notebooks(notebooks)
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file: give a folder for the site")
    if out.is_dir() and any(out.iterdir()) and not is_site(out):
        raise ConfigError(f"--out {out} is a folder with other content (no {SITE_MARKER}, the "
                          "mark of a site this command wrote), and the site replaces its folder "
                          "as a whole: give a new or empty folder, or an earlier site (one "
                          "written before sites carried the mark: delete it yourself first)")
    say = log or (lambda msg: tqdm.write(msg, file=sys.stderr))
    mathjax = ensure_mathjax()
    with _Interrupt() as interrupt:
        return _build(profile, out, paths, timeout, include_data, progress, say, execute,
                      ledger, store, fresh, mathjax, interrupt)


def _build(profile: str, out: Path, paths: list[Path], timeout: int, include_data: bool,
           progress: bool | None, say: Callable[[str], None], execute: bool,
           ledger: Sequence[LedgerRow] | None, store: bool, fresh: bool, mathjax: Path,
           interrupt: _Interrupt) -> ReportSummary:
    """:func:`build_report` once its arguments are checked; Ctrl-C stops it (``interrupt``)."""
    from tqdm import tqdm

    from numerics.ledger import build_ledger
    from numerics.profiles import ENV_VAR
    from theory.claims import CLAIMS

    start = time.perf_counter()
    checkpoints = NotebookCheckpoints(checkpoint_folder(out))
    if fresh:
        checkpoints.discard()
    code = code_state() if execute else None
    if execute and code is None:
        say(f"{REPO_ROOT} holds none of the code's folders: notebooks are not reused from "
            "checkpoints")
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
                interrupt.check()  # Ctrl-C: stop here, never mark the notebook failed
                executed_seconds = time.perf_counter() - t0
            else:
                say(f"rendering {path.stem} (stored outputs)")
                nb = nbformat.read(path, as_version=4)
                problems = output_problems(nb)
                error = "stored outputs a page must not show:\n" + "\n".join(problems) \
                    if problems else None
            run.claims = claim_sections(nb, known)
            run.sections = section_map(nb)
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
        (tmp / SITE_MARKER).write_text("a site written by `advlandscape report`: a later build "
                                       "replaces this folder as a whole\n", encoding="utf-8")
        interrupt.check()
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
        if path.resolve() not in paths:  # a notebook named twice runs once
            paths.append(path.resolve())
    return paths
