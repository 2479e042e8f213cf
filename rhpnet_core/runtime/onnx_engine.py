"""ONNX export and the onnxruntime engine (fp32, or int8 from `rhpnet_core.runtime.quantize`)."""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rhpnet_core.runtime.base import Runtime

ONNX_OPSET = 17
# Tried in this order when the device is not "cpu"; onnxruntime silently lacks the ones not built in.
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


class OnnxRuntime(Runtime):
    """onnxruntime session over an exported model with a dynamic batch axis."""

    backend = "onnxruntime"

    def __init__(self, onnx_path: Path, label: str, input_size: tuple[int, int], num_joints: int,
                 device: str, keepalive: Any = None, precision: str = "fp32") -> None:
        import onnxruntime as ort

        available = ort.get_available_providers()
        wanted = [] if device == "cpu" else [p for p in GPU_PROVIDERS if p in available]
        options = ort.SessionOptions()
        # Idle intra-op threads otherwise busy-wait after every run, taking CPU from whatever shares
        # it in the pipeline (the detector, the ROS executor, other sessions).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(onnx_path), sess_options=options,
                                            providers=wanted + ["CPUExecutionProvider"])
        provider = self.session.get_providers()[0]
        kind = {"TensorrtExecutionProvider": "tensorrt", "CUDAExecutionProvider": "cuda"}.get(provider, "cpu")
        super().__init__(label, input_size, num_joints, kind, precision)
        self.onnx_path = Path(onnx_path)
        self._keepalive = keepalive  # the temporary directory of a random-init export lives as long as we do
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        width, height = input_size
        if list(inp.shape[1:]) != [3, height, width]:
            raise ValueError(f"{onnx_path}: model input {inp.shape} does not match input_size "
                             f"(W, H) = {input_size}; expected [batch, 3, {height}, {width}]")

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: self._check(batch)})[0]


def export_onnx(model: nn.Module, input_size: tuple[int, int], path: str | Path, opset: int = ONNX_OPSET) -> Path:
    """Export `model` (on CPU, fp32, eval) to ONNX with input "input" (batch, 3, H, W) and output "heatmaps".

    Uses the TorchScript exporter: the torch.export-based one takes 55-85 s even for a W8 model
    here (measured) against ~3 s, and produces the same graph for this purely convolutional net.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.cpu().eval()
    width, height = input_size
    dummy = torch.zeros(1, 3, height, width)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*TorchScript-based ONNX export.*")
        torch.onnx.export(model, (dummy,), str(tmp), dynamo=False, opset_version=opset, input_names=["input"],
                          output_names=["heatmaps"],
                          dynamic_axes={"input": {0: "batch"}, "heatmaps": {0: "batch"}})
    os.replace(tmp, path)  # a cache hit never sees a half-written file
    return path
