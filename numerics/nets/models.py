"""Network architectures: CIFAR ResNet18 and PreActResNet18, a small CNN, Madry et al.'s MNIST
CNN at a chosen width and a small MLP.

Every model maps images ``(N, C, H, W)`` (or flat vectors for :class:`MLP`) to logits ``(N, K)``;
the loss is the softmax cross-entropy of those logits. ``in_channels`` and ``num_classes`` are
free, so the same code serves MNIST (1 channel, 10 classes), CIFAR-10 and SVHN (3 channels).

ResNet18 follows the CIFAR variant of He et al. 2016 used by Madry et al. 2018 and Wu et al.
2020: a 3x3 stride-1 stem with no max-pool, four stages of two basic blocks with widths
``(w, 2w, 4w, 8w)`` (``w = 64`` in the paper; ``width`` lets CPU runs shrink it), global average
pooling and a linear head. PreActResNet18 (He et al. 2016b) puts BatchNorm and ReLU before each
convolution. Models are built in float64 on the CPU by default (the verification convention);
pass ``dtype``/``device`` for the GPU path.
"""

from __future__ import annotations

import torch
from torch import nn

from theory.errors import ConfigError

__all__ = [
    "MLP",
    "BasicBlock",
    "MadryCNN",
    "PreActBlock",
    "PreActResNet18",
    "ResNet18",
    "SmallCNN",
    "build_model",
    "count_parameters",
]


