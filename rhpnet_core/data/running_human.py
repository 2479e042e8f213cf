"""Running Human: COCO-format keypoints (17 joints) plus per-joint occlusion labels.

Annotation format = COCO person_keypoints json, each annotation carrying one extra field:

    "occluded": [o_1, ..., o_17]   # 1 where the joint is occluded (by the body, another person or an
                                   # object), 0 otherwise; same joint order as "keypoints"

The field is required: the dataset's point is evaluation under occlusion, so an annotation without
it is an error rather than silently "not occluded". `rhpnet augment` keeps it and sets it to 1 for
joints it erases. Evaluation reads it from the annotation json (rhpnet_core.eval.coco_eval).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rhpnet_core.data.base import DataError, PersonSample
from rhpnet_core.data.coco import load_coco_gt

OCCLUSION_FIELD = "occluded"


def parse_occlusion(values: Any, num_joints: int, source: str, ann_id: int) -> np.ndarray:
    """(K,) int occlusion labels from an annotation's `occluded` list, length- and value-checked."""
    if not isinstance(values, list) or len(values) != num_joints or any(v not in (0, 1) for v in values):
        raise DataError(f"{source}: annotation {ann_id}: expected '{OCCLUSION_FIELD}' as {num_joints} "
                        f"values of 0/1, got {values!r}")
    return np.asarray(values, dtype=np.int64)


def load_running_human_gt(ann_file: str | Path, image_dir: str | Path,
                          num_joints: int = 17) -> list[PersonSample]:
    """Ground-truth runners with keypoints and `occluded` (K,) labels."""
    samples, raw = load_coco_gt(ann_file, image_dir, num_joints, extra_fields=(OCCLUSION_FIELD,))
    for sample, fields in zip(samples, raw):
        sample.occluded = parse_occlusion(fields.get(OCCLUSION_FIELD), num_joints, str(ann_file), sample.ann_id)
    return samples
