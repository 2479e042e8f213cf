"""Effect of the flip test on keypoints: a briefly trained tiny RHPNet (tests/trained_tiny.py) with and
without the flip test, against the yolo11n-pose teacher it was trained on, on sports2d frames it never saw.

    .venv/bin/python bench/bench_flip_test.py [--frames 24]

Per person (boxes from the detector, so both variants see the same crops): OKS of RHPNet's keypoints
against the teacher's (joints the teacher is >= 0.5 sure of, COCO sigmas, scale = box area), and the
shift between the flip and no-flip keypoints in heatmap pixels. The cost of the flip test (a second
crop per person) is in bench_realtime.py's three-people table.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="rhpnet-bench-yolo-"))
os.environ.setdefault("YOLO_OFFLINE", "1")

from bench_detector import oks  # noqa: E402
from rhpnet_core.checkpoint import load_checkpoint  # noqa: E402
from rhpnet_core.codec import UDPHeatmapCodec  # noqa: E402
from rhpnet_core.detector import PersonDetector  # noqa: E402
from rhpnet_core.keypoints import layout_for  # noqa: E402
from rhpnet_core.runtime import create_runtime  # noqa: E402
from rhpnet_core.topdown import TopDownEstimator  # noqa: E402
from trained_tiny import held_out_frames, train_tiny  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--checkpoint", help="a trained tiny checkpoint (default: train one, ~1-3 min)")
    args = parser.parse_args()
    work = tempfile.TemporaryDirectory(prefix="rhpnet-bench-flip-")
    checkpoint = args.checkpoint or str(train_tiny(Path(work.name))[0])
    config = load_checkpoint(checkpoint)["config"]
    codec = UDPHeatmapCodec.from_config(config["codec"])
    runtime = create_runtime(config, checkpoint, backend="openvino", precision="fp32")
    flip_pairs = layout_for(runtime.num_joints)["flip_pairs"]
    variants = {flip: TopDownEstimator(runtime, codec, flip_pairs, flip_test=flip) for flip in (False, True)}
    detector = PersonDetector(device="cpu", conf=0.5)
    scores = {False: [], True: []}
    shifts = []
    for bgr in held_out_frames(args.frames):
        rgb = np.ascontiguousarray(bgr[..., ::-1])
        found = detector(rgb)
        if not len(found):
            continue
        keypoints = {flip: estimator.estimate(rgb, found.boxes_xyxy) for flip, estimator in variants.items()}
        for index, box in enumerate(found.boxes_xyxy):
            for flip in (False, True):
                value = oks(found.keypoints[index], keypoints[flip][index], box)
                if value is not None:
                    scores[flip].append(value)
            # one heatmap pixel = box width * padding / heatmap width (approximately; crops keep the aspect)
            hm_px = max(box[2] - box[0], (box[3] - box[1]) * codec.input_size[0] / codec.input_size[1]) * 1.25 \
                / codec.heatmap_size[0]
            shifts.extend(np.linalg.norm(keypoints[True][index, :, :2] - keypoints[False][index, :, :2], axis=-1) / hm_px)
    print(f"{len(scores[False])} persons on {args.frames} held-out sports2d frames; tiny RHPNet "
          f"{codec.input_size[0]}x{codec.input_size[1]}, heatmap {codec.heatmap_size[0]}x{codec.heatmap_size[1]}\n")
    print("| flip test | OKS vs teacher median | OKS mean | OKS p10 |\n|---|---|---|---|")
    for flip in (False, True):
        print(f"| {'on' if flip else 'off'} | {statistics.median(scores[flip]):.3f} | "
              f"{statistics.mean(scores[flip]):.3f} | {np.percentile(scores[flip], 10):.3f} |")
    print(f"\nflip vs no flip keypoint shift: median {np.median(shifts):.2f}, p95 {np.percentile(shifts, 95):.2f} "
          f"heatmap px")
    return 0


if __name__ == "__main__":
    sys.exit(main())
