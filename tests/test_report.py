"""The offline report: pages stand alone (parsed), math and figures render (headless Chromium),
a failing notebook does not stop the others, and a failed build leaves the old site intact.

The site is built from ``notebooks/00_overview.ipynb`` (its stored outputs) and a tiny notebook
written here, with a formula, a SymPy result and a matplotlib figure, executed by the report. The
ledger page is tested on a second site, built from every stored notebook and a row for every claim
(summary line, folded rows, compact counterexamples, figures, typesetting and the links to the
notebook sections, in headless Chromium).
"""

from __future__ import annotations

import argparse
import html
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import jupytext
import nbformat
import numpy as np
import pytest

from numerics import report as report_mod
from numerics.ledger import LedgerRow, Verdict
from numerics.report import (
    MATHJAX_FILE,
    NOTEBOOK_DIR,
    audit_page,
    build_report,
    execute_notebook,
)
from numerics.report import build as report_build
from numerics.report import mathjax as report_mathjax
from theory.claims import Claim, Evidence
from theory.errors import ConfigError

TINY = '''# %% [markdown]
# # A tiny notebook
# ## INNER-MAX: the worst case
# The inner maximum is $\\zeta(-y\\, w^\\top x + \\varepsilon \\|w\\|_2)$, and
# $$\\sigma(t) = \\frac{1}{1 + e^{-t}}.$$

# %% tags=["parameters"]
from numerics.profiles import current_profile

PROFILE = current_profile()
print(PROFILE)

# %%
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp

t = sp.symbols("t")
sp.diff(sp.log(1 + sp.exp(t)), t)

# %%
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot(np.linspace(0, 1, 5), np.linspace(0, 1, 5) ** 2)
plt.show()
'''

BAD = '''# %% tags=["parameters"]
from numerics.profiles import current_profile

PROFILE = current_profile()

# %%
1 / 0
'''


def _ledger() -> list[LedgerRow]:
    """Two rows with known verdicts (the real ledger is tested in test_claims.py)."""
    ok = Evidence("symbolic", True, "3/3 identities simplify to 0")
    cond = Evidence("numeric", True, "holds off w = 0", conditions=("||w|| > 0",))
    return [
        LedgerRow(Claim("INNER-MAX", "Yamada et al. 2021", "max ... = zeta(...)"), (ok,),
                  Verdict.PROVED, 0.1),
        LedgerRow(Claim("K-SMOOTH", "Kanai et al. 2021", "smooth off w = 0"), (ok, cond),
                  Verdict.CONDITIONAL, 0.1),
    ]


