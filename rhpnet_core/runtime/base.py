"""Pose-network runtimes behind one interface: eager torch and ONNX + onnxruntime.

A runtime is called on an ImageNet-normalised float32 batch (N, 3, H, W) and returns float32
heatmaps (N, K, H/4, W/4) as numpy arrays; `input_size` is (W, H). The pipeline, `rhpnet predict`,
the ROS node and bench/ all go through `create_runtime`.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
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

log = logging.getLogger(__name__)

BACKENDS = ("torch", "onnxruntime")
ONNX_OPSET = 17
# Tried in this order when the device is not "cpu"; onnxruntime silently lacks the ones not built in.
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


def select_device(device: str = "auto") -> torch.device:
    """'auto' -> first CUDA device when present, else CPU; 'cpu', 'cuda', 'cuda:N' are checked."""
    return torch.device(select_device_name(device))


class Runtime(ABC):
    """Base of the backends: shape checks and the descriptive attributes."""

    backend = ""

    def __init__(self, label: str, input_size: tuple[int, int], num_joints: int, device: str) -> None:
        self.input_size = input_size
        self.num_joints = num_joints
        self.device = device
        self.name = f"{label}@{self.backend}-{device.split(':')[0]}"

    def _check(self, batch: np.ndarray) -> np.ndarray:
        width, height = self.input_size
        if not isinstance(batch, np.ndarray) or batch.ndim != 4 or batch.shape[1:] != (3, height, width):
            shape = getattr(batch, "shape", type(batch).__name__)
            raise ValueError(f"{self.name}: expected a numpy batch (N, 3, {height}, {width}), got {shape}")
        return np.ascontiguousarray(batch, dtype=np.float32)

    @abstractmethod
    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """(N, 3, H, W) float32 -> (N, K, H/4, W/4) float32."""


class TorchRuntime(Runtime):
    """Eager torch; fp16 autocast on CUDA (the heatmap head's outputs are returned in float32)."""

    backend = "torch"

    def __init__(self, model: nn.Module, label: str, input_size: tuple[int, int], num_joints: int,
                 device: torch.device) -> None:
        super().__init__(label, input_size, num_joints, str(device))
        self.torch_device = device
        self.model = model.to(device).eval()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(self._check(batch)).to(self.torch_device)
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16,
                                                    enabled=self.torch_device.type == "cuda"):
            heatmaps = self.model(x)
        return heatmaps.float().cpu().numpy()


class OnnxRuntime(Runtime):
    """onnxruntime session over an exported model with a dynamic batch axis."""

    backend = "onnxruntime"

    def __init__(self, onnx_path: Path, label: str, input_size: tuple[int, int], num_joints: int,
                 device: str, keepalive: Any = None) -> None:
        import onnxruntime as ort

        available = ort.get_available_providers()
        wanted = [] if device == "cpu" else [p for p in GPU_PROVIDERS if p in available]
        options = ort.SessionOptions()
        # Idle intra-op threads otherwise busy-wait after every run, taking CPU from whatever shares
        # it in the pipeline (the torch detector, the ROS executor, other sessions).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(onnx_path), sess_options=options,
                                            providers=wanted + ["CPUExecutionProvider"])
        provider = self.session.get_providers()[0]
        kind = {"TensorrtExecutionProvider": "tensorrt", "CUDAExecutionProvider": "cuda"}.get(provider, "cpu")
        super().__init__(label, input_size, num_joints, kind)
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
    tmp = path.with_name(f".{path.name}.tmp")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*TorchScript-based ONNX export.*")
        torch.onnx.export(model, (dummy,), str(tmp), dynamo=False, opset_version=opset, input_names=["input"],
                          output_names=["heatmaps"],
                          dynamic_axes={"input": {0: "batch"}, "heatmaps": {0: "batch"}})
    os.replace(tmp, path)  # a cache hit never sees a half-written file
    return path


def _cache_path(model_cfg: dict[str, Any], input_size: tuple[int, int], checkpoint: Path) -> Path:
    """ONNX cache file keyed by model config, input size, opset, torch version and checkpoint bytes."""
    digest = hashlib.sha256()
    digest.update(json.dumps([model_cfg, list(input_size), ONNX_OPSET, torch.__version__], sort_keys=True).encode())
    with open(checkpoint, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rhpnet" / "onnx"
    return root / f"{model_name(model_cfg)}_{digest.hexdigest()[:16]}.onnx"


def load_model(config: dict[str, Any], checkpoint: str | Path | None) -> nn.Module:
    """Model of `config`, weights from `checkpoint` (strict) or random with a warning."""
    model = build_model(config["model"])
    if checkpoint is None:
        warnings.warn(f"no checkpoint given: {model_name(config['model'])} runs with random weights, "
                      f"its heatmaps are meaningless", stacklevel=3)
    else:
        load_model_weights(model, load_checkpoint(checkpoint)["state_dict"], source=f"checkpoint {checkpoint}")
    return model.eval()


def create_runtime(config: dict[str, Any], checkpoint: str | None = None, backend: str = "torch",
                   device: str = "auto", onnx_path: str | None = None) -> Runtime:
    """Runtime for `config` (its `model` and `codec.input_size`).

    backend "torch": eager on `device` (fp16 autocast on CUDA). backend "onnxruntime": `onnx_path`
    when given, else an export of the checkpoint (cached under ~/.cache/rhpnet/onnx) or of the random
    model (temporary); TensorRT/CUDA providers when available and `device` is not "cpu".
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r} not supported; expected one of {', '.join(BACKENDS)}")
    input_size = tuple(int(v) for v in config["codec"]["input_size"])
    num_joints = int(config["model"].get("num_joints", 17))
    label = model_name(config["model"])
    torch_device = select_device(device)
    if backend == "torch":
        return TorchRuntime(load_model(config, checkpoint), label, input_size, num_joints, torch_device)

    ort_device = "cpu" if torch_device.type == "cpu" else "gpu"
    if onnx_path is not None:
        if not Path(onnx_path).is_file():
            raise FileNotFoundError(f"onnx_path {onnx_path}: no such file (export one with `rhpnet export`)")
        return OnnxRuntime(Path(onnx_path), label, input_size, num_joints, ort_device)
    if checkpoint is None:
        keepalive = tempfile.TemporaryDirectory(prefix="rhpnet-onnx-")
        path = export_onnx(load_model(config, None), input_size, Path(keepalive.name) / f"{label}.onnx")
        return OnnxRuntime(path, label, input_size, num_joints, ort_device, keepalive)
    path = _cache_path(config["model"], input_size, Path(checkpoint))
    if path.is_file():
        log.info("using cached ONNX export %s", path)
    else:
        export_onnx(load_model(config, checkpoint), input_size, path)
        log.info("exported %s to %s", checkpoint, path)
    return OnnxRuntime(path, label, input_size, num_joints, ort_device)
