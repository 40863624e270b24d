"""The numbers printed in Yamada et al. 2021 (tables 1-6), as anchors for the reproductions.

Every table maps eps (as a float; L-inf budgets are k/255) to ``(train acc, test acc, gap)`` in
percent, exactly as printed. ``gap`` is the paper's |train - test|. Tables 1-4 are MNIST2 linear
logistic regression (Section 5.1); tables 5-6 are ResNet18 with softmax (Section 5.2). The paper's
text does not say which of tables 5 and 6 is CIFAR-10 and which SVHN (the captions were lost);
:data:`RESNET_TABLE_DATASET` records our reading, and the numbers stay keyed by table number.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import NamedTuple

__all__ = [
    "CIFAR2_L2_EPS",
    "CIFAR2_LINF_EPS",
    "CIFAR2_TABLES",
    "L2_EPS",
    "LINF_EPS",
    "LINF_EPS_255",
    "MNIST2_TABLES",
    "PRINTED_RESOLUTION",
    "RESNET_TABLES",
    "RESNET_TABLE_DATASET",
    "TABLE1_L2_ADVERSARIAL",
    "TABLE2_L2_RANDOM",
    "TABLE3_LINF_ADVERSARIAL",
    "TABLE4_LINF_RANDOM",
    "TABLE5_RESNET18",
    "TABLE6_RESNET18",
    "TABLES_BY_DATASET",
    "PaperRow",
    "TableSpec",
    "eps_label",
]

PRINTED_RESOLUTION = 0.01
"""The paper prints accuracies and gaps in percent to two decimals."""


class PaperRow(NamedTuple):
    """One row of a table: accuracies in percent and the gap |train - test|."""

    train: float
    test: float
    gap: float


def _table(rows: dict[float, tuple[float, float, float]]) -> MappingProxyType:
    return MappingProxyType({eps: PaperRow(*row) for eps, row in rows.items()})


L2_EPS: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
"""The L2 budgets of tables 1-2."""

LINF_EPS_255: tuple[float, ...] = (0.0, 4.0, 8.0, 12.0, 16.0, 25.5, 51.0, 76.5)
"""The L-inf budgets of table 3 in units of 1/255 (table 4 stops at 16/255)."""

LINF_EPS: tuple[float, ...] = tuple(k / 255 for k in LINF_EPS_255)

TABLE1_L2_ADVERSARIAL = _table({
    0.0: (99.89, 99.95, 0.06), 0.2: (99.79, 99.95, 0.16), 0.4: (99.75, 99.86, 0.11),
    0.6: (99.76, 99.76, 0.00), 0.8: (99.64, 99.76, 0.12), 1.0: (99.49, 99.62, 0.13),
})
TABLE2_L2_RANDOM = _table({
    0.0: (99.89, 99.95, 0.06), 0.2: (99.89, 99.95, 0.06), 0.4: (99.89, 99.95, 0.06),
    0.6: (99.89, 99.95, 0.06), 0.8: (99.89, 99.95, 0.06), 1.0: (99.88, 99.95, 0.07),
})
TABLE3_LINF_ADVERSARIAL = _table({
    0 / 255: (99.89, 99.91, 0.02), 4 / 255: (99.79, 99.95, 0.16),
    8 / 255: (99.74, 99.86, 0.12), 12 / 255: (99.79, 99.76, 0.02),
    16 / 255: (99.72, 99.76, 0.05), 25.5 / 255: (99.46, 99.67, 0.21),
    51 / 255: (97.84, 98.53, 0.70), 76.5 / 255: (95.40, 96.64, 1.24),
})
TABLE4_LINF_RANDOM = _table({
    0 / 255: (99.89, 99.91, 0.02), 4 / 255: (99.89, 99.91, 0.02),
    8 / 255: (99.89, 99.91, 0.02), 12 / 255: (99.89, 99.91, 0.02),
    16 / 255: (99.89, 99.91, 0.02),
})
TABLE5_RESNET18 = _table({
    0 / 255: (99.00, 93.89, 5.11), 4 / 255: (81.90, 69.73, 12.17),
    8 / 255: (63.81, 50.98, 12.83), 12 / 255: (50.83, 36.69, 14.14),
    16 / 255: (47.56, 25.61, 21.95),
})
TABLE6_RESNET18 = _table({
    0 / 255: (100.00, 96.13, 3.87), 4 / 255: (83.53, 73.51, 10.01),
    8 / 255: (70.96, 51.82, 19.14), 12 / 255: (64.58, 36.93, 27.65),
    16 / 255: (60.93, 29.59, 31.34),
})

RESNET_TABLE_DATASET: MappingProxyType = MappingProxyType({5: "cifar10", 6: "svhn"})
"""Our reading of the lost captions: table 5 (lower accuracies, 93.89% clean test) is CIFAR-10,
table 6 (96.13% clean test, typical of SVHN) is SVHN. The paper's text cites "Tables 6 and 5"
without naming the data set; treat this mapping as an interpretation, not a quotation."""


class TableSpec(NamedTuple):
    """What one MNIST2 table is: threat model, training kind and the paper's rows."""

    number: int
    norm: str  # "l2" or "linf"
    training: str  # "adversarial" or "random"
    rows: MappingProxyType


