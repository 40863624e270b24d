"""The return type of the loaders: images or feature vectors with their labels and a note."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

__all__ = ["LabeledArrays", "fresh", "readonly"]


@dataclass(frozen=True)
class LabeledArrays:
    """Arrays ``x`` and labels ``y`` of one split, unpackable as ``x, y = loaded``.

    Attributes:
        x: the inputs; the loader's docstring states dtype, layout and range.
        y: the labels (int64 class indices, or float64 -1/+1 for the binary sets).
        name: the data set (``"cifar10"``, ``"svhn"``, ...).
        split: ``"train"``, ``"test"``, ...
        classes: class names in label order (for -1/+1 sets: the -1 class, then the +1 class).
        source: where the arrays came from (file or layout).
        note: anything the caller must know (e.g. an incomplete test set); empty if nothing.
    """

    x: np.ndarray
    y: np.ndarray
    name: str
    split: str
    classes: tuple[str, ...]
    source: str = ""
    note: str = ""

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.x, self.y))

    def __len__(self) -> int:
        return int(self.x.shape[0])


def readonly(*arrays: np.ndarray) -> None:
    """Mark arrays read-only, so that cached arrays cannot be modified by a caller."""
    for array in arrays:
        array.setflags(write=False)


def fresh(loaded: LabeledArrays) -> LabeledArrays:
    """A writable copy of cached arrays: the in-memory cache stays read-only, so no caller can
    change what the next caller loads, and the caller's arrays take ``torch.as_tensor`` (which
    warns on read-only arrays) and in-place edits."""
    return replace(loaded, x=loaded.x.copy(), y=loaded.y.copy())
