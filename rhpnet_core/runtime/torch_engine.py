"""Eager torch engine (fp16 autocast on CUDA)."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rhpnet_core.runtime.base import Runtime


class TorchRuntime(Runtime):
    """Eager torch; fp16 autocast on CUDA (the heatmap head's outputs are returned in float32)."""

    backend = "torch"

    def __init__(self, model: nn.Module, label: str, input_size: tuple[int, int], num_joints: int,
                 device: torch.device) -> None:
        super().__init__(label, input_size, num_joints, str(device),
                         "fp16" if device.type == "cuda" else "fp32")
        self.torch_device = device
        self.model = model.to(device).eval()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(self._check(batch)).to(self.torch_device)
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16,
                                                    enabled=self.torch_device.type == "cuda"):
            heatmaps = self.model(x)
        return heatmaps.float().cpu().numpy()
