"""Experiments: the studies, each a module (or package) with the face of
:mod:`numerics.experiments.protocol`, listed in :mod:`numerics.experiments.registry`.

* :mod:`~numerics.experiments.mnist2`: Yamada et al.'s tables 1-4 and figures 2-3 (Y-T1, Y-T2);
  :mod:`~numerics.experiments.mnist2_wd` (with weight decay) and
  :mod:`~numerics.experiments.cifar2` (the same tables on CIFAR2);
* :mod:`~numerics.experiments.sensitivity`: MNIST2 under the hyperparameters the paper lost;
* :mod:`~numerics.experiments.resnet`: the ResNet18 sweep of their section 5.2 (Y-T1);
* :mod:`~numerics.experiments.smoothness`: K-SMOOTH on data (Kanai et al.);
* :mod:`~numerics.experiments.budget`: L-BUDGET on data (Liu et al.);
* :mod:`~numerics.experiments.findings` and :mod:`~numerics.experiments.pas`: L-FINDINGS;
* :mod:`~numerics.experiments.protocol` (the face, :func:`~numerics.experiments.protocol.execute`),
  :mod:`~numerics.experiments.registry` (every study by name),
  :mod:`~numerics.experiments.units` (resumable units of work, seeds, data subsets, records),
  :mod:`~numerics.experiments.reproduce` (fresh records against committed ones),
  :mod:`~numerics.experiments.paper_values` (the papers' printed numbers).
"""

#: A package face only: import the study modules themselves (their names are above).
__all__: list[str] = []
