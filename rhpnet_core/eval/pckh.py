"""MPII PCKh as the standard evaluation computes it (HRNet `lib/dataset/mpii.py::evaluate`, itself a
port of the MPII MATLAB code): a joint is correct when its distance to the ground truth is within
alpha x head size, head size = 0.6 x the diagonal of the annotated head box; only labelled joints
count; the Mean averages all joints except pelvis and thorax, weighted by their labelled counts.

Head boxes come from `gt_valid.mat` (`headboxes_src`), from a per-entry `"head_box": [x1, y1, x2,
y2]` in the annotation json, or — HRNet's json carries neither — are approximated from the head
segment: the head box taken as a square with side |head_top - upper_neck|, so head size =
0.6 * sqrt(2) * |head_top - upper_neck|. The approximation is reported in the result (`head_size`).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy.io import loadmat

from rhpnet_core.data.base import DataError, read_json

JOINT_GROUPS = {  # MPII joint indices (rhpnet_core.keypoints.MPII_KEYPOINT_NAMES)
    "Head": (9,), "Shoulder": (12, 13), "Elbow": (11, 14), "Wrist": (10, 15),
    "Hip": (2, 3), "Knee": (1, 4), "Ankle": (0, 5),
}
EXCLUDED_FROM_MEAN = (6, 7)  # pelvis, thorax
HEAD_SIZE_FACTOR = 0.6
UPPER_NECK, HEAD_TOP = 8, 9


def head_sizes_from_boxes(head_boxes: np.ndarray) -> np.ndarray:
    """(N,) head sizes from (N, 2, 2) head boxes [[x1, y1], [x2, y2]]."""
    return HEAD_SIZE_FACTOR * np.linalg.norm(head_boxes[:, 1] - head_boxes[:, 0], axis=-1)


def head_sizes_from_joints(joints: np.ndarray) -> np.ndarray:
    """(N,) approximate head sizes from (N, 16, 2) ground truth (see module docstring)."""
    segment = np.linalg.norm(joints[:, HEAD_TOP] - joints[:, UPPER_NECK], axis=-1)
    return HEAD_SIZE_FACTOR * math.sqrt(2.0) * segment


def pckh(predictions: np.ndarray, joints: np.ndarray, visible: np.ndarray, head_sizes: np.ndarray,
         threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-joint PCKh (%) and labelled-joint counts.

    Args:
        predictions, joints: (N, 16, 2) in the same pixel frame; visible: (N, 16) > 0 when labelled;
        head_sizes: (N,).
    Returns:
        pck (16,) percent (nan where no joint is labelled) and counts (16,).
    """
    labelled = visible > 0
    distance = np.linalg.norm(predictions - joints, axis=-1) / head_sizes[:, None]
    counts = labelled.sum(0)
    correct = ((distance <= threshold) & labelled).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * correct / counts, counts


def pckh_table(predictions: np.ndarray, joints: np.ndarray, visible: np.ndarray,
               head_sizes: np.ndarray) -> dict[str, float]:
    """The paper's Table 3 row: PCKh@0.5 per group, Mean (@0.5) and Mean@0.1."""
    pck, counts = pckh(predictions, joints, visible, head_sizes, 0.5)
    pck_01, _ = pckh(predictions, joints, visible, head_sizes, 0.1)
    weights = counts.astype(np.float64)
    weights[list(EXCLUDED_FROM_MEAN)] = 0.0
    weights /= weights.sum()
    table = {group: float(np.mean(pck[list(ids)])) for group, ids in JOINT_GROUPS.items()}
    table["Mean"] = float(np.nansum(pck * weights))
    table["Mean@0.1"] = float(np.nansum(pck_01 * weights))
    return table


def load_mpii_ground_truth(ann_file: str | Path, headboxes_mat: str | Path | None = None
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Ground truth for PCKh in the annotation's own pixel frame.

    Args:
        ann_file: HRNet MPII json (list of {joints, joints_vis, ...[head_box]}).
        headboxes_mat: optional `gt_valid.mat` aligned with the json; when given, its `pos_gt_src`,
            `jnt_missing` and `headboxes_src` are the ground truth, exactly as in HRNet.
    Returns:
        joints (N, 16, 2), visible (N, 16), head_sizes (N,), and the head-size source
        ("gt_valid.mat", "head_box" or "head_segment_approximation").
    """
    entries = read_json(ann_file)
    if not isinstance(entries, list) or not entries:
        raise DataError(f"{ann_file}: expected a non-empty list of HRNet MPII entries")
    try:
        joints = np.array([e["joints"] for e in entries], dtype=np.float64)
        visible = np.array([e["joints_vis"] for e in entries], dtype=np.float64)
    except (KeyError, ValueError) as exc:
        raise DataError(f"{ann_file}: every entry needs 'joints' (16, 2) and 'joints_vis' (16,): {exc}") from exc
    if joints.shape[1:] != (16, 2) or visible.shape[1:] != (16,):
        raise DataError(f"{ann_file}: expected joints (N, 16, 2) and joints_vis (N, 16), got "
                        f"{joints.shape} and {visible.shape}")
    if headboxes_mat is not None:
        mat = loadmat(str(headboxes_mat))
        boxes = np.transpose(mat["headboxes_src"], (2, 0, 1)).astype(np.float64)
        if len(boxes) != len(entries):
            raise DataError(f"{headboxes_mat}: {len(boxes)} head boxes for {len(entries)} entries of {ann_file}")
        joints = np.transpose(mat["pos_gt_src"], (2, 0, 1)).astype(np.float64)
        visible = 1.0 - np.transpose(mat["jnt_missing"], (1, 0)).astype(np.float64)
        return joints, visible, head_sizes_from_boxes(boxes), "gt_valid.mat"
    if all("head_box" in e for e in entries):
        boxes = np.array([e["head_box"] for e in entries], dtype=np.float64).reshape(-1, 2, 2)
        return joints, visible, head_sizes_from_boxes(boxes), "head_box"
    return joints, visible, head_sizes_from_joints(joints), "head_segment_approximation"
