"""OKS keypoint AP through pycocotools' COCOeval, with HRNet's rescoring and OKS-NMS, and the
Running Human occlusion breakdown.

Scores follow HRNet (`lib/dataset/coco.py::evaluate`): a person's score is its box score times the
mean of its keypoint scores above `in_vis_thre`; persons of an image are then suppressed with
OKS-NMS at `oks_thre` before COCOeval.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from rhpnet_core.keypoints import COCO_SIGMAS

STAT_NAMES = ("AP", "AP50", "AP75", "APM", "APL", "AR", "AR50", "AR75", "ARM", "ARL")
SUMMARY_NAMES = ("AP", "AP50", "AP75", "APM", "APL", "AR")


def load_coco_gt(ann: str | Path | dict[str, Any]) -> COCO:
    """pycocotools COCO from a file or an in-memory dict, without its progress prints."""
    data = json.loads(Path(ann).read_text()) if not isinstance(ann, dict) else ann
    coco = COCO()
    coco.dataset = copy.deepcopy(data)
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def keypoint_stats(coco_gt: COCO, results: list[dict[str, Any]],
                   sigmas: Sequence[float] | None = None) -> dict[str, float]:
    """COCOeval (iouType 'keypoints') summary stats in [0, 1], keyed by STAT_NAMES.

    Args:
        coco_gt: ground truth.
        results: COCO keypoint results [{image_id, category_id, keypoints: [x, y, s] * K, score}].
        sigmas: per-joint OKS constants (COCO's when None).
    """
    if not results:
        return {name: 0.0 for name in STAT_NAMES}
    with contextlib.redirect_stdout(io.StringIO()):
        coco_dt = coco_gt.loadRes(copy.deepcopy(results))
        evaluator = COCOeval(coco_gt, coco_dt, iouType="keypoints")
        if sigmas is not None:
            evaluator.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        evaluator.params.useSegm = None
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: float(value) for name, value in zip(STAT_NAMES, evaluator.stats)}


def oks_overlaps(keypoints: np.ndarray, others: np.ndarray, area: float, other_areas: np.ndarray,
                 sigmas: np.ndarray, in_vis_thre: float | None = None) -> np.ndarray:
    """OKS between one person (K, 3) and M others (M, K, 3) as in HRNet's `oks_iou`.

    The area is the mean of the two persons' areas. Joints are counted only where both scores
    exceed `in_vis_thre` (HRNet intends this but its `list(a) and list(b)` keeps only `b`).
    """
    variances = (2 * sigmas) ** 2
    d2 = ((others[..., :2] - keypoints[None, :, :2]) ** 2).sum(-1)
    e = d2 / variances / ((area + other_areas[:, None]) / 2 + np.spacing(1)) / 2
    mask = np.ones_like(e, dtype=bool)
    if in_vis_thre is not None:
        mask = (keypoints[None, :, 2] > in_vis_thre) & (others[..., 2] > in_vis_thre)
    counts = mask.sum(1)
    return np.where(counts > 0, (np.exp(-e) * mask).sum(1) / np.maximum(counts, 1), 0.0)


def oks_nms(keypoints: np.ndarray, scores: np.ndarray, areas: np.ndarray, threshold: float,
            sigmas: np.ndarray, in_vis_thre: float | None = None) -> list[int]:
    """Greedy OKS-NMS: indices kept, best score first. keypoints (N, K, 3), scores (N,), areas (N,)."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size > 0:
        best = order[0]
        keep.append(int(best))
        overlaps = oks_overlaps(keypoints[best], keypoints[order[1:]], areas[best], areas[order[1:]],
                                sigmas, in_vis_thre)
        order = order[1:][overlaps <= threshold]
    return keep


def rescore_and_nms(people: list[dict[str, Any]], sigmas: Sequence[float] = COCO_SIGMAS,
                    in_vis_thre: float = 0.2, oks_thre: float = 0.9) -> list[dict[str, Any]]:
    """HRNet's result post-processing.

    Args:
        people: [{image_id, keypoints (K, 3) [x, y, score] image px, box_score, area}] where area is
            the crop region's area in px^2 (HRNet: scale_w * scale_h).
    Returns:
        COCO keypoint results [{image_id, category_id: 1, keypoints: flat list, score}].
    """
    sigmas = np.asarray(sigmas, dtype=np.float64)
    by_image: dict[int, list[dict[str, Any]]] = {}
    for person in people:
        by_image.setdefault(int(person["image_id"]), []).append(person)
    results = []
    for image_id, persons in by_image.items():
        keypoints = np.stack([np.asarray(p["keypoints"], dtype=np.float64) for p in persons])
        confident = keypoints[..., 2] > in_vis_thre
        joint_score = np.where(confident.any(1),
                               (keypoints[..., 2] * confident).sum(1) / np.maximum(confident.sum(1), 1), 0.0)
        scores = joint_score * np.array([float(p["box_score"]) for p in persons])
        areas = np.array([float(p["area"]) for p in persons])
        for i in oks_nms(keypoints, scores, areas, oks_thre, sigmas, in_vis_thre):
            results.append({"image_id": image_id, "category_id": 1,
                            "keypoints": keypoints[i].ravel().round(3).tolist(), "score": float(scores[i])})
    return results


def joint_subset_gt(gt: dict[str, Any], keep_field: str, keep_value: int) -> dict[str, Any]:
    """Copy of a COCO gt dict where only joints with annotation[keep_field][k] == keep_value stay
    labelled; annotations left without labelled joints get num_keypoints 0 (COCOeval ignores them).
    """
    subset = copy.deepcopy(gt)
    for ann in subset["annotations"]:
        labels = ann.get(keep_field)
        if labels is None:
            raise ValueError(f"annotation {ann.get('id')}: no '{keep_field}' field to split joints by")
        keypoints = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
        keypoints[np.asarray(labels) != keep_value, 2] = 0
        ann["keypoints"] = keypoints.ravel().tolist()
        ann["num_keypoints"] = int((keypoints[:, 2] > 0).sum())
    return subset


def occlusion_stats(gt: dict[str, Any], results: list[dict[str, Any]],
                    field: str = "occluded") -> dict[str, dict[str, float]]:
    """Running Human: keypoint AP with OKS computed over occluded joints only, and over the rest.

    OKS still uses each person's full area, so the two numbers are comparable to the overall AP.
    """
    return {name: keypoint_stats(load_coco_gt(joint_subset_gt(gt, field, value)), results)
            for name, value in (("occluded", 1), ("non_occluded", 0))}
