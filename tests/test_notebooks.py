"""Notebook hygiene: every stored notebook is paired with its percent source, in sync, small,
executed, free of errors and stderr, and follows the conventions of DEVELOPING.md.

The checkers themselves are tested on notebooks built here with a known defect each, so a checker
that stopped detecting its defect would fail.
"""

from __future__ import annotations

import importlib.util
import os
import re
import tomllib
from pathlib import Path

import jupytext
import nbformat
import pytest

from numerics.report import (
    INLINE_BACKEND,
    NOTEBOOK_DIR,
    claim_sections,
    discover_notebooks,
    kernel_environment,
    notebook_problems,
    output_problems,
    pair_problems,
)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = discover_notebooks()

GOOD_SOURCE = '''# %% [markdown]
# # A section
# ## Y-T1: the landscape sharpens with $\\varepsilon$

# %% tags=["parameters"]
from numerics.profiles import current_profile

PROFILE = current_profile()

# %%
from numerics.display import show_claim

print(PROFILE)
show_claim("Y-T1")
'''


def _write_pair(folder: Path, source: str = GOOD_SOURCE, name: str = "01_good") -> Path:
    """Write ``name.py`` and a matching, 'executed' ``name.ipynb``; return the .ipynb path."""
    py = folder / f"{name}.py"
    py.write_text(source)
    nb = jupytext.read(py)
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            cell.outputs = []
    ipynb = folder / f"{name}.ipynb"
    nbformat.write(nb, ipynb)
    return ipynb


def test_the_notebooks_folder_has_notebooks() -> None:
    assert any(p.name == "00_overview.ipynb" for p in NOTEBOOKS), NOTEBOOKS


def test_every_percent_source_has_its_notebook() -> None:
    sources = sorted(p for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
    missing = [p.name for p in sources if not p.with_suffix(".ipynb").exists()]
    assert not missing, f"run `jupytext --sync` on {missing}"


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_notebook_is_clean(ipynb: Path) -> None:
    """Paired and in sync, <= 1 MiB, executed, no error/stderr, parameters cell, no sys.path."""
    assert notebook_problems(ipynb) == []


def test_jupytext_pairs_ipynb_with_percent_py() -> None:
    config = tomllib.loads((NOTEBOOK_DIR / "jupytext.toml").read_text())
    assert set(config["formats"].split(",")) == {"ipynb", "py:percent"}


def test_nbval_sanitizes_with_the_project_file() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    addopts = pyproject["tool"]["pytest"]["ini_options"]["addopts"].split()
    assert "--nbval-sanitize-with" in addopts
    path = ROOT / addopts[addopts.index("--nbval-sanitize-with") + 1]
    assert path.is_file()


def test_sanitizers_mask_noise_and_keep_results() -> None:
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((NOTEBOOK_DIR / "sanitize.cfg").read_text())
    assert len(patterns) >= 5

    def clean(text: str) -> str:
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    a = clean("<object at 0x7f3a12> on cuda:0 in 12.5 s, /home/u/runs/x.json, 2026-11-22T07:00:01")
    b = clean("<object at 0x55aa00> on cpu in 3 s, /tmp/pytest-1/x.json, 2025-01-01T00:00:00")
    assert a == b
    exact = "exp(x)/(exp(x) + 1)  eps**2/(d + 2)  [0.5, 1.0]"
    assert clean(exact) == exact


def test_kernel_environment_sets_profile_backend_and_silences_tqdm() -> None:
    env = kernel_environment("full")
    assert env["ADVLANDSCAPE_PROFILE"] == "full"
    assert env["MPLBACKEND"] == INLINE_BACKEND
    assert env["TQDM_DISABLE"] == "1"
    assert env["PYTHONWARNINGS"].split(",")[-1] == "ignore:IProgress not found"


def test_kernel_environment_rejects_unknown_profile() -> None:
    from theory.errors import ConfigError

    with pytest.raises(ConfigError, match="use one of"):
        kernel_environment("huge")


def test_nbval_runs_notebooks_with_the_ci_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    """notebooks/conftest.py sets the kernels' environment around a cell's setup, then restores."""
    monkeypatch.setenv("ADVLANDSCAPE_PROFILE", "full")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    spec = importlib.util.spec_from_file_location("nb_conftest", NOTEBOOK_DIR / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    wrapper = module.pytest_runtest_setup(None)
    next(wrapper)  # where nbval starts the kernel
    assert os.environ["ADVLANDSCAPE_PROFILE"] == "ci"
    assert os.environ["MPLBACKEND"] == INLINE_BACKEND
    assert os.environ["TQDM_DISABLE"] == "1"
    with pytest.raises(StopIteration):
        wrapper.send(None)
    assert os.environ["ADVLANDSCAPE_PROFILE"] == "full"
    assert os.environ["MPLBACKEND"] == "Agg"
    assert "TQDM_DISABLE" not in os.environ


# --- the checkers detect what they are meant to detect -------------------------------------


def test_a_good_pair_has_no_problems(tmp_path: Path) -> None:
    assert notebook_problems(_write_pair(tmp_path)) == []


def test_out_of_sync_pair_is_detected(tmp_path: Path) -> None:
    ipynb = _write_pair(tmp_path)
    py = ipynb.with_suffix(".py")
    py.write_text(py.read_text().replace("print(PROFILE)", "print(PROFILE * 2)"))
    problems = pair_problems(ipynb)
    assert len(problems) == 1
    assert "cell 2 differs in source" in problems[0]


def test_added_cell_and_missing_pair_are_detected(tmp_path: Path) -> None:
    ipynb = _write_pair(tmp_path)
    py = ipynb.with_suffix(".py")
    py.write_text(py.read_text() + "\n# %%\nprint(1)\n")
    assert "4 cells" in pair_problems(ipynb)[0]
    py.unlink()
    assert "no paired" in pair_problems(ipynb)[0]


def test_changed_tags_are_detected(tmp_path: Path) -> None:
    ipynb = _write_pair(tmp_path)
    py = ipynb.with_suffix(".py")
    py.write_text(py.read_text().replace(' tags=["parameters"]', ""))
    assert "differs in tags" in pair_problems(ipynb)[0]


def test_error_and_stderr_outputs_are_detected(tmp_path: Path) -> None:
    nb = nbformat.read(_write_pair(tmp_path), as_version=4)
    nb.cells[2].outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: careful\n"),
        nbformat.v4.new_output("error", ename="AssertionError", evalue="claim fails",
                               traceback=[]),
    ]
    problems = output_problems(nb)
    assert problems == ["cell 2: stderr output: UserWarning: careful",
                        "cell 2: error AssertionError: claim fails"]
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="ci\n")]
    assert output_problems(nb) == []


