"""The ResNet18 study's face (:mod:`numerics.experiments.protocol`): Yamada et al.'s section 5.2
(figure 4, tables 5-6), one network adversarially trained per budget and seed, then its
curvature and landscape.

Its scales are :func:`~numerics.experiments.resnet.config.profile_config`'s: ``full`` (the
Config's defaults) and ``gpu`` are the paper's CIFAR-10 setting on a GPU; ``cpu`` is the
reduced-width seed sweep on MNIST that 2 CPU cores finish (the committed
``results/resnet/mnist_cpu.json``, the deep regime of the Y-T1 data evidence); ``ci`` a smoke run
of the machinery (``results/resnet/mnist_ci.json``). Units: one per (eps, seed).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from numerics.experiments.resnet.config import ResNetExperimentConfig, profile_config
from numerics.experiments.resnet.seeds import run_resnet_seeds, unit_names
from numerics.experiments.units import Units

__all__ = ["CLAIMS", "EVIDENCE", "MINUTES", "NAME", "REPRODUCE", "RESULT", "SCALES", "TITLE",
           "Config", "judge", "run", "unit_names"]

NAME = "resnet"
TITLE = "ResNet18 adversarial training per budget: accuracies, Hessian spectra, landscapes (5.2)"
CLAIMS = ("Y-T1",)


def _values(cfg: ResNetExperimentConfig) -> dict[str, Any]:
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name != "profile"}


_FULL = profile_config("cifar10", "full")

#: The paper's scale: ResNet18 (width 64) on the whole of CIFAR-10, Madry et al.'s settings,
#: eps in {0, 4, 8, 12, 16}/255, the fast path on a GPU.
Config = dataclasses.make_dataclass(
    "Config",
    [(name, type(value), dataclasses.field(default=value))
     for name, value in {**_values(_FULL), "profile": "full"}.items()],
    bases=(ResNetExperimentConfig,), frozen=True,
    namespace={"__doc__": "ResNetExperimentConfig at the paper's scale (CIFAR-10, GPU).",
               "__module__": __name__})

SCALES: dict[str, dict[str, Any]] = {
    "ci": _values(profile_config("mnist", "ci")),
    "cpu": _values(profile_config("mnist", "cpu")),
    "full": {},
    "gpu": _values(profile_config("cifar10", "gpu")),
}
#: ci and cpu on 2 CPU cores; full and gpu need a GPU (minutes of one H100, estimated).
MINUTES = {"ci": 6.0, "cpu": 25.0, "full": 16.0, "gpu": 16.0}
RESULT = {"ci": "mnist_ci.json", "cpu": "mnist_cpu.json", "full": "cifar10_full.json",
          "gpu": "cifar10_gpu.json"}
#: ``reproduce --scale full`` runs the CPU scale (the paper's needs a GPU).
REPRODUCE = {"ci": "ci", "full": "cpu"}
#: Read by the MNIST2 study's Y-T1 evidence as its deep regime.
EVIDENCE: dict[str, Any] = {}


def run(cfg: ResNetExperimentConfig, units: Units) -> dict[str, Any]:
    """:func:`run_resnet_seeds`, each (eps, seed) a unit."""
    return run_resnet_seeds(cfg, units)


def judge(results: dict[str, Any]) -> str:
    """One line: how lambda_1 moves with eps (per seed counts for a seed sweep)."""
    if "summary" in results:
        counts = results["summary"]["counts"]
        return (f"lambda_1 strictly increasing in eps in {counts['increasing']['text']}, "
                f"Spearman > 0 in {counts['spearman_positive']['text']}; seed mean increasing: "
                f"{results['summary']['mean_increasing']}")
    top = [r["curvature"]["top_eigs"][0] for r in results["runs"]]
    return "lambda_1 per eps: " + ", ".join(f"{v:.4g}" for v in top)
