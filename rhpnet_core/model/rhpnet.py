"""RHPNet (paper section 3.1): HRNet with a residual refinement of its deep features, a shallow-feature
skip connection, hybrid-feature fusion and the RFSP head.

    image -> HRNet stages 1-4 ----------------> 4 deep features (1/4 .. 1/32)
               |                                      | residual 3x3 refinement per branch
               | stage-1 output (256 @ 1/4)           | upsample to 1/4, concat
               +-> 1x1 "skip connection" -> shallow --+-> 1x1 fusion -> hybrid (2W @ 1/4)
                                               |                           |
                                               +---------------> RFSP(hybrid, shallow) -> K heatmaps

Choices where the paper is silent (widths, the shallow source, the refinement) are argued, with
the parameter arithmetic, in docs/model.md.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from rhpnet_core.model.blocks import conv_bn
from rhpnet_core.model.hrnet import HRNet, init_weights
from rhpnet_core.model.rfsp import RFSP

# Hybrid and shallow widths relative to the backbone width W (docs/model.md, "Widths").
HYBRID_WIDTH_FACTOR = 2
SHALLOW_WIDTH_FACTOR = 2


class ResidualRefine(nn.Module):
    """x + BN(conv3x3(x)), ReLU: the residual connection added to each deep HRNet output."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        return self.relu(x + self.bn(self.conv(x)))


class HybridFusion(nn.Sequential):
    """1x1 conv-BN-ReLU over concat(deep branches upsampled to 1/4, shallow) -> the hybrid features.

    Computed as the equal, cheaper sum of per-input 1x1 projections, each low-resolution one
    upsampled after projecting: a bias-free 1x1 conv mixes channels per position and bilinear
    upsampling mixes positions per channel with weights summing to 1, so the two commute. This
    upsamples 2W channels instead of 14W and saves ~0.08 GMACs at W32 (docs/model.md). The layers
    keep `conv_bn`'s names (`hybrid.0` conv over all inputs' channels, `hybrid.1` BN).
    """

    def __init__(self, in_channels: list[int], out_ch: int) -> None:
        super().__init__(*conv_bn(sum(in_channels), out_ch, 1))
        self.in_channels = list(in_channels)

    def forward(self, deep: list[torch.Tensor], shallow: torch.Tensor) -> torch.Tensor:
        """deep: branch i (N, C_i, h / 2^i, w / 2^i); shallow (N, C_s, h, w) -> (N, out_ch, h, w)."""
        conv, bn, relu = self
        weights = torch.split(conv.weight, self.in_channels, dim=1)
        size = shallow.shape[2:]
        out = F.conv2d(shallow, weights[-1]) + F.conv2d(deep[0], weights[0])
        for feature, weight in zip(deep[1:], weights[1:-1]):
            # Bilinear upsampling of the low-resolution branches as in HRNetV2's representation head.
            out = out + F.interpolate(F.conv2d(feature, weight), size=size, mode="bilinear", align_corners=False)
        return relu(bn(out))


class RHPNet(nn.Module):
    """RHPNet-W{width}: (N, 3, H, W) ImageNet-normalised RGB -> (N, K, H/4, W/4) heatmaps.

    `blocks` is the RFB sequence of the RFSP head (e.g. ["rfb_s", "rfb"]); `simsppf` switches the
    SimSPPF-R pair; `attention` is a factory inserted at `attention_position` "A" (every backbone
    BasicBlock), "B" (the shallow skip connection) or "C" (inside RFSP, after the RFB blocks).
    """

    def __init__(self, width: int, num_joints: int, blocks: list[str], simsppf: bool = True,
                 attention: Callable[[int], nn.Module] | None = None,
                 attention_position: str | None = None) -> None:
        super().__init__()
        self.backbone = HRNet(width, multi_scale_output=True,
                              attention=attention if attention_position == "A" else None)
        hybrid_ch = HYBRID_WIDTH_FACTOR * width
        shallow_ch = SHALLOW_WIDTH_FACTOR * width
        self.refine = nn.ModuleList(ResidualRefine(c) for c in self.backbone.out_channels)
        self.shallow = conv_bn(self.backbone.stage1_channels, shallow_ch, 1)
        self.shallow_attn = attention(shallow_ch) if attention_position == "B" else None
        self.hybrid = HybridFusion(self.backbone.out_channels + [shallow_ch], hybrid_ch)
        self.rfsp = RFSP(hybrid_ch, shallow_ch, num_joints, blocks, simsppf,
                         attention if attention_position == "C" else None)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, K, H/4, W/4); H and W multiples of 32."""
        stage1, deep = self.backbone(x)
        shallow = self.shallow(stage1)
        if self.shallow_attn is not None:
            shallow = self.shallow_attn(shallow)
        # From here on the many small convs, the bilinear upsampling and the max-pools run 2-8x
        # faster on CPU in channels_last (oneDNN skips a layout reorder per conv; the upsampling and
        # pooling kernels vectorise over channels). Same values; the ONNX export ignores memory formats.
        shallow = shallow.contiguous(memory_format=torch.channels_last)
        deep = [refine(d).contiguous(memory_format=torch.channels_last) for refine, d in zip(self.refine, deep)]
        return self.rfsp(self.hybrid(deep, shallow), shallow).contiguous()
