"""YOLO11n-pose person detector through OpenVINO (fp32, int8) against ultralytics' torch `.pt` on real frames.

    .venv/bin/python bench/bench_detector.py [--frames 24] [--json]

Like with like: frames are resized to the rig camera's 640x480 (as the realtime benchmark's
camera_replay publishes them), and every engine sees the same 480x640 letterbox: the minimal
rectangle the `.pt` predict uses, and the fixed shape the exports are made at. The torch detector
is the reference: persons found, boxes matched at IoU >= 0.5 (Hungarian), mean IoU of the matches,
and OKS of each matched person's 17 keypoints (COCO sigmas, keypoints the reference is >= 0.5 sure
of, scale = reference box area). This is a trained model, so int8's agreement is a real accuracy
figure. int8 is calibrated on frames from the first half of each clip and measured on the second
half. Latency: the engines are called alternately per frame; the ratio is the median of per-frame
ratios to the `.pt`.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="rhpnet-bench-yolo-"))
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "False")

from footage import SPORTS2D_DEMO, VTEST  # noqa: E402
from rhpnet_core.detector import PersonDetector  # noqa: E402
from rhpnet_core.keypoints import COCO_SIGMAS  # noqa: E402


def clip_frames(path: Path, count: int, first_fraction: float, last_fraction: float) -> list[np.ndarray]:
    """`count` RGB frames spread over [first, last) fractions of a clip."""
    capture = cv2.VideoCapture(str(path))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    wanted = set(np.linspace(int(first_fraction * total), int(last_fraction * total) - 1, count).astype(int))
    frames, index = [], 0
    while True:
        ok, frame = capture.read()
        if not ok or index > max(wanted):
            break
        if index in wanted:
            frames.append(np.ascontiguousarray(cv2.resize(frame, (640, 480), interpolation=cv2.INTER_AREA)[..., ::-1]))
        index += 1
    capture.release()
    return frames


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda z: (z[:, 2] - z[:, 0]) * (z[:, 3] - z[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter + 1e-9)


def oks(reference: np.ndarray, candidate: np.ndarray, box: np.ndarray) -> float | None:
    """COCO OKS of (17, 3) keypoints against a reference; None when the reference is sure of no joint."""
    sure = reference[:, 2] >= 0.5
    if not sure.any():
        return None
    scale_sq = max((box[2] - box[0]) * (box[3] - box[1]), 1.0)
    d_sq = ((candidate[:, :2] - reference[:, :2]) ** 2).sum(-1)
    k_sq = (2 * np.asarray(COCO_SIGMAS)) ** 2
    return float(np.exp(-d_sq / (2 * scale_sq * k_sq))[sure].mean())


def compare(reference, candidate) -> dict:
    """Persons found, matches at IoU >= 0.5 with their IoU and OKS."""
    out = {"ref": len(reference), "cand": len(candidate), "ious": [], "oks": []}
    if len(reference) and len(candidate):
        iou = iou_matrix(reference.boxes_xyxy, candidate.boxes_xyxy)
        rows, cols = linear_sum_assignment(-iou)
        for r, c in zip(rows, cols):
            if iou[r, c] >= 0.5:
                out["ious"].append(float(iou[r, c]))
                value = oks(reference.keypoints[r], candidate.keypoints[c], reference.boxes_xyxy[r])
                if value is not None:
                    out["oks"].append(value)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=24, help="evaluation frames per clip")
    parser.add_argument("--json", action="store_true", help="print one json object last")
    args = parser.parse_args()
    work = tempfile.TemporaryDirectory(prefix="rhpnet-bench-det-")
    os.environ["XDG_CACHE_HOME"] = work.name  # exports stay out of the user cache
    calibration = Path(work.name) / "calibration"
    calibration.mkdir()
    evaluation = []
    for clip in (VTEST, SPORTS2D_DEMO):
        for i, frame in enumerate(clip_frames(clip, 32, 0.0, 0.5)):
            cv2.imwrite(str(calibration / f"{clip.stem}_{i:03d}.jpg"), frame[..., ::-1])
        evaluation += [(clip.stem, f) for f in clip_frames(clip, args.frames, 0.5, 1.0)]

    engines = {"torch (.pt, rect letterbox)": PersonDetector(device="cpu"),
               "openvino fp32": PersonDetector(device="cpu", backend="openvino", precision="fp32"),
               "openvino int8": PersonDetector(device="cpu", backend="openvino", precision="int8",
                                               calibration=calibration)}
    started = time.perf_counter()
    for detector in engines.values():
        detector(evaluation[0][1])  # export (cached) + compile, outside the timing
    setup_s = time.perf_counter() - started
    names = list(engines)
    times = {n: [] for n in names}
    stats = {n: {"ref": 0, "cand": 0, "ious": [], "oks": []} for n in names[1:]}
    for round_index, (_, frame) in enumerate(evaluation):
        order = names[round_index % len(names):] + names[:round_index % len(names)]
        results = {}
        for name in order:
            time.sleep(0.02)
            t0 = time.perf_counter()
            results[name] = engines[name](frame)
            times[name].append(time.perf_counter() - t0)
        for name in names[1:]:
            found = compare(results[names[0]], results[name])
            for key in stats[name]:
                stats[name][key] += found[key] if isinstance(found[key], list) else found[key]
    print(f"{len(evaluation)} frames at 640x480 (second halves of vtest.avi and the sports2d demo); "
          f"int8 calibrated on {len(list(calibration.glob('*.jpg')))} first-half frames; load average "
          f"{os.getloadavg()[0]:.2f}; exports + compiles {setup_s:.0f} s\n")
    print("| engine | ms/frame median | ratio to .pt (median of per-frame ratios) | persons found (.pt) "
          "| matched IoU>=0.5 | mean IoU | OKS of keypoints median / p10 |\n|---|---|---|---|---|---|---|")
    summary = {}
    for name in names:
        ratio = statistics.median(t / r for t, r in zip(times[name], times[names[0]]))
        row = {"ms": 1e3 * statistics.median(times[name]), "ratio": ratio}
        if name in stats:
            s = stats[name]
            row.update(persons=s["cand"], reference_persons=s["ref"], matched=len(s["ious"]),
                       mean_iou=float(np.mean(s["ious"])) if s["ious"] else 0.0,
                       oks_median=float(np.median(s["oks"])) if s["oks"] else 0.0,
                       oks_p10=float(np.percentile(s["oks"], 10)) if s["oks"] else 0.0)
            print(f"| {name} | {row['ms']:.1f} | {ratio:.3f} | {s['cand']} ({s['ref']}) | {row['matched']} | "
                  f"{row['mean_iou']:.3f} | {row['oks_median']:.3f} / {row['oks_p10']:.3f} |")
        else:
            print(f"| {name} | {row['ms']:.1f} | 1.000 | - | - | - | - |")
        summary[name] = row
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
