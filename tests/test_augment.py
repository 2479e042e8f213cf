"""`rhpnet augment`: RandomErasing + GridMask copies, updated json, erased joints marked occluded."""
from __future__ import annotations

import json

import cv2
import numpy as np
import torch

from rhpnet_core.data.running_human import load_running_human_gt
from synthetic import make_coco_dataset
from training.augment import gridmask, mark_erased_joints, random_erasing_mask
from training.cli import main


def test_augment_writes_images_and_json(tmp_path, capsys):
    src = tmp_path / "src"
    ann_file = make_coco_dataset(src, num_images=2, occlusion=True)
    out = tmp_path / "out"
    assert main(["augment", "--ann", str(ann_file), "--images", str(src), "--out", str(out)]) == 0
    assert "2 images / 2 instances -> 6 images / 6 instances" in capsys.readouterr().out
    data = json.loads((out / "annotations.json").read_text())
    assert len({i["id"] for i in data["images"]}) == 6 and len({a["id"] for a in data["annotations"]}) == 6
    names = sorted(i["file_name"] for i in data["images"])
    assert names == ["000000.png", "000000_gm0.png", "000000_re0.png", "000001.png", "000001_gm0.png",
                     "000001_re0.png"]
    # the output loads as a Running Human training set; augmented images differ from the originals.
    samples = load_running_human_gt(out / "annotations.json", out)
    assert len(samples) == 6
    assert not np.array_equal(cv2.imread(str(out / "000000.png")), cv2.imread(str(out / "000000_gm0.png")))


def test_augment_is_seeded(tmp_path):
    src = tmp_path / "src"
    ann_file = make_coco_dataset(src, num_images=1)
    for run in ("a", "b"):
        main(["augment", "--ann", str(ann_file), "--images", str(src), "--out", str(tmp_path / run)])
    for name in ("000000_re0.png", "000000_gm0.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_erased_joints_become_labelled_occluded():
    erased = np.zeros((50, 50), bool)
    erased[10:20, 10:20] = True
    ann = {"id": 1, "keypoints": [15, 15, 2, 30, 30, 2, 12, 12, 0], "occluded": [0, 0, 0]}
    marked = mark_erased_joints(ann, erased, "x.json")
    assert marked["keypoints"] == [15, 15, 1, 30, 30, 2, 12, 12, 0]
    assert marked["occluded"] == [1, 0, 0] and ann["occluded"] == [0, 0, 0]


def test_masks_report_exactly_the_changed_pixels():
    image = np.full((60, 80, 3), 255, np.uint8)
    erased_image, erased = random_erasing_mask(image, [[10, 5, 40, 50]], (0.1, 0.3), torch.Generator().manual_seed(0))
    assert erased.any() and erased[:5].sum() == 0 and erased[:, 50:].sum() == 0
    assert (erased_image[~erased] == 255).all()
    grid_image, dropped = gridmask(image, 0.5, seed=1)
    assert 0.1 < dropped.mean() < 0.5
    assert (grid_image[dropped] == 0).all() and (grid_image[~dropped] == 255).all()
