"""Person samples and the top-down training dataset shared by COCO, MPII and Running Human.

A `PersonSample` is one annotated (or detected) person in source-image pixels; `TopDownDataset`
turns it into a network input and Gaussian targets through the transforms and the codec.
`FrameDataset` groups samples by image for inference through `TopDownEstimator`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from rhpnet_core.codec import UDPHeatmapCodec
from rhpnet_core.transforms import (AugmentConfig, apply_affine, box_to_center_scale, flip_keypoints,
                                    get_udp_warp_matrix, normalize, random_center_scale_rotation,
                                    upper_body_ids, warp_crop)


class DataError(ValueError):
    """An annotation file, image or annotation is unusable; the message names file and annotation."""


@dataclass
class PersonSample:
    """One person to crop.

    image_path: source image; image_id / ann_id: ids from the annotation file (MPII: list index).
    box_xywh: (4,) person box in image pixels.
    keypoints: (K, 2) image pixels; visible: (K,) 0 unlabelled, > 0 labelled (COCO 1 occluded, 2 visible).
    score: detector score (1 for ground-truth boxes). has_target: False for detector boxes (no labels).
    occluded: (K,) Running Human per-joint occlusion labels, None for other datasets.
    """

    image_path: Path
    image_id: int
    ann_id: int
    box_xywh: np.ndarray
    keypoints: np.ndarray
    visible: np.ndarray
    score: float = 1.0
    has_target: bool = True
    occluded: np.ndarray | None = field(default=None)


def read_json(path: str | Path) -> Any:
    """Parse a json annotation file, naming the file in any error."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: annotation file not found")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: malformed json: {exc}") from exc


def read_rgb(path: Path, ann_id: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB image; errors name the file and the annotation that needs it."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"{path}: missing or unreadable image (annotation {ann_id})")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def clip_box_to_image(box_xywh: Sequence[float], width: int, height: int, source: str,
                      ann_id: int) -> np.ndarray:
    """(4,) box clipped to the image (as HRNet cleans COCO boxes).

    A box with no area inside the image is an error naming `source` and the annotation.
    """
    x, y, w, h = (float(v) for v in box_xywh)
    x1, y1 = max(0.0, x), max(0.0, y)
    x2, y2 = min(float(width), x + w), min(float(height), y + h)
    if not (w > 0 and h > 0) or x2 <= x1 or y2 <= y1:
        raise DataError(f"{source}: annotation {ann_id}: box {[x, y, w, h]} lies outside the "
                        f"{width}x{height} image or has no area")
    return np.array([x1, y1, x2 - x1, y2 - y1], dtype=np.float64)


class TopDownDataset(Dataset):
    """Crops + targets for training (augmented) or validation loss (unaugmented).

    Augmentation randomness is drawn from a generator seeded by (seed, epoch, index), so a sample
    is identical whichever worker loads it and whenever a run is resumed — the basis of exact resume.

    Each item is a dict: image (3, H, W) float32, heatmaps (K, h, w), target_weight (K,),
    keypoints (K, 2) crop pixels, visible (K,), index (), matrix (2, 3) image -> crop.
    """

    def __init__(self, samples: Sequence[PersonSample], codec: UDPHeatmapCodec, joint_names: Sequence[str],
                 flip_pairs: Sequence[tuple[int, int]], train: bool, augment: AugmentConfig | None = None,
                 bbox_padding: float = 1.25, seed: int = 0) -> None:
        no_target = [s.ann_id for s in samples if not s.has_target]
        if no_target:
            raise DataError(f"TopDownDataset needs labelled persons; {len(no_target)} samples come from "
                            f"detector boxes (first annotation {no_target[0]})")
        if not samples:
            raise DataError("TopDownDataset: no samples (empty annotation file or all filtered)")
        self.samples = list(samples)
        self.codec = codec
        self.flip_pairs = tuple(flip_pairs)
        self.upper_ids = upper_body_ids(joint_names)
        self.train = train
        self.augment = augment or AugmentConfig()
        self.bbox_padding = bbox_padding
        self.seed = seed
        self.epoch = 0
        self.aspect_ratio = codec.input_size[0] / codec.input_size[1]

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation draws of `epoch` (call before creating the epoch's iterator)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        sample = self.samples[index]
        image = read_rgb(sample.image_path, sample.ann_id)
        height, width = image.shape[:2]
        # validated only: loaders already clip where the annotation format calls for it (COCO).
        clip_box_to_image(sample.box_xywh, width, height, str(sample.image_path), sample.ann_id)
        centre, scale = box_to_center_scale(sample.box_xywh, self.aspect_ratio, self.bbox_padding)
        keypoints, visible = sample.keypoints.astype(np.float64), sample.visible.copy()
        rotation = 0.0
        if self.train:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            centre, scale, rotation = random_center_scale_rotation(
                centre, scale, keypoints, visible, self.upper_ids, self.aspect_ratio, self.augment, rng)
            if rng.random() < self.augment.flip_prob:
                image = image[:, ::-1]
                keypoints, visible = flip_keypoints(keypoints, visible, self.flip_pairs, width)
                centre = np.array([width - 1 - centre[0], centre[1]])
        matrix = get_udp_warp_matrix(centre, scale, rotation, self.codec.input_size)
        crop = warp_crop(np.ascontiguousarray(image), matrix, self.codec.input_size)
        keypoints_crop = apply_affine(keypoints, matrix)
        heatmaps, weights = self.codec.encode(keypoints_crop, visible)
        return {
            "image": torch.from_numpy(normalize(crop)),
            "heatmaps": torch.from_numpy(heatmaps),
            "target_weight": torch.from_numpy(weights),
            "keypoints": torch.from_numpy(keypoints_crop.astype(np.float32)),
            "visible": torch.from_numpy((visible > 0).astype(np.float32)),
            "index": torch.tensor(index),
            "matrix": torch.from_numpy(matrix),
        }


class FrameDataset(Dataset):
    """Samples grouped by image, for inference through `TopDownEstimator` (batch_size=None).

    Item: (image (H, W, 3) uint8 RGB, boxes_xyxy (N, 4), sample indices (N,)).
    """

    def __init__(self, samples: Sequence[PersonSample]) -> None:
        self.samples = list(samples)
        groups: dict[Path, list[int]] = {}
        for i, sample in enumerate(self.samples):
            groups.setdefault(sample.image_path, []).append(i)
        self.groups = list(groups.items())

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        path, members = self.groups[index]
        image = read_rgb(path, self.samples[members[0]].ann_id)
        height, width = image.shape[:2]
        boxes = []
        for i in members:
            # validated, not clipped: the crop must match training's (MPII regions may overhang).
            clip_box_to_image(self.samples[i].box_xywh, width, height, str(path), self.samples[i].ann_id)
            x, y, w, h = self.samples[i].box_xywh
            boxes.append([x, y, x + w, y + h])
        return image, np.array(boxes, dtype=np.float64), np.array(members)