def _notebook(folder: Path, name: str, source: str) -> Path:
    path = folder / f"{name}.ipynb"
    nbformat.write(jupytext.reads(source, fmt="py:percent"), path)
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Site from the stored 00_overview and the tiny notebook (executed by the report)."""
    folder = tmp_path_factory.mktemp("nb")
    tiny = _notebook(folder, "01_tiny", TINY)
    out = folder / "site"
    summary = build_report(
        profile="ci", out=out, notebooks=[tiny], ledger=_ledger(), progress=False,
        log=lambda _msg: None,
    )
    assert summary.passed, summary.format()
    # 00_overview: its stored outputs (executing it would recompute the ledger, ~30 s)
    summary = build_report(
        profile="ci", out=folder / "site_overview", notebooks=[NOTEBOOK_DIR / "00_overview.ipynb"],
        ledger=_ledger(), execute=False, progress=False, log=lambda _msg: None,
    )
    assert summary.passed, summary.format()
    shutil.copyfile(folder / "site_overview" / "00_overview.html", out / "00_overview.html")
    return out


def _pages(site: Path) -> list[Path]:
    return sorted(site.glob("*.html"))


def test_site_has_index_pages_and_mathjax(site: Path) -> None:
    assert {p.name for p in _pages(site)} == {"index.html", "01_tiny.html", "00_overview.html"}
    assert report_mod.is_site(site)
    assert (site / "_static" / "mathjax" / MATHJAX_FILE).stat().st_size > 1_000_000


def test_pages_stand_alone(site: Path) -> None:
    """No script, stylesheet or image from outside the site; scripts are files of the site."""
    for page in _pages(site):
        audit = audit_page(page.read_text())
        assert audit.problems() == [], page.name
        for src in audit.scripts:
            assert (site / src).is_file(), (page.name, src)
        assert all(img.startswith("data:image/") for img in audit.images), page.name


def test_figure_embedded_and_math_present(site: Path) -> None:
    audit = audit_page((site / "01_tiny.html").read_text())
    assert any(img.startswith("data:image/png;base64,") for img in audit.images)
    text = (site / "01_tiny.html").read_text()
    assert "\\zeta(-y\\, w^\\top x" in text  # the markdown formula, for MathJax to typeset
    assert "\\frac{e^{t}}{e^{t} + 1}" in text  # SymPy's LaTeX output
    assert f'src="_static/mathjax/{MATHJAX_FILE}"' in text
    assert audit.stderr_blocks == 0
    assert audit.error_blocks == 0


def test_index_shows_computed_ledger_and_links(site: Path) -> None:
    text = (site / "index.html").read_text()
    assert '<span class="verdict proved">proved</span>' in text
    assert '<span class="verdict conditional">holds under conditions</span>' in text
    assert "||w|| &gt; 0" in text  # the condition of the evidence
    assert 'href="01_tiny.html#INNER-MAX"' in text  # ledger row -> notebook section
    assert '<a id="INNER-MAX"></a>' in (site / "01_tiny.html").read_text()


def test_audit_detects_external_references_and_stderr() -> None:
    page = """<html><head><script src="https://cdn.example.org/mathjax.js"></script>
    <link rel="stylesheet" href="//cdn.example.org/x.css"><style>@import "https://f.org/a.css";
    .a { background: url('http://x.org/b.png') }</style></head><body>
    <img src="http://x.org/fig.png"><img src="data:image/png;base64,AAAA">
    <a href="https://arxiv.org/abs/2102.02950">paper</a>
    <div class="jp-RenderedText" data-mime-type="application/vnd.jupyter.stderr">warn</div>
    </body></html>"""
    audit = audit_page(page)
    assert len(audit.external) == 5
    assert audit.stderr_blocks == 1
    assert len(audit.problems()) == 6
    assert audit_page('<script src="_static/m.js"></script><img src="data:,">').problems() == []
    assert len(audit_page('<img src="/home/u/fig.png">').external) == 1


def test_rendered_error_and_stderr_outputs_are_caught() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("f()", execution_count=1)
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: careful\n"),
        nbformat.v4.new_output("error", ename="ValueError", evalue="bad",
                               traceback=["ValueError: bad"]),
    ]
    nb.cells.append(cell)
    page = report_mod.render_notebook(nb, "t", f"_static/mathjax/{MATHJAX_FILE}", "ci")
    assert audit_page(page).stderr_blocks == 2  # nbconvert shows tracebacks as stderr too


def test_failing_notebook_does_not_stop_the_others(tmp_path: Path) -> None:
    bad = _notebook(tmp_path, "01_bad", BAD)
    tiny = _notebook(tmp_path, "02_tiny", TINY)
    summary = build_report(out=tmp_path / "site", notebooks=[bad, tiny], ledger=_ledger(),
                           progress=False, log=lambda _msg: None, store=True)
    assert not summary.passed
    by_name = {r.name: r for r in summary.runs}
    assert not by_name["01_bad"].passed
    assert "ZeroDivisionError" in by_name["01_bad"].error
    assert by_name["02_tiny"].passed
    assert not (tmp_path / "site" / "01_bad.html").exists()
    assert (tmp_path / "site" / "02_tiny.html").exists()
    index = (tmp_path / "site" / "index.html").read_text()
    assert "ZeroDivisionError" in index
    # --store wrote the executed notebook back, and only the one that passed
    stored = nbformat.read(tiny, as_version=4)
    assert stored.cells[1].outputs[0]["text"].strip() == "ci"
    assert all(c.execution_count for c in stored.cells if c.cell_type == "code")
    assert all(not c.get("outputs") for c in nbformat.read(bad, as_version=4).cells)
    text = summary.format()
    assert "FAILED  01_bad" in text
    assert "1/2 notebooks passed" in text


def test_kernel_gets_the_profile_and_stderr_fails_the_notebook(tmp_path: Path) -> None:
    """A warning is stderr output and fails the notebook; tqdm.auto's ipywidgets notice is not."""
    noisy = TINY + ('\n# %%\nfrom tqdm.auto import tqdm\n\nsum(tqdm(range(3)))\n'
                    '\n# %%\nimport warnings\n\nwarnings.warn("careful")\n')
    nb, error = execute_notebook(_notebook(tmp_path, "01_noisy", noisy), "full", timeout=120)
    assert nb.cells[1].outputs[0]["text"].strip() == "full"
    assert error is not None
    assert "stderr" in error
    assert "careful" in error
    assert "IProgress" not in error
    assert nb.cells[4].outputs[0]["data"]["text/plain"] == "3"


