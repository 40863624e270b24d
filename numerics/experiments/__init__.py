"""Experiments: pure functions from a validated config to a results record, one module a study.

* :mod:`~numerics.experiments.mnist2`: Yamada et al.'s tables 1-4 and figures 2-3 (Y-T1, Y-T2);
* :mod:`~numerics.experiments.resnet`: the ResNet18 sweep of their section 5.2 (Y-T1);
* :mod:`~numerics.experiments.smoothness`: K-SMOOTH on data (Kanai et al.);
* :mod:`~numerics.experiments.budget`: L-BUDGET on data (Liu et al.);
* :mod:`~numerics.experiments.findings` and :mod:`~numerics.experiments.pas`: L-FINDINGS;
* :mod:`~numerics.experiments.studies`: the four data studies by name (the ``liu-kanai`` command);
* :mod:`~numerics.experiments.units`: the protocol they share (units of work, checkpoints,
  seeds, data subsets, committed records); :mod:`~numerics.experiments.paper_values`: the
  papers' printed numbers.

Each study module exports its config, ``run_*``, ``judge_*`` and the ``evidence_*`` functions
the claims ledger calls.
"""

__all__ = ["budget", "findings", "mnist2", "paper_values", "pas", "resnet", "smoothness",
           "studies", "units"]
