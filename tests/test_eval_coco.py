"""OKS AP through COCOeval, HRNet rescoring + OKS-NMS, and the occlusion split."""
from __future__ import annotations

import contextlib
import copy
import io
import json

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from rhpnet_core.eval.coco_eval import (keypoint_stats, load_coco_gt, occlusion_stats, oks_nms,
                                        rescore_and_nms)
from rhpnet_core.keypoints import COCO_SIGMAS
from synthetic import make_coco_dataset


def gt_as_results(gt: dict, score: float = 1.0) -> list[dict]:
    return [{"image_id": a["image_id"], "category_id": 1, "keypoints": list(a["keypoints"]), "score": score}
            for a in gt["annotations"] if a["num_keypoints"] > 0 and not a.get("iscrowd", 0)]


def test_ground_truth_as_predictions_gives_ap_one(tmp_path):
    gt = json.loads(make_coco_dataset(tmp_path).read_text())
    stats = keypoint_stats(load_coco_gt(gt), gt_as_results(gt))
    assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == pytest.approx(1.0)


def test_fixture_ground_truth_gives_ap_one(coco_fixture_dir):
    gt = json.loads((coco_fixture_dir / "test_coco.json").read_text())
    stats = keypoint_stats(load_coco_gt(gt), gt_as_results(gt))
    assert stats["AP"] == pytest.approx(1.0) and stats["AP50"] == pytest.approx(1.0)


def test_known_perturbation_gives_hand_computed_oks(tmp_path):
    gt = json.loads(make_coco_dataset(tmp_path, num_images=1).read_text())
    ann = gt["annotations"][0]
    keypoints = np.asarray(ann["keypoints"], dtype=float).reshape(17, 3)
    shifted = keypoints.copy()
    shifted[:5, 0] += 6.0  # face joints (smallest sigmas) 6 px to the right
    # OKS (paper eq. 4): mean over labelled joints of exp(-d^2 / (2 s^2 k^2)), s^2 = area, k = 2 sigma.
    k = 2 * np.asarray(COCO_SIGMAS)
    d2 = ((shifted[:, :2] - keypoints[:, :2]) ** 2).sum(1)
    oks = float(np.mean(np.exp(-d2 / (2 * ann["area"] * k ** 2))))
    assert 0.5 < oks < 0.95
    results = [{"image_id": ann["image_id"], "category_id": 1, "keypoints": shifted.ravel().tolist(), "score": 1.0}]
    stats = keypoint_stats(load_coco_gt(gt), results)
    # One person, one prediction: matched at every threshold t <= OKS, so AP = fraction of thresholds.
    thresholds = np.linspace(0.5, 0.95, 10)
    assert stats["AP"] == pytest.approx(np.mean(thresholds <= oks + 1e-12))
    assert stats["AP50"] == pytest.approx(1.0) and stats["AP75"] == pytest.approx(float(oks >= 0.75))


def test_agrees_with_a_direct_pycocotools_call(tmp_path):
    ann_file = make_coco_dataset(tmp_path, num_images=4)
    gt = json.loads(ann_file.read_text())
    rng = np.random.default_rng(3)
    results = []
    for r in gt_as_results(gt):
        kps = np.asarray(r["keypoints"], dtype=float).reshape(17, 3)
        kps[:, :2] += rng.normal(0, 3.0, size=(17, 2))
        results.append({**r, "keypoints": kps.ravel().tolist(), "score": float(rng.uniform(0.3, 1.0))})
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(ann_file))
        evaluator = COCOeval(coco, coco.loadRes(copy.deepcopy(results)), "keypoints")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    ours = keypoint_stats(load_coco_gt(ann_file), results)
    np.testing.assert_allclose(list(ours.values()), evaluator.stats)
    assert 0.0 < ours["AP"] < 1.0


def test_oks_nms_removes_duplicates_and_keeps_distinct_people():
    base = np.zeros((17, 3))
    base[:, :2] = np.random.default_rng(0).uniform(0, 100, (17, 2))
    base[:, 2] = 0.9
    duplicate = base.copy()
    duplicate[:, :2] += 0.5
    other = base.copy()
    other[:, :2] += 300
    keep = oks_nms(np.stack([duplicate, base, other]), np.array([0.5, 0.9, 0.7]), np.full(3, 1e4), 0.9,
                   np.asarray(COCO_SIGMAS), 0.2)
    assert keep == [1, 2]


def test_rescoring_is_box_score_times_mean_confident_joint_score():
    keypoints = np.zeros((17, 3))
    keypoints[:, 2] = 0.1
    keypoints[:4, 2] = [0.8, 0.6, 0.5, 0.3]
    results = rescore_and_nms([{"image_id": 1, "keypoints": keypoints, "box_score": 0.5, "area": 1e4}])
    assert results[0]["score"] == pytest.approx(0.5 * np.mean([0.8, 0.6, 0.5, 0.3]))
    assert len(results[0]["keypoints"]) == 51 and results[0]["category_id"] == 1


def test_occlusion_split_isolates_occluded_joint_errors(tmp_path):
    gt = json.loads(make_coco_dataset(tmp_path, occlusion=True).read_text())
    perfect = occlusion_stats(gt, gt_as_results(gt))
    assert perfect["occluded"]["AP"] == pytest.approx(1.0) and perfect["non_occluded"]["AP"] == pytest.approx(1.0)
    results = gt_as_results(gt)
    for result, ann in zip(results, gt["annotations"]):
        kps = np.asarray(result["keypoints"], dtype=float).reshape(17, 3)
        kps[np.asarray(ann["occluded"]) == 1, :2] += 25.0
        result["keypoints"] = kps.ravel().tolist()
    split = occlusion_stats(gt, results)
    assert split["occluded"]["AP"] < 0.5
    assert split["non_occluded"]["AP"] == pytest.approx(1.0)
