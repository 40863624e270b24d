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
