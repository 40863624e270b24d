"""The hypotheses of each claim, as data: what a proof of the claim may assume.

A proof step records the assumptions it uses (:mod:`theory.proof`): the declared properties of
the symbols in its expressions, read from SymPy (``positive=True`` on ``epsilon`` is the fact
``"epsilon > 0"``), and the facts it names explicitly. A step is machine-checked only when each
of them is granted by a hypothesis of its claim (below), by the setting every claim shares
(:data:`SETTING`), or by an earlier machine-checked step that establishes it. This module is
keyed by claim id (the lead may fold it into the claims table).

A :class:`Hypothesis` has the text a reader states and the facts it grants, in the names the
proofs' symbols carry. A fact ``"x > 0"`` grants ``"x >= 0"`` and ``"x != 0"`` too.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HYPOTHESES", "SETTING", "Hypothesis", "grants", "hypotheses"]


@dataclass(frozen=True)
class Hypothesis:
    """A hypothesis: the ``text`` a reader checks, and the symbol ``facts`` it grants."""

    text: str
    facts: tuple[str, ...] = ()


def grants(fact: str) -> set[str]:
    """The facts that ``fact`` implies: ``x > 0`` gives ``x >= 0`` and ``x != 0``; ``x < 0``
    gives ``x <= 0`` and ``x != 0``."""
    out = {fact}
    for strong, weak in ((" > 0", (" >= 0", " != 0")), (" < 0", (" <= 0", " != 0"))):
        if fact.endswith(strong):
            name = fact[: -len(strong)]
            out |= {name + w for w in weak}
    return out


#: The setting of every claim: the notation of docs/claims.md. Every symbol denotes a real
#: number (SymPy's ``real=True`` is the setting, never recorded as an assumption), the dimension
#: d and the number of points N are positive integers, and indices are integers.
SETTING: tuple[Hypothesis, ...] = (
    Hypothesis("the dimension d and the number of points N are positive integers; the indices "
               "i, j, k (1..d) and n (1..N) are integers",
               ("d > 0", "d integer", "N > 0", "N integer", "i integer", "j integer",
                "k integer", "n integer")),
)

_EPS_NONNEG = Hypothesis("eps >= 0 (the budget)", ("epsilon >= 0",))
_EPS_POS = Hypothesis("eps > 0 (the budget)", ("epsilon > 0", "epsilon >= 0"))
_W_NONZERO = Hypothesis("w != 0 (||w||_2 > 0: w^ = w/||w|| is defined)", ("norm_w > 0", "w != 0"))
_Y = Hypothesis("y in {-1, +1} (each label value is checked separately)")

_BOX = Hypothesis("lo <= 0 <= hi coordinatewise (x lies in the box)", ("l <= 0", "h >= 0"))

_SET_R = Hypothesis("r > 0, and w1, w2 lie in {||w|| >= r} (the set on which K(r) is claimed)",
                    ("r > 0",))

#: claim id -> its hypotheses (beyond :data:`SETTING`).
HYPOTHESES: dict[str, tuple[Hypothesis, ...]] = {
    "Y-EQ7": (_EPS_NONNEG, _Y, Hypothesis("||u||_2 = 1 (eta = eps u)")),
    "Y-L1": (_EPS_NONNEG, _Y, _W_NONZERO,
             Hypothesis("eps > 0 for the worst case u* = -y w/||w|| (at eps = 0 every u is one)",
                        ("epsilon > 0",))),
    "INNER-MAX": (_EPS_NONNEG, _Y,
                  Hypothesis("||eta||_p <= eps; for p = inf eta_i = eps t_i with |t_i| <= 1, i.e. "
                             "a_i = 1 + t_i >= 0 and b_i = 1 - t_i >= 0",
                             ("a_i >= 0", "b_i >= 0")),
                  Hypothesis("w != 0 for the p = 2 maximiser eta* = -eps y w/||w||_2 (the "
                             "maximum value holds at w = 0 too)", ("w != 0",))),
    "BOX-PROJ": (_EPS_NONNEG, _BOX,
                 Hypothesis("for mu > 0: the case ||clip(z, lo, hi)||_2 > eps > 0 (else mu = 0; at "
                            "eps = 0 the set is {0} and the projection 0 is the limit mu -> oo)",
                            ("eps < ||clip(z, lo, hi)||", "epsilon > 0"))),
    "BOX-MAX": (_EPS_NONNEG, _Y, _BOX,
                Hypothesis("for t: the case ||delta_oo||_2 > eps (else the box corner delta_oo)",
                           ("eps < ||delta_oo||",))),
    "Y-HESS": (_Y,),
    "HESS-DEP": (_EPS_NONNEG, _Y, _W_NONZERO,
                 Hypothesis("p = inf: every w_i != 0 (the Hessian is taken off the hyperplanes "
                            "w_i = 0)")),
    "Y-EIG": (_Y, Hypothesis("at eta*: eps >= 0 and w != 0 (eta* = -eps y w^)",
                             ("epsilon >= 0", "w != 0"))),
    "Y-EIG-DEP": (_EPS_POS, _W_NONZERO, _Y),
    "Y-T1": (_EPS_NONNEG, _Y, Hypothesis("w != 0 (W = ||w||_2 > 0)", ("W > 0",)),
             Hypothesis("the sufficient condition m >= m* > 0: m tanh(m/2) = 2 + k, k >= 0",
                        ("m > 0", "k >= 0")),
             Hypothesis("for the strict increase at m = m*: x is not parallel to w, P^2 = P2 > 0",
                        ("P2 > 0",))),
    "Y-T1-LINF": (_EPS_NONNEG, _Y,
                  Hypothesis("every w_i != 0 (off the hyperplanes where ||w||_1 has no Hessian): "
                             "sign(w_i)^2 = 1, ||w||_1 > 0, ||w||_2 > 0",
                             ("w[i] != 0", "norm1_w > 0", "norm2_w > 0")),
                  Hypothesis("sufficient condition (A): m > 0 and sign(w).v = -n < 0",
                             ("m > 0", "n > 0")),
                  Hypothesis("sufficient condition (B): m > 0 with m tanh(m/2) = 1 + kappa + k, "
                             "k >= 0", ("m > 0", "k >= 0")),
                  Hypothesis("for the strict increase under (B): k > 0", ("k > 0",))),
    "Y-T2": (_EPS_NONNEG,
             Hypothesis("zero-mean symmetric noise independent of w with E[eta eta^T] = c^2 I, "
                        "c^2 >= 0 (odd moments vanish)", ("c^2 >= 0",)),
             Hypothesis("the noise radius eps > 0 (ball, sphere, cube) and the Gaussian's "
                        "sigma > 0", ("epsilon > 0", "sigma > 0"))),
    "K-SMOOTH": (_EPS_NONNEG, _Y, _SET_R),
    "L-BUDGET": (_EPS_NONNEG, _Y,
                 Hypothesis("||mu||_inf = max_i |mu_i|: r = ||mu||_inf - |mu_i| >= 0 for every i "
                            "(the definition of the max norm)", ("r >= 0",)),
                 Hypothesis("sufficiency direction: eps >= ||mu||_p, eps = ||mu||_p + gamma, "
                            "gamma >= 0", ("gamma >= 0",)),
                 Hypothesis("necessity direction: eps < ||mu||_p, eps = ||mu||_p - delta, "
                            "delta > 0", ("delta > 0",)),
                 Hypothesis("with a bias: both classes are present, N_+ > 0 and N_- > 0 (else "
                            "b* = log(N+/N-) is not finite)", ("N_+ > 0", "N_- > 0"))),
}


def hypotheses(claim_id: str | None) -> tuple[Hypothesis, ...]:
    """The setting and the hypotheses of ``claim_id`` (the setting alone for None)."""
    if claim_id is None:
        return SETTING
    return SETTING + HYPOTHESES.get(claim_id, ())