def _check_int(value: int, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


class BasicBlock(nn.Module):
    """Post-activation basic block: y = relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)).

    The shortcut is the identity, or a 1x1 strided convolution with BatchNorm when the stride or
    the number of channels changes.
    """

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut: nn.Module = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class PreActBlock(nn.Module):
    """Pre-activation block: y = conv(relu(bn(conv(relu(bn(x)))))) + shortcut(relu(bn(x)))."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(torch.relu(self.bn2(out)))
        return out + shortcut


class _ResNet(nn.Module):
    """Shared CIFAR ResNet body: 3x3 stem, four stages, global average pooling, linear head."""

    def __init__(
        self, block: type[nn.Module], num_blocks: tuple[int, ...], *, num_classes: int,
        in_channels: int, width: int, preact: bool,
    ) -> None:
        super().__init__()
        _check_int(num_classes, "num_classes", 2)
        _check_int(in_channels, "in_channels")
        _check_int(width, "width")
        self.num_classes, self.in_channels, self.width = num_classes, in_channels, width
        self.preact = preact
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride=1, padding=1, bias=False)
        self.bn1: nn.Module = nn.Identity() if preact else nn.BatchNorm2d(width)
        planes_in = width
        stages = []
        for i, n in enumerate(num_blocks):
            planes = width * 2**i
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(block(planes_in, planes, stride))
                planes_in = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        # pre-activation nets end with BN + ReLU before the pooling
        self.bn_final: nn.Module = nn.BatchNorm2d(planes_in) if preact else nn.Identity()
        self.linear = nn.Linear(planes_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ConfigError(
                f"{type(self).__name__} expects images (N, {self.in_channels}, H, W), got shape "
                f"{tuple(x.shape)}: reshape the data or build the model with "
                f"in_channels={x.shape[1] if x.dim() == 4 else '?'}"
            )
        out = self.conv1(x)
        if not self.preact:
            out = torch.relu(self.bn1(out))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        if self.preact:
            out = torch.relu(self.bn_final(out))
        out = torch.flatten(nn.functional.adaptive_avg_pool2d(out, 1), 1)
        return self.linear(out)


class ResNet18(_ResNet):
    """CIFAR ResNet18 (11.2M parameters at width 64, 10 classes, 3 channels).

    Args:
        num_classes: K, the number of logits. in_channels: C of the input images.
        width: channels of the first stage (64 in the paper; smaller for CPU smoke runs).
        dtype, device: where the parameters live (float64 on the CPU by default).
    """

    def __init__(
        self, num_classes: int = 10, in_channels: int = 3, width: int = 64, *,
        dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu",
    ) -> None:
        super().__init__(BasicBlock, (2, 2, 2, 2), num_classes=num_classes,
                         in_channels=in_channels, width=width, preact=False)
        self.to(dtype=dtype, device=device)


class PreActResNet18(_ResNet):
    """PreActResNet18 (He et al. 2016b), the network of Wu et al. 2020 and Rice et al. 2020.

    Args as for :class:`ResNet18`.
    """

    def __init__(
        self, num_classes: int = 10, in_channels: int = 3, width: int = 64, *,
        dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu",
    ) -> None:
        super().__init__(PreActBlock, (2, 2, 2, 2), num_classes=num_classes,
                         in_channels=in_channels, width=width, preact=True)
        self.to(dtype=dtype, device=device)


class SmallCNN(nn.Module):
    """A small CNN for CPU experiments: [conv3x3 -> ReLU -> 2x2 max-pool] x 2, then linear.

    ``channels = (c1, c2)``; with ``batchnorm=True`` a BatchNorm follows each convolution (to
    exercise the BN conventions of curvature and landscapes on a model small enough for a dense
    Hessian). The spatial size after the two pools is ``(H // 4, W // 4)``.

    Args:
        num_classes: K. in_channels: C. image_size: H = W of the inputs (28 for MNIST).
        channels: output channels of the two convolutions. hidden: width of a hidden linear layer
            (0 for none). batchnorm: add BatchNorm after each convolution. kernel_size: of the
            convolutions (odd; "same" padding).
    """

    def __init__(
        self, num_classes: int = 10, in_channels: int = 1, image_size: int = 28,
        channels: tuple[int, int] = (8, 16), hidden: int = 0, batchnorm: bool = False,
        kernel_size: int = 3, *, dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        _check_int(num_classes, "num_classes", 2)
        _check_int(in_channels, "in_channels")
        _check_int(image_size, "image_size", 4)
        c1, c2 = (_check_int(c, "channels") for c in channels)
        _check_int(hidden, "hidden", 0)
        if _check_int(kernel_size, "kernel_size") % 2 == 0:
            raise ConfigError(f"kernel_size must be odd (same padding), got {kernel_size}")
        k, pad = kernel_size, kernel_size // 2
        self.in_channels = in_channels

        def bn(c: int) -> nn.Module:
            return nn.BatchNorm2d(c) if batchnorm else nn.Identity()

        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, k, padding=pad), bn(c1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, k, padding=pad), bn(c2), nn.ReLU(), nn.MaxPool2d(2),
        )
        flat = c2 * (image_size // 4) ** 2
        if hidden:
            self.classifier = nn.Sequential(
                nn.Flatten(), nn.Linear(flat, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)
            )
        else:
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(flat, num_classes))
        self.to(dtype=dtype, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ConfigError(
                f"SmallCNN expects images (N, {self.in_channels}, H, W), got shape "
                f"{tuple(x.shape)}"
            )
        return self.classifier(self.features(x))


class MadryCNN(SmallCNN):
    """Madry et al. 2018's MNIST network at width ``w``: conv5x5(w) -> ReLU -> 2x2 max-pool ->
    conv5x5(2w) -> ReLU -> 2x2 max-pool -> linear(32w) -> ReLU -> linear(K), no BatchNorm.

    ``width=32`` is the paper's network (32 and 64 filters, 1024 hidden units); smaller widths
    narrow every layer by the same factor (CPU studies).
    """

    def __init__(
        self, num_classes: int = 10, in_channels: int = 1, image_size: int = 28,
        width: int = 32, *, dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ) -> None:
        w = _check_int(width, "width")
        super().__init__(num_classes, in_channels, image_size, channels=(w, 2 * w),
                         hidden=32 * w, kernel_size=5, dtype=dtype, device=device)


_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "tanh": nn.Tanh, "softplus": nn.Softplus,
}


class MLP(nn.Module):
    """A fully connected network: flatten -> [Linear -> activation] x len(hidden) -> Linear.

    Inputs of any shape ``(N, ...)`` are flattened to ``(N, in_features)``. ``hidden=()`` gives
    multinomial logistic regression.

    Args:
        in_features: d = prod of the input's non-batch dimensions (784 for MNIST).
        num_classes: K (>= 2). hidden: widths of the hidden layers.
        activation: ``"relu"``, ``"tanh"`` or ``"softplus"`` (smooth, for curvature checks).
    """

    def __init__(
        self, in_features: int = 784, num_classes: int = 10, hidden: tuple[int, ...] = (32,),
        activation: str = "relu", *,
        dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        _check_int(in_features, "in_features")
        _check_int(num_classes, "num_classes", 2)
        if activation not in _ACTIVATIONS:
            raise ConfigError(
                f"unknown activation {activation!r}: use one of {sorted(_ACTIVATIONS)}"
            )
        self.in_features = in_features
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            _check_int(h, "hidden width")
            layers += [nn.Linear(width, h), _ACTIVATIONS[activation]()]
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)
        self.activation = activation
        self.to(dtype=dtype, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x[0].numel() != self.in_features:
            raise ConfigError(
                f"MLP expects {self.in_features} features per sample, got shape "
                f"{tuple(x.shape)}: build it with in_features={x[0].numel()}"
            )
        return self.net(x)

    @torch.no_grad()
    def loss_input_gradient(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        r"""The gradient of sum_n CE(f(x_n), y_n) with respect to the inputs ``x`` (its shape),
        in closed form: the backward pass written out, with no graph recorded.

        With z_l = W_l h_{l-1} + b_l, h_l = a(z_l), h_0 = x: the gradient at the logits is
        softmax(z_L) - onehot(y), then g_{l-1} = (g_l W_l) * a'(z_{l-1}) (ReLU: 1[z > 0],
        autograd's convention at 0; tanh: 1 - h^2; softplus: sigmoid(z)), and the input's is
        g_1 W_1. A PGD step on an MLP needs only this (:func:`numerics.nets.attack.
        adversarial_examples`); autograd's answer to rounding (``tests/test_nets_attack.py``).
        """
        linear = [m for m in self.net if isinstance(m, nn.Linear)]
        h = x.reshape(x.shape[0], -1)
        pre = []
        for i, layer in enumerate(linear):
            z = torch.addmm(layer.bias, h, layer.weight.T)
            if i < len(linear) - 1:
                pre.append(z)
                h = torch.relu(z) if self.activation == "relu" else (
                    torch.tanh(z) if self.activation == "tanh" else nn.functional.softplus(z))
        g = torch.softmax(z, dim=1)
        g[torch.arange(g.shape[0], device=g.device), y] -= 1.0
        for layer, z in zip(reversed(linear[1:]), reversed(pre), strict=True):
            g = g @ layer.weight
            if self.activation == "relu":
                g = g * (z > 0)
            elif self.activation == "tanh":
                g = g * (1.0 - torch.tanh(z) ** 2)
            else:
                g = g * torch.sigmoid(z)
        return (g @ linear[0].weight).reshape(x.shape)


_MODELS: dict[str, type[nn.Module]] = {
    "resnet18": ResNet18,
    "preactresnet18": PreActResNet18,
    "smallcnn": SmallCNN,
    "madrycnn": MadryCNN,
    "mlp": MLP,
}


def build_model(name: str, **kwargs: object) -> nn.Module:
    """Build a model by name (``resnet18``, ``preactresnet18``, ``smallcnn``, ``madrycnn``,
    ``mlp``).

    The initial weights are drawn in float32 and then cast to ``dtype``, whatever torch's default
    dtype is: a seed gives the same network in the CLI, in tests and in notebooks.
    """
    key = name.strip().lower().replace("-", "").replace("_", "")
    if key not in _MODELS:
        raise ConfigError(f"unknown model {name!r}: use one of {sorted(_MODELS)}")
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        return _MODELS[key](**kwargs)  # type: ignore[arg-type]
    finally:
        torch.set_default_dtype(previous)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
