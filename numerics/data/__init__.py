"""The data layer: readers for MNIST, MNIST2, CIFAR-10, CIFAR2, SVHN and sklearn's digits.

Also the checksum registry of every known file (:data:`DATASETS`), file verification, a
resumable, verified download, and the seeded subsets the experiments draw
(:func:`seeded_subset_indices`). Loaders return numpy arrays (their docstrings state dtype, layout
and range) and cache them in memory. They check a file's registered size and digests before
parsing it, and download a missing data set on first use unless ``$ADVLANDSCAPE_OFFLINE`` is set
(:func:`numerics.data.fetch.fetch_missing`).
"""

from numerics.data.arrays import LabeledArrays
from numerics.data.cifar10 import CIFAR10_CLASSES, load_cifar2, load_cifar10, read_cifar_batch
from numerics.data.digits import load_digits01
from numerics.data.fetch import download
from numerics.data.mnist import load_mnist, load_mnist2, load_mnist_float, read_idx
from numerics.data.paths import data_dir
from numerics.data.registry import DATASETS, FileSpec, check_dataset, verify_file
from numerics.data.subsets import seeded_subset_indices
from numerics.data.svhn import load_svhn, read_svhn_mat

__all__ = [
    "CIFAR10_CLASSES",
    "DATASETS",
    "FileSpec",
    "LabeledArrays",
    "check_dataset",
    "data_dir",
    "download",
    "load_cifar2",
    "load_cifar10",
    "load_digits01",
    "load_mnist",
    "load_mnist2",
    "load_mnist_float",
    "load_svhn",
    "read_cifar_batch",
    "read_idx",
    "read_svhn_mat",
    "seeded_subset_indices",
    "verify_file",
]
