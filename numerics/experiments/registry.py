"""The data studies' evidence by claim: which ``evidence_*`` functions judge each claim on data.

:func:`evidence_by_claim` is what the claims ledger (:mod:`numerics.ledger`) registers as the
claims' data checks, in the order their evidence is listed.
"""

from __future__ import annotations

from collections.abc import Callable

from theory.evidence import Evidence


def evidence_by_claim() -> dict[str, list[Callable[[], Evidence]]]:
    """Claim id -> the functions that judge it on the studies' committed records, in order."""
    from numerics.experiments.budget import evidence_l_budget
    from numerics.experiments.findings import evidence_l_findings
    from numerics.experiments.mnist2 import evidence_y_t1, evidence_y_t2
    from numerics.experiments.smoothness import evidence_k_smooth

    return {
        "Y-T1": [evidence_y_t1],
        "Y-T2": [evidence_y_t2],
        "K-SMOOTH": [evidence_k_smooth],
        "L-BUDGET": [evidence_l_budget],
        "L-FINDINGS": [evidence_l_findings],
    }
