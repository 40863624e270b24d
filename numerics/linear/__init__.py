"""Linear logistic regression, batched over K models: attacks, training, curvature, landscapes.

The family of Yamada et al.'s section 5.1 (MNIST2) and of the L-BUDGET and K-SMOOTH studies.
Its loss, margins and norms are those of :mod:`numerics.ops`.

* :mod:`~numerics.linear.attack`: PGD (analytic, in place), the exact worst case, noise;
* :mod:`~numerics.linear.train`: the one training loop (:func:`train_models`);
* :mod:`~numerics.linear.curvature`: closed-form gradients, Hessians, operators, eigenpairs;
* :mod:`~numerics.linear.landscape`: filter-normalised 1-D landscapes;
* :mod:`~numerics.linear.bounds`: eps* thresholds and Lipschitz bounds on data;
* :mod:`~numerics.linear.module`: a weight vector as a ``torch.nn`` classifier.
"""

from numerics.linear.attack import (
    accuracy,
    adversarial_loss,
    attacked_margins,
    box_worst_case,
    budgets,
    perturb,
    robust_correct,
)
from numerics.linear.bounds import (
    best_bias_at_zero,
    budget_threshold,
    gradient_bound_constants,
    linf_jump,
    lipschitz_bound,
    segment_min_norm,
    threshold_direction,
)
from numerics.linear.curvature import (
    dlambda1_deps_per_point,
    expected_hessian_approx,
    fixed_noise_eigenpair,
    fixed_noise_operator,
    grad_fixed_noise,
    hessian_fixed_noise,
    hessian_robust,
    increase_condition,
    normalized_sharpness,
    point_hessian_fixed_noise,
    point_robust_hessian,
    robust_eigenpairs,
    robust_operator,
    top_eigenvalue_per_point,
)
from numerics.linear.landscape import filter_normalized_direction, landscape_1d
from numerics.linear.module import LinearLogits, as_module, class_labels
from numerics.linear.train import TrainConfig, TrainResult, loss_gradient, train_models

__all__ = [
    "LinearLogits",
    "TrainConfig",
    "TrainResult",
    "accuracy",
    "adversarial_loss",
    "as_module",
    "attacked_margins",
    "best_bias_at_zero",
    "box_worst_case",
    "budget_threshold",
    "budgets",
    "class_labels",
    "dlambda1_deps_per_point",
    "expected_hessian_approx",
    "filter_normalized_direction",
    "fixed_noise_eigenpair",
    "fixed_noise_operator",
    "grad_fixed_noise",
    "gradient_bound_constants",
    "hessian_fixed_noise",
    "hessian_robust",
    "increase_condition",
    "landscape_1d",
    "linf_jump",
    "lipschitz_bound",
    "loss_gradient",
    "normalized_sharpness",
    "perturb",
    "point_hessian_fixed_noise",
    "point_robust_hessian",
    "robust_correct",
    "robust_eigenpairs",
    "robust_operator",
    "segment_min_norm",
    "threshold_direction",
    "top_eigenvalue_per_point",
    "train_models",
]
