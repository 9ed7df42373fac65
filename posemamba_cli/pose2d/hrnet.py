"""HRNet for top-down COCO keypoints, laid out so that mmpose's checkpoints load unchanged.

The module tree mirrors mmpose's parameter names (``backbone.*``, ``head.final_layer.*``): a stem of two
stride-2 convolutions, one stage of bottleneck blocks, then three multi-resolution stages whose branches
exchange information through fuse layers. The last stage keeps only the highest-resolution output, and a
1x1 convolution turns it into one heatmap per keypoint at a quarter of the input size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

NUM_KEYPOINTS = 17
WIDTHS = (32, 48)
# (modules, branches, blocks per branch) of stages 2-4; every branch uses basic blocks.
_STAGES = ((1, 2, 4), (4, 3, 4), (3, 4, 4))


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def _conv1x1(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (channels unchanged)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = _conv3x3(channels, channels)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = _conv3x3(channels, channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (x4), residual through an optional 1x1 projection."""

    expansion = 4

    def __init__(self, cin: int, planes: int) -> None:
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = _conv1x1(cin, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, cout)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = (
            nn.Sequential(_conv1x1(cin, cout), nn.BatchNorm2d(cout)) if cin != cout else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _down_path(cin: int, cout: int, steps: int) -> nn.Sequential:
    """`steps` stride-2 3x3 conv+BN units; all but the last keep `cin` channels and end in ReLU."""
    units = []
    for step in range(steps):
        last = step == steps - 1
        layers: list[nn.Module] = [_conv3x3(cin, cout if last else cin, 2), nn.BatchNorm2d(cout if last else cin)]
        if not last:
            layers.append(nn.ReLU(inplace=True))
        units.append(nn.Sequential(*layers))
    return nn.Sequential(*units)


class HRModule(nn.Module):
    """Parallel branches of basic blocks, then every kept output sums all branches at its resolution."""

    def __init__(self, channels: Sequence[int], num_blocks: int, outputs: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(*[BasicBlock(c) for _ in range(num_blocks)]) for c in channels
        )
        fuse = []
        for i in range(outputs):
            row: list[nn.Module | None] = []
            for j, cj in enumerate(channels):
                if j > i:  # lower resolution: project, then nearest upsample
                    row.append(
                        nn.Sequential(
                            _conv1x1(cj, channels[i]),
                            nn.BatchNorm2d(channels[i]),
                            nn.Upsample(scale_factor=2 ** (j - i), mode="nearest"),
                        )
                    )
                elif j < i:  # higher resolution: strided convolutions
                    row.append(_down_path(cj, channels[i], i - j))
                else:
                    row.append(None)
            fuse.append(nn.ModuleList(row))
        self.fuse_layers = nn.ModuleList(fuse) if len(channels) > 1 else None
        self.relu = nn.ReLU(inplace=False)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        if self.fuse_layers is None:
            return xs
        fused = []
        for row in self.fuse_layers:
            total = None
            for layer, x in zip(row, xs):
                y = x if layer is None else layer(x)
                total = y if total is None else total + y
            fused.append(self.relu(total))
        return fused


def _transition(prev: Sequence[int], cur: Sequence[int]) -> nn.ModuleList:
    """Adapt the previous stage's outputs to the next stage's branches (new branch: stride-2 convs)."""
    layers: list[nn.Module | None] = []
    for i, c in enumerate(cur):
        if i < len(prev):
            layers.append(
                None
                if prev[i] == c
                else nn.Sequential(_conv3x3(prev[i], c), nn.BatchNorm2d(c), nn.ReLU(inplace=True))
            )
        else:
            steps = i + 1 - len(prev)
            units = []
            for s in range(steps):
                out = c if s == steps - 1 else prev[-1]
                units.append(
                    nn.Sequential(_conv3x3(prev[-1], out, 2), nn.BatchNorm2d(out), nn.ReLU(inplace=True))
                )
            layers.append(nn.Sequential(*units))
    return nn.ModuleList(layers)


class HRNetBackbone(nn.Module):
    """HRNet-W`width`: returns the highest-resolution feature map (width channels, stride 4)."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.width = width
        self.conv1 = _conv3x3(3, 64, 2)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = _conv3x3(64, 64, 2)
        self.bn2 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(*[Bottleneck(64 if b == 0 else 256, 64) for b in range(4)])

        prev = [256]
        for index, (modules, branches, blocks) in enumerate(_STAGES, start=2):
            channels = [width * 2**b for b in range(branches)]
            setattr(self, f"transition{index - 1}", _transition(prev, channels))
            last_stage = index == 1 + len(_STAGES)
            stage = [
                HRModule(channels, blocks, 1 if last_stage and m == modules - 1 else branches)
                for m in range(modules)
            ]
            setattr(self, f"stage{index}", nn.Sequential(*stage))
            prev = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        xs = [self.layer1(x)]
        for index in range(2, 2 + len(_STAGES)):
            transition = getattr(self, f"transition{index - 1}")
            xs = [
                xs[min(i, len(xs) - 1)] if t is None else t(xs[min(i, len(xs) - 1)])
                for i, t in enumerate(transition)
            ]
            for module in getattr(self, f"stage{index}"):
                xs = module(xs)
        return xs[0]


class HeatmapHead(nn.Module):
    """A 1x1 convolution from backbone features to one heatmap per keypoint."""

    def __init__(self, in_channels: int, num_keypoints: int = NUM_KEYPOINTS) -> None:
        super().__init__()
        self.final_layer = nn.Conv2d(in_channels, num_keypoints, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.final_layer(features)


class TopDownHRNet(nn.Module):
    """Normalised crops (batch, 3, H, W) -> heatmaps (batch, 17, H/4, W/4)."""

    def __init__(self, width: int = 32, num_keypoints: int = NUM_KEYPOINTS) -> None:
        super().__init__()
        if width not in WIDTHS:
            raise ValueError(f"HRNet width must be one of {WIDTHS}, got {width}")
        self.width = width
        self.backbone = HRNetBackbone(width)
        self.head = HeatmapHead(width, num_keypoints)

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(crops))
