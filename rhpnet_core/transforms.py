"""Top-down geometry and augmentation: box -> (centre, scale), the UDP affine crop, back-projection,
HRNet's COCO augmentation recipe (random scale, rotation, flip with joint swap, half-body) and
ImageNet normalisation.

Conventions: `centre` (2,) and `scale` (2,) are in source-image pixels (`scale` = width, height of
the region that fills the crop, padding included); pixel centres are integer coordinates (UDP).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# Joint names that belong to the lower body in half-body augmentation (HRNet's upper/lower split).
LOWER_BODY_WORDS = ("hip", "knee", "ankle", "pelvis")


def box_to_center_scale(box_xywh: Sequence[float], aspect_ratio: float,
                        padding: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """Centre and padded size of a person box, widened or heightened to the crop's aspect ratio.

    Args:
        box_xywh: (x, y, w, h) in image pixels.
        aspect_ratio: crop width / height.
        padding: context factor around the box (HRNet: 1.25).
    Returns:
        centre (2,), scale (2,) float64 in image pixels.
    """
    x, y, w, h = (float(v) for v in box_xywh)
    centre = np.array([x + 0.5 * w, y + 0.5 * h], dtype=np.float64)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    else:
        w = h * aspect_ratio
    return centre, np.array([w, h], dtype=np.float64) * padding


def get_udp_warp_matrix(centre: np.ndarray, scale: np.ndarray, rotation_deg: float,
                        output_size: Sequence[int]) -> np.ndarray:
    """(2, 3) affine taking image pixels to crop pixels, unbiased (UDP) version.

    The region `scale` around `centre`, rotated by `rotation_deg` (counter-clockwise in the image),
    maps onto the crop so that `centre` lands on the crop's centre pixel ((W-1)/2, (H-1)/2) and the
    region's extent spans W-1 by H-1 pixel spacings — the same convention the codec uses.
    """
    rot = math.radians(rotation_deg)
    cos, sin = math.cos(rot), math.sin(rot)
    sx = (output_size[0] - 1) / scale[0]
    sy = (output_size[1] - 1) / scale[1]
    cx, cy = float(centre[0]), float(centre[1])
    matrix = np.array([
        [cos * sx, -sin * sx, sx * (-cx * cos + cy * sin + 0.5 * scale[0])],
        [sin * sy, cos * sy, sy * (-cx * sin - cy * cos + 0.5 * scale[1])],
    ], dtype=np.float64)
    return matrix


def warp_crop(image: np.ndarray, matrix: np.ndarray, output_size: Sequence[int]) -> np.ndarray:
    """Crop (H, W, C) `image` through the (2, 3) `matrix` into `output_size` (W, H); zero fill."""
    return cv2.warpAffine(image, matrix, (int(output_size[0]), int(output_size[1])), flags=cv2.INTER_LINEAR)


def apply_affine(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(..., 2) points mapped through a (2, 3) affine."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def crop_to_image(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Back-project (..., 2) crop-pixel points to source-image pixels (inverse of `matrix`)."""
    return apply_affine(points, cv2.invertAffineTransform(matrix))


def flip_keypoints(keypoints: np.ndarray, visible: np.ndarray, flip_pairs: Sequence[tuple[int, int]],
                   image_width: int) -> tuple[np.ndarray, np.ndarray]:
    """Mirror (K, 2) keypoints about the image's vertical axis and swap left/right joints.

    With integer pixel centres the mirror of x is `image_width - 1 - x` (UDP).
    Returns new (K, 2) keypoints and (K,) visibility.
    """
    flipped = np.array(keypoints, dtype=np.float64, copy=True)
    vis = np.array(visible, copy=True)
    flipped[:, 0] = image_width - 1 - flipped[:, 0]
    for left, right in flip_pairs:
        flipped[[left, right]] = flipped[[right, left]]
        vis[[left, right]] = vis[[right, left]]
    return flipped, vis


