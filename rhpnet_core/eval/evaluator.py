"""Evaluation of a pose runtime on a dataset split: predict through `TopDownEstimator` (the same
crops and decoding as deployment), then score with the dataset's metric.

Used by `rhpnet evaluate` and by validation during `rhpnet train` (sharded over DDP ranks).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from torch.utils.data import DataLoader
from tqdm import tqdm

from rhpnet_core.data import FrameDataset, PersonSample, load_samples, split_paths
from rhpnet_core.data.base import read_json
from rhpnet_core.eval.coco_eval import keypoint_stats, load_coco_gt, occlusion_stats, rescore_and_nms
from rhpnet_core.eval.pckh import load_mpii_ground_truth, pckh_table
from rhpnet_core.topdown import TopDownEstimator
from rhpnet_core.transforms import box_to_center_scale


def evaluation_samples(config: dict[str, Any], use_gt_boxes: bool | None = None) -> list[PersonSample]:
    """Persons of the val split: GT boxes, or detector boxes when `test.use_gt_boxes` is false."""
    if use_gt_boxes is None:
        use_gt_boxes = bool(config.get("test", {}).get("use_gt_boxes", True))
    return load_samples(config["data"], "val", use_detections=not use_gt_boxes)


def predict_samples(estimator: TopDownEstimator, samples: Sequence[PersonSample], workers: int = 0,
                    shard: tuple[int, int] = (0, 1), progress: bool = True) -> dict[int, np.ndarray]:
    """Keypoints (K, 3) [x, y, score] image px per sample index, for the images of this shard.

    Args:
        shard: (rank, world_size); images are dealt round-robin so ranks share the work.
    """
    frames = FrameDataset(samples)
    rank, world_size = shard
    frames.groups = frames.groups[rank::world_size]
    # batch_size=None: one frame per item, decoded by worker processes while the model runs.
    loader = DataLoader(frames, batch_size=None, shuffle=False, num_workers=workers)
    predictions: dict[int, np.ndarray] = {}
    for image, boxes, members in tqdm(loader, desc="evaluate", unit="img", disable=not progress, leave=False):
        keypoints = estimator.estimate(np.asarray(image), np.asarray(boxes))
        for index, person in zip(np.asarray(members).tolist(), keypoints):
            predictions[int(index)] = person
    return predictions


def score(config: dict[str, Any], samples: Sequence[PersonSample], predictions: dict[int, np.ndarray]
          ) -> tuple[dict[str, Any], list[dict[str, Any]] | list[list[list[float]]]]:
    """Metrics of `predictions` (sample index -> (K, 3)) against the val split's ground truth.

    Returns (metrics, results): COCO keypoint results for OKS metrics, or per-entry joint lists in
    the MPII json's own (1-based) frame for PCKh.
    """
    test_cfg = config.get("test", {})
    paths = split_paths(config["data"], "val")
    if test_cfg.get("metric", "oks") == "pckh":
        order = sorted(predictions)
        if order != list(range(len(samples))):
            raise ValueError(f"PCKh needs a prediction for each of the {len(samples)} MPII entries, "
                             f"got {len(order)}")
        # Our samples are 0-based (data/mpii.py); the json and gt_valid.mat are MATLAB 1-based.
        joints_json = np.stack([predictions[i][:, :2] for i in order]) + 1.0
        mat = test_cfg.get("headboxes_mat")
        metrics = pckh_score(paths["ann_file"], joints_json,
                             Path(config["data"].get("root", ".")) / mat if mat else None)
        return metrics, joints_json.round(3).tolist()
    aspect = config["codec"]["input_size"][0] / config["codec"]["input_size"][1]
    padding = float(config["data"].get("bbox_padding", 1.25))
    people = []
    for index, keypoints in predictions.items():
        sample = samples[index]
        _, region = box_to_center_scale(sample.box_xywh, aspect, padding)
        people.append({"image_id": sample.image_id, "keypoints": keypoints, "box_score": sample.score,
                       "area": float(region[0] * region[1])})
    results = rescore_and_nms(people, in_vis_thre=float(test_cfg.get("in_vis_threshold", 0.2)),
                              oks_thre=float(test_cfg.get("oks_nms_threshold", 0.9)))
    gt = read_json(paths["ann_file"])
    metrics = oks_score(gt, results, occlusion=config["data"].get("format") == "running_human")
    return metrics, results


def oks_score(gt: dict[str, Any], results: list[dict[str, Any]], occlusion: bool = False) -> dict[str, Any]:
    """COCOeval stats of keypoint results; with `occlusion`, also the occluded / non-occluded split."""
    metrics: dict[str, Any] = keypoint_stats(load_coco_gt(gt), results)
    if occlusion:
        metrics.update(occlusion_stats(gt, results))
    return metrics


def pckh_score(ann_file: str | Path, joints: np.ndarray, headboxes_mat: str | Path | None = None
               ) -> dict[str, Any]:
    """PCKh table of (N, 16, 2) predictions in the MPII json's frame, plus the head-size source."""
    gt_joints, visible, head_sizes, source = load_mpii_ground_truth(ann_file, headboxes_mat)
    if joints.shape != gt_joints.shape:
        raise ValueError(f"predictions {joints.shape} do not match the ground truth {gt_joints.shape} "
                         f"of {ann_file}")
    return {**pckh_table(joints, gt_joints, visible, head_sizes), "head_size": source}
