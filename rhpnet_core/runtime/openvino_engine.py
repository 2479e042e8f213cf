"""OpenVINO CPU engine: fp32, bf16 (where the CPU has it) or an int8 IR from NNCF.

The CPU plugin runs bf16 by default on CPUs with bf16 units, so the inference precision hint is
always set from `precision` (int8 IRs keep their non-quantised ops in f32: same speed as bf16 there,
measured in /work/shared/research/cpu-engines.md). One static shape is compiled per batch size on
first use (0.5-1.7 s each), which beats a dynamic batch's generic kernels.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from rhpnet_core.runtime.base import Runtime

log = logging.getLogger(__name__)

OPENVINO_PRECISIONS = ("fp32", "bf16", "int8")


def openvino_available() -> bool:
    """Whether the optional `openvino` package imports."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def cpu_has_bf16() -> bool:
    """Whether OpenVINO's CPU plugin reports native bf16 (AVX512_BF16 or AMX)."""
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def effective_precision(precision: str) -> str:
    """`precision`, or fp32 (logged) when bf16 is asked for on a CPU without bf16 units."""
    if precision not in OPENVINO_PRECISIONS:
        raise ValueError(f"precision {precision!r} not supported by openvino; expected one of "
                         f"{', '.join(OPENVINO_PRECISIONS)}")
    if precision == "bf16" and not cpu_has_bf16():
        log.warning("bf16 requested but this CPU has no bf16 units (OpenVINO OPTIMIZATION_CAPABILITIES); "
                    "running fp32")
        return "fp32"
    return precision


class OpenVinoRuntime(Runtime):
    """Compiled OpenVINO model (ONNX or IR with a dynamic batch axis) on the CPU, LATENCY hint."""

    backend = "openvino"

    def __init__(self, model_path: Path, label: str, input_size: tuple[int, int], num_joints: int,
                 precision: str = "fp32", keepalive: Any = None) -> None:
        import openvino as ov

        precision = effective_precision(precision)
        super().__init__(label, input_size, num_joints, "cpu", precision)
        self.model_path = Path(model_path)
        self._keepalive = keepalive
        self.core = ov.Core()
        self.model = self.core.read_model(str(model_path))
        width, height = input_size
        shape = self.model.input(0).get_partial_shape()
        if shape.rank.get_length() != 4 or [d.get_length() if d.is_static else -1 for d in shape][1:] != [3, height, width]:
            raise ValueError(f"{model_path}: model input {shape} does not match input_size (W, H) = "
                             f"{input_size}; expected [batch, 3, {height}, {width}]")
        self.config = {"PERFORMANCE_HINT": "LATENCY",
                       "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32"}
        self._requests: dict[int, Any] = {}
        self._lock = threading.Lock()

    def _request(self, batch_size: int):
        request = self._requests.get(batch_size)
        if request is None:
            model = self.model.clone()
            model.reshape({model.input(0).any_name: [batch_size, 3, self.input_size[1], self.input_size[0]]})
            compiled = self.core.compile_model(model, "CPU", self.config)
            request = self._requests[batch_size] = compiled.create_infer_request()
        return request

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = self._check(batch)
        with self._lock:  # one infer request per shape: calls from two threads would share it
            request = self._request(len(batch))
            request.infer({0: batch})
            return request.get_output_tensor(0).data.copy()
