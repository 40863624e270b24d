"""Tests for numerics.nets.models: shapes, parameter counts, BN conventions, bad input."""

from __future__ import annotations

import pytest
import torch

from numerics.nets.models import (
    MLP,
    PreActResNet18,
    ResNet18,
    SmallCNN,
    build_model,
    count_parameters,
)
from theory.errors import ConfigError


def test_resnet18_parameter_count_matches_cifar_resnet18() -> None:
    # the CIFAR ResNet18 of Madry et al./Kuang Liu's reference has 11,173,962 parameters
    assert count_parameters(ResNet18(dtype=torch.float32)) == 11_173_962
    assert count_parameters(PreActResNet18(dtype=torch.float32)) == 11_172_170  # incl. the final BN


def test_resnet18_stem_keeps_resolution_and_has_no_maxpool() -> None:
    model = ResNet18(num_classes=7, in_channels=1, width=4)
    assert model.conv1.kernel_size == (3, 3)
    assert model.conv1.stride == (1, 1)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in model.modules())
    x = torch.rand(3, 1, 28, 28, dtype=torch.float64)
    out = model(x)
    assert out.shape == (3, 7)
    assert out.dtype == torch.float64


@pytest.mark.parametrize("cls", [ResNet18, PreActResNet18])
def test_resnets_any_channels_and_classes(cls: type) -> None:
    model = cls(num_classes=3, in_channels=3, width=4).eval()
    x = torch.rand(2, 3, 16, 16, dtype=torch.float64)
    assert model(x).shape == (2, 3)
    # eval mode: a sample's logits do not depend on the rest of the batch
    torch.testing.assert_close(model(x)[:1], model(x[:1]), rtol=1e-12, atol=1e-12)


def test_small_models_shapes() -> None:
    x = torch.rand(4, 1, 28, 28, dtype=torch.float64)
    assert SmallCNN()(x).shape == (4, 10)
    assert SmallCNN(hidden=16, batchnorm=True)(x).shape == (4, 10)
    assert MLP(hidden=(8, 8), activation="tanh")(x).shape == (4, 10)
    assert count_parameters(MLP(in_features=4, num_classes=3, hidden=())) == 4 * 3 + 3


def test_build_model_by_name() -> None:
    assert isinstance(build_model("ResNet-18", width=4), ResNet18)
    assert isinstance(build_model("preact_resnet18", width=4), PreActResNet18)
    with pytest.raises(ConfigError, match="use one of"):
        build_model("vgg16")


def test_bad_input_raises_clear_errors() -> None:
    with pytest.raises(ConfigError, match="in_channels=3"):
        ResNet18(in_channels=1, width=4)(torch.rand(1, 3, 8, 8, dtype=torch.float64))
    with pytest.raises(ConfigError, match="in_features"):
        MLP(in_features=10)(torch.rand(2, 11, dtype=torch.float64))
    with pytest.raises(ConfigError):
        ResNet18(num_classes=1)
    with pytest.raises(ConfigError, match="activation"):
        MLP(activation="gelu")
