"""`rhpnet export`: a config (+ checkpoint) to an ONNX file with a dynamic batch axis, checked
against eager torch with onnxruntime before it is reported as done."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from rhpnet_core.config import load_config
from rhpnet_core.runtime import ONNX_OPSET, export_onnx, load_model

# fp32 ONNX vs eager should agree to float rounding; anything near this means a broken export.
MAX_ABS_DIFF = 1e-3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="YAML config (model and codec.input_size)")
    parser.add_argument("--checkpoint", help="rhpnet checkpoint; random weights (with a warning) when omitted")
    parser.add_argument("--output", required=True, help="ONNX file to write")
    parser.add_argument("--opset", type=int, default=ONNX_OPSET, help=f"ONNX opset (default {ONNX_OPSET})")


def run(args: argparse.Namespace) -> int:
    import onnxruntime as ort

    config = load_config(args.config)
    input_size = tuple(int(v) for v in config["codec"]["input_size"])
    model = load_model(config, args.checkpoint)
    path = export_onnx(model, input_size, args.output, opset=args.opset)
    width, height = input_size
    batch = np.random.default_rng(0).standard_normal((2, 3, height, width)).astype(np.float32)
    with torch.inference_mode():
        expected = model(torch.from_numpy(batch)).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    diff = float(np.abs(session.run(None, {"input": batch})[0] - expected).max())
    print(f"wrote {path} ({Path(path).stat().st_size / 1e6:.1f} MB, opset {args.opset}, "
          f"input [batch, 3, {height}, {width}] -> heatmaps [batch, {expected.shape[1]}, {height // 4}, {width // 4}])")
    print(f"onnxruntime vs eager torch on a random batch of 2: max abs diff {diff:.2e}")
    if not diff < MAX_ABS_DIFF:
        print(f"error: difference above {MAX_ABS_DIFF}; the export is not faithful")
        return 1
    return 0
