"""Y-T1 (b) on a deep net, from the committed seed sweep: :func:`evidence_y_t1_deep`.

The verdict is recomputed from the record's runs (:func:`seed_summary`), never read from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from numerics.experiments.resnet.seeds import seed_summary
from numerics.records import REPO_ROOT, read_result
from theory.claims import Evidence
from theory.errors import ResultFileError

__all__ = ["CPU_RESULT_FILE", "GPU_RESULT_FILE", "evidence_y_t1_deep"]

#: The committed record of the ``cpu`` profile (Y-T1 (b) on a deep net, CPU scale).
CPU_RESULT_FILE = REPO_ROOT / "results" / "resnet" / "mnist_cpu.json"
#: The paper's setting at GPU scale (the GPU programme's stage 5, ``advlandscape gpu``): counted in
#: Y-T1's data evidence when present.
GPU_RESULT_FILE = REPO_ROOT / "results" / "resnet" / "cifar10_gpu.json"


def _scale_text(record: dict[str, Any]) -> str:
    """``"CPU scale: ResNet18 width 4 on 1024 MNIST images, 3 seeds; not the paper's GPU
    scale"`` (from the record's config and results)."""
    cfg, res = record["config"], record["results"]
    profile = record["provenance"].get("profile") or cfg.get("profile") or "?"
    name = "CPU scale" if profile == "cpu" else f"{profile} profile"
    model = {"resnet18": "ResNet18", "preactresnet18": "PreActResNet18"}.get(
        cfg["train"]["model"], cfg["train"]["model"])
    data = {"mnist": "MNIST", "cifar10": "CIFAR-10", "svhn": "SVHN"}.get(cfg["dataset"],
                                                                         cfg["dataset"])
    text = (f"{name}: {model} width {cfg['train']['width']} on {res['n_train']} {data} images, "
            f"{len(res['seeds'])} seeds")
    return text + ("" if profile == "gpu" else "; not the paper's GPU scale")


def evidence_y_t1_deep(path: str | Path | None = None) -> Evidence:
    r"""Y-T1 (b), data, deep network (Yamada et al. Section 5.2): does the top Hessian eigenvalue
    lambda_1 of the adversarial loss at the trained weights of a ResNet18 grow with the PGD
    budget eps?

    Reads a seed sweep (default :data:`CPU_RESULT_FILE`, ``advlandscape resnet run --profile
    cpu``) and recomputes its seed statistics (:func:`seed_summary`; verdicts are computed,
    never read). Holds when the seed mean of lambda_1 increases strictly with eps and Spearman's
    rho(eps, lambda_1) > 0 in every seed. lambda_1 is the raw top eigenvalue, the paper's
    measure for its deep nets (Hessian with the evaluation PGD's examples held fixed,
    BatchNorm in eval mode); the normalised ||theta||^2 lambda_1, the Hutchinson trace and "k of
    n seeds" with a strict increase are reported beside it. The summary and the conditions name
    the scale (the ``cpu`` profile is not the paper's GPU scale). ran=False without the record.
    """
    file = Path(path) if path is not None else CPU_RESULT_FILE
    if not file.exists():
        return Evidence("data", False, f"Y-T1 (b), deep net: no {file.name}; run `advlandscape "
                        f"resnet run --profile cpu --dataset mnist --out {file}`", ran=False)
    record = read_result(file)
    res = record["results"]
    if "per_seed" not in res:
        raise ResultFileError(f"{file} is not a seed sweep (no per_seed results): re-create it "
                              "with `advlandscape resnet run --profile cpu --overwrite`")
    summary = seed_summary(res["per_seed"])
    scale = _scale_text(record)
    eps = summary["eps"]
    means = [row["top_eig"]["mean"] for row in summary["per_eps"]]
    counts = summary["counts"]
    rhos = [s["spearman"] for s in summary["per_seed"]]
    all_positive = all(r > 0 for r in rhos)  # NaN (constant lambda_1) is not positive
    passed = bool(summary["mean_increasing"] and all_positive)
    fmt = ", ".join
    parts = [f"{scale}: seed-mean lambda_1 at eps ({fmt(f'{e:g}' for e in eps)}) = "
             f"({fmt(f'{m:.4g}' for m in means)}), "
             f"{'strictly increasing' if summary['mean_increasing'] else 'not increasing'}",
             f"strictly increasing in {counts['increasing']['text']}",
             f"Spearman > 0 in {counts['spearman_positive']['text']} "
             f"(rho {fmt(f'{r:.2f}' for r in rhos)})"]
    if "mean_increasing_normalized" in summary:
        norm = [row["top_normalized"]["mean"] for row in summary["per_eps"]]
        parts.append(f"||theta||^2 lambda_1 ({fmt(f'{m:.4g}' for m in norm)}), increasing in "
                     f"{counts['increasing_normalized']['text']}")
    parts.append("trace (" + fmt(f"{row['trace']['mean']:.4g}" for row in summary["per_eps"])
                 + ")")
    conditions = (
        scale,
        f"ResNet18 trained with L-inf PGD on {record['config']['dataset'].upper()}, not the "
        "theorem's L2 linear model",
        "lambda_1: raw top eigenvalue of the Hessian of the adversarial loss in the weights, "
        "the evaluation PGD's examples held fixed, BatchNorm in eval mode",
    )
    counter = None if passed else {
        "eps": eps, "mean_top_eig": means,
        "per_seed": [{"seed": s["seed"], "top_eig": s["top_eig"], "spearman": s["spearman"]}
                     for s in summary["per_seed"]]}
    return Evidence("data", passed, "; ".join(parts), conditions=conditions,
                    counterexample=counter,
                    details={"scale": scale, "file": str(file), "summary": summary,
                             "profile": record["provenance"].get("profile")})
