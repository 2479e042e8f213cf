"""`rhpnet export`: a config (+ checkpoint) to ONNX or OpenVINO IR, fp32/bf16/int8, checked before it
is reported as done.

fp32 (and bf16, which is OpenVINO's compile-time hint over the same fp32 IR) is checked against
eager torch on a random batch. int8 is calibrated on person crops of `--calibration` (the rig's
footage) and checked against fp32 on held-out crops of the same source; the figures go to a json
beside the model, and a model beyond the limits is refused unless `--force`
(rhpnet_core/runtime/agreement.py). int8 exports are cached by checkpoint, engine versions and
calibration source (~/.cache/rhpnet), so `build_pipeline(..., precision="int8", calibration=...)`
reuses this export.
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from rhpnet_core.config import load_config
from rhpnet_core.runtime import ONNX_OPSET, export_onnx, load_model
from rhpnet_core.runtime.agreement import MAX_MOVED_FRACTION, MAX_SHIFT_P95_HM_PX
from rhpnet_core.runtime.cache import atomic_write_text, report_path

# fp32 exports vs eager should agree to float rounding; anything near this means a broken export.
MAX_ABS_DIFF = 1e-3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="YAML config (model and codec.input_size)")
    parser.add_argument("--checkpoint", help="rhpnet checkpoint; random weights (with a warning) when omitted")
    parser.add_argument("--format", default="onnx", choices=("onnx", "openvino"),
                        help="onnx (onnxruntime) or openvino (IR: --output is the .xml, the .bin goes beside it)")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "int8"),
                        help="bf16: openvino only (a compile-time hint on CPUs with bf16 units); "
                             "int8: needs --checkpoint and --calibration")
    parser.add_argument("--calibration", help="int8: video, image folder or image of the rig's footage")
    parser.add_argument("--force", action="store_true", help="int8: write a model the agreement check refuses")
    parser.add_argument("--max-shift-p95", type=float, default=MAX_SHIFT_P95_HM_PX,
                        help=f"int8: refuse above this p95 keypoint shift, heatmap px (default {MAX_SHIFT_P95_HM_PX})")
    parser.add_argument("--max-moved-fraction", type=float, default=MAX_MOVED_FRACTION,
                        help=f"int8: refuse when more joints than this move > 1 heatmap px "
                             f"(default {MAX_MOVED_FRACTION})")
    parser.add_argument("--output", required=True, help="model file to write (.onnx, or .xml for openvino)")
    parser.add_argument("--opset", type=int, default=ONNX_OPSET, help=f"ONNX opset (default {ONNX_OPSET})")


def _copy_export(source: Path, output: Path) -> None:
    """Copy a cached export (model + .bin/.json sidecars) to `output`, the model file last."""
    output.parent.mkdir(parents=True, exist_ok=True)
    for suffix in (".bin", ".json", None):
        src = source if suffix is None else source.with_suffix(suffix)
        dst = output if suffix is None else output.with_suffix(suffix)
        if src.is_file():
            tmp = dst.with_name(f".{dst.name}.tmp")
            shutil.copyfile(src, tmp)
            tmp.replace(dst)


def _run_int8(args: argparse.Namespace, config: dict) -> int:
    from rhpnet_core.runtime.exports import cached_int8

    if not args.checkpoint or not args.calibration:
        raise ValueError("--precision int8 needs --checkpoint and --calibration (footage of the rig)")
    engine = "openvino" if args.format == "openvino" else "onnxruntime"
    path, report = cached_int8(config, args.checkpoint, engine, args.calibration, force=args.force,
                               max_shift_p95_hm_px=args.max_shift_p95, max_moved_fraction=args.max_moved_fraction)
    output = Path(args.output)
    _copy_export(path, output)
    agreement = report["agreement_vs_fp32"]
    print(f"wrote {output} (int8 {engine}, calibrated on {report['calibration_crops']} crops of "
          f"{args.calibration}); report {report_path(output)}")
    print(f"int8 vs fp32 on {report['heldout_crops']} held-out crops: keypoint shift median "
          f"{agreement['shift_median_hm_px']:.3f}, p95 {agreement['shift_p95_hm_px']:.3f} heatmap px, "
          f"{100 * agreement['moved_over_1px_fraction']:.1f}% of joints moved > 1 heatmap px"
          + (" (FORCED past the limits)" if report.get("forced") else ""))
    return 0


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.format == "onnx" and args.precision == "bf16":
        raise ValueError("--precision bf16 needs --format openvino (onnxruntime has no bf16 CPU path here)")
    if args.precision == "int8":
        return _run_int8(args, config)
    input_size = tuple(int(v) for v in config["codec"]["input_size"])
    model = load_model(config, args.checkpoint)
    width, height = input_size
    batch = np.random.default_rng(0).standard_normal((2, 3, height, width)).astype(np.float32)
    with torch.inference_mode():
        expected = model(torch.from_numpy(batch)).numpy()
    output = Path(args.output)
    if args.format == "onnx":
        import onnxruntime as ort

        path = export_onnx(model, input_size, output, opset=args.opset)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got, engine = session.run(None, {"input": batch})[0], "onnxruntime"
    else:
        from rhpnet_core.runtime.openvino_engine import OpenVinoRuntime
        from rhpnet_core.runtime.quantize import save_openvino_ir

        with tempfile.TemporaryDirectory(dir=output.parent if output.parent.exists() else None) as tmp:
            onnx_path = export_onnx(model, input_size, Path(tmp) / "model.onnx", opset=args.opset)
            staged = save_openvino_ir(onnx_path, Path(tmp) / output.name)
            atomic_write_text(report_path(staged), json.dumps({"engine": "openvino", "precision": args.precision}))
            got = OpenVinoRuntime(staged, "check", input_size, expected.shape[1], "fp32")(batch)
            _copy_export(staged, output)
        path, engine = output, "openvino fp32"
    diff = float(np.abs(got - expected).max())
    size_mb = sum(p.stat().st_size for p in (path, path.with_suffix(".bin")) if p.is_file()) / 1e6
    print(f"wrote {path} ({size_mb:.1f} MB, opset {args.opset}, "
          f"input [batch, 3, {height}, {width}] -> heatmaps [batch, {expected.shape[1]}, {height // 4}, {width // 4}])")
    print(f"{engine} vs eager torch on a random batch of 2: max abs diff {diff:.2e}")
    if not diff < MAX_ABS_DIFF:
        print(f"error: difference above {MAX_ABS_DIFF}; the export is not faithful")
        return 1
    return 0
