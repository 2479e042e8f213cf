"""Detection only when needed: what `detect_every` saves, and how well keypoint boxes stand in for detector boxes.

    .venv/bin/python bench/bench_detect_every.py [--frames 60] [--backend torch] [--every 1 2 3 5 10]

Footage: the sports2d demo at half resolution (a person standing and jumping on a box, a walker
crossing below), target `longest`, so one crop per frame reaches the keypoint network.

Part 1, box agreement on real keypoints: yolo11n-pose on every frame. For each frame, the box the
pipeline would propagate from the previous frame's keypoints (`keypoints_to_box`) against the
detector's own box on this frame (IoU), and the ratio of the detector's box to the extent of the
confident keypoints (what `PropagationSettings.box_scale` should be).

Part 2, cost: RHPNet-W32 256x192 with random weights at trained scale, `detect_every` N, the
detector's most confident person only (target `all`, max_persons 1: random keypoints would lose the
`longest` runner's track at each detection). Random heatmaps have no usable scores, so the
propagation thresholds are opened to let every in-between frame propagate: the boxes are
meaningless, the cost per frame is not. The N values alternate in
rounds over the same frames; absolute times on a shared machine drift, ratios to N = 1 are the result.

Part 3 (with --checkpoint, a trained model): keypoint agreement of `detect_every` N with N = 1 on
the same frames, target `longest`: OKS (COCO sigmas, the reference box area) between the runner's
keypoints with and without detection on every frame, over the frames N did not detect on.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="rhpnet-bench-yolo-"))
os.environ.setdefault("YOLO_OFFLINE", "1")

from random_weights import random_w32_checkpoint  # noqa: E402
from rhpnet_core.pipeline import PropagationSettings, build_pipeline  # noqa: E402
from rhpnet_core.topdown import keypoints_to_box  # noqa: E402
from rhpnet_core.keypoints import COCO_SIGMAS  # noqa: E402
from rhpnet_core.tracking import box_iou, keypoint_oks  # noqa: E402

SPORTS2D_DEMO = Path(sys.prefix) / "share" / "rhpnet-footage" / "sports2d_demo.mp4"
BOX_SCALES = (1.0, 1.1, 1.2, 1.3, 1.4)


def frames(count: int, first: int = 0) -> list[np.ndarray]:
    """`count` frames from frame `first` on, RGB at half resolution."""
    capture = cv2.VideoCapture(str(SPORTS2D_DEMO))
    capture.set(cv2.CAP_PROP_POS_FRAMES, first)
    out = []
    while len(out) < count:
        ok, frame = capture.read()
        if not ok:
            break
        small = cv2.resize(frame, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        out.append(np.ascontiguousarray(small[..., ::-1]))
    capture.release()
    return out


def box_agreement(images: list[np.ndarray], device: str) -> None:
    pipeline = build_pipeline("yolo-pose", device=device, target="longest")
    runner = [pipeline(image, stamp_s=index / 30.0) for index, image in enumerate(images)]
    ious = {scale: [] for scale in BOX_SCALES}
    width_ratio, height_ratio = [], []
    for previous, current in zip(runner, runner[1:]):
        if len(previous) != 1 or len(current) != 1 or previous.track_ids[0] != current.track_ids[0]:
            continue
        for scale in BOX_SCALES:
            box = keypoints_to_box(previous.keypoints[0], scale=scale)
            if box is not None:
                ious[scale].append(float(box_iou(box[None], current.boxes_xyxy)[0, 0]))
        extent = keypoints_to_box(current.keypoints[0], scale=1.0)
        if extent is not None:
            size = extent[2:] - extent[:2]
            box_size = current.boxes_xyxy[0, 2:] - current.boxes_xyxy[0, :2]
            width_ratio.append(float(box_size[0] / max(size[0], 1.0)))
            height_ratio.append(float(box_size[1] / max(size[1], 1.0)))
    pairs = len(ious[BOX_SCALES[0]])
    print(f"Part 1: {len(images)} frames, {pairs} consecutive frame pairs with the same runner track\n")
    print("| box_scale | IoU with the detector's next box: median | p10 |\n|---|---|---|")
    for scale in BOX_SCALES:
        values = ious[scale]
        if values:
            print(f"| {scale:.1f} | {statistics.median(values):.3f} | {np.percentile(values, 10):.3f} |")
    if width_ratio:
        print(f"\ndetector box / confident-keypoint extent: width median {statistics.median(width_ratio):.2f}, "
              f"height median {statistics.median(height_ratio):.2f}\n")


def cost(images: list[np.ndarray], device: str, backend: str, every: list[int], rounds: int,
         flip_test: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CACHE_HOME"] = tmp  # ONNX export cache
        checkpoint = random_w32_checkpoint(Path(tmp))
        pipeline = build_pipeline("rhpnet", str(checkpoint), backend, device, max_persons=1,
                                  flip_test=flip_test)
        pipeline.propagation = PropagationSettings(keypoint_score=0.0, min_keypoints=1, collapse_ratio=0.0,
                                                   min_inside_fraction=0.0)
        pipeline(images[0])  # warm-up: lazy initialisation, export, allocator
        frame_ms: dict[int, list[float]] = {n: [] for n in every}
        detected: dict[int, list[bool]] = {n: [] for n in every}
        stages: dict[int, dict[str, list[float]]] = {n: {"detect": [], "pose": [], "track": []} for n in every}
        for _ in range(rounds):
            for n in every:
                pipeline.reset()
                pipeline.update_options(detect_every=n)
                for index, image in enumerate(images):
                    started = time.perf_counter()
                    result = pipeline(image, stamp_s=index / 30.0)
                    frame_ms[n].append((time.perf_counter() - started) * 1e3)
                    detected[n].append(result.detected)
                    for stage in stages[n]:
                        stages[n][stage].append(result.latency_ms[stage])
        base = statistics.mean(frame_ms[every[0]])
        print(f"Part 2: {pipeline.model_name}, flip test {flip_test}, {len(images)} frames x {rounds} rounds "
              f"per N, one person per frame\n")
        print("| detect_every | frames detected | mean frame ms | detect ms/frame | pose ms/frame | track ms/frame "
              f"| frame time vs N={every[0]} |\n|---|---|---|---|---|---|---|")
        for n in every:
            mean = statistics.mean(frame_ms[n])
            print(f"| {n} | {np.mean(detected[n]):.2f} | {mean:.1f} | {statistics.mean(stages[n]['detect']):.1f} | "
                  f"{statistics.mean(stages[n]['pose']):.1f} | {statistics.mean(stages[n]['track']):.2f} | "
                  f"{mean / base:.2f} |", flush=True)


def agreement(images: list[np.ndarray], checkpoint: str, device: str, backend: str, every: list[int],
              flip_test: bool) -> None:
    pipeline = build_pipeline("rhpnet", checkpoint, backend, device, target="longest", flip_test=flip_test)
    runs = {}
    for n in every:
        pipeline.reset()
        pipeline.update_options(detect_every=n)
        runs[n] = [pipeline(image, stamp_s=index / 30.0) for index, image in enumerate(images)]
    reference = runs[every[0]]
    print(f"\nPart 3: {pipeline.model_name}, flip test {flip_test}, {len(images)} frames, target longest, "
          f"agreement with detect_every {every[0]}\n")
    print("| detect_every | frames detected | propagated runner frames | OKS median | OKS p10 | OKS < 0.5 |\n"
          "|---|---|---|---|---|---|")
    sigmas = np.asarray(COCO_SIGMAS)
    for n in every[1:]:
        oks = []
        for ref, res in zip(reference, runs[n]):
            if len(ref) == 1 and len(res) == 1 and not res.detected:
                area = float(np.prod(ref.boxes_xyxy[0, 2:] - ref.boxes_xyxy[0, :2]))
                value = keypoint_oks(res.keypoints[0], ref.keypoints[0], area, sigmas, min_score=0.0)
                if value is not None:
                    oks.append(value)
        detected = np.mean([r.detected for r in runs[n]])
        if oks:
            print(f"| {n} | {detected:.2f} | {len(oks)} | {statistics.median(oks):.3f} | "
                  f"{np.percentile(oks, 10):.3f} | {np.mean(np.array(oks) < 0.5):.2f} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--every", type=int, nargs="+", default=[1, 2, 3, 5, 10])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-flip-test", action="store_true")
    parser.add_argument("--skip-agreement", action="store_true")
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--first", type=int, default=0, help="first frame of the demo to use")
    parser.add_argument("--checkpoint", default=None, help="a trained COCO-17 checkpoint: part 3")
    args = parser.parse_args()
    if not SPORTS2D_DEMO.is_file():
        print(f"{SPORTS2D_DEMO} missing: run `make setup`", file=sys.stderr)
        return 2
    images = frames(args.frames, args.first)
    print(f"sports2d demo, {len(images)} frames {images[0].shape[1]}x{images[0].shape[0]}, "
          f"torch threads {__import__('torch').get_num_threads()}, load average {os.getloadavg()[0]:.2f}\n")
    if not args.skip_agreement:
        box_agreement(images, args.device)
    if not args.skip_cost:
        cost(images, args.device, args.backend, args.every, args.rounds, not args.no_flip_test)
    if args.checkpoint:
        agreement(images, args.checkpoint, args.device, args.backend, args.every, not args.no_flip_test)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
