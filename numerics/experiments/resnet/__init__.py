r"""ResNet18 with softmax under PGD adversarial training: Yamada et al. Section 5.2 (Y-T1).

For each budget ``eps`` the experiment trains a network with PGD (:mod:`numerics.nets.train`) and
measures, at the trained weights θ_eps:

- train and test accuracy, clean and robust (PGD-``eval_steps``), and the gaps train - test
  (Yamada et al. tables 5-6 report the robust ones: the accuracy under the training attack);
- the top-k eigenvalues of the weight Hessian of the adversarial loss, adversarial examples held
  fixed, BatchNorm in eval mode (:func:`numerics.spectra.top_hessian_eigs` on a
  :class:`numerics.nets.curvature.HessianOperator`, checked by power iteration) and its
  Hutchinson trace (Y-T1: "larger eps, sharper landscape");
- a 1-D filter-normalised landscape ``a -> L_adv(θ + a d)``, re-attacked at every point
  (:func:`numerics.nets.landscape.landscape_1d`; Figure 4).

Data: ``mnist`` (1 channel, 28x28), ``cifar10`` and ``svhn`` (3 channels, 32x32) through
:mod:`numerics.data`, subsampled to ``n_train``/``n_test`` with the config's seed. The function is
pure: a config in, a results record out (:func:`run_resnet_experiment`); :func:`write_resnet_result`
writes it with provenance.

The modules, by job: :mod:`~numerics.experiments.resnet.config` (the sweep's settings and
profiles), :mod:`~numerics.experiments.resnet.data` (loading the images),
:mod:`~numerics.experiments.resnet.run` (one sweep, its checkpoints, the record),
:mod:`~numerics.experiments.resnet.seeds` (seed sweeps and their statistics) and
:mod:`~numerics.experiments.resnet.evidence` (Y-T1 (b) on a deep net from the committed record).
"""

from numerics.experiments.resnet.config import (
    CPU_SCALE,
    DATASETS,
    SCALES,
    ResNetExperimentConfig,
    profile_config,
)
from numerics.experiments.resnet.data import ImageData, load_image_data
from numerics.experiments.resnet.data import _to_tensor as _to_tensor
from numerics.experiments.resnet.evidence import (
    CPU_RESULT_FILE,
    GPU_RESULT_FILE,
    evidence_y_t1_deep,
)
from numerics.experiments.resnet.run import (
    checkpoint_callables,
    checkpoint_files,
    existing_checkpoints,
    run_resnet_experiment,
    write_resnet_result,
)
from numerics.experiments.resnet.seeds import (
    run_resnet_seeds,
    seed_configs,
    seed_summary,
)

__all__ = [
    "CPU_RESULT_FILE",
    "CPU_SCALE",
    "DATASETS",
    "GPU_RESULT_FILE",
    "SCALES",
    "ImageData",
    "ResNetExperimentConfig",
    "checkpoint_callables",
    "checkpoint_files",
    "evidence_y_t1_deep",
    "existing_checkpoints",
    "load_image_data",
    "profile_config",
    "run_resnet_experiment",
    "run_resnet_seeds",
    "seed_configs",
    "seed_summary",
    "write_resnet_result",
]
