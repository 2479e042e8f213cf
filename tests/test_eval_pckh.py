"""PCKh as the standard MPII evaluation: head-size normalisation, groups, mean without pelvis/thorax."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.io import savemat

from rhpnet_core.eval.pckh import (head_sizes_from_boxes, head_sizes_from_joints, load_mpii_ground_truth,
                                   pckh_table)
from synthetic import make_mpii_dataset


def test_ground_truth_as_predictions_gives_100(tmp_path):
    joints, visible, head_sizes, source = load_mpii_ground_truth(make_mpii_dataset(tmp_path))
    table = pckh_table(joints, joints, visible, head_sizes)
    assert source == "head_segment_approximation"
    assert all(value == pytest.approx(100.0) for value in table.values())


def test_fixture_ground_truth_gives_100(mpii_fixture_dir):
    joints, visible, head_sizes, _ = load_mpii_ground_truth(mpii_fixture_dir / "test_mpii.json")
    assert pckh_table(joints, joints, visible, head_sizes)["Mean"] == pytest.approx(100.0)


def test_hand_computed_table():
    joints = np.zeros((2, 16, 2))
    joints[:, 9] = [0.0, -10.0]  # head top 10 px above the upper neck
    visible = np.ones((2, 16))
    visible[1, 0] = 0  # one unlabelled right ankle
    head_sizes = head_sizes_from_boxes(np.array([[[0, 0], [30, 40]]] * 2, dtype=float))
    assert head_sizes.tolist() == [30.0, 30.0]  # 0.6 * diagonal 50
    predictions = joints.copy()
    predictions[0, 10, 0] += 16.0  # right wrist: 16 / 30 > 0.5 -> wrong
    predictions[0, 15, 0] += 14.0  # left wrist: 14 / 30 <= 0.5 -> right at 0.5, wrong at 0.1
    predictions[1, 6, 0] += 100.0  # pelvis: excluded from the mean
    predictions[1, 0, 0] += 100.0  # unlabelled: not counted
    table = pckh_table(predictions, joints, visible, head_sizes)
    assert table["Wrist"] == pytest.approx((50.0 + 100.0) / 2)
    assert table["Ankle"] == pytest.approx(100.0) and table["Hip"] == pytest.approx(100.0)
    counted = 14 * 2 - 1  # labelled joints except pelvis/thorax
    assert table["Mean"] == pytest.approx(100.0 * (counted - 1) / counted)
    assert table["Mean@0.1"] == pytest.approx(100.0 * (counted - 2) / counted)


def test_head_segment_approximation():
    joints = np.zeros((1, 16, 2))
    joints[0, 9] = [3.0, 4.0]
    assert head_sizes_from_joints(joints)[0] == pytest.approx(0.6 * math.sqrt(2) * 5.0)


def test_gt_valid_mat_is_the_ground_truth_when_given(tmp_path):
    ann_file = make_mpii_dataset(tmp_path, num_images=2)
    entries = json.loads(ann_file.read_text())
    pos = np.transpose(np.array([e["joints"] for e in entries]), (1, 2, 0))
    missing = np.zeros((16, 2))
    missing[3, 1] = 1
    boxes = np.transpose(np.array([[[0, 0], [60, 80]], [[0, 0], [30, 40]]], dtype=float), (1, 2, 0))
    mat = tmp_path / "gt_valid.mat"
    savemat(mat, {"pos_gt_src": pos, "jnt_missing": missing, "headboxes_src": boxes})
    joints, visible, head_sizes, source = load_mpii_ground_truth(ann_file, mat)
    assert source == "gt_valid.mat" and head_sizes.tolist() == [60.0, 30.0]
    assert visible[1, 3] == 0 and visible.sum() == 31
    np.testing.assert_allclose(joints, [e["joints"] for e in entries])
