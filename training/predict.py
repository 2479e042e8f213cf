"""`rhpnet predict`: the same PosePipeline as the ROS node, over a video, an image folder or an image.

Writes `<output>/annotated.mp4` (video sources) or `<output>/<index>.jpg` (images), and
`<output>/keypoints.json` in the COCO results format (image_id = frame index, category_id 1), each
entry also carrying `track_id` (-1: not a confirmed track) and `timestamp_s` (frame index / video fps;
null for images).
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from rhpnet_core.frames import FrameSource
from rhpnet_core.pipeline import ESTIMATORS, build_pipeline
from rhpnet_core.runtime import BACKENDS, PRECISIONS
from rhpnet_core.tracking import TARGETS
from rhpnet_core.visualize import draw_poses


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, help="video file, image folder or image")
    parser.add_argument("--output", default="output/predict", help="folder for annotated frames and json")
    parser.add_argument("--estimator", default="auto", choices=ESTIMATORS)
    parser.add_argument("--checkpoint", default=None, help="RHPNet checkpoint (from `rhpnet train`)")
    parser.add_argument("--backend", default="auto", choices=("auto", *BACKENDS),
                        help="keypoint engine (auto: torch on CUDA, else openvino, else onnxruntime)")
    parser.add_argument("--precision", default="auto", choices=("auto", *PRECISIONS),
                        help="auto: int8 with --calibration, else bf16 where the CPU has it, else fp32")
    parser.add_argument("--calibration", default=None,
                        help="int8: video/image folder of the rig's footage (cached export, see rhpnet export)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--detector-imgsz", type=int, default=640)
    parser.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0: all)")
    parser.add_argument("--flip-test", action=argparse.BooleanOptionalAction, default=None,
                        help="RHPNet flip test (default: on with a GPU, off on a CPU where it doubles the pose stage)")
    parser.add_argument("--target", default="all", choices=TARGETS,
                        help="everyone, or only the runner: largest box, most central, or longest-tracked")
    parser.add_argument("--detect-every", type=int, default=1,
                        help="run the person detector every N frames; in between RHPNet follows each "
                             "person from their keypoints (yolo-pose detects on every frame)")


def to_coco_results(frame_index: int, result, timestamp_s: float | None = None) -> list[dict]:
    """One COCO keypoint result per person (keypoints flattened as x, y, score), with track id and time."""
    entries = []
    for box, score, keypoints, track_id in zip(result.boxes_xyxy, result.scores, result.keypoints,
                                               result.track_ids):
        x0, y0, x1, y1 = (float(v) for v in box)
        entries.append({"image_id": frame_index, "category_id": 1, "score": float(score),
                        "bbox": [x0, y0, x1 - x0, y1 - y0],
                        "keypoints": [round(float(v), 3) for v in keypoints.reshape(-1)],
                        "track_id": int(track_id), "timestamp_s": timestamp_s})
    return entries


def run(args: argparse.Namespace) -> int:
    source = FrameSource(args.source)
    pipeline = build_pipeline(args.estimator, args.checkpoint, args.backend, args.device,
                              detector_imgsz=args.detector_imgsz, flip_test=args.flip_test,
                              target=args.target, detect_every=args.detect_every, precision=args.precision,
                              calibration=args.calibration)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    writer: cv2.VideoWriter | None = None
    results: list[dict] = []
    latencies: list[float] = []
    frames = 0
    for index, frame_bgr in enumerate(tqdm(source.frames(), desc="predict", unit="frame")):
        if 0 < args.max_frames <= index:
            break
        timestamp_s = None if source.fps is None else index / source.fps
        result = pipeline(np.ascontiguousarray(frame_bgr[..., ::-1]), stamp_s=timestamp_s)
        latencies.append(result.latency_ms["total"])
        results.extend(to_coco_results(index, result, timestamp_s))
        annotated = draw_poses(frame_bgr, result.boxes_xyxy, result.keypoints)
        if source.fps is None:
            cv2.imwrite(str(output / f"{index:06d}.jpg"), annotated)
        else:
            if writer is None:
                writer = cv2.VideoWriter(str(output / "annotated.mp4"), cv2.VideoWriter_fourcc(*"mp4v"),
                                         source.fps, (annotated.shape[1], annotated.shape[0]))
            writer.write(annotated)
        frames += 1
    if writer is not None:
        writer.release()
    (output / "keypoints.json").write_text(json.dumps(results))
    for path in source.unreadable:
        print(f"skipped unreadable image {path}")
    if frames:
        print(f"{frames} frames, {len(results)} persons, model {pipeline.model_name}, "
              f"median latency {statistics.median(latencies):.0f} ms/frame; output in {output}")
    else:
        print(f"no frames read from {args.source}")
    return 0 if frames else 1
