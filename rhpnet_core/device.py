"""Compute-device choice shared by the detector and the pose runtimes: CUDA when present."""
from __future__ import annotations

import torch

VALID_DEVICES = "auto, cpu, cuda, cuda:N"


def select_device_name(device: str = "auto") -> str:
    """'auto' -> 'cuda:0' when a GPU is visible, else 'cpu'; explicit names are checked."""
    if device == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return device
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"device '{device}' requested but CUDA is not available on this machine")
        return device if ":" in device else "cuda:0"
    raise ValueError(f"device '{device}' not understood; expected one of {VALID_DEVICES}")
