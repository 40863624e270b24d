"""The README's library examples run as written, in order, in one namespace."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def _example_blocks() -> list[str]:
    text = README.read_text()
    section = text.split("<!-- library-example: start", 1)[1].split("<!-- library-example: end",
                                                                     1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_readme_library_examples_run(capsys) -> None:
    blocks = _example_blocks()
    assert len(blocks) == 4
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. torch's warning on read-only arrays
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
    x, x_adv, spec = namespace["x"], namespace["x_adv"], namespace["spec"]
    assert float((x_adv - x).reshape(16, -1).norm(dim=1).max()) <= 1.0 + 1e-12
    assert bool(((x_adv >= 0) & (x_adv <= 1)).all())
    assert spec.alpha(spec.eps) == 2.5 * 1.0 / 20
    assert 0.0 <= namespace["acc"] <= 1.0
    eigs = namespace["eigs"]
    assert eigs.values.shape == (3,)
    assert eigs.vectors.shape == (sum(p.numel() for p in namespace["model"].parameters()), 3)
    assert eigs.matvecs > 0
    assert str(eigs.matvecs) in capsys.readouterr().out
    logits = namespace["logistic"](x)
    w = namespace["w"]
    assert torch.allclose(logits[:, 1], x.reshape(16, -1) @ w[:784] + w[784])
    assert torch.equal(logits[:, 0], torch.zeros(16, dtype=torch.float64))
    worst = namespace["worst"]
    assert float((worst - x.reshape(16, -1)).norm(dim=1).max()) <= 1.0 + 1e-12
    assert namespace["x01"].shape == (270, 64)


def _between(start: str, end: str) -> str:
    text = README.read_text()
    return text.split(start, 1)[1].split(end, 1)[0]


def test_readme_names_every_claim() -> None:
    """The README's list of claim ids is exactly theory.claims.CLAIMS, in its order."""
    from theory.claims import CLAIMS

    listed = re.findall(r"[A-Z][A-Z0-9-]*[A-Z0-9]",
                        _between("<!-- claim-ids:", "<!-- claim-ids: end -->").split("-->", 1)[1])
    assert listed == [c.id for c in CLAIMS]


def test_readme_study_list_is_the_registry() -> None:
    """The README's study table is what `advlandscape study --list` prints now."""
    from numerics.cli.study import format_registry

    block = _between("<!-- study-list: start", "<!-- study-list: end -->")
    assert block.split("```text\n", 1)[1].rsplit("\n```", 1)[0] == format_registry()


def test_readme_layout_names_every_module() -> None:
    """Every package and top-level module of theory/ and numerics/ is named in the README's
    layout table, and every path the table names exists."""
    root = README.parent
    table = README.read_text().split("## Layout", 1)[1].split("\n## ", 1)[0]
    for path in re.findall(r"`((?:theory|numerics|docs|notebooks|tests|benchmarks|results)/"
                           r"[^`<]*)`", table):
        assert (root / path).exists(), path
    for package in ("theory", "numerics"):
        for entry in sorted((root / package).iterdir()):
            if entry.name.startswith(("_", ".")) or entry.suffix not in ("", ".py"):
                continue
            if entry.is_dir() and not (entry / "__init__.py").exists():
                continue
            name = entry.name if entry.is_dir() else entry.stem
            assert re.search(rf"\b{re.escape(name)}\b", table), f"{package}/{entry.name}"