def upper_body_ids(joint_names: Sequence[str]) -> tuple[int, ...]:
    """Indices of upper-body joints (everything except hips, knees, ankles, pelvis)."""
    return tuple(i for i, name in enumerate(joint_names) if not any(w in name for w in LOWER_BODY_WORDS))


def normalize(image_rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 ImageNet-normalised network input."""
    scaled = image_rgb.astype(np.float32) / 255.0
    return np.ascontiguousarray(((scaled - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1))


@dataclass
class AugmentConfig:
    """HRNet's COCO training augmentation (w32_256x192_adam_lr1e-3.yaml, JointsDataset).

    scale_factor: the region is scaled by clip(1 + N(0,1) * f, 1 - f, 1 + f) (0.35 -> ±35 %).
    rotation_factor: degrees = clip(N(0,1) * f, -2f, 2f), applied with probability rotation_prob.
    flip_prob: horizontal flip with left/right joint swap.
    half_body_prob / half_body_min_joints: crop to the upper or lower body (HRNet: 0.3, > 8 joints).
    """

    scale_factor: float = 0.35
    rotation_factor: float = 45.0
    rotation_prob: float = 0.6
    flip_prob: float = 0.5
    half_body_prob: float = 0.3
    half_body_min_joints: int = 8

    @classmethod
    def from_config(cls, cfg: dict | None) -> "AugmentConfig":
        """From a `data.augment` section; unknown keys are an error so typos don't go unnoticed."""
        cfg = dict(cfg or {})
        unknown = set(cfg) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown data.augment keys {sorted(unknown)}; "
                             f"expected {sorted(cls.__dataclass_fields__)}")
        return cls(**cfg)


def half_body_center_scale(keypoints: np.ndarray, visible: np.ndarray, upper_ids: Sequence[int],
                           aspect_ratio: float, rng: np.random.Generator,
                           padding: float = 1.5) -> tuple[np.ndarray, np.ndarray] | None:
    """HRNet's half-body region: the box of the visible upper (or lower) joints, padded 1.5x.

    Returns None when fewer than 2 joints of the chosen half are visible.
    """
    upper = [k for k in range(len(visible)) if visible[k] > 0 and k in upper_ids]
    lower = [k for k in range(len(visible)) if visible[k] > 0 and k not in upper_ids]
    if rng.standard_normal() < 0.5 and len(upper) > 2:
        chosen = upper
    else:
        chosen = lower if len(lower) > 2 else upper
    if len(chosen) < 2:
        return None
    points = keypoints[chosen]
    centre = points.mean(axis=0)
    w, h = points.max(axis=0) - points.min(axis=0)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    else:
        w = h * aspect_ratio
    return centre.astype(np.float64), np.array([w, h], dtype=np.float64) * padding


def random_center_scale_rotation(centre: np.ndarray, scale: np.ndarray, keypoints: np.ndarray,
                                 visible: np.ndarray, upper_ids: Sequence[int], aspect_ratio: float,
                                 aug: AugmentConfig, rng: np.random.Generator
                                 ) -> tuple[np.ndarray, np.ndarray, float]:
    """Half-body, random scale and random rotation of a crop region (HRNet's order).

    Returns the new centre (2,), scale (2,) and rotation in degrees.
    """
    if (int((visible > 0).sum()) > aug.half_body_min_joints and rng.random() < aug.half_body_prob):
        half = half_body_center_scale(keypoints, visible, upper_ids, aspect_ratio, rng)
        if half is not None:
            centre, scale = half
    factor = float(np.clip(rng.standard_normal() * aug.scale_factor + 1.0,
                           1.0 - aug.scale_factor, 1.0 + aug.scale_factor))
    rotation = 0.0
    if rng.random() <= aug.rotation_prob:
        rotation = float(np.clip(rng.standard_normal() * aug.rotation_factor,
                                 -2.0 * aug.rotation_factor, 2.0 * aug.rotation_factor))
    return centre, scale * factor, rotation
