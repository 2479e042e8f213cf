"""Datasets: COCO, MPII and Running Human as PersonSamples, and the config-driven entry points.

The `data` config section::

    data:
      format: coco | mpii | running_human
      root: data/coco                      # split paths are relative to it
      train: {ann_file: ..., image_dir: ...}
      val: {ann_file: ..., image_dir: ..., det_file: null, det_score_threshold: 0.0}
      bbox_padding: 1.25
      workers: 4
      augment: {scale_factor: 0.35, rotation_factor: 45, ...}   # transforms.AugmentConfig
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from rhpnet_core.codec import UDPHeatmapCodec
from rhpnet_core.data.base import DataError, FrameDataset, PersonSample, TopDownDataset
from rhpnet_core.data.coco import load_coco_detections, load_coco_gt
from rhpnet_core.data.mpii import load_mpii
from rhpnet_core.data.running_human import load_running_human_gt
from rhpnet_core.keypoints import LAYOUTS
from rhpnet_core.transforms import AugmentConfig

FORMATS = ("coco", "mpii", "running_human")

__all__ = ["DataError", "FrameDataset", "PersonSample", "TopDownDataset", "FORMATS", "layout_of",
           "split_paths", "load_samples", "build_train_dataset"]


def layout_of(data_cfg: dict[str, Any]) -> dict[str, Sequence]:
    """Keypoint layout (names, flip_pairs, skeleton) of the dataset format."""
    fmt = data_cfg.get("format")
    if fmt not in FORMATS:
        raise ValueError(f"data.format {fmt!r} not supported; expected one of {', '.join(FORMATS)}")
    return LAYOUTS["mpii" if fmt == "mpii" else "coco"]


def split_paths(data_cfg: dict[str, Any], split: str) -> dict[str, Any]:
    """The `data.<split>` section with file paths resolved against `data.root`."""
    if split not in data_cfg:
        raise ValueError(f"config has no data.{split} section")
    root = Path(data_cfg.get("root", "."))
    section = dict(data_cfg[split])
    for key in ("ann_file", "image_dir", "det_file"):
        if section.get(key):
            section[key] = root / section[key]
    return section


def load_samples(data_cfg: dict[str, Any], split: str, use_detections: bool = False) -> list[PersonSample]:
    """Persons of `split` ('train' or 'val'); detector boxes when asked and `det_file` is set."""
    fmt = data_cfg.get("format")
    num_joints = len(layout_of(data_cfg)["names"])
    paths = split_paths(data_cfg, split)
    if fmt == "mpii":
        return load_mpii(paths["ann_file"], paths["image_dir"])
    if use_detections and paths.get("det_file"):
        return load_coco_detections(paths["det_file"], paths["ann_file"], paths["image_dir"], num_joints,
                                    float(paths.get("det_score_threshold", 0.0)))
    if fmt == "running_human":
        return load_running_human_gt(paths["ann_file"], paths["image_dir"], num_joints)
    return load_coco_gt(paths["ann_file"], paths["image_dir"], num_joints)[0]


def build_train_dataset(config: dict[str, Any], codec: UDPHeatmapCodec, seed: int,
                        split: str = "train", train: bool = True) -> TopDownDataset:
    """Augmented (train=True) or plain TopDownDataset of a split's ground-truth persons."""
    data_cfg = config["data"]
    layout = layout_of(data_cfg)
    return TopDownDataset(load_samples(data_cfg, split), codec, layout["names"], layout["flip_pairs"],
                          train=train, augment=AugmentConfig.from_config(data_cfg.get("augment")),
                          bbox_padding=float(data_cfg.get("bbox_padding", 1.25)), seed=seed)
