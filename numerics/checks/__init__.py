"""Numeric checks, one module a topic of :mod:`theory`: the closed forms against autograd.

Each module registers its ``check_*`` functions, and the symbolic ``theory.<topic>.verify_*`` of
its topic, with the claims ledger by claim id (:func:`numerics.ledger.register`); importing this
package loads them all.
"""

from numerics.checks import (
    adversarial_loss,
    box,
    budget,
    hessian,
    random_noise,
    smoothness,
    theorem1,
)

__all__ = ["adversarial_loss", "box", "budget", "hessian", "random_noise", "smoothness",
           "theorem1"]
