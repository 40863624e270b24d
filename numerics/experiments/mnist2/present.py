"""Presenting MNIST2 results: the record on disk, the tables and the figures.

:func:`write_mnist2` writes a results dict of :func:`~numerics.experiments.mnist2.run_mnist2`
with provenance (JSON) and a CSV of every table row; :func:`render_tables` shows tables 1-4 in
the paper's layout beside its values (markdown); :func:`save_figures` draws figures 2
(landscapes) and 3 (top Hessian eigenvalues).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from numerics.experiments import seeds as seeds_mod
from numerics.experiments.mnist2.config import MNIST2Config
from numerics.experiments.paper_values import PRINTED_RESOLUTION
from numerics.records import atomic_write_bytes, write_result

__all__ = ["render_tables", "save_figures", "write_csv", "write_mnist2"]


def write_mnist2(path: str | Path, config: MNIST2Config, results: dict[str, Any],
                 overwrite: bool = False, **provenance_extra: Any) -> list[Path]:
    """Write results as the study's record (JSON with provenance plus ``provenance_extra``) and
    the CSV of every row beside it, for code that holds results (``advlandscape study mnist2``
    writes its record through :func:`numerics.experiments.protocol.execute`)."""
    path = Path(path)
    return [write_result(path, config, results, seed=config.train.seed, device="cpu",
                         overwrite=overwrite, threads=config.threads, **provenance_extra),
            write_csv(path.with_suffix(".csv"), results, overwrite=overwrite)]


def write_csv(path: str | Path, results: dict[str, Any], overwrite: bool = False) -> Path:
    """Write a CSV of every table row (the means over seeds, their sd, the paper's values and the
    top eigenvalues) beside the record."""
    lines = ["table,norm,training,eps,label,seeds,train_acc,train_acc_sd,test_acc,test_acc_sd,"
             "gap,best_epoch,last_train_acc,last_test_acc,clean_train,clean_test,robust_train,"
             "robust_test,exact_train,exact_test,attack_gap_test,paper_train,paper_test,"
             "paper_gap,top_fixed_1,top_fixed_1_sd,top_robust_1,normalized_fixed_1"]
    for key, table in results["tables"].items():
        for row, h in zip(table["rows"], table["hessian"], strict=True):
            st, hs = row.get("stats", {}), h.get("stats", {})
            paper = row["paper"] or {"train_acc": None, "test_acc": None, "gap": None}
            sd = [st[f]["sd"] if f in st else None for f in ("train_acc", "test_acc")]
            vals = [key, table["norm"], table["training"], row["eps"], row["label"],
                    len(table.get("seeds", [0])), row["train_acc"], sd[0], row["test_acc"],
                    sd[1], row["gap"], row["best_epoch"],
                    row["last"]["train_acc"], row["last"]["test_acc"], row["clean_train"],
                    row["clean_test"], row["robust_train"], row["robust_test"],
                    row.get("exact_train"), row.get("exact_test"), row.get("attack_gap_test"),
                    paper["train_acc"], paper["test_acc"], paper["gap"],
                    h["top_fixed"][0], hs.get("top_fixed", {}).get("sd"),
                    h.get("top_robust", [""])[0], h["normalized_fixed"][0],
                    h.get("share_above_m_star")]
            lines.append(",".join("" if v is None else f"{v:.6g}" if isinstance(v, float)
                                  else str(v) for v in vals))
    return atomic_write_bytes(Path(path), ("\n".join(lines) + "\n").encode(),
                              overwrite=overwrite)


def _cell(r: dict[str, Any], stats: dict[str, Any], field: str, many: bool) -> str:
    """One number of a table: mean +- sd over seeds, or the value of the one seed."""
    if many and field in stats:
        return f"{stats[field]['mean']:.2f} +- {stats[field]['sd']:.2f}"
    return f"{r[field]:.2f}"


def render_tables(results: dict[str, Any], last: bool = False) -> str:
    """Tables 1-4 in the paper's layout (eps, train acc, test acc, gap), beside the paper's values
    and the differences (ours - paper), as markdown. ``last``: the last epoch, not the selected.

    Over several seeds each number is mean +- sd, and "in CI" says whether the paper's train /
    test accuracy (as printed, to 0.01) lies in the 95% interval of the mean; adversarial
    tables add the exact robust test accuracy (BOX-MAX) and the attack gap (PGD minus exact).
    Tables the paper does not print (CIFAR2) have no paper columns; their data set is named in
    the title.
    """
    names = {1: "L2 adversarial (PGD)", 2: "L2 random noise", 3: "L-inf adversarial (PGD)",
             4: "L-inf random noise"}
    parts = []
    for key, table in results["tables"].items():
        n = int(key)
        which = "last epoch" if last else "early-stopped"
        seeds = table.get("seeds", [])
        many = len(seeds) > 1
        adversarial = table["training"] == "adversarial"
        printed = table["rows"][0]["paper"] is not None
        dataset = table.get("dataset", "mnist2")
        parts.append(f"Table {n}{'' if dataset == 'mnist2' else f' ({dataset.upper()})'}: "
                     f"{names[n]} ({which}"
                     + (f", mean +- sd over {len(seeds)} seeds" if many else "") + ")\n")
        head = "| eps | train acc | test acc | gap |"
        if printed:
            head += " paper train | paper test | paper gap | d train | d test | d gap |"
        if many and printed:
            head += " paper in CI (train, test) |"
        if adversarial and not last:
            head += " exact test | PGD - exact |"
        parts.append(head)
        parts.append("|" + "|".join("---" for _ in range(head.count("|") - 1)) + "|")
        for row in table["rows"]:
            r = row["last"] if last else row
            stats = row.get("stats_last" if last else "stats", {})
            p = row["paper"]

            def cell(field: str, r: dict = r, stats: dict = stats, many: bool = many) -> str:
                return _cell(r, stats, field, many)

            gap = r["gap"] if "gap" in r else abs(r["train_acc"] - r["test_acc"])
            line = f"| {row['label']} | {cell('train_acc')} | {cell('test_acc')} | {cell('gap')} |"
            if printed:
                line += (f" {p['train_acc']:.2f} | {p['test_acc']:.2f} | {p['gap']:.2f} "
                         f"| {r['train_acc'] - p['train_acc']:+.2f} "
                         f"| {r['test_acc'] - p['test_acc']:+.2f} | {gap - p['gap']:+.2f} |")
            if many and printed:
                if last:
                    inside = {f: seeds_mod.inside(p[f], stats[f], PRINTED_RESOLUTION)
                              for f in ("train_acc", "test_acc")}
                else:
                    inside = row["paper_inside"]
                line += " " + ", ".join("yes" if inside[f] else "no"
                                        for f in ("train_acc", "test_acc")) + " |"
            if adversarial and not last:
                line += f" {cell('exact_test', row, row.get('stats', {}))} | " \
                        f"{row['attack_gap_test']:+.2f} |"
            parts.append(line)
        parts.append("")
    return "\n".join(parts)


def save_figures(results: dict[str, Any], out_dir: str | Path,
                 overwrite: bool = False) -> list[Path]:
    """Figure 2 (landscapes) and figure 3 (top Hessian eigenvalues), PNG and SVG, matplotlib Agg.

    Returns:
        the written paths.
    """
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = results["tables"]
    out_dir = Path(out_dir)
    written = []
    dataset = next(iter(tables.values())).get("dataset", "mnist2")
    fig_name = {2: "Fig. 2", 3: "Fig. 3"} if dataset == "mnist2" else {
        2: f"{dataset.upper()} (as fig. 2)", 3: f"{dataset.upper()} (as fig. 3)"}

    fig2, axes = plt.subplots(1, 2, figsize=(10, 4), squeeze=False)
    for ax, norm, (adv, rnd) in zip(axes[0], ("l2", "linf"), (("1", "2"), ("3", "4")),
                                    strict=True):
        cmap = plt.get_cmap("viridis")
        for key, style in ((adv, "-"), (rnd, "--")):
            if key not in tables:
                continue
            land = tables[key]["landscape"]
            labels = list(land["curves"])
            for i, label in enumerate(labels):
                color = cmap(i / max(1, len(labels) - 1))
                kind = "adv" if style == "-" else "random"
                mean = np.asarray(land["curves"][label])
                ax.plot(land["alphas"], mean, style, color=color, label=f"{kind} {label}")
                sd = np.asarray(land.get("sd", {}).get(label, np.zeros_like(mean)))
                if sd.any():  # a band of one sd over the seeds
                    ax.fill_between(land["alphas"], np.maximum(mean - sd, 1e-12), mean + sd,
                                    color=color, alpha=0.15, linewidth=0)
        ax.set_title(f"{fig_name[2]}: {'L2' if norm == 'l2' else 'L-inf'} (solid: adversarial, "
                     "dashed: random)", fontsize=9)
        ax.set_xlabel("a (w + a d, ||d|| = ||w||)")
        ax.set_ylabel("training loss")
        ax.set_yscale("log")
        if ax.get_legend_handles_labels()[0]:  # a panel whose tables were not run stays empty
            ax.legend(fontsize=6, ncol=2)
    fig2.tight_layout()

    fig3, axes = plt.subplots(1, 2, figsize=(10, 4), squeeze=False)
    for ax, key, title in zip(axes[0], ("1", "3"), ("L2", "L-inf"), strict=True):
        if key not in tables:
            continue
        hess = tables[key]["hessian"]
        eps = [h["eps"] * (255 if key == "3" else 1) for h in hess]
        top = np.array([h["top_fixed"] for h in hess])
        for j in range(top.shape[1]):
            ax.plot(eps, top[:, j], "o-", label=f"lambda_{j + 1} (fixed PGD examples)")
        if len(tables[key].get("seeds", [])) > 1:  # lambda_1: mean +- sd over the seeds
            sd = [h["stats"]["top_fixed"]["sd"] for h in hess]
            ax.errorbar(eps, top[:, 0], yerr=sd, fmt="none", ecolor="C0", capsize=3)
        ax.plot(eps, [h["top_robust"][0] for h in hess], "k--", label="lambda_1 (exact robust)")
        if "2" in tables or "4" in tables:
            rkey = "2" if key == "1" else "4"
            if rkey in tables:
                rh = tables[rkey]["hessian"]
                ax.plot([h["eps"] * (255 if rkey == "4" else 1) for h in rh],
                        [h["top_fixed"][0] for h in rh], "s:", color="gray",
                        label="lambda_1 random noise")
        ax.set_xlabel("eps" if key == "1" else "eps x 255")
        ax.set_ylabel("eigenvalue")
        seeds = tables[key].get("seeds", [])
        ax.set_title(f"{fig_name[3]}: top Hessian eigenvalues, {title} PGD training"
                     + (f" (mean +- sd, {len(seeds)} seeds)" if len(seeds) > 1 else ""),
                     fontsize=9)
        ax.legend(fontsize=7)
    fig3.tight_layout()

    for fig, name in ((fig2, "figure2_landscapes"), (fig3, "figure3_eigenvalues")):
        for ext in ("png", "svg"):
            buf = io.BytesIO()
            fig.savefig(buf, format=ext, dpi=120, metadata={"Date": None} if ext == "svg"
                        else None)
            written.append(atomic_write_bytes(out_dir / f"{name}.{ext}", buf.getvalue(),
                                              overwrite=overwrite))
        plt.close(fig)
    return written
