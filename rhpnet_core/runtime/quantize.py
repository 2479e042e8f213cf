"""Post-training int8 quantisation of an fp32 ONNX export from real person crops.

OpenVINO: NNCF (PERFORMANCE preset: symmetric int8 weights per channel, activations u8/s8).
onnxruntime: static QDQ with uint8 activations and per-channel int8 weights, MinMax calibration;
int8 activations (S8S8) run *slower* than fp32 on x86 because most convolutions then fall back to
fp32 between Q/DQ pairs (/work/shared/research/cpu-engines.md).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def engine_versions(engine: str) -> dict[str, str]:
    """Versions the quantised bytes depend on (part of the cache key and of the report)."""
    if engine == "openvino":
        import nncf
        import openvino as ov

        return {"openvino": ov.__version__, "nncf": nncf.__version__}
    import onnxruntime as ort

    return {"onnxruntime": ort.__version__}


def quantize_openvino(onnx_path: Path, crops: np.ndarray, output_xml: Path) -> Path:
    """NNCF int8 IR of `onnx_path`, calibrated on `crops` (N, 3, H, W); writes `output_xml` + `.bin`."""
    import nncf
    import openvino as ov

    model = ov.Core().read_model(str(onnx_path))
    dataset = nncf.Dataset([crops[i:i + 1] for i in range(len(crops))])
    quantized = nncf.quantize(model, dataset, preset=nncf.QuantizationPreset.PERFORMANCE,
                              subset_size=len(crops), target_device=nncf.TargetDevice.CPU)
    ov.save_model(quantized, str(output_xml), compress_to_fp16=False)
    return Path(output_xml)


def quantize_onnxruntime(onnx_path: Path, crops: np.ndarray, output: Path, batch_size: int = 8) -> Path:
    """Static QDQ int8 ONNX (QUInt8 activations, QInt8 per-channel weights), calibrated on `crops`."""
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"input": crops[i:i + batch_size]} for i in range(0, len(crops), batch_size)])

        def get_next(self):
            return next(self.batches, None)

    quantize_static(str(onnx_path), str(output), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax, reduce_range=False)
    return Path(output)


def save_openvino_ir(onnx_path: Path, output_xml: Path) -> Path:
    """fp32 IR of an ONNX export (`.xml` + `.bin`); bf16 is a compile-time hint, not a file format."""
    import openvino as ov

    ov.save_model(ov.Core().read_model(str(onnx_path)), str(output_xml), compress_to_fp16=False)
    return Path(output_xml)
