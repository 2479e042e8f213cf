"""Proof on CPU: the tiny config fits a handful of real (or generated) crops — the pipeline learns.

Data: 4 persons of ../shared/fixtures/coco when present, else 4 generated stick figures; no
augmentation (a memorisation proof), lr 3e-3 so that ~120 steps suffice. Train-set PCK is HRNet's
heatmap PCK of the network on the unaugmented training crops, before and after training.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from rhpnet_core.codec import UDPHeatmapCodec
from rhpnet_core.config import deep_merge, load_config
from rhpnet_core.data import build_train_dataset
from rhpnet_core.eval.pck import heatmap_pck
from rhpnet_core.runtime import create_runtime
from synthetic import make_coco_dataset
from training.train import train

CONFIGS = Path(__file__).resolve().parents[1] / "training" / "configs"
SHARED_COCO = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "coco"
STEPS = 120


@pytest.fixture(autouse=True)
def one_thread():
    # On a shared 2-core machine, 2 intra-op threads per process oversubscribe the CPU and the
    # many small convolutions of a narrow network slow down by an order of magnitude.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def four_persons(tmp_path: Path) -> tuple[Path, Path]:
    """(image root, annotation file) of 4 well-annotated persons."""
    if not (SHARED_COCO / "test_coco.json").is_file():
        return tmp_path / "data", make_coco_dataset(tmp_path / "data", num_images=4)
    gt = json.loads((SHARED_COCO / "test_coco.json").read_text())
    persons = [a for a in gt["annotations"] if a["num_keypoints"] >= 10][:4]
    image_ids = {a["image_id"] for a in persons}
    ann_file = tmp_path / "four_persons.json"
    ann_file.write_text(json.dumps({**gt, "annotations": persons,
                                    "images": [i for i in gt["images"] if i["id"] in image_ids]}))
    return SHARED_COCO, ann_file


def train_set_pck(config: dict, checkpoint: Path | None) -> float:
    codec = UDPHeatmapCodec.from_config(config["codec"])
    dataset = build_train_dataset(config, codec, seed=0, train=False)
    items = [dataset[i] for i in range(len(dataset))]
    torch.manual_seed(int(config["train"]["seed"]))  # the trainer's initial weights when no checkpoint
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "random weights" warning for the untrained network
        runtime = create_runtime(config, str(checkpoint) if checkpoint else None, device="cpu")
    heatmaps = runtime(torch.stack([b["image"] for b in items]).numpy())
    return heatmap_pck(heatmaps, torch.stack([b["heatmaps"] for b in items]).numpy(),
                       torch.stack([b["target_weight"] for b in items]).numpy())[0]


def test_tiny_config_learns_a_handful_of_crops(tmp_path):
    root, ann_file = four_persons(tmp_path)
    config = deep_merge(load_config(CONFIGS / "tiny" / "coco.yaml"), {
        "data": {"root": str(root), "train": {"ann_file": str(ann_file)}, "val": {"ann_file": str(ann_file)},
                 "augment": {"scale_factor": 0.0, "rotation_factor": 0.0, "flip_prob": 0.0}},
        "train": {"epochs": STEPS, "batch_size": 4, "checkpoint_interval_steps": 10 ** 6,
                  "optimizer": {"lr": 3.0e-3}},
    })
    pck_before = train_set_pck(config, None)
    summary = train(config, tmp_path / "work", device="cpu", progress=False)
    pck_after = train_set_pck(config, tmp_path / "work" / "last.pth")
    losses = [h["loss"] for h in summary["history"]]
    print(json.dumps({"steps": summary["steps"], "loss_first_step": losses[0], "loss_last_step": losses[-1],
                      "train_pck_before": pck_before, "train_pck_after": pck_after,
                      "train_set_AP": summary["final"]["AP"], "train_set_AP50": summary["final"]["AP50"]}))
    assert summary["steps"] == STEPS and np.isfinite(losses).all()
    assert losses[-1] < losses[0] / 10
    assert pck_after > 0.5 and pck_after > pck_before + 0.4