MNIST2_TABLES: MappingProxyType = MappingProxyType({
    1: TableSpec(1, "l2", "adversarial", TABLE1_L2_ADVERSARIAL),
    2: TableSpec(2, "l2", "random", TABLE2_L2_RANDOM),
    3: TableSpec(3, "linf", "adversarial", TABLE3_LINF_ADVERSARIAL),
    4: TableSpec(4, "linf", "random", TABLE4_LINF_RANDOM),
})
"""Tables 1-4 of Yamada et al. (MNIST2, linear logistic regression)."""

CIFAR2_L2_EPS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
"""The L2 budgets of the CIFAR2 tables (the suite's grid: the paper prints no CIFAR2 table)."""

CIFAR2_LINF_EPS: tuple[float, ...] = tuple(k / 255 for k in (0.0, 1.0, 2.0, 4.0, 8.0))
"""The L-inf budgets of the CIFAR2 tables, {0, 1, 2, 4, 8}/255 (the suite's grid)."""


def _unprinted(eps: tuple[float, ...]) -> MappingProxyType:
    return MappingProxyType({e: None for e in eps})


CIFAR2_TABLES: MappingProxyType = MappingProxyType({
    1: TableSpec(1, "l2", "adversarial", _unprinted(CIFAR2_L2_EPS)),
    2: TableSpec(2, "l2", "random", _unprinted(CIFAR2_L2_EPS)),
    3: TableSpec(3, "linf", "adversarial", _unprinted(CIFAR2_LINF_EPS)),
    4: TableSpec(4, "linf", "random", _unprinted(CIFAR2_LINF_EPS)),
})
"""Tables 1-4 in the MNIST2 layout on CIFAR2 (frog vs ship, Yamada et al.'s appendix C): the
paper uses the data set but prints no table for it, so every row's paper value is None."""

TABLES_BY_DATASET: MappingProxyType = MappingProxyType({"mnist2": MNIST2_TABLES,
                                                         "cifar2": CIFAR2_TABLES})

RESNET_TABLES: MappingProxyType = MappingProxyType({5: TABLE5_RESNET18, 6: TABLE6_RESNET18})
"""Tables 5-6 of Yamada et al. (ResNet18, L-inf PGD, eps in {0, 4, 8, 12, 16}/255)."""


def eps_label(eps: float, norm: str) -> str:
    """The paper's label of a budget: ``0.40`` for L2, ``25.5/255`` for L-inf."""
    if norm == "l2":
        return f"{eps:.2f}"
    k = round(eps * 255, 6)
    return f"{k:g}/255"
