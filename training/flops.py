"""`rhpnet flops`: parameters and GMACs of a config's network, compared with the paper's tables.

GMACs are multiply-accumulates of convolution and matrix-multiply (linear, attention) ops counted
by `torch.utils.flop_counter.FlopCounterMode` at batch 1 (its FLOP count / 2). Like HRNet's and the
paper's tables, BN, ReLU, pooling and resizing are not counted; the paper calls these "GFLOPs", so
the JSON key is `gflops`.
"""
from __future__ import annotations

import argparse
import json
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from rhpnet_core.config import load_config
from rhpnet_core.model import build_model, model_name

COUNTER = "torch.utils.flop_counter.FlopCounterMode (conv + matmul MACs = FLOPs / 2, batch 1)"

# (method, backbone, input HxW, params M or None, GFLOPs, source) from the paper.
PAPER_ROWS = (
    ("HRNet-W32", "HRNet-W32", "256x192", 28.5, 7.10, "Table 1"),
    ("Simple Baseline", "ResNet-50", "256x192", 34.0, 8.90, "Table 1"),
    ("Simple Baseline", "ResNet-152", "256x192", 68.6, 15.7, "Table 1"),
    ("OmniPose", "HRNet-W48", "256x192", 68.2, 17.1, "Table 1"),
    ("PCT", "Swin-Base", "256x256", None, 15.2, "Table 1"),
    ("PCT", "Swin-Large", "256x256", None, 34.1, "Table 1"),
    ("ViTPose-B", "ViT-Base", "256x192", 86.0, 17.9, "Table 1"),
    ("UDP-Pose-PSA", "HRNet-W32", "256x192", 34.0, 9.60, "Table 1"),
    ("RHPNet", "HRNet-W32", "256x192", 30.5, 7.51, "Table 1"),
    ("HRNet-W32", "HRNet-W32", "384x288", 28.5, 16.0, "Table 2"),
    ("HRNet-W48", "HRNet-W48", "256x192", 63.6, 14.6, "Table 2"),
    ("HRNet-W48", "HRNet-W48", "384x288", 63.6, 32.9, "Table 2"),
)
PAPER_RHPNET_TO_HRNET = 7.51 / 7.10


def count_params_and_gmacs(model: nn.Module, input_size: tuple[int, int]) -> tuple[float, float]:
    """(parameters in millions, GMACs of one (1, 3, H, W) forward pass) for input_size (W, H)."""
    width, height = input_size
    device = next(model.parameters()).device
    params_m = sum(p.numel() for p in model.parameters()) / 1e6
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, 3, height, width, device=device))
    model.train(was_training)
    return params_m, counter.get_total_flops() / 2e9


def measure_config(config: dict[str, Any]) -> dict[str, Any]:
    """Params/GMACs of `config`'s model and of plain HRNet of the same width, K and input."""
    model_cfg = config["model"]
    input_size = tuple(int(v) for v in config["codec"]["input_size"])
    params_m, gmacs = count_params_and_gmacs(build_model(model_cfg), input_size)
    result: dict[str, Any] = {
        "model": model_name(model_cfg), "backbone": f"HRNet-W{int(model_cfg.get('width', 32))}",
        "num_joints": int(model_cfg.get("num_joints", 17)),
        "input_size": list(input_size), "params_m": round(params_m, 4), "gflops": round(gmacs, 4),
        "counter": COUNTER,
    }
    if model_cfg["arch"] != "hrnet":
        baseline_cfg = {"arch": "hrnet", "width": model_cfg.get("width", 32),
                        "num_joints": model_cfg.get("num_joints", 17)}
        base_params_m, base_gmacs = count_params_and_gmacs(build_model(baseline_cfg), input_size)
        result["baseline"] = {"model": model_name(baseline_cfg), "backbone": result["backbone"],
                              "params_m": round(base_params_m, 4),
                              "gflops": round(base_gmacs, 4)}
        result["gflops_ratio_to_baseline"] = round(gmacs / base_gmacs, 4)
        result["paper_gflops_ratio"] = round(PAPER_RHPNET_TO_HRNET, 4)
    return result


def markdown_table(result: dict[str, Any]) -> str:
    """Our measured rows followed by the paper's Table 1 (and Table 2 HRNet) rows."""
    width, height = result["input_size"]
    lines = ["| method | backbone | input (HxW) | params (M) | GFLOPs (GMACs) | source |",
             "|---|---|---|---|---|---|"]
    ours = [result] + ([result["baseline"]] if "baseline" in result else [])
    for row in ours:
        lines.append(f"| {row['model']} | {row['backbone']} | {height}x{width} | "
                     f"{row['params_m']:.2f} | {row['gflops']:.2f} | measured here |")
    for method, backbone, size, params, gflops, source in PAPER_ROWS:
        params_text = "-" if params is None else f"{params:.1f}"
        lines.append(f"| {method} | {backbone} | {size} | {params_text} | {gflops:.2f} | paper {source} |")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="YAML config (its model and codec.input_size)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    result = measure_config(load_config(args.config))
    result["config"] = str(args.config)
    if args.json:
        print(json.dumps(result))
        return 0
    width, height = result["input_size"]
    print(f"config: {args.config} ({result['model']}, K={result['num_joints']}, input {height}x{width} HxW)")
    print(f"params: {result['params_m']:.2f} M")
    print(f"GMACs:  {result['gflops']:.2f} (multiply-accumulates of conv + linear/matmul layers, counted by "
          f"{COUNTER}; the paper's tables call this GFLOPs)")
    if "baseline" in result:
        print(f"compute vs plain {result['baseline']['model']} at the same input, same counter: "
              f"{result['gflops_ratio_to_baseline']:.3f}x (paper: 7.51 / 7.10 = {PAPER_RHPNET_TO_HRNET:.3f}x)")
    print()
    print(markdown_table(result))
    return 0
