"""Real person crops for int8 calibration and the agreement check, from the rig's own footage.

Frames are spread evenly over a video, an image folder, an image or a bag (its first camera topic); persons come from the project's
detector and crops from `TopDownEstimator.crop` (the single place crops are made), so the quantiser
sees exactly what the pipeline feeds the network. The last part of the source (in time) is held
out: the agreement check never sees a frame that calibrated the model.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
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


BAG_SUFFIXES = {".mcap", ".db3"}


def _is_bag(path: Path) -> bool:
    return path.suffix.lower() in BAG_SUFFIXES or (path.is_dir() and any(
        p.suffix.lower() in BAG_SUFFIXES for p in path.rglob("*")))


def _bag_frames(path: Path) -> tuple[int, Iterator[np.ndarray]]:
    """(frame count, RGB frames) of the first camera topic of a bag (rhpnet_core.bags, no rclpy)."""
    from rhpnet_core.bags.images import IMAGE_TYPES, FrameError, frame_to_rgb
    from rhpnet_core.bags.reader import BagReader

    reader = BagReader(path)
    topics = reader.topics_of_type(*IMAGE_TYPES)
    if not topics:
        raise ValueError(f"calibration source {path}: the bag has no sensor_msgs Image/CompressedImage topic")

    def frames() -> Iterator[np.ndarray]:
        for message in reader.messages([topics[0]]):
            try:
                yield frame_to_rgb(reader.decode(message), message.msgtype)
            except FrameError as exc:
                log.warning("calibration: skipped a frame of %s: %s", topics[0], exc)

    return max(reader.topics[topics[0]].count, 1), frames()


def source_frames(path: Path) -> tuple[int, Iterator[np.ndarray]]:
    """(frame count, RGB frames) of a video, image folder, image or bag."""
    if _is_bag(path):
        return _bag_frames(path)
    source = FrameSource(path)
    if source.images:
        count = len(source.images)
    else:
        capture = cv2.VideoCapture(str(source.path))
        count = max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 1)
        capture.release()
    return count, (np.ascontiguousarray(bgr[..., ::-1]) for bgr in source.frames())


def collect_person_crops(source: str | Path, codec: UDPHeatmapCodec, calibration_count: int = CALIBRATION_CROPS,
                         heldout_count: int = HELDOUT_CROPS, detector=None, min_score: float = 0.3,
                         max_persons_per_frame: int = 4) -> PersonCrops:
    """Crops of the persons found in `source`.

    Args:
        source: the rig's own footage (video, image folder, image, or bag: .mcap/.db3 or its folder).
        codec: the model's codec (its input size decides the crop size).
        detector: a `PersonDetector`; the default yolo11n-pose on CPU when None.
        min_score: detector score a person needs to be used.
    Raises:
        ValueError: the source yields fewer than 8 calibration + 4 held-out crops.
    """
    from rhpnet_core.detector import PersonDetector
    from rhpnet_core.topdown import TopDownEstimator

    total, frames = source_frames(Path(source))
    detector = detector or PersonDetector(device="cpu", conf=min_score)
    cropper = TopDownEstimator(SimpleNamespace(input_size=codec.input_size, num_joints=1), codec, flip_pairs=())
    wanted = calibration_count + heldout_count
    # One person per frame at least is typical of a rig; sample ~wanted frames across the whole source.
    stride = max(1, total // wanted)
    crops, used = [], 0
    for index, rgb in enumerate(frames):
        if index % stride:
            continue
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