def test_failed_build_leaves_the_old_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "site"
    (out / "_static" / "mathjax").mkdir(parents=True)
    (out / "index.html").write_text("old")
    (out / report_build.SITE_MARKER).write_text("")
    assert report_mod.is_site(out)

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("renderer broke")

    monkeypatch.setattr(report_build, "render_notebook", broken)
    monkeypatch.setattr(report_build, "execute_notebook",
                        lambda path, profile, timeout: (nbformat.v4.new_notebook(), None))
    with pytest.raises(RuntimeError, match="renderer broke"):
        build_report(out=out, notebooks=[NOTEBOOK_DIR / "00_overview.ipynb"], ledger=_ledger(),
                     progress=False, log=lambda _msg: None)
    assert (out / "index.html").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no temporary folder left


def test_unknown_notebook_and_file_out_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ci profile"):
        build_report(out=tmp_path / "s", notebooks=["00_overview"], profile="full", store=True)
    with pytest.raises(ConfigError, match="00_overview"):
        build_report(out=tmp_path / "s", notebooks=["99_nothing"], ledger=_ledger())
    (tmp_path / "f").write_text("")
    with pytest.raises(ConfigError, match="give a folder"):
        build_report(out=tmp_path / "f", notebooks=["00_overview"], ledger=_ledger())
    # a folder that is not an earlier site is never replaced
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="other content"):
        build_report(out=tmp_path / "work", notebooks=["00_overview"], ledger=_ledger())
    assert (tmp_path / "work" / "notes.txt").read_text() == "keep me"


def test_cli_exit_code_says_whether_all_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    from numerics.cli import build_parser
    from numerics.cli import report as report_cli

    args = build_parser().parse_args(["report", "--profile", "full", "--no-data", "--out", "x"])
    assert args.func is report_cli.run
    seen = {}

    class Summary:
        def __init__(self, passed: bool) -> None:
            self.passed = passed

        def format(self) -> str:
            return "summary"

    for passed, code in ((True, 0), (False, 1)):
        def fake(passed: bool = passed, **kwargs: object) -> Summary:
            seen.update(kwargs)
            return Summary(passed)

        monkeypatch.setattr(report_mod, "build_report", fake)
        assert report_cli.run(args) == code
    assert seen["profile"] == "full"
    assert seen["include_data"] is False
    assert seen["out"] == "x"
    assert isinstance(args, argparse.Namespace)


# --- resuming an interrupted build --------------------------------------------------------

QUICK = '''# %% [markdown]
# # Notebook {n}
# ## INNER-MAX: a section

# %% tags=["parameters"]
from numerics.profiles import current_profile

PROFILE = current_profile()

# %%
print("notebook {n}", PROFILE, 2 ** {n})
'''


class BuildInterruptedError(Exception):
    """Stands for the build being killed."""


def _count_executions(monkeypatch: pytest.MonkeyPatch, stop_after: int | None = None,
                      ) -> list[str]:
    """Record the notebooks ``build_report`` executes; raise when it starts number
    ``stop_after + 1`` (an interruption between two notebooks). The code's state is pinned: this
    checkout may change while the test runs (``code_state`` is tested on its own repository)."""
    executed: list[str] = []

    def counting(path: Path, profile: str, timeout: int) -> tuple[object, str | None]:
        if stop_after is not None and len(executed) == stop_after:
            raise BuildInterruptedError
        executed.append(Path(path).stem)
        return execute_notebook(path, profile, timeout=timeout)

    monkeypatch.setattr(report_build, "execute_notebook", counting)
    monkeypatch.setattr(report_build, "code_state", lambda: "c0ffee")
    return executed


def _build(out: Path, notebooks: list[Path], **kwargs: object) -> report_mod.ReportSummary:
    return build_report(out=out, notebooks=notebooks, ledger=_ledger(), progress=False,
                        log=lambda _msg: None, **kwargs)


def _site_files(site: Path) -> dict[str, str]:
    """The pages of a site; in index.html the build time and the notebooks' seconds blanked."""
    pages = {p.name: p.read_text() for p in site.glob("*.html")}
    pages["index.html"] = re.sub(r"[Bb]uilt \S+|<td>[0-9.]+ s</td>", "", pages["index.html"])
    return pages


