"""`create_runtime`: the one entry point the pipeline, `rhpnet predict`, evaluate and bench/ use."""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from rhpnet_core.model import model_name
from rhpnet_core.runtime.base import Runtime, load_model, select_device
from rhpnet_core.runtime.exports import cached_int8, cached_onnx, input_size_of
from rhpnet_core.runtime.onnx_engine import OnnxRuntime, export_onnx
from rhpnet_core.runtime.openvino_engine import openvino_available
from rhpnet_core.runtime.torch_engine import TorchRuntime

log = logging.getLogger(__name__)

BACKENDS = ("torch", "onnxruntime", "openvino")
PRECISIONS = ("fp32", "bf16", "int8")


def resolve_backend(backend: str, device: str = "auto") -> str:
    """'auto' -> torch on CUDA, else openvino when installed, else onnxruntime (docs/benchmarks.md:
    OpenVINO fp32 0.95x, int8 0.48x onnxruntime fp32 per crop on this AVX2 host)."""
    if backend == "auto":
        if select_device(device).type == "cuda":
            return "torch"
        return "openvino" if openvino_available() else "onnxruntime"
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r} not supported; expected one of auto, {', '.join(BACKENDS)}")
    return backend


def resolve_precision(precision: str, backend: str, calibration: str | Path | None) -> str:
    """'auto' -> int8 with a calibration source; else bf16 on OpenVINO where the CPU has it; else fp32."""
    if precision == "auto":
        if backend == "torch":
            return "fp32"
        if calibration is not None:
            return "int8"
        if backend == "openvino":
            from rhpnet_core.runtime.openvino_engine import cpu_has_bf16

            return "bf16" if cpu_has_bf16() else "fp32"
        return "fp32"
    allowed = {"torch": ("fp32",), "onnxruntime": ("fp32", "int8"), "openvino": PRECISIONS}[backend]
    if precision not in allowed:
        raise ValueError(f"precision {precision!r} not supported by backend {backend}; expected auto or one of "
                         f"{', '.join(allowed)}")
    return precision


def create_runtime(config: dict[str, Any], checkpoint: str | None = None, backend: str = "torch",
                   device: str = "auto", onnx_path: str | None = None, precision: str = "fp32",
                   calibration: str | Path | None = None, force: bool = False) -> Runtime:
    """Runtime for `config` (its `model` and `codec.input_size`).

    backend "torch": eager on `device` (fp16 autocast on CUDA). "onnxruntime" and "openvino" run
    `onnx_path` when given (an ONNX file, or an OpenVINO IR .xml for openvino), else the cached export
    of the checkpoint (~/.cache/rhpnet) or of the random model (temporary). precision int8 needs a
    checkpoint and a `calibration` source (video / image folder / image): the int8 export is cached
    per checkpoint, engine versions and source, and refused beyond the agreement limits unless
    `force`. "auto" backend / precision: see `resolve_backend` / `resolve_precision`.
    """
    backend = resolve_backend(backend, device)
    precision = resolve_precision(precision, backend, calibration)
    input_size = input_size_of(config)
    num_joints = int(config["model"].get("num_joints", 17))
    label = model_name(config["model"])
    torch_device = select_device(device)
    if backend == "torch":
        return TorchRuntime(load_model(config, checkpoint), label, input_size, num_joints, torch_device)

    def engine(path: Path, keepalive: Any = None, precision: str = precision) -> Runtime:
        if backend == "openvino":
            from rhpnet_core.runtime.openvino_engine import OpenVinoRuntime

            return OpenVinoRuntime(path, label, input_size, num_joints, precision, keepalive)
        return OnnxRuntime(path, label, input_size, num_joints, "cpu" if torch_device.type == "cpu" else "gpu",
                           keepalive, precision)

    if onnx_path is not None:
        if not Path(onnx_path).is_file():
            raise FileNotFoundError(f"onnx_path {onnx_path}: no such file (export one with `rhpnet export`)")
        return engine(Path(onnx_path))
    if precision == "int8":
        if checkpoint is None or calibration is None:
            raise ValueError("precision int8 needs a checkpoint and a calibration source (footage of the rig: "
                             "video, image folder or image)")
        path, report = cached_int8(config, checkpoint, backend, calibration, force=force)
        agreement = report["agreement_vs_fp32"]
        log.info("%s int8: keypoint shift vs fp32 p95 %.3f heatmap px, %.1f%% joints moved > 1 px",
                 path.name, agreement["shift_p95_hm_px"], 100 * agreement["moved_over_1px_fraction"])
        return engine(path)
    if checkpoint is None:
        keepalive = tempfile.TemporaryDirectory(prefix="rhpnet-onnx-")
        path = export_onnx(load_model(config, None), input_size, Path(keepalive.name) / f"{label}.onnx")
        return engine(path, keepalive)
    return engine(cached_onnx(config, checkpoint))
