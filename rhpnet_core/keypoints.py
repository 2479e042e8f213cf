"""Keypoint layouts: names, left/right flip pairs and skeleton edges of COCO-17 and MPII-16.

The order here is the order of every heatmap channel, every message and every annotation we write.
"""
from __future__ import annotations

COCO_KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
COCO_FLIP_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16),
)
COCO_SKELETON: tuple[tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6),
    (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)
# COCO per-keypoint OKS constants (pycocotools' defaults), used by OKS-NMS.
COCO_SIGMAS: tuple[float, ...] = (
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
    0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
)

MPII_KEYPOINT_NAMES: tuple[str, ...] = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
    "pelvis", "thorax", "upper_neck", "head_top",
    "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
)
MPII_FLIP_PAIRS: tuple[tuple[int, int], ...] = ((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13))
MPII_SKELETON: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 6), (3, 6), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9),
    (7, 12), (12, 11), (11, 10), (7, 13), (13, 14), (14, 15),
)

LAYOUTS: dict[str, dict[str, tuple]] = {
    "coco": {"names": COCO_KEYPOINT_NAMES, "flip_pairs": COCO_FLIP_PAIRS, "skeleton": COCO_SKELETON},
    "mpii": {"names": MPII_KEYPOINT_NAMES, "flip_pairs": MPII_FLIP_PAIRS, "skeleton": MPII_SKELETON},
}


def layout_for(num_joints: int) -> dict[str, tuple]:
    """The keypoint layout of a model with `num_joints` outputs (17 = COCO, 16 = MPII)."""
    for layout in LAYOUTS.values():
        if len(layout["names"]) == num_joints:
            return layout
    raise ValueError(f"no keypoint layout with {num_joints} joints; expected 17 (COCO) or 16 (MPII)")