def test_interrupted_build_resumes_without_re_executing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
) -> None:
    notebooks = [_notebook(tmp_path, f"0{n}_quick", QUICK.format(n=n)) for n in (1, 2)]
    out = tmp_path / "site"
    executed = _count_executions(monkeypatch, stop_after=1)
    with pytest.raises(BuildInterruptedError):
        _build(out, notebooks)
    assert executed == ["01_quick"]
    assert not out.exists()  # no half-written site
    partial = report_mod.checkpoint_folder(out)
    assert sorted(p.name for p in partial.glob("*.json")) == ["01_quick.json"]
    assert not list(partial.glob(".build-*"))  # the interrupted build's pages are gone

    executed = _count_executions(monkeypatch)
    summary = _build(out, notebooks)
    assert summary.passed, summary.format()
    assert executed == ["02_quick"]  # 01 came from its checkpoint
    assert [r.reused for r in summary.runs] == [True, False]
    assert "reused from the checkpoint of an interrupted build (not executed again): 01_quick" \
        in summary.format()
    assert not partial.exists()  # removed once the site is in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01_quick.ipynb", "02_quick.ipynb",
                                                          "site"]

    executed = _count_executions(monkeypatch)
    assert _build(tmp_path / "fresh", notebooks, fresh=True).passed
    assert executed == ["01_quick", "02_quick"]
    resumed, fresh = _site_files(out), _site_files(tmp_path / "fresh")
    assert "notebook 1 ci 2" in resumed["01_quick.html"]
    assert resumed == fresh
    # the kernels talk over Unix sockets: ipykernel's warning about unencrypted TCP is gone
    assert "without encryption" not in capfd.readouterr().err


@pytest.mark.parametrize("change", ["source", "profile", "fresh"])
def test_changed_notebook_or_fresh_is_re_executed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str,
) -> None:
    notebooks = [_notebook(tmp_path, f"0{n}_quick", QUICK.format(n=n)) for n in (1, 2)]
    out = tmp_path / "site"
    _count_executions(monkeypatch, stop_after=1)
    with pytest.raises(BuildInterruptedError):
        _build(out, notebooks)
    if change == "source":
        _notebook(tmp_path, "01_quick", QUICK.format(n=1).replace("2 **", "3 **"))
    executed = _count_executions(monkeypatch)
    summary = _build(out, notebooks, profile="full" if change == "profile" else "ci",
                     fresh=change == "fresh")
    assert summary.passed, summary.format()
    assert executed == ["01_quick", "02_quick"]
    assert not any(r.reused for r in summary.runs)
    expected = {"source": "notebook 1 ci 3", "profile": "notebook 1 full 2",
                "fresh": "notebook 1 ci 2"}[change]
    assert expected in (out / "01_quick.html").read_text()


HOLD = '''
# %%
import pathlib
import time

while pathlib.Path("hold").exists():  # the test kills the build here
    time.sleep(0.05)
'''


