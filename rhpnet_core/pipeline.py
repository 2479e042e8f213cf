"""The top-down inference pipeline: person detector -> tracker -> batched pose estimator -> people in image pixels.

The ROS node, `rhpnet predict` and the benchmarks all call `PosePipeline`; crops and heatmap
decoding live in `rhpnet_core.topdown`, detection in `rhpnet_core.detector`, track ids and the
runner's selection in `rhpnet_core.tracking`. One pipeline serves one input stream (it owns its tracker).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rhpnet_core.detector import PersonDetector
from rhpnet_core.keypoints import COCO_KEYPOINT_NAMES, layout_for
from rhpnet_core.topdown import keypoints_to_box
from rhpnet_core.tracking import TARGETS, PersonTracker, Track

log = logging.getLogger(__name__)

ESTIMATORS = ("auto", "rhpnet", "yolo-pose")
# Options `update_options` accepts at run time (applied at the start of the next frame).
OPTIONS = ("target", "detector_conf", "max_persons", "detect_every", "flip_test")


@dataclass
class PoseResult:
    """People found in one frame; arrays are in source-image pixels."""

    boxes_xyxy: np.ndarray  # (N, 4)
    scores: np.ndarray  # (N,) person (detector) scores; between detections, the last detection's
    keypoints: np.ndarray  # (N, K, 3) [x, y, score]; every keypoint, never filtered
    keypoint_names: tuple[str, ...]
    model: str
    latency_ms: dict[str, float] = field(default_factory=dict)  # detect, pose, track, total (0: not run)
    track_ids: np.ndarray | None = None  # (N,) int32; -1 = not (yet) a confirmed track; None -> all -1
    detected: bool = True  # whether the person detector ran on this frame

    def __post_init__(self) -> None:
        if self.track_ids is None:
            self.track_ids = np.full(len(self.scores), -1, dtype=np.int32)

    def __len__(self) -> int:
        return len(self.scores)


@dataclass
class PropagationSettings:
    """How persons are followed between detections (`detect_every` > 1).

    Each person's next box comes from its keypoints (`keypoints_to_box`); the detector runs on the
    very next frame, whatever the schedule, when a person's mean keypoint score falls below
    `collapse_ratio` x its value on the last detection frame, when fewer than `min_keypoints` joints
    reach `keypoint_score`, or when less than `min_inside_fraction` of a box lies inside the frame
    (the person is leaving). `box_scale` 1.2 matched yolo11n-pose's own boxes best on the sports2d
    demo (median IoU 0.85 with the next frame's detector box; bench/bench_detect_every.py).
    """

    keypoint_score: float = 0.3
    min_keypoints: int = 4
    box_scale: float = 1.2
    collapse_ratio: float = 0.5
    min_inside_fraction: float = 0.8


@dataclass
class _Followed:
    """The persons of the last frame, for the next frame's box propagation."""

    tracks: list[Track]
    scores: np.ndarray  # (N,) detector scores
    reference_keypoint_scores: np.ndarray  # (N,) mean keypoint score on their last detection frame
    next_boxes: np.ndarray | None  # (N, 4) boxes for the next frame, None when it must detect


class PosePipeline:
    """Detector + tracker + keypoint estimator for one stream.

    `estimator=None` uses the detector's own pose keypoints (the `yolo-pose` estimator); its keypoints
    come from the detector, so the detector then runs on every frame whatever `detect_every` says.
    With an estimator and `detect_every` N > 1 the detector runs every N frames; in between each
    person's box comes from its keypoints on the previous frame and only the estimator runs, with the
    same tracks (ids stay). It also detects when nobody is followed, after `target`, `detector_conf`
    or `max_persons` change, and on the triggers of `PropagationSettings`. People entering the frame
    between detections are found at the next detection. With a `target` other than "all" only the
    runner (0 or 1 person) is returned and only the runner's crop reaches the estimator.
    detect_every defaults to 1: what it saves is the detector's share of the frame time
    (bench/bench_detect_every.py), what it costs in keypoint agreement cannot be measured without
    trained RHPNet weights.

    Args:
        detector: person detector, `__call__(rgb) -> Detections`, attributes `conf`, `max_persons`.
        estimator: top-down estimator, `estimate(rgb, boxes (N, 4)) -> (N, K, 3)`, or None.
        target: one of `rhpnet_core.tracking.TARGETS`.
        detect_every: run the detector every this many frames (1: every frame).
        reset_gap_s: forget the tracks when stamps jump forward by more than this (or go backwards).
        tracker: the stream's tracker (default settings when None).
        propagation: box propagation and re-detection thresholds.
    """

    def __init__(self, detector: PersonDetector, estimator=None, keypoint_names=COCO_KEYPOINT_NAMES,
                 model_name: str | None = None, target: str = "all", detect_every: int = 1,
                 reset_gap_s: float = 2.0, tracker: PersonTracker | None = None,
                 propagation: PropagationSettings | None = None) -> None:
        if estimator is None and not detector.is_pose_model:
            raise ValueError(f"detector {detector.weights} is not a pose model; an RHPNet estimator is needed")
        self.detector = detector
        self.estimator = estimator
        self.keypoint_names = tuple(keypoint_names)
        self.model_name = model_name or detector.name
        self.target = _checked_options(target=target)["target"]
        self.detect_every = _checked_options(detect_every=detect_every)["detect_every"]
        self.reset_gap_s = float(reset_gap_s)
        self.tracker = tracker or PersonTracker()
        self.propagation = propagation or PropagationSettings()
        self.tracker_resets = 0  # stream restarts seen (stamps backwards or jumping)
        self._lock = threading.Lock()
        self._pending: dict[str, Any] = {}
        self._reset_requested = False
        self._followed: _Followed | None = None
        self._frames_since_detection = 0
        self._last_stamp_s: float | None = None

    def update_options(self, **options: Any) -> None:
        """Change `target`, `detector_conf`, `max_persons`, `detect_every` or `flip_test`; thread-safe.

        Values are checked now (ValueError naming the option) and applied at the start of the next
        frame. `flip_test` has no effect on the yolo-pose estimator.
        """
        checked = _checked_options(**options)
        with self._lock:
            self._pending.update(checked)

    def reset(self) -> None:
        """Forget tracks and propagated boxes before the next frame (new stream, replay restart)."""
        with self._lock:
            self._reset_requested = True

    def __call__(self, image_rgb: np.ndarray, stamp_s: float | None = None) -> PoseResult:
        """Estimate the poses of the persons in an RGB uint8 frame (H, W, 3) taken at `stamp_s` seconds."""
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image_rgb.dtype} {image_rgb.shape}")
        t_start = time.perf_counter()
        self._apply_pending()
        self._follow_stamp(stamp_s)
        height, width = image_rgb.shape[:2]
        detect = self._detection_due()
        latency_ms = {"detect": 0.0, "pose": 0.0, "track": 0.0}
        if detect:
            detections = self.detector(image_rgb)
            t_detected = time.perf_counter()
            latency_ms["detect"] = (t_detected - t_start) * 1e3
            tracks = self.tracker.update(detections.boxes_xyxy, detections.keypoints, stamp_s)
            chosen = self.tracker.select(tracks, self.target, (width, height))
            tracks = [tracks[i] for i in chosen]
            boxes = np.asarray(detections.boxes_xyxy, dtype=np.float32).reshape(-1, 4)[chosen]
            scores = np.asarray(detections.scores, dtype=np.float32).reshape(-1)[chosen]
            t_tracked = time.perf_counter()
            latency_ms["track"] = (t_tracked - t_detected) * 1e3
            if self.estimator is None:
                keypoints = np.asarray(detections.keypoints, dtype=np.float32)
                keypoints = keypoints.reshape(len(detections), len(self.keypoint_names), 3)[chosen]
            else:
                keypoints = self.estimator.estimate(image_rgb, boxes)
            latency_ms["pose"] = (time.perf_counter() - t_tracked) * 1e3
            keypoints = np.asarray(keypoints, dtype=np.float32).reshape(len(boxes), len(self.keypoint_names), 3)
            reference = keypoints[..., 2].mean(axis=1) if len(keypoints) else np.zeros(0, np.float32)
            self._frames_since_detection = 0
        else:
            followed = self._followed
            tracks, scores, reference = followed.tracks, followed.scores, followed.reference_keypoint_scores
            boxes = followed.next_boxes.astype(np.float32)
            t_posed = time.perf_counter()
            keypoints = np.asarray(self.estimator.estimate(image_rgb, boxes), dtype=np.float32)
            keypoints = keypoints.reshape(len(boxes), len(self.keypoint_names), 3)
            latency_ms["pose"] = (time.perf_counter() - t_posed) * 1e3
            t_tracking = time.perf_counter()
            self.tracker.refresh(tracks, stamp_s)
            latency_ms["track"] = (time.perf_counter() - t_tracking) * 1e3
        self._frames_since_detection += 1
        t_planning = time.perf_counter()
        self._followed = _Followed(tracks, scores, reference, self._next_boxes(keypoints, reference, width, height))
        latency_ms["track"] += (time.perf_counter() - t_planning) * 1e3
        latency_ms["total"] = (time.perf_counter() - t_start) * 1e3
        track_ids = np.array([track.track_id for track in tracks], dtype=np.int32)
        return PoseResult(boxes, scores, keypoints, self.keypoint_names, self.model_name, latency_ms,
                          track_ids, detect)

    def _apply_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            reset, self._reset_requested = self._reset_requested, False
        if reset:
            self._restart()
        for name, value in pending.items():
            if name == "target":
                self.target = value
                self.tracker.selected_key = None
            elif name == "detector_conf":
                self.detector.conf = value
            elif name == "max_persons":
                self.detector.max_persons = value
            elif name == "detect_every":
                self.detect_every = value
            elif name == "flip_test" and self.estimator is not None:
                self.estimator.flip_test = value
            if name in ("target", "detector_conf", "max_persons"):
                self._followed = None  # the set of persons to follow changes: detect at once

    def _follow_stamp(self, stamp_s: float | None) -> None:
        """Reset the tracks when the stream restarts: stamps backwards or a gap above `reset_gap_s`."""
        if stamp_s is None:
            return
        previous, self._last_stamp_s = self._last_stamp_s, float(stamp_s)
        if previous is not None and not 0.0 <= stamp_s - previous <= self.reset_gap_s:
            log.info("frame stamp %.3f s after %.3f s: tracks reset", stamp_s, previous)
            self.tracker_resets += 1
            self._restart()

    def _restart(self) -> None:
        self.tracker.reset()
        self._followed = None

    def _detection_due(self) -> bool:
        followed = self._followed
        return (self.estimator is None or self.detect_every <= 1 or followed is None
                or followed.next_boxes is None or not len(followed.tracks)
                or self._frames_since_detection >= self.detect_every)

    def _next_boxes(self, keypoints: np.ndarray, reference_scores: np.ndarray, width: int,
                    height: int) -> np.ndarray | None:
        """(N, 4) boxes for the next frame from this frame's keypoints, or None when it must detect."""
        if self.estimator is None or self.detect_every <= 1:
            return None
        settings = self.propagation
        boxes = []
        for person, reference in zip(keypoints, reference_scores):
            box = keypoints_to_box(person, settings.keypoint_score, settings.min_keypoints, settings.box_scale)
            if box is None or person[:, 2].mean() < settings.collapse_ratio * reference:
                return None  # scores collapsed
            inside = np.clip(box, 0, [width, height, width, height])
            area = np.prod(box[2:] - box[:2])
            if area <= 0 or np.prod(inside[2:] - inside[:2]) < settings.min_inside_fraction * area:
                return None  # leaving the frame
            boxes.append(box)
        return np.array(boxes, dtype=np.float64).reshape(-1, 4)


