"""The RFSP head (paper section 3.2): RFB-S / RFB receptive-field blocks, fusion with the shallow
features, SimSPPF pooling and the final 1x1 conv to K heatmaps.

RFB-S and RFB follow `BasicRFB_a` and `BasicRFB` of the fixed RFBNet code (Liu et al., ECCV 2018);
SimSPPF follows YOLOv6. Every block here keeps the spatial size.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from rhpnet_core.model.blocks import conv_bn

RFB_BLOCK_TYPES = ("rfb_s", "rfb")


class RFBS(nn.Module):
    """RFB-S (`BasicRFB_a`): four branches, 1x1 / (3,1) / (1,3) kernels then 3x3 at dilation 1/3/3/5.

    Smaller kernels and more branches than RFB model the small population receptive fields of
    shallow visual areas.
    """

    def __init__(self, in_ch: int, out_ch: int, scale: float = 0.1) -> None:
        super().__init__()
        inter = in_ch // 4
        quarter = max(inter // 4, 1)
        self.scale = scale
        self.branch0 = nn.Sequential(conv_bn(in_ch, inter, 1),
                                     conv_bn(inter, inter, 3, padding=1, relu=False))
        self.branch1 = nn.Sequential(conv_bn(in_ch, inter, 1),
                                     conv_bn(inter, inter, (3, 1), padding=(1, 0)),
                                     conv_bn(inter, inter, 3, padding=3, dilation=3, relu=False))
        self.branch2 = nn.Sequential(conv_bn(in_ch, inter, 1),
                                     conv_bn(inter, inter, (1, 3), padding=(0, 1)),
                                     conv_bn(inter, inter, 3, padding=3, dilation=3, relu=False))
        self.branch3 = nn.Sequential(conv_bn(in_ch, inter // 2, 1),
                                     conv_bn(inter // 2, quarter * 3, (1, 3), padding=(0, 1)),
                                     conv_bn(quarter * 3, inter, (3, 1), padding=(1, 0)),
                                     conv_bn(inter, inter, 3, padding=5, dilation=5, relu=False))
        self.conv_linear = conv_bn(4 * inter, out_ch, 1, relu=False)
        self.shortcut = conv_bn(in_ch, out_ch, 1, relu=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_out, H, W)."""
        out = torch.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], dim=1)
        return self.relu(self.conv_linear(out) * self.scale + self.shortcut(x))


class RFB(nn.Module):
    """RFB (`BasicRFB`): three branches ending in 3x3 convs at dilation v, v+1 and 2v+1."""

    def __init__(self, in_ch: int, out_ch: int, scale: float = 0.1, visual: int = 2) -> None:
        super().__init__()
        inter = in_ch // 8
        self.scale = scale
        self.branch0 = nn.Sequential(conv_bn(in_ch, 2 * inter, 1),
                                     conv_bn(2 * inter, 2 * inter, 3, padding=visual, dilation=visual,
                                             relu=False))
        self.branch1 = nn.Sequential(conv_bn(in_ch, inter, 1),
                                     conv_bn(inter, 2 * inter, 3, padding=1),
                                     conv_bn(2 * inter, 2 * inter, 3, padding=visual + 1, dilation=visual + 1,
                                             relu=False))
        self.branch2 = nn.Sequential(conv_bn(in_ch, inter, 1),
                                     conv_bn(inter, (inter // 2) * 3, 3, padding=1),
                                     conv_bn((inter // 2) * 3, 2 * inter, 3, padding=1),
                                     conv_bn(2 * inter, 2 * inter, 3, padding=2 * visual + 1,
                                             dilation=2 * visual + 1, relu=False))
        self.conv_linear = conv_bn(6 * inter, out_ch, 1, relu=False)
        self.shortcut = conv_bn(in_ch, out_ch, 1, relu=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_out, H, W)."""
        out = torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], dim=1)
        return self.relu(self.conv_linear(out) * self.scale + self.shortcut(x))


class SeparableMaxPool(nn.Module):
    """k x k stride-1 "same" max-pool computed as (k, 1) then (1, k): the same maxima (max is
    separable, padding is -inf) with 2k instead of k^2 comparisons per output, ~40% faster on CPU."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.rows = nn.MaxPool2d((size, 1), stride=1, padding=(size // 2, 0))
        self.cols = nn.MaxPool2d((1, size), stride=1, padding=(0, size // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        return self.cols(self.rows(x))


class SimSPPF(nn.Module):
    """Simplified SPPF (YOLOv6): 1x1 to half width, three serial 5x5/s1 max-pools, concat of the
    four, 1x1 to `out_ch`; serial pools give the 5/9/13 receptive fields of SPP at a third of the cost."""

    def __init__(self, in_ch: int, out_ch: int, pool_size: int = 5) -> None:
        super().__init__()
        hidden = in_ch // 2
        self.cv1 = conv_bn(in_ch, hidden, 1)
        self.pool = SeparableMaxPool(pool_size)
        self.cv2 = conv_bn(4 * hidden, out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_out, H, W)."""
        x = self.cv1(x)
        p1 = self.pool(x)
        p2 = self.pool(p1)
        return self.cv2(torch.cat([x, p1, p2, self.pool(p2)], dim=1))


def build_rfb_block(kind: str, channels: int) -> nn.Module:
    """RFB-S or RFB with `channels` in and out."""
    if kind == "rfb_s":
        return RFBS(channels, channels)
    if kind == "rfb":
        return RFB(channels, channels)
    raise ValueError(f"model.rfsp.blocks entry {kind!r} not supported; expected one of {', '.join(RFB_BLOCK_TYPES)}")


class RFSP(nn.Module):
    """RFSP head: RFB blocks (in config order) [-> attention C] -> [concat shallow -> SimSPPF]
    -> 1x1 conv to K heatmaps.

    `simsppf=False` removes the "SimSPPF-R" pair (shallow-feature fusion and SimSPPF) of Table 4.
    """

    def __init__(self, channels: int, shallow_channels: int, num_joints: int, blocks: list[str],
                 simsppf: bool, attention: Callable[[int], nn.Module] | None = None) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*(build_rfb_block(kind, channels) for kind in blocks))
        self.attn = attention(channels) if attention else None
        self.simsppf = SimSPPF(channels + shallow_channels, channels) if simsppf else None
        self.final_layer = nn.Conv2d(channels, num_joints, 1)

    def forward(self, hybrid: torch.Tensor, shallow: torch.Tensor) -> torch.Tensor:
        """hybrid (N, C, h, w), shallow (N, C_s, h, w) -> heatmaps (N, K, h, w)."""
        x = self.blocks(hybrid)
        if self.attn is not None:
            x = self.attn(x)
        if self.simsppf is not None:
            x = self.simsppf(torch.cat([x, shallow], dim=1))
        return self.final_layer(x)