def test_kill9_between_notebooks_then_same_command_resumes(tmp_path: Path) -> None:
    """`advlandscape report` killed with SIGKILL while the second notebook runs; the same command
    run again reuses the first notebook's checkpoint and writes the site."""
    import signal
    import sys
    import time

    first = _notebook(tmp_path, "01_quick", QUICK.format(n=1))
    second = _notebook(tmp_path, "02_hold", QUICK.format(n=2) + HOLD)
    out = tmp_path / "site"
    command = [sys.executable, "-m", "numerics.cli", "report", "--profile", "ci", "--no-ledger",
               "--out", str(out), "--notebooks", str(first), str(second)]
    env = {**os.environ, "TQDM_DISABLE": "1"}
    before = report_mod.code_state()
    (tmp_path / "hold").write_text("")
    proc = subprocess.Popen(command, cwd=NOTEBOOK_DIR.parent, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    checkpoint = report_mod.checkpoint_folder(out) / "01_quick.json"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # well into the second notebook, which waits for the hold file
    alive = proc.poll() is None
    proc.kill()
    _, err = proc.communicate()
    (tmp_path / "hold").unlink()
    assert alive, f"the build ended before the kill: {err}"
    assert proc.returncode == -signal.SIGKILL
    assert checkpoint.exists(), err
    assert not out.exists()
    done = subprocess.run(command, cwd=NOTEBOOK_DIR.parent, env=env, text=True,
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    if report_mod.code_state() != before:
        pytest.skip("the checkout changed while the test ran: nothing may be reused")
    assert "reusing 01_quick" in done.stderr
    assert "running 01_quick" not in done.stderr
    assert "running 02_hold" in done.stderr
    assert "reused from the checkpoint of an interrupted build (not executed again): 01_quick" \
        in done.stdout
    assert "notebook 1 ci 2" in (out / "01_quick.html").read_text()
    assert "notebook 2 ci 4" in (out / "02_hold.html").read_text()
    assert not report_mod.checkpoint_folder(out).exists()


def test_notebook_key_counts_sources_not_outputs() -> None:
    nb = jupytext.reads(QUICK.format(n=1), fmt="py:percent")
    key = report_mod.notebook_key(nb, "ci", "c0ffee")
    executed = nbformat.from_dict(nb)
    executed.cells[-1].execution_count = 1
    executed.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x\n")]
    assert report_mod.notebook_key(executed, "ci", "c0ffee") == key  # --store does not change it
    edited = nbformat.from_dict(nb)
    edited.cells[-1].source += "\n"
    tagged = nbformat.from_dict(nb)
    tagged.cells[-1].metadata["tags"] = ["skip-execution"]
    others = [report_mod.notebook_key(edited, "ci", "c0ffee"),
              report_mod.notebook_key(tagged, "ci", "c0ffee"),
              report_mod.notebook_key(nb, "full", "c0ffee"),
              report_mod.notebook_key(nb, "ci", "c0ffee+dirty:12")]
    assert all(other != key for other in others)


def test_code_state_follows_the_code_and_records_not_the_commit(tmp_path: Path) -> None:
    """The code's state is the records package's code identity over theory/, numerics/ (the
    report included), notebooks/ and results/: it follows their files, whatever git says, and
    leaves out the stored notebooks, hidden files (a build's own checkpoints) and other folders."""
    repo = tmp_path / "repo"
    (repo / "numerics" / "report").mkdir(parents=True)
    (repo / "notebooks").mkdir()
    (repo / "results").mkdir()
    (repo / "numerics" / "m.py").write_text("x = 1\n")
    (repo / "notebooks" / "01_a.ipynb").write_text("{}")
    (repo / "results" / "r.json").write_text("{}")
    first = report_mod.code_state(repo)
    assert first is not None
    # a stored notebook (keyed by its own cells), a build's checkpoints, caches and other
    # folders are not code
    (repo / "notebooks" / "01_a.ipynb").write_text('{"outputs": 1}')
    (repo / "notebooks" / "01_a.py").write_text("# %%\n")
    (repo / ".site.partial").mkdir()
    (repo / ".site.partial" / "01_a.json").write_text("{}")
    (repo / "results" / ".r.json.lock").write_text("1\n")
    (repo / "numerics" / "__pycache__").mkdir()
    (repo / "numerics" / "__pycache__" / "m.pyc").write_bytes(b"\0")
    (repo / "tests").mkdir()
    (repo / "tests" / "t.py").write_text("")
    assert report_mod.code_state(repo) == first
    (repo / "numerics" / "m.py").write_text("x = 2\n")
    edited = report_mod.code_state(repo)
    assert edited not in (first, None)
    (repo / "numerics" / "m.py").write_text("x = 3\n")
    assert report_mod.code_state(repo) not in (edited, first)
    (repo / "numerics" / "m.py").write_text("x = 2\n")
    assert report_mod.code_state(repo) == edited  # the same files, the same state
    (repo / "numerics" / "m.py").write_text("x = 1\n")
    assert report_mod.code_state(repo) == first
    for changed in (repo / "numerics" / "new.py", repo / "numerics" / "report" / "pages.py",
                    repo / "notebooks" / "helper.py", repo / "results" / "r.json"):
        changed.write_text('{"y": 1}\n')  # new code, the report's own, a record the notebooks read
        assert report_mod.code_state(repo) != first, changed
        changed.unlink()
    (repo / "results" / "r.json").write_text("{}")
    assert report_mod.code_state(repo) == first
    (tmp_path / "plain").mkdir()
    assert report_mod.code_state(tmp_path / "plain") is None  # none of the code's folders


# --- headless Chromium: the pages render offline, math typeset, not blank -------------------


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("CI must provide chromium (apt-get install chromium), see .ci/run")
    pytest.skip("chromium not installed (apt-get install --no-install-recommends chromium)")


def _browse(page: Path, tmp_path: Path, *mode: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"chromium-{page.stem}-{mode[0].lstrip('-').split('=')[0]}"
    return subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=15000",
         "--window-size=1200,900", *mode, page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    )


def _ink(png: Path) -> float:
    """Fraction of pixels that differ from the page's most common (background) colour."""
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png.read_bytes())).convert("RGB")).reshape(-1, 3)
    _, counts = np.unique(pixels, axis=0, return_counts=True)
    return 1.0 - counts.max() / counts.sum()


