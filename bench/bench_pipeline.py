"""End-to-end pipeline latency per frame (detector + keypoint estimator), the object the ROS node runs.

    .venv/bin/python bench/bench_pipeline.py [--frames 20] [--device cpu]

Rows: the yolo-pose estimator, and RHPNet-W32 256x192 (random weights at trained scale: latency
does not depend on their values, only on avoiding denormals) on the torch and onnxruntime backends, on real vtest.avi frames (Debian opencv-doc).
Prints a markdown table; speed lives here, never in tests.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="rhpnet-bench-yolo-"))

from random_weights import random_w32_checkpoint  # noqa: E402
from rhpnet_core.frames import FrameSource  # noqa: E402
from rhpnet_core.pipeline import build_pipeline  # noqa: E402

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def frames(count: int) -> list[np.ndarray]:
    out = []
    for frame in FrameSource(VTEST).frames():
        out.append(np.ascontiguousarray(frame[..., ::-1]))
        if len(out) == count:
            return out
    return out


def measure(pipeline, images: list[np.ndarray]) -> dict[str, float]:
    pipeline(images[0])  # warm-up (lazy init, ONNX session, allocator)
    totals, poses, persons = [], [], []
    for image in images:
        started = time.perf_counter()
        result = pipeline(image)
        totals.append((time.perf_counter() - started) * 1e3)
        poses.append(result.latency_ms["pose"])
        persons.append(len(result))
    return {"frame_ms": statistics.median(totals), "pose_ms": statistics.median(poses),
            "persons": statistics.mean(persons), "fps": 1e3 / statistics.median(totals)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--detector-imgsz", type=int, default=960)
    args = parser.parse_args()
    if not VTEST.exists():
        print(f"{VTEST} missing: apt-get install opencv-doc", file=sys.stderr)
        return 2
    images = frames(args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CACHE_HOME"] = tmp  # ONNX export cache
        checkpoint = random_w32_checkpoint(Path(tmp))
        rows = [("yolo-pose", build_pipeline("yolo-pose", device=args.device, detector_imgsz=args.detector_imgsz))]
        for backend in ("torch", "onnxruntime"):
            rows.append((f"rhpnet-w32 {backend} (flip test)",
                         build_pipeline("rhpnet", str(checkpoint), backend, args.device,
                                        detector_imgsz=args.detector_imgsz)))
        print(f"{len(images)} vtest.avi frames 768x576, detector imgsz {args.detector_imgsz}, "
              f"torch threads {__import__('torch').get_num_threads()}\n")
        print("| estimator | persons/frame | pose stage ms | frame ms | fps |\n|---|---|---|---|---|")
        for name, pipeline in rows:
            m = measure(pipeline, images)
            print(f"| {name} | {m['persons']:.1f} | {m['pose_ms']:.0f} | {m['frame_ms']:.0f} | {m['fps']:.2f} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
