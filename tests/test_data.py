"""COCO / MPII / Running Human loaders, the top-down dataset and their error messages."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rhpnet_core.codec import UDPHeatmapCodec
from rhpnet_core.data import DataError, FrameDataset, TopDownDataset, build_train_dataset, load_samples
from rhpnet_core.data.coco import load_coco_detections, load_coco_gt
from rhpnet_core.data.mpii import load_mpii
from rhpnet_core.data.running_human import load_running_human_gt
from rhpnet_core.keypoints import COCO_FLIP_PAIRS, COCO_KEYPOINT_NAMES
from synthetic import make_coco_dataset, make_mpii_dataset

CODEC = UDPHeatmapCodec((96, 128), (24, 32), sigma=2.0)


def coco_config(root, ann_file, fmt="coco"):
    return {"data": {"format": fmt, "root": str(root),
                     "train": {"ann_file": ann_file.name, "image_dir": "."},
                     "val": {"ann_file": ann_file.name, "image_dir": "."}}}


def test_unaugmented_targets_sit_on_the_annotated_joints(tmp_path):
    ann_file = make_coco_dataset(tmp_path)
    dataset = build_train_dataset(coco_config(tmp_path, ann_file), CODEC, seed=0, train=False)
    assert len(dataset) == 3
    item = dataset[0]
    assert item["image"].shape == (3, 128, 96) and item["heatmaps"].shape == (17, 32, 24)
    decoded, _ = CODEC.decode(item["heatmaps"].numpy()[None])
    np.testing.assert_allclose(decoded[0], item["keypoints"].numpy(), atol=0.1 * CODEC.scale.max())
    sample = dataset.samples[0]
    back = np.linalg.solve(np.vstack([item["matrix"].numpy(), [0, 0, 1]]),
                           np.c_[item["keypoints"].numpy(), np.ones(17)].T).T[:, :2]
    np.testing.assert_allclose(back, sample.keypoints, atol=1e-3)


def test_augmentation_is_a_function_of_seed_epoch_and_index(tmp_path):
    ann_file = make_coco_dataset(tmp_path)
    dataset = build_train_dataset(coco_config(tmp_path, ann_file), CODEC, seed=7)
    first = dataset[1]["image"]
    assert dataset[1]["image"].equal(first)
    dataset.set_epoch(1)
    assert not dataset[1]["image"].equal(first)


def test_augmented_targets_follow_the_joints(tmp_path):
    ann_file = make_coco_dataset(tmp_path, num_images=2)
    dataset = build_train_dataset(coco_config(tmp_path, ann_file), CODEC, seed=0)
    checked = 0
    for epoch in range(4):
        dataset.set_epoch(epoch)
        item = dataset[0]
        weights = item["target_weight"].numpy()
        decoded, _ = CODEC.decode(item["heatmaps"].numpy()[None])
        # away from the border, where the blur of DARK sees a truncated Gaussian.
        margin = 3 * CODEC.sigma * CODEC.scale
        keypoints = item["keypoints"].numpy()
        inside = (weights > 0) & ((keypoints >= margin) & (keypoints <= [95, 127] - margin)).all(1)
        checked += int(inside.sum())
        np.testing.assert_allclose(decoded[0][inside], item["keypoints"].numpy()[inside], atol=0.5)
    assert checked >= 20


def test_real_coco_fixture_loads(coco_fixture_dir):
    samples, _ = load_coco_gt(coco_fixture_dir / "test_coco.json", coco_fixture_dir)
    assert len(samples) > 0 and all(s.keypoints.shape == (17, 2) for s in samples)
    detections = load_coco_detections(coco_fixture_dir / "test_coco_det_AP_H_56.json",
                                      coco_fixture_dir / "test_coco.json", coco_fixture_dir)
    assert detections and not detections[0].has_target
    frames = FrameDataset(detections)
    image, boxes, members = frames[0]
    assert image.ndim == 3 and boxes.shape == (len(members), 4)


def test_real_mpii_fixture_loads(mpii_fixture_dir):
    samples = load_mpii(mpii_fixture_dir / "test_mpii.json", mpii_fixture_dir)
    assert len(samples) == 5 and samples[0].keypoints.shape == (16, 2)


def test_mpii_converts_hrnet_centre_scale_and_one_based_joints(tmp_path):
    ann_file = make_mpii_dataset(tmp_path, num_images=1)
    sample = load_mpii(ann_file, tmp_path)[0]
    entry = json.loads(ann_file.read_text())[0]
    np.testing.assert_allclose(sample.keypoints, np.array(entry["joints"]) - 1)
    # centre moved down by 15 * scale, square side 200 * scale, 0-based.
    np.testing.assert_allclose(sample.box_xywh, [100 - 70, 85 + 10.5 - 70, 140, 140])
    dataset = build_train_dataset({"data": {"format": "mpii", "root": str(tmp_path),
                                            "train": {"ann_file": ann_file.name, "image_dir": "."}}},
                                  UDPHeatmapCodec((128, 128), (32, 32)), seed=0)
    assert dataset[0]["heatmaps"].shape == (16, 32, 32)


def test_running_human_keeps_occlusion_labels(tmp_path):
    ann_file = make_coco_dataset(tmp_path, occlusion=True)
    samples = load_running_human_gt(ann_file, tmp_path)
    raw = json.loads(ann_file.read_text())["annotations"]
    assert [s.occluded.tolist() for s in samples] == [a["occluded"] for a in raw]


def rewrite(ann_file, change):
    data = json.loads(ann_file.read_text())
    change(data)
    ann_file.write_text(json.dumps(data))


def test_running_human_without_occlusion_labels_is_an_error(tmp_path):
    ann_file = make_coco_dataset(tmp_path, occlusion=True)
    rewrite(ann_file, lambda d: d["annotations"][1].pop("occluded"))
    with pytest.raises(DataError, match=r"annotations.json: annotation 101: expected 'occluded'"):
        load_running_human_gt(ann_file, tmp_path)


def test_missing_image_names_file_and_annotation(tmp_path):
    ann_file = make_coco_dataset(tmp_path)
    (tmp_path / "000001.png").unlink()
    with pytest.raises(DataError, match=r"000001.png: missing image \(annotation 101"):
        load_samples(coco_config(tmp_path, ann_file)["data"], "train")


def test_malformed_json_names_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [')
    with pytest.raises(DataError, match="bad.json: malformed json"):
        load_coco_gt(bad, tmp_path)


def test_wrong_keypoint_length_names_annotation(tmp_path):
    ann_file = make_coco_dataset(tmp_path)
    rewrite(ann_file, lambda d: d["annotations"][2]["keypoints"].pop())
    with pytest.raises(DataError, match=r"annotation 102: expected 51 keypoint values .* got 50"):
        load_coco_gt(ann_file, tmp_path)


def test_box_outside_image_names_annotation(tmp_path):
    ann_file = make_coco_dataset(tmp_path)
    rewrite(ann_file, lambda d: d["annotations"][0].update(bbox=[500.0, 10.0, 20.0, 20.0]))
    with pytest.raises(DataError, match=r"annotation 100: box .* lies outside the 160x120 image"):
        load_coco_gt(ann_file, tmp_path)


def test_mpii_region_outside_image_fails_when_read(tmp_path):
    ann_file = make_mpii_dataset(tmp_path, num_images=1)
    rewrite_list = json.loads(ann_file.read_text())
    rewrite_list[0]["center"] = [900.0, 900.0]
    ann_file.write_text(json.dumps(rewrite_list))
    samples = load_mpii(ann_file, tmp_path)
    dataset = TopDownDataset(samples, UDPHeatmapCodec((64, 64), (16, 16)), ["a"] * 16, (), train=False)
    with pytest.raises(DataError, match="annotation 0: box .* lies outside the 200x200 image"):
        dataset[0]


def test_unreadable_image_at_load_time_names_file(tmp_path):
    ann_file = make_coco_dataset(tmp_path, num_images=1)
    (tmp_path / "000000.png").write_bytes(b"not an image")
    dataset = build_train_dataset(coco_config(tmp_path, ann_file), CODEC, seed=0)
    with pytest.raises(DataError, match="000000.png: missing or unreadable image"):
        dataset[0]


def test_detector_boxes_never_become_training_targets(tmp_path):
    ann_file = make_coco_dataset(tmp_path, num_images=1)
    det_file = tmp_path / "dets.json"
    det_file.write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 90], "score": 0.9}]))
    detections = load_coco_detections(det_file, ann_file, tmp_path)
    with pytest.raises(DataError, match="detector boxes"):
        TopDownDataset(detections, CODEC, COCO_KEYPOINT_NAMES, COCO_FLIP_PAIRS, train=True)


def test_unknown_format_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="data.format 'lsp' not supported"):
        load_samples({"format": "lsp", "train": {}}, "train")
