"""Convolution building blocks shared by the HRNet backbone and the RFSP head.

Attribute names (`conv1`, `bn1`, `downsample`, ...) follow the official HRNet code so that its
published checkpoints map onto ours key for key (see `rhpnet_core.checkpoint`).
"""
from __future__ import annotations

import torch
from torch import nn


def conv_bn(in_ch: int, out_ch: int, kernel_size: int | tuple[int, int] = 1, stride: int = 1,
            padding: int | tuple[int, int] = 0, dilation: int = 1, relu: bool = True) -> nn.Sequential:
    """Conv (no bias, BN follows) + BatchNorm [+ ReLU]; RFBNet's `BasicConv`, YOLOv6's `SimConv`."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_ch, out_ch, kernel_size, stride=stride, padding=padding, dilation=dilation, bias=False),
        nn.BatchNorm2d(out_ch),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """Two 3x3 convs with an identity shortcut (HRNet stages 2-4).

    `attention` (Table 8, position A) is applied to the residual branch before the addition, the
    place SE/CBAM/CA papers insert their modules in a residual block.
    """

    expansion = 1

    def __init__(self, in_ch: int, out_ch: int, attention: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.attn = attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.attn is not None:
            out = self.attn(out)
        return self.relu(out + x)


class Bottleneck(nn.Module):
    """1x1-3x3-1x1 bottleneck with 4x expansion (HRNet stage 1, `layer1`)."""

    expansion = 4

    def __init__(self, in_ch: int, planes: int) -> None:
        super().__init__()
        out_ch = planes * self.expansion
        self.conv1 = nn.Conv2d(in_ch, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        # Only the first block changes width; the official code names this projection `downsample`.
        self.downsample = (nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch))
                           if in_ch != out_ch else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, 4 * planes, H, W)."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)
