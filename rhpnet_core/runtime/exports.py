"""Exported models on disk: the cached fp32 ONNX, and int8 models checked against fp32 before use.

An int8 export calibrates on real person crops of a source (`rhpnet_core.calibration_crops`),
measures the int8 model against its own engine's fp32 on held-out crops of the same source, writes
those figures as json next to the model and refuses the model beyond the thresholds of
`rhpnet_core.runtime.agreement` unless forced. Everything is staged in a temporary folder beside the
destination and moved into place (.bin, .json, then the model file a reader looks for).
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from rhpnet_core.codec import UDPHeatmapCodec
from rhpnet_core.runtime.agreement import MAX_MOVED_FRACTION, MAX_SHIFT_P95_HM_PX, Agreement, measure_agreement
from rhpnet_core.runtime.base import load_model
from rhpnet_core.runtime.cache import (atomic_write_text, file_sha256, onnx_cache_path, quantized_cache_path,
                                       report_path, source_sha256)
from rhpnet_core.runtime.onnx_engine import ONNX_OPSET, OnnxRuntime, export_onnx
from rhpnet_core.runtime.quantize import engine_versions, quantize_onnxruntime, quantize_openvino

log = logging.getLogger(__name__)

INT8_ENGINES = ("openvino", "onnxruntime")


class QuantizationRefused(ValueError):
    """The int8 model moves keypoints beyond the documented thresholds (use force to write it anyway)."""


def input_size_of(config: dict[str, Any]) -> tuple[int, int]:
    return tuple(int(v) for v in config["codec"]["input_size"])


def cached_onnx(config: dict[str, Any], checkpoint: str | Path) -> Path:
    """fp32 ONNX export of `checkpoint`, from the cache (~/.cache/rhpnet/onnx) or exported into it."""
    input_size = input_size_of(config)
    path = onnx_cache_path(config["model"], input_size, Path(checkpoint), ONNX_OPSET)
    if path.is_file():
        log.info("using cached ONNX export %s", path)
    else:
        export_onnx(load_model(config, checkpoint), input_size, path)
        log.info("exported %s to %s", checkpoint, path)
    return path


def _engine_runtime(engine: str, path: Path, config: dict[str, Any], precision: str):
    label, input_size = "check", input_size_of(config)
    num_joints = int(config["model"].get("num_joints", 17))
    if engine == "openvino":
        from rhpnet_core.runtime.openvino_engine import OpenVinoRuntime

        return OpenVinoRuntime(path, label, input_size, num_joints, precision)
    return OnnxRuntime(path, label, input_size, num_joints, "cpu", precision=precision)


def _heatmaps(runtime, crops: np.ndarray, batch_size: int = 8) -> np.ndarray:
    return np.concatenate([runtime(crops[i:i + batch_size]) for i in range(0, len(crops), batch_size)])


def _move_into_place(staged: Path, output: Path) -> None:
    """Sidecars (.bin, .json) first, the model file last: its presence means the export is complete."""
    output.parent.mkdir(parents=True, exist_ok=True)
    for suffix in (".bin", ".json"):
        if staged.with_suffix(suffix).is_file():
            os.replace(staged.with_suffix(suffix), output.with_suffix(suffix))
    os.replace(staged, output)


def export_int8(config: dict[str, Any], checkpoint: str | Path, engine: str, calibration: str | Path,
                output: str | Path, force: bool = False, max_shift_p95_hm_px: float = MAX_SHIFT_P95_HM_PX,
                max_moved_fraction: float = MAX_MOVED_FRACTION, detector=None) -> dict[str, Any]:
    """Quantise `checkpoint` for `engine` on crops of `calibration`, check it, write it to `output`.

    `output` is the `.xml` (openvino, `.bin` beside it) or the `.onnx` (onnxruntime); the report
    goes to `output` with suffix `.json` and is returned.
    Raises:
        QuantizationRefused: the agreement check fails and `force` is False (nothing is written).
    """
    if engine not in INT8_ENGINES:
        raise ValueError(f"int8 engine {engine!r} not supported; expected one of {', '.join(INT8_ENGINES)}")
    from rhpnet_core.calibration_crops import collect_person_crops

    if not Path(calibration).exists():
        raise FileNotFoundError(f"calibration source {calibration} does not exist (a video, image folder or image "
                                f"of the rig's footage)")
    output = Path(output)
    started = time.perf_counter()
    onnx_path = cached_onnx(config, checkpoint)
    codec = UDPHeatmapCodec.from_config(config["codec"])
    crops = collect_person_crops(calibration, codec, detector=detector)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=f".{output.name}-") as tmp:
        staged = Path(tmp) / output.name
        quantize = quantize_openvino if engine == "openvino" else quantize_onnxruntime
        quantize(onnx_path, crops.calibration, staged)
        reference = _heatmaps(_engine_runtime(engine, onnx_path, config, "fp32"), crops.heldout)
        candidate = _heatmaps(_engine_runtime(engine, staged, config, "int8"), crops.heldout)
        agreement = measure_agreement(reference, candidate, codec, max_shift_p95_hm_px, max_moved_fraction)
        report = {"engine": engine, "precision": "int8", "versions": engine_versions(engine),
                  "checkpoint": str(checkpoint), "checkpoint_sha256": file_sha256(checkpoint),
                  "calibration_source": str(calibration), "calibration_sha256": source_sha256(calibration),
                  "calibration_crops": len(crops.calibration), "heldout_crops": len(crops.heldout),
                  "agreement_vs_fp32": agreement.as_dict(), "forced": False,
                  "export_s": round(time.perf_counter() - started, 1)}
        if not agreement.passed:
            if not force:
                raise QuantizationRefused(f"int8 model refused: {agreement.summary()}; calibrate on more "
                                          f"representative footage, use fp32/bf16, or force the export")
            report["forced"] = True
            warnings.warn(f"writing an int8 model beyond the agreement limits (forced): {agreement.summary()}",
                          stacklevel=2)
        atomic_write_text(report_path(staged), json.dumps(report, indent=2))
        _move_into_place(staged, output)
    log.info("int8 %s export %s: %s", engine, output, agreement.summary())
    return report


def cached_int8(config: dict[str, Any], checkpoint: str | Path, engine: str, calibration: str | Path,
                force: bool = False, **limits: float) -> tuple[Path, dict[str, Any]]:
    """(model path, report) of the cached int8 export, keyed by checkpoint, engine versions and
    calibration source; exported (and checked) on a miss. A hit is checked against `limits`
    (`max_shift_p95_hm_px`, `max_moved_fraction`) again; beyond them it is used only when forced
    now or when it was forced at export (with a warning either way)."""
    if not Path(calibration).exists():
        raise FileNotFoundError(f"calibration source {calibration} does not exist")
    path = quantized_cache_path(config["model"], input_size_of(config), Path(checkpoint), ONNX_OPSET, engine,
                                engine_versions(engine), calibration)
    if path.is_file() and report_path(path).is_file():
        report = json.loads(report_path(path).read_text())
        measured = {k: v for k, v in report["agreement_vs_fp32"].items() if k != "passed"}
        agreement = Agreement(**{**measured, **limits})  # the limits asked for now, not those of the export
        if not agreement.passed:
            # A model someone forced past the check stays usable (with a warning): that was their call.
            if not (force or report.get("forced")):
                raise QuantizationRefused(f"cached int8 model {path} refused: {agreement.summary()}")
            warnings.warn(f"cached int8 model {path} is beyond the agreement limits (forced): "
                          f"{agreement.summary()}", stacklevel=2)
        log.info("using cached int8 export %s", path)
        return path, report
    return path, export_int8(config, checkpoint, engine, calibration, path, force=force, **limits)
