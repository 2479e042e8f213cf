"""Small generated datasets for tests that must run without ../shared: stick figures on noise.

Each joint is drawn as a disc with a joint-specific colour, limbs as lines, so a network can learn
the task; annotations are exact.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from rhpnet_core.keypoints import COCO_SKELETON

# A standing person, COCO-17 order, in a unit box (x right, y down).
COCO_TEMPLATE = np.array([
    [0.50, 0.08], [0.46, 0.06], [0.54, 0.06], [0.42, 0.08], [0.58, 0.08],
    [0.35, 0.22], [0.65, 0.22], [0.25, 0.38], [0.75, 0.38], [0.20, 0.52], [0.80, 0.52],
    [0.40, 0.55], [0.60, 0.55], [0.38, 0.75], [0.62, 0.75], [0.36, 0.95], [0.64, 0.95],
])


def person_keypoints(rng: np.random.Generator, box_xywh: tuple[float, float, float, float]) -> np.ndarray:
    """(17, 2) jittered template keypoints inside `box_xywh`."""
    x, y, w, h = box_xywh
    jitter = rng.normal(0.0, 0.02, size=COCO_TEMPLATE.shape)
    return np.clip(COCO_TEMPLATE + jitter, 0.0, 1.0) * [w, h] + [x, y]


def draw_person(image: np.ndarray, keypoints: np.ndarray) -> None:
    for a, b in COCO_SKELETON:
        cv2.line(image, tuple(int(v) for v in keypoints[a]), tuple(int(v) for v in keypoints[b]), (200, 200, 200), 2)
    for k, (x, y) in enumerate(keypoints):
        colour = tuple(int(c) for c in cv2.applyColorMap(np.uint8([[k * 15]]), cv2.COLORMAP_JET)[0, 0])
        cv2.circle(image, (int(round(x)), int(round(y))), 4, colour, -1)


def make_coco_dataset(root: Path, num_images: int = 3, size: tuple[int, int] = (160, 120), seed: int = 0,
                      occlusion: bool = False) -> Path:
    """Write images + a COCO keypoint json (+ Running Human `occluded` labels) under `root`.

    Returns the annotation file path; images are in `root`.
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    width, height = size
    images, annotations = [], []
    for i in range(num_images):
        image = rng.integers(0, 60, size=(height, width, 3), dtype=np.uint8)
        box = (float(rng.uniform(10, 40)), float(rng.uniform(5, 15)), float(rng.uniform(50, 70)),
               float(rng.uniform(90, 100)))
        keypoints = person_keypoints(rng, box)
        draw_person(image, keypoints)
        name = f"{i:06d}.png"
        cv2.imwrite(str(root / name), image)
        images.append({"id": i + 1, "file_name": name, "width": width, "height": height})
        visibility = np.full(17, 2)
        flat = np.concatenate([keypoints, visibility[:, None]], axis=1).ravel().tolist()
        ann = {"id": 100 + i, "image_id": i + 1, "category_id": 1, "iscrowd": 0, "bbox": list(box),
               "area": box[2] * box[3], "num_keypoints": 17, "keypoints": flat}
        if occlusion:
            ann["occluded"] = [int(v) for v in rng.integers(0, 2, size=17)]
        annotations.append(ann)
    data = {"images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "person", "supercategory": "person"}]}
    ann_file = root / "annotations.json"
    ann_file.write_text(json.dumps(data))
    return ann_file


def make_mpii_dataset(root: Path, num_images: int = 3, seed: int = 0) -> Path:
    """HRNet-format MPII json (1-based joints) over generated images; returns the json path."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    entries = []
    for i in range(num_images):
        image = rng.integers(0, 60, size=(200, 200, 3), dtype=np.uint8)
        joints = rng.uniform(40, 160, size=(16, 2))
        for x, y in joints:
            cv2.circle(image, (int(x), int(y)), 3, (255, 255, 255), -1)
        name = f"{i:09d}.jpg"
        cv2.imwrite(str(root / name), image)
        entries.append({"image": name, "center": [101.0, 86.0], "scale": 0.7,
                        "joints": (joints + 1).tolist(), "joints_vis": [1] * 16})
    ann_file = root / "mpii.json"
    ann_file.write_text(json.dumps(entries))
    return ann_file
