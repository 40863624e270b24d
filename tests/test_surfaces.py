"""Every public module of theory/ and numerics/ states its public surface in ``__all__``.

A module is public unless its name starts with ``_``. Its ``__all__`` lists exactly the names
the rest of the suite (the packages, tests, benchmarks and notebooks) imports from it: every
name in it exists, and every public name imported from the module is in it. Ruff (RUF022) keeps
each ``__all__`` sorted.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import numerics
import theory

REPO = Path(__file__).resolve().parents[1]

# Modules exempt from stating their public surface: none (keep it so).
NOT_YET_CHECKED: frozenset[str] = frozenset()


def _modules() -> list[str]:
    names = []
    for package in (theory, numerics):
        names.append(package.__name__)
        names += [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
    return sorted(names)


MODULES = _modules()
PUBLIC = [m for m in MODULES if not m.rpartition(".")[2].startswith("_")]
CHECKED = [m for m in PUBLIC if m not in NOT_YET_CHECKED]


@pytest.mark.parametrize("name", MODULES)
def test_every_module_imports(name: str) -> None:
    if name.rpartition(".")[2] == "__main__":
        # the body of ``python -m package`` runs the command on import: compile it instead
        spec = importlib.util.find_spec(name)
        assert spec is not None
        assert spec.origin is not None
        compile(Path(spec.origin).read_text(), spec.origin, "exec")
        return
    importlib.import_module(name)


@pytest.mark.parametrize("name", CHECKED)
def test_public_module_lists_existing_names_in_all(name: str) -> None:
    module = importlib.import_module(name)
    assert "__all__" in vars(module), f"{name} has no __all__"
    exported = module.__all__
    assert isinstance(exported, list | tuple)
    assert all(isinstance(x, str) for x in exported)
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"
    missing = [x for x in exported if not hasattr(module, x)]
    assert not missing, f"{name}.__all__ names what {name} does not define: {missing}"
    private = [x for x in exported if x.startswith("_")]
    assert not private, f"{name}.__all__ exports private names: {private}"


def _source_files() -> list[Path]:
    files = [p for folder in ("theory", "numerics", "tests", "benchmarks", "notebooks")
             for p in (REPO / folder).rglob("*.py")]
    return sorted(p for p in files if ".ipynb_checkpoints" not in p.parts)


def _imported_names() -> dict[str, dict[str, set[str]]]:
    """module -> public name -> the files that import it with ``from module import name``."""
    found: dict[str, dict[str, set[str]]] = {}
    for path in _source_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    if not alias.name.startswith("_") and alias.name != "*":
                        where = found.setdefault(node.module, {}).setdefault(alias.name, set())
                        where.add(str(path.relative_to(REPO)))
    return found


def test_names_imported_from_a_module_are_in_its_all() -> None:
    checked = set(CHECKED)
    unlisted = []
    for name, imports in sorted(_imported_names().items()):
        if name not in checked:
            continue
        module = importlib.import_module(name)
        for attr, files in sorted(imports.items()):
            if hasattr(module, "__path__") and importlib.util.find_spec(f"{name}.{attr}"):
                continue  # a submodule, imported from its package
            if attr not in module.__all__:
                unlisted.append(f"{name}.{attr} (imported by {', '.join(sorted(files))})")
    assert not unlisted, "names imported but not in their module's __all__:\n" + "\n".join(
        unlisted)


def test_exception_list_names_real_modules() -> None:
    """An entry for a module that no longer exists would hide nothing: remove it."""
    assert not NOT_YET_CHECKED - set(PUBLIC), sorted(NOT_YET_CHECKED - set(PUBLIC))