def test_ink_tells_blank_from_drawn(tmp_path: Path) -> None:
    from PIL import Image

    image = Image.new("RGB", (100, 100), "white")
    image.save(tmp_path / "blank.png")
    assert _ink(tmp_path / "blank.png") == 0.0
    image.paste((0, 0, 0), (0, 0, 20, 10))
    image.save(tmp_path / "drawn.png")
    assert _ink(tmp_path / "drawn.png") == pytest.approx(0.02)


@pytest.mark.parametrize("name", ["index.html", "01_tiny.html"])
def test_page_renders_in_headless_chromium(site: Path, tmp_path: Path, name: str) -> None:
    page = site / name
    shot = tmp_path / f"{page.stem}.png"
    _browse(page, tmp_path, f"--screenshot={shot}")
    assert _ink(shot) > 0.01, "the screenshot is blank"
    dom = _browse(page, tmp_path, "--dump-dom").stdout
    if name == "01_tiny.html":
        assert dom.count("<mjx-container") >= 3  # two markdown formulas and SymPy's output
        assert "data-mjx-error" not in dom
        assert "<mjx-merror" not in dom
        assert 'jax="SVG"' in dom
    else:
        assert "INNER-MAX" in dom
        assert "holds under conditions" in dom


def test_mathjax_source_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVLANDSCAPE_MATHJAX", str(tmp_path / "missing.js"))
    with pytest.raises(ConfigError, match="is not a file"):
        report_mod.ensure_mathjax()
    (tmp_path / "mj.js").write_text('/* MathJax */ var VERSION="3.2.2";')
    monkeypatch.setenv("ADVLANDSCAPE_MATHJAX", str(tmp_path / "mj.js"))
    assert report_mod.ensure_mathjax() == tmp_path / "mj.js"
    # a tarball that is not the registry's is refused
    monkeypatch.delenv("ADVLANDSCAPE_MATHJAX")
    monkeypatch.setattr(report_mathjax.shutil, "which", lambda _name: None)
    monkeypatch.setattr(report_mathjax.urllib.request, "urlopen",
                        lambda *_a, **_k: io.BytesIO(b"not mathjax"))
    with pytest.raises(ConfigError, match="does not match"):
        report_mod.ensure_mathjax(tmp_path / "cache")
    assert not (tmp_path / "cache" / MATHJAX_FILE).exists()


# --- the ledger page: a summary line, one folded row per claim, links to notebook sections ----

UNKNOWN_VERDICT = "derived, 2 steps argued"  # a verdict string the page does not know
STEPS = [
    {"statement": "$\\zeta' = s > 0$", "method": "SymPy diff", "machine_checked": True},
    {"statement": "Hölder's inequality is tight at $\\eta^*$", "method": "argued",
     "machine_checked": False},
]


def _full_ledger() -> list[LedgerRow]:
    """A row for every claim of theory.claims, one per kind of outcome the page must show: proof
    steps, a failing check with a 10-dimensional counterexample, conditions stated twice, data
    evidence absent, a verdict the page does not know, and the real data evidence of Y-T1 and
    L-BUDGET (the figures are drawn from it)."""
    from numerics.experiments.budget import evidence_l_budget
    from numerics.experiments.mnist2 import evidence_y_t1
    from numerics.ledger import verdict
    from theory.claims import CLAIMS

    rng = np.random.default_rng(0)
    rows = []
    for claim in CLAIMS:
        sym = Evidence("symbolic", True, "4/4 identities simplify to 0",
                       details={"steps": STEPS, "dimension": "any", "checks": {"eq": True}})
        num = Evidence("numeric", True, "max rel err 1e-16 over 240 points",
                       details={"max_rel_err": 1e-16, "points": 240})
        evidence = {
            "Y-EIG": (sym, Evidence(
                "numeric", False, "residual 52 x tolerance",
                counterexample={"w": rng.normal(size=10).tolist(),
                                "x": rng.normal(size=10).tolist(), "y": -1.0, "eps": 1.25,
                                "m": -8.27, "rel_residual_of_v": 52.67})),
            "Y-T1": (Evidence("symbolic", True, "sign of d lambda_1/d eps",
                              conditions=("robust margin m >= m*",),
                              counterexample={"m": 1.0, "eps": 0.5, "why": "x parallel to w"}),
                     Evidence("numeric", True, "150 instances",
                              conditions=("robust margin m >= m*",)),
                     evidence_y_t1()),
            "Y-T2": (sym, num, Evidence("data", False, "results/mnist2/mnist2.json absent",
                                        ran=False)),
            "L-BUDGET": (sym, num, evidence_l_budget()),
            "L-FINDINGS": (Evidence("data", False, "results/liu_kanai/findings.json absent",
                                    ran=False),),
        }.get(claim.id, (sym, num))
        computed = UNKNOWN_VERDICT if claim.id == "K-SMOOTH" else verdict(evidence)
        rows.append(LedgerRow(claim, tuple(evidence), computed, 0.1))
    return rows


