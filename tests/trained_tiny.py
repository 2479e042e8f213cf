"""A briefly trained tiny RHPNet (training/configs/tiny/coco.yaml) whose heatmaps have clear peaks.

Random weights give heatmaps without a dominant peak, so engine-agreement figures on them measure
ties, not engines. This trains the tiny config on real person crops — sports2d's runner, vtest.avi's
pedestrians, ultralytics' bus/zidane — pseudo-labelled by yolo11n-pose (always installed offline).
The images and labels are written under `root`; nothing is committed.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch

from footage import SPORTS2D_DEMO, VTEST, ultralytics_asset
from rhpnet_core.config import deep_merge, load_config
from training.train import train

CONFIGS = Path(__file__).resolve().parents[1] / "training" / "configs"
MIN_KEYPOINT_CONF = 0.5  # pseudo-label joints the teacher is unsure of are marked unlabelled
TRAIN_FRACTION = 0.6  # sports2d frames before this fraction train; the rest is the "rig footage"


def _video_frames(path: Path, count: int, first: int = 0, last: int | None = None) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    last = total if last is None else min(last, total)
    wanted = set(np.linspace(first, last - 1, count).astype(int).tolist())
    frames, index = [], 0
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        if index in wanted:
            frames.append(frame)
        index += 1
    capture.release()
    return frames


def _sports2d_split() -> int:
    capture = cv2.VideoCapture(str(SPORTS2D_DEMO))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    return int(TRAIN_FRACTION * total)


def held_out_frames(count: int) -> list[np.ndarray]:
    """BGR frames (shrunk) of the part of sports2d the model is not trained on; [] without the video."""
    if not SPORTS2D_DEMO.is_file():
        return []
    return [shrink(frame) for frame in _video_frames(SPORTS2D_DEMO, count, _sports2d_split())]


def training_frames() -> list[np.ndarray]:
    """BGR frames: the first 60% of sports2d (the rest is left for calibration), vtest, bus, zidane."""
    frames = []
    if SPORTS2D_DEMO.is_file():
        frames += _video_frames(SPORTS2D_DEMO, 16, 0, _sports2d_split())
    if VTEST.is_file():
        frames += _video_frames(VTEST, 8)
    frames += [cv2.imread(str(ultralytics_asset(name))) for name in ("bus.jpg", "zidane.jpg")]
    return [shrink(frame) for frame in frames]


def shrink(frame: np.ndarray, max_side_px: int = 800) -> np.ndarray:
    """Frames no larger than the detector needs: decoding full-HD JPEGs would dominate training steps."""
    scale = max_side_px / max(frame.shape[:2])
    return frame if scale >= 1 else cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def write_pseudo_labelled_dataset(root: Path) -> Path:
    """COCO keypoint json + images under `root` from yolo11n-pose predictions; returns the json."""
    from rhpnet_core.detector import PersonDetector

    detector = PersonDetector(device="cpu", conf=0.5, imgsz=640)
    images, annotations = [], []
    root.mkdir(parents=True, exist_ok=True)
    for image_id, frame in enumerate(training_frames(), start=1):
        found = detector(np.ascontiguousarray(frame[..., ::-1]))
        name = f"{image_id:04d}.jpg"
        cv2.imwrite(str(root / name), frame)
        images.append({"id": image_id, "file_name": name, "height": frame.shape[0], "width": frame.shape[1]})
        for box, keypoints in zip(found.boxes_xyxy, found.keypoints):
            visible = keypoints[:, 2] >= MIN_KEYPOINT_CONF
            if visible.sum() < 8:
                continue
            x1, y1, x2, y2 = (float(v) for v in box)
            flat = np.column_stack([keypoints[:, :2], np.where(visible, 2, 0)]) * visible[:, None]
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                                "num_keypoints": int(visible.sum()),
                                "keypoints": [round(float(v), 2) for v in flat.reshape(-1)]})
    ann_file = root / "annotations.json"
    ann_file.write_text(json.dumps({"images": images, "annotations": annotations,
                                    "categories": [{"id": 1, "name": "person"}]}))
    return ann_file


def train_tiny(work: Path, steps: int = 120) -> tuple[Path, dict]:
    """(checkpoint, config) of the tiny config trained `steps` steps on the pseudo-labelled crops."""
    ann_file = write_pseudo_labelled_dataset(work / "data")
    config = deep_merge(load_config(CONFIGS / "tiny" / "coco.yaml"), {
        "data": {"root": str(work / "data"), "train": {"ann_file": str(ann_file)},
                 "val": {"ann_file": str(ann_file)}},
        "train": {"epochs": 10 ** 4, "batch_size": 4, "checkpoint_interval_steps": 10 ** 6,
                  "optimizer": {"lr": 3.0e-3}},
    })
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # narrow convs on a shared 2-core machine: 1 thread is faster (test_train_learns)
    try:
        summary = train(config, work / "train", device="cpu", max_steps=steps, progress=False)
    finally:
        torch.set_num_threads(threads)
    return work / "train" / "last.pth", {**config, "summary": summary}
