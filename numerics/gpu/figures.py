"""What a sweep stage presents beside its record: tables 5-6 in the paper's layout (eps, train
and test accuracy under the training attack, their gap) beside the paper's values, and figure 4
(the re-attacked 1-D landscapes per eps; the top-3 Hessian eigenvalues against eps).

The numbers are read from the study ``resnet``'s results (a seed sweep: the seed means). Each
file states the scale (images, epochs, seeds, test set) so that no reader takes it for the
paper's 50,000 images and 100 epochs.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

__all__ = ["figure4_png", "present_sweep", "tables_markdown"]


def _runs_by_eps(results: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Per eps, the runs of every seed."""
    per_seed = results.get("per_seed") or [{"runs": results["runs"]}]
    return [[s["runs"][i] for s in per_seed] for i in range(len(per_seed[0]["runs"]))]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def tables_markdown(results: dict[str, Any], cfg: Any) -> str:
    """Tables 5 and 6's layout with our seed means beside the paper's values (percent)."""
    from numerics.experiments.paper_values import RESNET_TABLE_DATASET, RESNET_TABLES

    t = cfg.train
    lines = [f"# ResNet18 on {cfg.dataset}: tables 5-6 layout (GPU programme)", "",
             f"Ours: {results.get('n_train')} training images, {t.epochs} epochs of "
             f"PGD-{t.train_steps} training (width {t.width}), accuracies under PGD-"
             f"{t.eval_steps} ({len(t.eval_attacks())} starts), mean over seeds "
             f"{list(cfg.seeds) or [t.seed]}; {results.get('data_note', '')}. The paper: "
             "the whole training set, 100 epochs (Madry et al.'s settings).", ""]
    rows = _runs_by_eps(results)
    for number, table in RESNET_TABLES.items():
        lines += [f"## beside table {number} (the paper's {RESNET_TABLE_DATASET[number]}, by our "
                  "reading of the lost captions)", "",
                  "| eps | train (ours) | test (ours) | gap (ours) | train (paper) | "
                  "test (paper) | gap (paper) | clean test (ours) |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for runs in rows:
            eps = runs[0]["eps"]
            tr = 100 * _mean([r["train"]["robust_acc"] for r in runs])
            te = 100 * _mean([r["test"]["robust_acc"] for r in runs])
            clean = 100 * _mean([r["test"]["clean_acc"] for r in runs])
            paper = next((row for e, row in table.items() if abs(e - eps) < 1e-9), None)
            ref = ("| - | - | - " if paper is None
                   else f"| {paper.train:.2f} | {paper.test:.2f} | {paper.gap:.2f} ")
            lines.append(f"| {eps * 255:g}/255 | {tr:.2f} | {te:.2f} | {tr - te:.2f} {ref}"
                         f"| {clean:.2f} |")
        lines.append("")
    return "\n".join(lines)


def figure4_png(results: dict[str, Any], cfg: Any) -> bytes:
    """Figure 4's two panels as PNG bytes: the landscape of seed 0 per eps, and the top-3
    Hessian eigenvalues (seed means) against eps."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    rows = _runs_by_eps(results)
    for runs in rows:
        curve = runs[0]["landscape"]
        left.plot(curve["alpha"], curve["loss"], label=f"eps {runs[0]['eps'] * 255:g}/255")
    left.set(xlabel="a (filter-normalised direction)", ylabel="adversarial loss",
             title="1-D landscape, re-attacked per point")
    left.legend(fontsize=8)
    eps = [runs[0]["eps"] * 255 for runs in rows]
    k = len(rows[0][0]["curvature"]["top_eigs"])
    for i in range(k):
        right.plot(eps, [_mean([r["curvature"]["top_eigs"][i] for r in runs]) for runs in rows],
                   marker="o", label=f"lambda_{i + 1}")
    right.set(xlabel="eps x 255", ylabel="Hessian eigenvalue", title="top Hessian eigenvalues")
    right.legend(fontsize=8)
    fig.suptitle(f"ResNet18 on {cfg.dataset}: {results.get('n_train')} images, "
                 f"{cfg.train.epochs} epochs (not the paper's scale)", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def present_sweep(results: dict[str, Any], cfg: Any, record: Path, *, tables: bool = True
                  ) -> list[Path]:
    """Write ``<record stem>_figure4.png`` and (``tables``) ``<record stem>_tables.md`` beside
    the record (atomically, replacing older ones)."""
    from numerics.records import atomic_write_bytes

    stem = record.with_suffix("")
    table = Path(f"{stem}_tables.md")
    figure = Path(f"{stem}_figure4.png")
    atomic_write_bytes(figure, figure4_png(results, cfg), overwrite=True)
    if not tables:
        return [figure]
    atomic_write_bytes(table, tables_markdown(results, cfg).encode(), overwrite=True)
    return [figure, table]
