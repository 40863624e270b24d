"""The data layer: readers for MNIST, MNIST2, CIFAR-10, SVHN and sklearn's digits."""

from numerics.data.mnist import load_mnist, load_mnist2, read_idx
from numerics.data.paths import data_dir

__all__ = ["data_dir", "load_mnist", "load_mnist2", "read_idx"]
