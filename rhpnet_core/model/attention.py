"""The attention modules of the paper's Table 8: PSA, CA and CBAM (all shape-preserving).

Each takes (N, C, H, W) and returns a re-weighted (N, C, H, W); `build_attention` maps the config
name to a factory `channels -> module` so the backbone can insert one per block (position A).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

ATTENTION_TYPES = ("psa", "ca", "cbam")


class PolarizedSelfAttention(nn.Module):
    """Parallel polarized self-attention (Liu et al. 2021, "PSA_p"), the module of UDP-Pose-PSA."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        half = max(channels // 2, 1)
        self.ch_wv = nn.Conv2d(channels, half, 1)
        # No bias: a softmax over positions is invariant to a constant, so it could never learn.
        self.ch_wq = nn.Conv2d(channels, 1, 1, bias=False)
        self.ch_wz = nn.Conv2d(half, channels, 1)
        self.ch_norm = nn.LayerNorm([channels, 1, 1])
        self.sp_wv = nn.Conv2d(channels, half, 1)
        self.sp_wq = nn.Conv2d(channels, half, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        n, c, h, w = x.shape
        # Channel-only branch: a softmax over positions picks where to read each channel's value.
        value = self.ch_wv(x).flatten(2)                                   # (N, C/2, HW)
        query = torch.softmax(self.ch_wq(x).flatten(2), dim=-1)            # (N, 1, HW)
        channel = torch.matmul(value, query.transpose(1, 2)).unsqueeze(-1)  # (N, C/2, 1, 1)
        channel_weight = torch.sigmoid(self.ch_norm(self.ch_wz(channel)))
        # Spatial-only branch: a softmax over channels of the pooled query weights each position.
        value = self.sp_wv(x).flatten(2)                                   # (N, C/2, HW)
        query = torch.softmax(self.sp_wq(x).mean(dim=(2, 3)), dim=-1)      # (N, C/2)
        spatial = torch.matmul(query.unsqueeze(1), value)                  # (N, 1, HW)
        spatial_weight = torch.sigmoid(spatial.reshape(n, 1, h, w))
        return x * channel_weight + x * spatial_weight


class CoordinateAttention(nn.Module):
    """Coordinate attention (Hou et al., CVPR 2021): direction-aware pooling along H and along W."""

    def __init__(self, channels: int, reduction: int = 32) -> None:
        super().__init__()
        mid = max(8, channels // reduction)
        self.conv1 = nn.Conv2d(channels, mid, 1)
        self.bn1 = nn.BatchNorm2d(mid)
        self.act = nn.Hardswish(inplace=True)
        self.conv_h = nn.Conv2d(mid, channels, 1)
        self.conv_w = nn.Conv2d(mid, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        h, w = x.shape[2:]
        pooled_h = x.mean(dim=3, keepdim=True)                     # (N, C, H, 1)
        pooled_w = x.mean(dim=2, keepdim=True).transpose(2, 3)     # (N, C, W, 1)
        y = self.act(self.bn1(self.conv1(torch.cat([pooled_h, pooled_w], dim=2))))
        y_h, y_w = torch.split(y, [h, w], dim=2)
        return x * torch.sigmoid(self.conv_h(y_h)) * torch.sigmoid(self.conv_w(y_w.transpose(2, 3)))


class CBAM(nn.Module):
    """Convolutional block attention module (Woo et al., ECCV 2018): channel then spatial gate."""

    def __init__(self, channels: int, reduction: int = 16, spatial_kernel: int = 7) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1, bias=False), nn.ReLU(inplace=True),
                                 nn.Conv2d(hidden, channels, 1, bias=False))
        self.spatial = nn.Conv2d(2, 1, spatial_kernel, padding=spatial_kernel // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        channel = self.mlp(x.mean(dim=(2, 3), keepdim=True)) + self.mlp(x.amax(dim=(2, 3), keepdim=True))
        x = x * torch.sigmoid(channel)
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial(pooled))


def build_attention(kind: str | None) -> Callable[[int], nn.Module] | None:
    """Factory `channels -> module` for `kind` in ATTENTION_TYPES, None for no attention."""
    if kind is None:
        return None
    classes = {"psa": PolarizedSelfAttention, "ca": CoordinateAttention, "cbam": CBAM}
    if kind not in classes:
        raise ValueError(f"model.attention.type {kind!r} not supported; expected one of "
                         f"{', '.join(ATTENTION_TYPES)} or null")
    return classes[kind]