def _checked_options(**options: Any) -> dict[str, Any]:
    """Validated copies of run-time options; ValueError naming the option and what was expected."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)}; expected some of {', '.join(OPTIONS)}")
    checked: dict[str, Any] = {}
    for name, value in options.items():
        if name == "target":
            if value not in TARGETS:
                raise ValueError(f"target '{value}' not understood; expected one of {', '.join(TARGETS)}")
            checked[name] = value
        elif name == "detector_conf":
            if not 0.0 < float(value) <= 1.0:
                raise ValueError(f"detector_conf must be in (0, 1], got {value}")
            checked[name] = float(value)
        elif name in ("max_persons", "detect_every"):
            if int(value) != value or int(value) < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value}")
            checked[name] = int(value)
        else:
            checked[name] = bool(value)
    return checked


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


def build_pipeline(estimator: str = "auto", checkpoint: str | None = None, backend: str = "auto",
                   device: str = "auto", detector_weights: str | None = None, detector_conf: float = 0.25,
                   detector_imgsz: int = 640, max_persons: int = 20, flip_test: bool | None = None,
                   target: str = "all", detect_every: int = 1, precision: str = "auto",
                   calibration: str | None = None, detector_backend: str = "auto",
                   detector_precision: str = "auto") -> PosePipeline:
    """The pipeline the node and the CLI run, from user-facing options (see `PosePipeline` for
    `target` and `detect_every`).

    `backend` / `precision` choose RHPNet's engine ("auto": CUDA torch when present, else OpenVINO;
    int8 when a `calibration` source of the rig's footage is given, using the cached checked export
    of `rhpnet export --precision int8`, else bf16 where the CPU has it, else fp32;
    rhpnet_core.runtime.create_runtime). `detector_backend` "openvino" runs the person detector from a
    cached export per letterbox shape (rhpnet_core.detector.PersonDetector); "auto" does so when RHPNet
    runs on OpenVINO (the CPU fast path), else the ultralytics `.pt` (also for the yolo-pose
    estimator). `detector_precision` "auto": int8 with a `calibration` source, else fp32 — OpenVINO
    fp32 reproduces the `.pt` exactly, int8 kept every person with box IoU 0.99 (docs/benchmarks.md).
    `flip_test` None: on with a GPU, off on a CPU, where it doubles the keypoint stage
    (docs/benchmarks.md, "Flip test")."""
    kind = resolve_estimator(estimator, checkpoint)
    _checked_options(target=target, detect_every=detect_every)  # fail before loading any model
    if detector_backend == "auto":
        from rhpnet_core.runtime import resolve_backend

        on_openvino = kind == "rhpnet" and resolve_backend(backend, device) == "openvino"
        detector_backend = "openvino" if on_openvino else "torch"
    if detector_precision == "auto":
        detector_precision = "int8" if calibration else "fp32"
    detector = PersonDetector(detector_weights, device=device, conf=detector_conf, imgsz=detector_imgsz,
                              max_persons=max_persons, backend=detector_backend, precision=detector_precision,
                              calibration=calibration)
    if kind == "yolo-pose":
        return PosePipeline(detector, target=target, detect_every=detect_every)
    from rhpnet_core.checkpoint import load_checkpoint
    from rhpnet_core.codec import UDPHeatmapCodec
    from rhpnet_core.runtime import create_runtime
    from rhpnet_core.topdown import TopDownEstimator

    config = load_checkpoint(checkpoint)["config"]
    runtime = create_runtime(config, checkpoint=checkpoint, backend=backend, device=device, precision=precision,
                             calibration=calibration)
    layout = layout_for(runtime.num_joints)
    if flip_test is None:
        flip_test = runtime.device != "cpu"
    estimator_ = TopDownEstimator(runtime, UDPHeatmapCodec.from_config(config["codec"]),
                                  flip_pairs=layout["flip_pairs"], flip_test=flip_test)
    return PosePipeline(detector, estimator_, layout["names"], f"{Path(checkpoint).stem}:{runtime.name}",
                        target=target, detect_every=detect_every)
