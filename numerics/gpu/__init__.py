"""The staged GPU programme (``advlandscape gpu``, ``python -m numerics.gpu``): six stages in two
GPU runs of at most 8 minutes, each stage's record written as it ends and skipped when present.

Modules, one job each: :mod:`~numerics.gpu.plan` (the stages, their sizes, runs and estimates),
:mod:`~numerics.gpu.flops` and :mod:`~numerics.gpu.costs` (the cost model),
:mod:`~numerics.gpu.pack` (the data pack and its manifest), :mod:`~numerics.gpu.data` (images
from a pack), :mod:`~numerics.gpu.runner` (the stage loop), and one module per stage:
:mod:`~numerics.gpu.environment` (1), :mod:`~numerics.gpu.fastpath` (2),
:mod:`~numerics.gpu.benchmark` (3), :mod:`~numerics.gpu.sweeps` with
:mod:`~numerics.gpu.figures` (4, 5), :mod:`~numerics.gpu.pas_resnet` (6).

The package imports only the standard library, torch, numpy, scipy, sympy, matplotlib, tqdm and
pyyaml (what the GPU machine has), and the heavier of those only when a stage runs.
"""

__all__: list[str] = []
