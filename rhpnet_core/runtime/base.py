"""What every engine shares: the `Runtime` interface, device selection and model loading."""
from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rhpnet_core.checkpoint import load_checkpoint, load_model_weights
from rhpnet_core.device import select_device_name
from rhpnet_core.model import build_model, model_name


def select_device(device: str = "auto") -> torch.device:
    """'auto' -> first CUDA device when present, else CPU; 'cpu', 'cuda', 'cuda:N' are checked."""
    return torch.device(select_device_name(device))


class Runtime(ABC):
    """Base of the engines: shape checks and the descriptive attributes.

    `name` is "<model>@<backend>[-<precision>]-<device>", the precision shown when it is not fp32.
    """

    backend = ""

    def __init__(self, label: str, input_size: tuple[int, int], num_joints: int, device: str,
                 precision: str = "fp32") -> None:
        self.input_size = input_size
        self.num_joints = num_joints
        self.device = device
        self.precision = precision
        shown = "" if precision == "fp32" else f"-{precision}"
        self.name = f"{label}@{self.backend}{shown}-{device.split(':')[0]}"

    def _check(self, batch: np.ndarray) -> np.ndarray:
        width, height = self.input_size
        if not isinstance(batch, np.ndarray) or batch.ndim != 4 or batch.shape[1:] != (3, height, width):
            shape = getattr(batch, "shape", type(batch).__name__)
            raise ValueError(f"{self.name}: expected a numpy batch (N, 3, {height}, {width}), got {shape}")
        return np.ascontiguousarray(batch, dtype=np.float32)

    @abstractmethod
    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """(N, 3, H, W) float32 -> (N, K, H/4, W/4) float32."""


def load_model(config: dict[str, Any], checkpoint: str | Path | None) -> nn.Module:
    """Model of `config`, weights from `checkpoint` (strict) or random with a warning."""
    model = build_model(config["model"])
    if checkpoint is None:
        warnings.warn(f"no checkpoint given: {model_name(config['model'])} runs with random weights, "
                      f"its heatmaps are meaningless", stacklevel=3)
    else:
        load_model_weights(model, load_checkpoint(checkpoint)["state_dict"], source=f"checkpoint {checkpoint}")
    return model.eval()
