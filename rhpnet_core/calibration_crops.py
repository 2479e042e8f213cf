"""Real person crops for int8 calibration and the agreement check, from the rig's own footage.

Frames are spread evenly over a video, an image folder or an image; persons come from the project's
detector and crops from `TopDownEstimator.crop` (the single place crops are made), so the quantiser
sees exactly what the pipeline feeds the network. The last part of the source (in time) is held
out: the agreement check never sees a frame that calibrated the model.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np

from rhpnet_core.codec import UDPHeatmapCodec
from rhpnet_core.frames import FrameSource

log = logging.getLogger(__name__)

CALIBRATION_CROPS = 64  # NNCF's post-training quantisation is stable from ~50 samples
HELDOUT_CROPS = 32
MIN_CALIBRATION_CROPS = 8
MIN_HELDOUT_CROPS = 4


@dataclass
class PersonCrops:
    """Network inputs (N, 3, H, W) float32, ImageNet-normalised, calibration and held-out apart."""

    calibration: np.ndarray
    heldout: np.ndarray
    frames_used: int


def _frame_count(source: FrameSource) -> int:
    if source.images:
        return len(source.images)
    capture = cv2.VideoCapture(str(source.path))
    try:
        return max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 1)
    finally:
        capture.release()


def collect_person_crops(source: str | Path, codec: UDPHeatmapCodec, calibration_count: int = CALIBRATION_CROPS,
                         heldout_count: int = HELDOUT_CROPS, detector=None, min_score: float = 0.3,
                         max_persons_per_frame: int = 4) -> PersonCrops:
    """Crops of the persons found in `source` (video, image folder or image).

    Args:
        source: the rig's own footage.
        codec: the model's codec (its input size decides the crop size).
        detector: a `PersonDetector`; the default yolo11n-pose on CPU when None.
        min_score: detector score a person needs to be used.
    Raises:
        ValueError: the source yields fewer than 8 calibration + 4 held-out crops.
    """
    from rhpnet_core.detector import PersonDetector
    from rhpnet_core.topdown import TopDownEstimator

    if Path(source).suffix.lower() in {".mcap", ".db3"}:
        raise ValueError(f"calibration source {source}: bags are not supported yet; export frames with "
                         f"`rhpnet predict` or pass the video the rig recorded")
    frames = FrameSource(source)
    detector = detector or PersonDetector(device="cpu", conf=min_score)
    cropper = TopDownEstimator(SimpleNamespace(input_size=codec.input_size, num_joints=1), codec, flip_pairs=())
    wanted = calibration_count + heldout_count
    # One person per frame at least is typical of a rig; sample ~wanted frames across the whole source.
    stride = max(1, _frame_count(frames) // wanted)
    crops, used = [], 0
    for index, frame_bgr in enumerate(frames.frames()):
        if index % stride:
            continue
        rgb = np.ascontiguousarray(frame_bgr[..., ::-1])
        found = detector(rgb)
        keep = np.argsort(-found.scores)[:max_persons_per_frame]
        keep = keep[found.scores[keep] >= min_score]
        if len(keep):
            crops.append(cropper.crop(rgb, found.boxes_xyxy[keep])[0])
            used += 1
    crops_all = np.concatenate(crops) if crops else np.zeros((0, 3, codec.input_size[1], codec.input_size[0]),
                                                              np.float32)
    heldout_n = min(heldout_count, max(MIN_HELDOUT_CROPS, round(len(crops_all) * heldout_count / wanted)))
    calibration, heldout = crops_all[:-heldout_n][:calibration_count], crops_all[-heldout_n:]
    if len(calibration) < MIN_CALIBRATION_CROPS or len(heldout) < MIN_HELDOUT_CROPS:
        raise ValueError(f"calibration source {source}: found {len(crops_all)} person crops in {used} frames; "
                         f"expected at least {MIN_CALIBRATION_CROPS + MIN_HELDOUT_CROPS} (footage with people "
                         f"in view, detector score >= {min_score})")
    log.info("calibration crops from %s: %d calibration, %d held out, %d frames with persons",
             source, len(calibration), len(heldout), used)
    return PersonCrops(calibration.astype(np.float32), heldout.astype(np.float32), used)
