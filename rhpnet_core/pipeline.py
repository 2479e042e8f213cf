"""The top-down inference pipeline: person detector -> batched pose estimator -> people in image pixels.

The ROS node, `rhpnet predict` and the benchmarks all call `PosePipeline`; crops and heatmap
decoding live in `rhpnet_core.topdown`, detection in `rhpnet_core.detector`.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rhpnet_core.detector import Detections, PersonDetector
from rhpnet_core.keypoints import COCO_KEYPOINT_NAMES, layout_for

log = logging.getLogger(__name__)

ESTIMATORS = ("auto", "rhpnet", "yolo-pose")


@dataclass
class PoseResult:
    """People found in one frame; arrays are in source-image pixels."""

    boxes_xyxy: np.ndarray  # (N, 4)
    scores: np.ndarray  # (N,) person (detector) scores
    keypoints: np.ndarray  # (N, K, 3) [x, y, score]; every keypoint, never filtered
    keypoint_names: tuple[str, ...]
    model: str
    latency_ms: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.scores)


class PosePipeline:
    """Detector + keypoint estimator. `estimator=None` uses the detector's own pose keypoints."""

    def __init__(self, detector: PersonDetector, estimator=None, keypoint_names=COCO_KEYPOINT_NAMES,
                 model_name: str | None = None) -> None:
        if estimator is None and not detector.is_pose_model:
            raise ValueError(f"detector {detector.weights} is not a pose model; an RHPNet estimator is needed")
        self.detector = detector
        self.estimator = estimator
        self.keypoint_names = tuple(keypoint_names)
        self.model_name = model_name or detector.name

    def __call__(self, image_rgb: np.ndarray) -> PoseResult:
        """Estimate the poses of every person in an RGB uint8 frame (H, W, 3)."""
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image_rgb.dtype} {image_rgb.shape}")
        t0 = time.perf_counter()
        detections: Detections = self.detector(image_rgb)
        t1 = time.perf_counter()
        if self.estimator is None:
            keypoints = detections.keypoints
        else:
            keypoints = self.estimator.estimate(image_rgb, detections.boxes_xyxy)
        t2 = time.perf_counter()
        keypoints = np.asarray(keypoints, dtype=np.float32).reshape(len(detections), len(self.keypoint_names), 3)
        return PoseResult(detections.boxes_xyxy, detections.scores, keypoints, self.keypoint_names,
                          self.model_name, {"detect": (t1 - t0) * 1e3, "pose": (t2 - t1) * 1e3,
                                            "total": (t2 - t0) * 1e3})


def resolve_estimator(estimator: str, checkpoint: str | None) -> str:
    """'auto' -> 'rhpnet' when a checkpoint is given, else 'yolo-pose' (with one warning)."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator '{estimator}' not understood; expected one of {', '.join(ESTIMATORS)}")
    if estimator == "rhpnet" and not checkpoint:
        raise ValueError("estimator 'rhpnet' needs a checkpoint (train one with `rhpnet train`)")
    if estimator != "auto":
        return estimator
    if checkpoint:
        return "rhpnet"
    log.warning("no RHPNet checkpoint given: using the detector's yolo11n-pose keypoints "
                "(estimator 'yolo-pose'); pass a checkpoint from `rhpnet train` to run RHPNet")
    return "yolo-pose"


def build_pipeline(estimator: str = "auto", checkpoint: str | None = None, backend: str = "torch",
                   device: str = "auto", detector_weights: str | None = None, detector_conf: float = 0.25,
                   detector_imgsz: int = 640, max_persons: int = 20, flip_test: bool = True) -> PosePipeline:
    """The pipeline the node and the CLI run, from user-facing options."""
    kind = resolve_estimator(estimator, checkpoint)
    detector = PersonDetector(detector_weights, device=device, conf=detector_conf, imgsz=detector_imgsz,
                              max_persons=max_persons)
    if kind == "yolo-pose":
        return PosePipeline(detector)
    from rhpnet_core.checkpoint import load_checkpoint
    from rhpnet_core.codec import UDPHeatmapCodec
    from rhpnet_core.runtime import create_runtime
    from rhpnet_core.topdown import TopDownEstimator

    config = load_checkpoint(checkpoint)["config"]
    runtime = create_runtime(config, checkpoint=checkpoint, backend=backend, device=device)
    layout = layout_for(runtime.num_joints)
    estimator_ = TopDownEstimator(runtime, UDPHeatmapCodec.from_config(config["codec"]),
                                  flip_pairs=layout["flip_pairs"], flip_test=flip_test)
    return PosePipeline(detector, estimator_, layout["names"], f"{Path(checkpoint).stem}:{runtime.name}")
