"""`rhpnet evaluate`: score a checkpoint on a config's val split, or a ready predictions file.

    rhpnet evaluate --config CFG --checkpoint CKPT [--gt-boxes] [--no-flip] [--out DIR] [--json]
    rhpnet evaluate --ann ANN.json --predictions PRED.json [--metric oks|pckh] [--headboxes gt_valid.mat] [--json]

OKS predictions are COCO keypoint results ([{image_id, category_id, keypoints, score}]); PCKh
predictions are a list aligned with the MPII json entries, each 16 [x, y] in the json's frame.
Text output is a row in the layout of the paper's Tables 1-2 (OKS) or Table 3 (PCKh).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from rhpnet_core.codec import UDPHeatmapCodec
from rhpnet_core.config import load_config
from rhpnet_core.data.base import DataError, read_json
from rhpnet_core.eval.coco_eval import SUMMARY_NAMES
from rhpnet_core.eval.evaluator import evaluation_samples, oks_score, pckh_score, predict_samples, score
from rhpnet_core.eval.pckh import JOINT_GROUPS
from rhpnet_core.topdown import TopDownEstimator

PCKH_COLUMNS = tuple(JOINT_GROUPS) + ("Mean", "Mean@0.1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML config (model, codec, data.val, test)")
    parser.add_argument("--checkpoint", help="rhpnet checkpoint to evaluate with --config")
    parser.add_argument("--backend", default="torch", help="runtime backend (torch | onnxruntime)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    boxes = parser.add_mutually_exclusive_group()
    boxes.add_argument("--gt-boxes", dest="use_gt_boxes", action="store_true", default=None,
                       help="crop ground-truth boxes (default: test.use_gt_boxes)")
    boxes.add_argument("--det-boxes", dest="use_gt_boxes", action="store_false",
                       help="crop data.val.det_file detections")
    parser.add_argument("--no-flip", action="store_true", help="disable the flip test")
    parser.add_argument("--workers", type=int, default=None, help="image-decoding workers (default data.workers)")
    parser.add_argument("--out", type=Path, help="write predictions.json and metrics.json here")
    parser.add_argument("--ann", type=Path, help="annotation file to score --predictions against")
    parser.add_argument("--predictions", type=Path, help="predictions file (COCO results or MPII joint lists)")
    parser.add_argument("--metric", choices=("oks", "pckh"), default="oks", help="metric for --predictions")
    parser.add_argument("--headboxes", type=Path, help="MPII gt_valid.mat for --metric pckh")
    parser.add_argument("--occlusion", action="store_true",
                        help="also report AP on occluded / non-occluded joints (Running Human json)")
    parser.add_argument("--name", help="method name in the table row (default: model name)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def public_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The reported subset: COCO summary stats (plus occlusion splits) or the PCKh table."""
    if "Mean" in metrics:
        return {key: metrics[key] for key in PCKH_COLUMNS + ("head_size",)}
    out: dict[str, Any] = {name: metrics[name] for name in SUMMARY_NAMES}
    for split in ("occluded", "non_occluded"):
        if split in metrics:
            out[split] = {name: metrics[split][name] for name in SUMMARY_NAMES}
    return out


def format_table(metrics: dict[str, Any], method: str, backbone: str = "-", input_hw: str = "-",
                 params_m: float | None = None, gflops: float | None = None) -> str:
    """Markdown row(s) laid out like the paper's Tables 1-2 (OKS, in %) or Table 3 (PCKh, in %)."""
    if "Mean" in metrics:
        lines = ["| Method | " + " | ".join(PCKH_COLUMNS) + " |", "|---" * (len(PCKH_COLUMNS) + 1) + "|",
                 f"| {method} | " + " | ".join(f"{metrics[c]:.1f}" for c in PCKH_COLUMNS) + " |"]
        return "\n".join(lines)
    header = "| Method | Backbone | Input Size | Params | GFLOPs | " + " | ".join(SUMMARY_NAMES) + " |"
    params = f"{params_m:.1f} M" if params_m is not None else "-"
    flops = f"{gflops:.2f}" if gflops is not None else "-"
    rows = [header, "|---" * (5 + len(SUMMARY_NAMES)) + "|"]
    for label, values in (("", metrics), (" (occluded joints)", metrics.get("occluded")),
                          (" (non-occluded joints)", metrics.get("non_occluded"))):
        if values is not None:
            # pycocotools reports -1 where a category has no ground truth (e.g. no large persons).
            cells = ("-" if values[n] < 0 else f"{100 * values[n]:.1f}" for n in SUMMARY_NAMES)
            rows.append(f"| {method}{label} | {backbone} | {input_hw} | {params} | {flops} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def score_file(args: argparse.Namespace) -> dict[str, Any]:
    """Metrics of a predictions file against an annotation file."""
    predictions = read_json(args.predictions)
    if args.metric == "pckh":
        joints = np.asarray([p["joints"] if isinstance(p, dict) else p for p in predictions], dtype=np.float64)
        return pckh_score(args.ann, joints, args.headboxes)
    if not isinstance(predictions, list):
        raise DataError(f"{args.predictions}: expected a list of COCO keypoint results")
    gt = read_json(args.ann)
    occlusion = args.occlusion or all("occluded" in a for a in gt.get("annotations", [{}]))
    return oks_score(gt, predictions, occlusion=occlusion)


def evaluate_checkpoint(args: argparse.Namespace, config: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """Predict the val split with the checkpoint through TopDownEstimator and score it."""
    # Imported here so scoring a predictions file does not import the network code.
    from rhpnet_core.runtime import create_runtime

    runtime = create_runtime(config, args.checkpoint, backend=args.backend, device=args.device)
    codec = UDPHeatmapCodec.from_config(config["codec"])
    test_cfg = config.get("test", {})
    estimator = TopDownEstimator(runtime, codec, flip_test=test_cfg.get("flip_test", True) and not args.no_flip,
                                 bbox_padding=float(config["data"].get("bbox_padding", 1.25)))
    samples = evaluation_samples(config, args.use_gt_boxes)
    workers = args.workers if args.workers is not None else int(config["data"].get("workers", 0))
    predictions = predict_samples(estimator, samples, workers=workers)
    return score(config, samples, predictions)


def run(args: argparse.Namespace) -> int:
    if args.predictions is not None or args.ann is not None:
        if args.predictions is None or args.ann is None:
            raise SystemExit("rhpnet evaluate: --ann and --predictions go together")
        metrics, method, extra = score_file(args), args.name or args.predictions.stem, {}
    else:
        if not args.config or not args.checkpoint:
            raise SystemExit("rhpnet evaluate: give --config and --checkpoint, or --ann and --predictions")
        config = load_config(args.config)
        metrics, results = evaluate_checkpoint(args, config)
        from training.flops import measure_config  # params/GMACs columns of the table row

        size = measure_config(config)
        width, height = config["codec"]["input_size"]
        method = args.name or size["model"]
        extra = {"backbone": size["backbone"], "input_hw": f"{height} × {width}",
                 "params_m": size["params_m"], "gflops": size["gflops"]}
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "predictions.json").write_text(json.dumps(results))
            (args.out / "metrics.json").write_text(json.dumps(public_metrics(metrics), indent=2))
    if args.json:
        print(json.dumps(public_metrics(metrics)))
    else:
        print(format_table(metrics, method, **extra))
    return 0
