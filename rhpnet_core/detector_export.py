"""Person-detector exports for OpenVINO (fp32, int8), made by ultralytics offline and cached.

Exports have a fixed input shape, so one is made per letterbox shape: the minimal rectangle
ultralytics' `.pt` predict uses (`rect`), e.g. 480x640 for 4:3 frames at imgsz 640 — a square
640x640 export would do a third more work and see different padding than the `.pt`. int8 needs
calibration frames: ultralytics' default (coco8-pose) is a download, so a local dataset yaml over
unlabelled frames of the rig's footage is written (nncf needs the images only). The cache key
holds the weights' bytes, ultralytics and OpenVINO versions, shape, precision and calibration source.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from rhpnet_core.runtime.cache import cache_root, file_sha256, source_sha256

CALIBRATION_FRAMES = 64
COCO_FLIP_INDEX = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


def letterbox_shape(frame_hw: tuple[int, int], imgsz: int, stride: int = 32) -> tuple[int, int]:
    """(H, W) ultralytics' rect letterbox gives a frame of `frame_hw` at `imgsz` (long side), stride-aligned."""
    height, width = frame_hw
    ratio = imgsz / max(height, width)
    return (math.ceil(round(height * ratio) / stride) * stride, math.ceil(round(width * ratio) / stride) * stride)


def _calibration_dataset(source: str | Path, folder: Path, frames_wanted: int = CALIBRATION_FRAMES) -> Path:
    """A dataset yaml over up to `frames_wanted` unlabelled frames spread over `source`."""
    from rhpnet_core.calibration_crops import source_frames

    total, frames = source_frames(Path(source))  # video, image folder, image or bag
    wanted = set(np.linspace(0, total - 1, min(frames_wanted, total)).astype(int).tolist())
    images = folder / "images"
    images.mkdir(parents=True)
    for index, rgb in enumerate(frames):
        if index in wanted:
            cv2.imwrite(str(images / f"{index:06d}.jpg"), rgb[..., ::-1])
    yaml_path = folder / "calibration.yaml"
    yaml_path.write_text(json.dumps({"path": str(folder), "train": "images", "val": "images",
                                     "kpt_shape": [17, 3], "flip_idx": COCO_FLIP_INDEX, "names": {"0": "person"}}))
    return yaml_path


def cached_openvino_detector(weights: Path, shape_hw: tuple[int, int], precision: str,
                             calibration: str | Path | None = None) -> Path:
    """Folder of the OpenVINO export (`*_openvino_model/`) of `weights` at input `shape_hw`; exported on a miss."""
    import openvino as ov
    import ultralytics
    from ultralytics import YOLO

    if precision not in ("fp32", "bf16", "int8"):
        raise ValueError(f"detector precision {precision!r} not supported; expected fp32, bf16 or int8")
    if precision == "int8" and calibration is None:
        raise ValueError("an int8 detector needs a calibration source (frames of the rig's footage)")
    file_precision = "int8" if precision == "int8" else "fp32"  # bf16 is a compile hint over the fp32 IR
    digest = hashlib.sha256(json.dumps([file_sha256(weights), ultralytics.__version__, ov.__version__,
                                        list(shape_hw), file_precision,
                                        source_sha256(calibration) if file_precision == "int8" else None]).encode())
    # ultralytics recognises an OpenVINO model by its folder name's "_openvino_model" suffix.
    target = cache_root() / "detector" / f"{weights.stem}_{shape_hw[0]}x{shape_hw[1]}_{file_precision}_" \
                                         f"{digest.hexdigest()[:16]}_openvino_model"
    if (target / "metadata.yaml").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
        # ultralytics writes exports (and a `datasets` folder for int8) next to the weights / cwd.
        local = Path(tmp) / weights.name
        shutil.copyfile(weights, local)
        options = {"format": "openvino", "imgsz": list(shape_hw), "verbose": False}
        if file_precision == "int8":
            options.update(int8=True, data=str(_calibration_dataset(calibration, Path(tmp) / "calibration")),
                           fraction=1.0)
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            exported = Path(YOLO(str(local)).export(**options))
        finally:
            os.chdir(cwd)
        try:
            os.replace(exported, target)  # atomic: a reader sees the complete folder or none
        except OSError:
            if not (target / "metadata.yaml").is_file():  # another process won the race: use theirs
                raise
    return target
