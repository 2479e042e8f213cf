"""MPII in the HRNet json format -> PersonSamples.

Each entry: {"image": name, "center": [x, y], "scale": s, "joints": [[x, y]] * 16, "joints_vis": [0/1] * 16}
with MATLAB (1-based) pixel coordinates and `scale` = person height / 200 px. As in HRNet's
`lib/dataset/mpii.py`, the centre is moved down by 15 * scale px and everything is shifted to
0-based pixels; the person region is a square of 200 * scale px (the 1.25 padding is applied by the
crop, like every other dataset). Entry ids are list indices.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from rhpnet_core.data.base import DataError, PersonSample, read_json

MPII_NUM_JOINTS = 16


def mpii_box_xywh(center: list[float], scale: float) -> np.ndarray:
    """(4,) 0-based square person box from an HRNet MPII centre/scale (1-based MATLAB pixels)."""
    side = 200.0 * float(scale)
    cx, cy = float(center[0]) - 1.0, float(center[1]) + 15.0 * float(scale) - 1.0
    return np.array([cx - 0.5 * side, cy - 0.5 * side, side, side], dtype=np.float64)


def load_mpii(ann_file: str | Path, image_dir: str | Path) -> list[PersonSample]:
    """All persons of an HRNet-format MPII json; image files are checked to exist."""
    ann_file, image_dir = Path(ann_file), Path(image_dir)
    entries = read_json(ann_file)
    if not isinstance(entries, list):
        raise DataError(f"{ann_file}: expected a list of HRNet MPII entries")
    samples = []
    image_ids: dict[str, int] = {}
    for ann_id, entry in enumerate(entries):
        missing = {"image", "center", "scale", "joints", "joints_vis"} - set(entry)
        if missing:
            raise DataError(f"{ann_file}: annotation {ann_id}: missing fields {sorted(missing)}")
        joints = np.asarray(entry["joints"], dtype=np.float64)
        visible = np.asarray(entry["joints_vis"], dtype=np.int64)
        if joints.shape != (MPII_NUM_JOINTS, 2) or visible.shape != (MPII_NUM_JOINTS,):
            raise DataError(f"{ann_file}: annotation {ann_id}: expected joints ({MPII_NUM_JOINTS}, 2) and "
                            f"joints_vis ({MPII_NUM_JOINTS},), got {joints.shape} and {visible.shape}")
        if float(entry["scale"]) <= 0:
            raise DataError(f"{ann_file}: annotation {ann_id}: scale must be positive, got {entry['scale']}")
        path = image_dir / entry["image"]
        if entry["image"] not in image_ids:
            if not path.is_file():
                raise DataError(f"{path}: missing image (annotation {ann_id} in {ann_file})")
            image_ids[entry["image"]] = len(image_ids)
        samples.append(PersonSample(image_path=path, image_id=image_ids[entry["image"]], ann_id=ann_id,
                                    box_xywh=mpii_box_xywh(entry["center"], entry["scale"]),
                                    keypoints=joints - 1.0, visible=visible))
    return samples