@pytest.fixture(scope="module")
def ledger_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Site from every stored notebook (their outputs, as `--no-execute`) and the full ledger."""
    out = tmp_path_factory.mktemp("ledger") / "site"
    summary = build_report(profile="ci", out=out, ledger=_full_ledger(), execute=False,
                           progress=False, log=lambda _msg: None)
    assert summary.passed, summary.format()
    return out


def test_index_summary_rows_and_folds(ledger_site: Path) -> None:
    from theory.claims import CLAIMS

    text = (ledger_site / "index.html").read_text()
    summary = re.search(r'<p class="ledger-summary">(.*?)</p>', text, re.S).group(1)
    assert f"{len(CLAIMS)} claims" in summary
    assert ">1 fails<" in summary
    assert f">1 {UNKNOWN_VERDICT}<" in summary  # counted, under its own name
    assert "profile <b>ci</b>" in summary
    assert "commit <code>" in summary
    assert re.search(r"built \d{4}-\d\d-\d\dT", summary)
    absent = summary.split("data evidence absent:")[1]
    assert ">Y-T2<" in absent
    assert ">L-FINDINGS<" in absent
    assert ">Y-T1<" not in absent  # its data evidence ran
    for claim in CLAIMS:
        assert text.count(f'<details class="claim" id="{claim.id}">') == 1, claim.id
        assert html.escape(claim.latex) in text  # the LaTeX statement, for MathJax
    assert '<span class="verdict other">' + UNKNOWN_VERDICT + "</span>" in text
    # proof steps, folded: statement, method, machine-checked or argued
    assert text.count("<b>Proof steps</b>") >= len(CLAIMS) - 3
    assert "SymPy diff" in text
    assert 'class="mc yes">machine-checked<' in text
    assert 'class="mc no">argued<' in text
    assert "any dimension" in text
    # the failing check's counterexample, compact: scalars and ||w||, no 10-dimensional vector
    y_eig = text.split('id="Y-EIG"')[1].split("</summary>")[0]
    assert "<b>counterexample</b> (numeric): m = -8.27, \u2016w\u2016 = " in y_eig
    assert "\u03b5 = 1.25" in y_eig
    assert "w (d = 10), x (d = 10)" in y_eig
    assert text.count("-8.27") == 2  # the row's note and the evidence
    assert not re.search(r"-?\d\.\d{6,}(, -?\d\.\d{6,}){4}", text)  # no vector dumped
    # a condition both checks state is listed once, and referred to by number
    y_t1 = text.split('id="Y-T1"')[1].split('<details class="claim"')[0]
    assert y_t1.count("robust margin m &gt;= m*") == 2  # the row's note and the fold's list
    assert "[condition 1]" in y_t1
    # the figures, drawn from the evidence, embedded
    assert y_t1.count('<img src="data:image/png;base64,') == 2
    l_budget = text.split('id="L-BUDGET"')[1].split('<details class="claim"')[0]
    assert l_budget.count('<img src="data:image/png;base64,') == 1
    assert "figure not drawn" not in text


def _claim_links(index: str) -> list[tuple[str, str, str]]:
    """(claim id, page, anchor) of every link from a claim row to a notebook section."""
    links = []
    for block in index.split('<details class="claim" id="')[1:]:
        cid = block.split('"', 1)[0]
        row = block.split("</summary>", 1)[0]
        links += [(cid, page, anchor) for page, anchor in
                  re.findall(r'href="(\d\d_\w+\.html)#([^"]+)"', row)]
    return links


def test_claims_link_to_derivation_and_data_sections(ledger_site: Path) -> None:
    links = _claim_links((ledger_site / "index.html").read_text())
    by_claim: dict[str, list[str]] = {}
    for cid, page, anchor in links:
        by_claim.setdefault(cid, []).append(f"{page}#{anchor}")
    assert by_claim["Y-T1"] == ["03_theorem1.html#Y-T1-derivation", "03_theorem1.html#Y-T1-data"]
    assert by_claim["K-SMOOTH"] == ["06_smoothness.html#K-SMOOTH-derivation",
                                    "06_smoothness.html#K-SMOOTH-data"]
    assert by_claim["Y-EQ7"] == ["01_adversarial_loss.html#Y-EQ7-derivation"]
    assert by_claim["L-FINDINGS"] == ["07_budgets.html#L-FINDINGS-data"]


def _text_outside_math(dom: str) -> str:
    """A dumped DOM's visible text: no scripts, styles, typeset math or tags."""
    dom = re.sub(r"<(script|style|mjx-container)\b.*?</\1>", " ", dom, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", dom))


def test_index_typeset_and_anchors_resolve_in_headless_chromium(
        ledger_site: Path, tmp_path: Path) -> None:
    """Opened offline in Chromium: the summary line and every claim row are there, MathJax typeset
    every statement (no raw $...$ left, no math error), and every link from a row lands on a
    section of a notebook page headed by that claim."""
    from theory.claims import CLAIMS

    dom = _browse(ledger_site / "index.html", tmp_path, "--dump-dom").stdout
    assert 'class="ledger-summary"' in dom
    for claim in CLAIMS:
        assert f'id="{claim.id}"' in dom, claim.id
    pairs = sum(c.latex.count("$") // 2 for c in CLAIMS)
    assert dom.count("<mjx-container") >= pairs
    assert "data-mjx-error" not in dom
    assert "<mjx-merror" not in dom
    raw = re.findall(r"\$[^$<>]{1,200}\$", _text_outside_math(dom))
    assert raw == [], raw[:3]
    links = _claim_links(dom)
    assert {cid for cid, _, _ in links} == {c.id for c in CLAIMS}
    pages: dict[str, str] = {}
    for cid, page, anchor in links:
        if page not in pages:
            pages[page] = _browse(ledger_site / page, tmp_path, "--dump-dom").stdout
        target = pages[page]
        assert target.count(f'id="{anchor}"') == 1, (page, anchor)
        after = target.split(f'id="{anchor}"', 1)[1]
        heading = re.search(r"<h[1-6][^>]*>(.*?)</h[1-6]>", after, re.S)
        assert heading is not None, (page, anchor)
        assert re.sub(r"<[^>]+>", "", heading.group(1)).strip().startswith(cid), (page, anchor)


# --- what notebooks display: SymPy typeset, a claim's statement -----------------------------


def test_typeset_shows_latex_and_keeps_sstr_as_plain_text() -> None:
    """Jupyter shows the LaTeX; nbval compares the text/plain form, SymPy's exact sstr."""
    import sympy as sp
    from IPython.core.formatters import DisplayFormatter

    from numerics.display import typeset
    from theory import theorem1 as t1

    bundle, _ = DisplayFormatter().format(typeset(t1.DLAMBDA_DEPS_FACTORED, r"\lambda_1'"))
    assert bundle["text/plain"] == sp.sstr(t1.DLAMBDA_DEPS_FACTORED)
    assert bundle["text/latex"] == (
        "$\\displaystyle \\lambda_1' = " + sp.latex(t1.DLAMBDA_DEPS_FACTORED) + "$")
    eps = sp.Symbol("epsilon")
    shown = typeset(eps**2 / 3, "c^2", plain_lhs="c^2")
    assert repr(shown) == "c^2 = epsilon**2/3"
    assert "\\varepsilon^{2}" in shown._repr_latex_()  # the papers' epsilon
    assert "\\epsilon" in typeset(eps, symbol_names={eps: "\\epsilon"})._repr_latex_()


def test_show_claim_is_markdown_with_the_latex_statement() -> None:
    from IPython.core.formatters import DisplayFormatter

    from numerics.display import show_claim
    from theory.claims import get_claim
    from theory.hypotheses import HYPOTHESES

    claim = get_claim("Y-T1")
    own = "; ".join(h.text for h in HYPOTHESES["Y-T1"])
    assert own  # Y-T1 states hypotheses beyond the shared setting: they are shown
    bundle, _ = DisplayFormatter().format(show_claim("Y-T1"))
    assert bundle["text/markdown"] == (f"**Y-T1** ({claim.paper}). {claim.latex}\n\n"
                                       f"*Hypotheses:* {own}.")
    assert bundle["text/plain"] == f"Y-T1 ({claim.paper}). {claim.statement} Hypotheses: {own}."
    with pytest.raises(KeyError):
        show_claim("Y-T9")
