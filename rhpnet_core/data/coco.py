"""COCO keypoint annotations (person_keypoints_*.json) and detector results -> PersonSamples.

Ground-truth persons: category 1, not crowd, at least one labelled keypoint (HRNet's filter), box
clipped to the image. Detector persons: the standard COCO results format
([{image_id, category_id, bbox, score}]), used for evaluation only (no targets).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rhpnet_core.data.base import DataError, PersonSample, clip_box_to_image, read_json


def _images_by_id(ann_file: Path, data: Any) -> dict[int, dict]:
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise DataError(f"{ann_file}: expected a COCO object with 'images' and 'annotations' lists")
    images = {}
    for image in data["images"]:
        try:
            images[int(image["id"])] = image
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{ann_file}: image entry {image!r} has no integer 'id'") from exc
    return images


def _image_path(image_dir: Path, image: dict, ann_file: Path, ann_id: int, checked: dict[int, Path]) -> Path:
    image_id = int(image["id"])
    if image_id not in checked:
        path = image_dir / image["file_name"]
        if not path.is_file():
            raise DataError(f"{path}: missing image (annotation {ann_id} in {ann_file})")
        checked[image_id] = path
    return checked[image_id]


def parse_keypoints(values: Any, num_joints: int, source: str, ann_id: int) -> tuple[np.ndarray, np.ndarray]:
    """COCO's flat [x1, y1, v1, ...] -> keypoints (K, 2), visibility (K,) with length checking."""
    if not isinstance(values, list) or len(values) != 3 * num_joints:
        length = len(values) if isinstance(values, list) else type(values).__name__
        raise DataError(f"{source}: annotation {ann_id}: expected {3 * num_joints} keypoint values "
                        f"({num_joints} joints x [x, y, v]), got {length}")
    array = np.asarray(values, dtype=np.float64).reshape(num_joints, 3)
    return array[:, :2], array[:, 2].astype(np.int64)


def load_coco_gt(ann_file: str | Path, image_dir: str | Path, num_joints: int = 17,
                 extra_fields: tuple[str, ...] = ()) -> tuple[list[PersonSample], list[dict]]:
    """Ground-truth persons with labelled keypoints.

    Returns the samples and, aligned with them, the raw annotation dicts (so format extensions such
    as Running Human's `occluded` can be read by the caller).
    """
    ann_file, image_dir = Path(ann_file), Path(image_dir)
    data = read_json(ann_file)
    images = _images_by_id(ann_file, data)
    checked: dict[int, Path] = {}
    samples, raw = [], []
    for ann in data["annotations"]:
        ann_id = ann.get("id")
        if ann.get("category_id", 1) != 1 or ann.get("iscrowd", 0):
            continue
        image = images.get(ann.get("image_id"))
        if image is None:
            raise DataError(f"{ann_file}: annotation {ann_id}: image_id {ann.get('image_id')} not in 'images'")
        keypoints, visible = parse_keypoints(ann.get("keypoints"), num_joints, str(ann_file), ann_id)
        if not (visible > 0).any():
            continue
        if "bbox" not in ann or len(ann["bbox"]) != 4:
            raise DataError(f"{ann_file}: annotation {ann_id}: expected 'bbox' [x, y, w, h], got {ann.get('bbox')}")
        box = clip_box_to_image(ann["bbox"], int(image["width"]), int(image["height"]), str(ann_file), ann_id)
        samples.append(PersonSample(image_path=_image_path(image_dir, image, ann_file, ann_id, checked),
                                    image_id=int(image["id"]), ann_id=int(ann_id), box_xywh=box,
                                    keypoints=keypoints, visible=visible))
        raw.append({key: ann[key] for key in extra_fields if key in ann})
    return samples, raw


def load_coco_detections(det_file: str | Path, ann_file: str | Path, image_dir: str | Path,
                         num_joints: int = 17, score_threshold: float = 0.0) -> list[PersonSample]:
    """Detected persons (COCO results format) above `score_threshold`, for evaluation."""
    det_file, ann_file, image_dir = Path(det_file), Path(ann_file), Path(image_dir)
    detections = read_json(det_file)
    if not isinstance(detections, list):
        raise DataError(f"{det_file}: expected a list of COCO detection results")
    images = _images_by_id(ann_file, read_json(ann_file))
    checked: dict[int, Path] = {}
    samples = []
    for number, det in enumerate(detections):
        if det.get("category_id", 1) != 1 or float(det.get("score", 0.0)) <= score_threshold:
            continue
        image = images.get(det.get("image_id"))
        if image is None:
            raise DataError(f"{det_file}: detection {number}: image_id {det.get('image_id')} not in {ann_file}")
        box = clip_box_to_image(det["bbox"], int(image["width"]), int(image["height"]), str(det_file), number)
        samples.append(PersonSample(image_path=_image_path(image_dir, image, det_file, number, checked),
                                    image_id=int(image["id"]), ann_id=number, box_xywh=box,
                                    keypoints=np.zeros((num_joints, 2)), visible=np.zeros(num_joints, np.int64),
                                    score=float(det["score"]), has_target=False))
    return samples