def test_oversized_notebook_is_detected(tmp_path: Path) -> None:
    ipynb = _write_pair(tmp_path)
    size = ipynb.stat().st_size
    assert notebook_problems(ipynb, max_bytes=size) == []
    assert "bytes (>" in notebook_problems(ipynb, max_bytes=size - 1)[0]


def test_conventions_are_checked(tmp_path: Path) -> None:
    bad = GOOD_SOURCE.replace(' tags=["parameters"]', "").replace(
        "print(PROFILE)", "import sys\nsys.path.insert(0, '..')").replace("Y-T1", "Y-T9")
    problems = " | ".join(notebook_problems(_write_pair(tmp_path, bad, "02_bad")))
    assert "tagged parameters" in problems
    assert "sys.path" in problems
    assert "unknown claim id 'Y-T9'" in problems


def test_a_claim_section_must_show_its_statement(tmp_path: Path) -> None:
    quiet = GOOD_SOURCE.replace('show_claim("Y-T1")', "None")
    problems = notebook_problems(_write_pair(tmp_path, quiet, "03_quiet"))
    assert problems == ["03_quiet.ipynb: the Y-T1 section does not show the claim: add a code "
                        'cell `show_claim("Y-T1")` under its first heading (from numerics.display)']


def test_unexecuted_notebook_is_detected(tmp_path: Path) -> None:
    ipynb = _write_pair(tmp_path)
    nb = nbformat.read(ipynb, as_version=4)
    nb.cells[2].execution_count = None
    nbformat.write(nb, ipynb)
    assert any("unexecuted" in p for p in notebook_problems(ipynb))


def test_claim_sections_reads_headings_only(tmp_path: Path) -> None:
    nb = jupytext.reads(GOOD_SOURCE + "\n# %% [markdown]\n# ## INNER-MAX and K-SMOOTH\n"
                        "# Text mentioning L-BUDGET is no section.\n", fmt="py:percent")
    assert claim_sections(nb) == ["Y-T1", "INNER-MAX"]
    assert claim_sections(nb, known={"INNER-MAX"}) == ["INNER-MAX"]
