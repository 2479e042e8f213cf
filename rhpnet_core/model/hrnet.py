"""HRNet backbone (Sun et al., CVPR 2019) and the plain HRNet pose network (Table 1 baseline).

Four stages; stage k keeps k parallel branches at 1/4, 1/8, 1/16, 1/32 of the input with widths
W, 2W, 4W, 8W, and every module ends by fusing all branches into each other. Module and attribute
names follow `pose_hrnet.py` of the official code so its checkpoints load key for key.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from rhpnet_core.model.blocks import BasicBlock, Bottleneck, conv_bn

AttentionFactory = Callable[[int], nn.Module]

# (modules, blocks per branch) of stages 2-4 in every published pose HRNet (W32 and W48 alike).
STAGE_LAYOUT = ((1, 4), (4, 4), (3, 4))


class HighResolutionModule(nn.Module):
    """Parallel branches of BasicBlocks followed by all-to-all multi-resolution fusion."""

    def __init__(self, channels: list[int], num_blocks: int, multi_scale_output: bool,
                 attention: AttentionFactory | None = None) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(*(BasicBlock(c, c, attention(c) if attention else None) for _ in range(num_blocks)))
            for c in channels)
        num_out = len(channels) if multi_scale_output else 1
        self.fuse_layers = nn.ModuleList(
            nn.ModuleList(self._fuse_layer(channels, src, dst) for src in range(len(channels)))
            for dst in range(num_out))
        self.relu = nn.ReLU(inplace=True)

    @staticmethod
    def _fuse_layer(channels: list[int], src: int, dst: int) -> nn.Module | None:
        if src == dst:
            return None
        if src > dst:  # lower resolution -> 1x1 conv to the target width, nearest upsampling
            return nn.Sequential(nn.Conv2d(channels[src], channels[dst], 1, bias=False),
                                 nn.BatchNorm2d(channels[dst]),
                                 nn.Upsample(scale_factor=2 ** (src - dst), mode="nearest"))
        steps = []  # higher resolution -> chain of stride-2 3x3 convs, width changes on the last one
        for k in range(dst - src):
            last = k == dst - src - 1
            steps.append(conv_bn(channels[src], channels[dst] if last else channels[src], 3, stride=2,
                                 padding=1, relu=not last))
        return nn.Sequential(*steps)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Branch i: (N, C_i, H / 2^i, W / 2^i) in and out; one output when not multi-scale."""
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        outs = []
        for dst, layers in enumerate(self.fuse_layers):
            y = xs[dst]
            for src, layer in enumerate(layers):
                if layer is not None:
                    y = y + layer(xs[src])
            outs.append(self.relu(y))
        return outs


def _transition(prev: list[int], cur: list[int]) -> nn.ModuleList:
    """Adapt existing branches' widths (None when equal) and spawn the new lowest-resolution branch."""
    layers: list[nn.Module | None] = []
    for i, c in enumerate(cur):
        if i < len(prev):
            layers.append(conv_bn(prev[i], c, 3, padding=1) if prev[i] != c else None)
        else:
            layers.append(nn.Sequential(conv_bn(prev[-1], c, 3, stride=2, padding=1)))
    return nn.ModuleList(layers)


class HRNet(nn.Module):
    """HRNet-W{width} backbone.

    `forward` returns the stage-1 feature (N, 256, H/4, W/4) and the stage-4 outputs: one tensor
    (N, W, H/4, W/4) as in pose HRNet, or all four (N, 2^i W, H/2^(i+2), W/2^(i+2)) when
    `multi_scale_output` (HRNetV2-style deep features).
    """

    def __init__(self, width: int = 32, multi_scale_output: bool = False,
                 attention: AttentionFactory | None = None) -> None:
        super().__init__()
        self.width = width
        self.conv1 = nn.Conv2d(3, 64, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = nn.Conv2d(64, 64, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(Bottleneck(64, 64), *(Bottleneck(256, 64) for _ in range(3)))
        self.stage1_channels = 64 * Bottleneck.expansion
        prev = [256]
        for index, (num_modules, num_blocks) in enumerate(STAGE_LAYOUT, start=2):
            cur = [width * 2 ** i for i in range(index)]
            setattr(self, f"transition{index - 1}", _transition(prev, cur))
            last_stage = index == len(STAGE_LAYOUT) + 1
            modules = [HighResolutionModule(cur, num_blocks,
                                            multi_scale_output or not (last_stage and m == num_modules - 1),
                                            attention)
                       for m in range(num_modules)]
            setattr(self, f"stage{index}", nn.Sequential(*modules))
            prev = cur
        self.out_channels = prev if multi_scale_output else prev[:1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(N, 3, H, W) -> (stage-1 feature, list of stage-4 outputs); see the class docstring."""
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        stage1 = self.layer1(x)
        xs = [stage1]
        for index in range(2, len(STAGE_LAYOUT) + 2):
            transition = getattr(self, f"transition{index - 1}")
            # New branches grow from the lowest-resolution output of the previous stage (as the official code).
            xs = [xs[i] if layer is None else layer(xs[min(i, len(xs) - 1)])
                  for i, layer in enumerate(transition)]
            for module in getattr(self, f"stage{index}"):
                xs = module(xs)
        return stage1, xs


def init_weights(model: nn.Module) -> None:
    """Official HRNet initialisation: conv N(0, 0.001), BN (1, 0), biases 0."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(m.weight, std=0.001)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class PoseHRNet(nn.Module):
    """Plain HRNet pose network: backbone + 1x1 `final_layer` on the 1/4-resolution branch."""

    def __init__(self, width: int, num_joints: int, attention: AttentionFactory | None = None) -> None:
        super().__init__()
        self.backbone = HRNet(width, multi_scale_output=False, attention=attention)
        self.final_layer = nn.Conv2d(width, num_joints, 1)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) ImageNet-normalised RGB -> (N, K, H/4, W/4) heatmaps."""
        _, xs = self.backbone(x)
        return self.final_layer(xs[0])
