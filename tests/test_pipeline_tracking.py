"""PosePipeline's tracking stage, runner selection and detection scheduling (`detect_every`).

The scheduling tests use `SceneDetector`, a small stand-in for the `PersonDetector` interface
(`__call__(rgb) -> Detections`, `conf`, `max_persons`, `is_pose_model`) that returns the boxes of
the synthetic scene and records on which frames it ran; the real detector is tested in
test_pipeline.py and by the real-footage test at the end of this module. The keypoint estimator is
the real `TopDownEstimator` (crops, decoding, back-projection) over the test backend of
test_topdown.py, which turns coloured blobs into heatmap peaks: a person is three blobs.
"""
import itertools
import json
import threading

import cv2
import numpy as np
import pytest

from footage import SPORTS2D_DEMO
from rhpnet_core.codec import UDPHeatmapCodec
from rhpnet_core.detector import Detections
from rhpnet_core.pipeline import PosePipeline, PropagationSettings, build_pipeline
from rhpnet_core.topdown import TopDownEstimator, keypoints_to_box
from rhpnet_core.tracking import TARGETS
from test_topdown import BlobRuntime, blob_frame

NAMES = ("head", "hip", "foot")
SHAPE = (240, 320)


def joints(cx: float) -> np.ndarray:
    """(3, 2) blob positions of a person centred at x = cx: head (red), hip (green), foot (blue)."""
    return np.array([[cx, 60.0], [cx - 20.0, 120.0], [cx + 20.0, 180.0]])


def scene(*centres: float) -> np.ndarray:
    """An RGB frame with one three-blob person per centre."""
    frame = np.zeros(SHAPE + (3,), np.uint8)
    for cx in centres:
        frame = np.maximum(frame, blob_frame(joints(cx), SHAPE))
    return frame


class SceneDetector:
    """Stand-in for PersonDetector: returns `self.centres`' person boxes, logs the frames it ran on."""

    is_pose_model = True
    weights = "scene"
    name = "scene-detector"

    def __init__(self) -> None:
        self.conf, self.max_persons = 0.25, 20
        self.centres: list[float] = []
        self.frame = 0
        self.ran_on: list[int] = []

    def __call__(self, image_rgb: np.ndarray) -> Detections:
        self.ran_on.append(self.frame)
        centres = self.centres[:self.max_persons]
        boxes = np.array([[cx - 25, 45, cx + 25, 195] for cx in centres], np.float32).reshape(-1, 4)
        keypoints = np.array([np.c_[joints(cx), np.full(3, 0.9)] for cx in centres], np.float32).reshape(-1, 3, 3)
        return Detections(boxes, np.full(len(centres), 0.8, np.float32), keypoints)


def make_pipeline(detect_every: int, target: str = "all", with_estimator: bool = True, **propagation):
    detector = SceneDetector()
    codec = UDPHeatmapCodec((96, 128), (24, 32), sigma=2.0)
    runtime = BlobRuntime(codec)
    estimator = TopDownEstimator(runtime, codec, flip_pairs=(), flip_test=False) if with_estimator else None
    settings = PropagationSettings(min_keypoints=3, **propagation)
    pipeline = PosePipeline(detector, estimator, NAMES, target=target, detect_every=detect_every,
                            propagation=settings)
    return pipeline, detector, runtime


def run(pipeline, detector, centres_per_frame, stamps=None):
    results = []
    for index, centres in enumerate(centres_per_frame):
        detector.frame, detector.centres = index, list(centres)
        results.append(pipeline(scene(*centres), None if stamps is None else stamps[index]))
    return results


def test_result_fields_and_latency_keys():
    pipeline, detector, _ = make_pipeline(detect_every=1)
    result = run(pipeline, detector, [(100.0,)])[0]
    assert result.detected and result.track_ids.dtype == np.int32 and result.track_ids.tolist() == [-1]
    assert set(result.latency_ms) == {"detect", "pose", "track", "total"}
    np.testing.assert_allclose(result.keypoints[0, :, :2], joints(100.0), atol=1.0)
    assert result.latency_ms["total"] >= result.latency_ms["detect"] + result.latency_ms["pose"]


def test_box_from_keypoints_uses_confident_finite_joints_only():
    keypoints = np.array([[0, 0, 0.9], [10, 20, 0.9], [np.nan, 5, 0.9], [500, 500, 0.1], [4, 4, 0.9]])
    np.testing.assert_allclose(keypoints_to_box(keypoints, min_keypoints=3, scale=1.2), [-1, -2, 11, 22])
    assert keypoints_to_box(keypoints, min_keypoints=4) is None  # too few usable joints: detect instead


def test_detector_runs_every_n_frames_and_ids_stay_stable_between_detections():
    pipeline, detector, _ = make_pipeline(detect_every=3)
    frames = [(80.0 + 2 * t, 230.0 - 2 * t) for t in range(10)]
    results = run(pipeline, detector, frames)
    assert detector.ran_on == [0, 3, 6, 9]
    assert [r.detected for r in results] == [t % 3 == 0 for t in range(10)]
    assert [r.track_ids.tolist() for r in results[2:]] == [[1, 2]] * 8  # confirmed on the 3rd frame
    # Between detections the boxes follow the keypoints: the joints are found where the blobs are.
    for t, result in enumerate(results):
        for person, cx in zip(result.keypoints, frames[t]):
            np.testing.assert_allclose(person[:, :2], joints(cx), atol=1.0)


def test_score_collapse_triggers_detection_on_the_next_frame_and_keeps_the_id():
    pipeline, detector, _ = make_pipeline(detect_every=5)
    frames = [(150.0,)] * 4 + [()] + [(150.0,)] * 4  # the person vanishes on frame 4 (occluded)
    results = run(pipeline, detector, frames)
    assert results[4].keypoints[0, :, 2].max() < 0.1  # what the estimator saw: nothing
    assert detector.ran_on == [0, 5]  # not waiting for frame 10
    assert [r.track_ids.tolist() for r in results[5:]] == [[1]] * 4


def test_box_leaving_the_frame_triggers_detection():
    # box_scale 2: the keypoint box reaches 20 px beyond the outer joints, box [cx - 40, cx + 40].
    pipeline, detector, _ = make_pipeline(detect_every=100, box_scale=2.0, min_inside_fraction=0.95)
    frames = [(200.0 + 10 * t,) for t in range(11)]
    results = run(pipeline, detector, frames)
    # Frame 8 (cx 280): next box [240, 320], inside. Frame 9 (cx 290): next box [250, 330] is 88%
    # inside the 320-px frame (< 95%): frame 10 detects.
    assert detector.ran_on == [0, 10]
    assert results[9].keypoints[0, :, 2].min() > 0.4  # not a score collapse: every joint still seen


def test_target_change_triggers_detection_and_only_the_runner_is_cropped():
    pipeline, detector, runtime = make_pipeline(detect_every=4)
    frames = [(80.0, 240.0)] * 8
    results = run(pipeline, detector, frames[:2])
    assert runtime.batch_sizes == [2, 2]
    pipeline.update_options(target="central")
    assert pipeline.target == "all"  # applied at the start of the next frame, not now
    detector.ran_on.clear()
    results += run(pipeline, detector, frames[2:])
    assert detector.ran_on == [0, 4]  # frames 2 and 6 of the stream
    assert runtime.batch_sizes == [2, 2] + [1] * 6  # only the runner's crop reaches the network
    assert all(len(r) == 1 for r in results[2:])


def test_yolo_pose_estimator_detects_on_every_frame_whatever_detect_every_says():
    pipeline, detector, _ = make_pipeline(detect_every=5, with_estimator=False)
    results = run(pipeline, detector, [(120.0,)] * 6)
    assert detector.ran_on == list(range(6)) and all(r.detected for r in results)
    assert results[-1].track_ids.tolist() == [1]
    np.testing.assert_allclose(results[0].keypoints[0, :, :2], joints(120.0))


def test_tracks_reset_when_stamps_go_backwards_or_jump():
    pipeline, detector, _ = make_pipeline(detect_every=1)
    stamps = [10.0, 10.1, 10.2, 10.3, 9.0, 9.1, 9.2, 9.3, 20.0, 20.1, 20.2]
    results = run(pipeline, detector, [(150.0,)] * len(stamps), stamps)
    assert [r.track_ids[0] for r in results] == [-1, -1, 1, 1, -1, -1, 2, 2, -1, -1, 3]
    assert pipeline.tracker_resets == 2
    pipeline.reset()
    assert run(pipeline, detector, [(150.0,)], [20.3])[0].track_ids.tolist() == [-1]


def test_bad_options_are_rejected_with_the_option_named():
    pipeline, _, _ = make_pipeline(detect_every=1)
    with pytest.raises(ValueError, match="target 'tallest' not understood"):
        pipeline.update_options(target="tallest")
    with pytest.raises(ValueError, match="detect_every must be an integer >= 1"):
        pipeline.update_options(detect_every=0)
    with pytest.raises(ValueError, match="unknown option"):
        pipeline.update_options(colour="red")
    pipeline.update_options(detector_conf=0.5, max_persons=1, flip_test=True)
    run(pipeline, pipeline.detector, [(150.0,)])
    assert (pipeline.detector.conf, pipeline.detector.max_persons, pipeline.estimator.flip_test) == (0.5, 1, True)


def test_options_change_from_another_thread_while_frames_run():
    """The node's parameter callback runs beside the inference thread."""
    pipeline, detector, _ = make_pipeline(detect_every=2)
    stop = threading.Event()

    def change_options() -> None:
        for step in itertools.count():
            if stop.wait(0.001):
                return
            pipeline.update_options(target=TARGETS[step % 4], detect_every=1 + step % 3, max_persons=1 + step % 2)

    changer = threading.Thread(target=change_options)
    changer.start()
    try:
        results = run(pipeline, detector, [(80.0, 240.0)] * 30)
    finally:
        stop.set()
        changer.join()
    for result in results:
        assert len(result) <= 2 and result.keypoints.shape == (len(result), 3, 3)
        assert result.boxes_xyxy.shape == (len(result), 4) and result.track_ids.shape == (len(result),)


def test_passer_by_never_takes_the_runners_place():
    """The runner bobs in place; a passer-by walks across the frame in front of them."""
    pipeline, detector, _ = make_pipeline(detect_every=1, target="longest")
    frames = [((160.0 + 3 * np.sin(t),) + ((20.0 + 10 * (t - 5),) if 5 <= t < 35 else ())) for t in range(40)]
    results = run(pipeline, detector, frames)
    assert [len(r) for r in results[:2]] == [0, 0]  # no confirmed runner yet
    assert {int(r.track_ids[0]) for r in results[2:]} == {1}
    for result, centres in zip(results[2:], frames[2:]):
        np.testing.assert_allclose(result.boxes_xyxy[0, [0, 2]], [centres[0] - 25, centres[0] + 25], atol=1e-3)


@pytest.mark.skipif(not SPORTS2D_DEMO.is_file(), reason="sports2d demo video not extracted (make setup)")
def test_longest_target_keeps_one_id_on_real_footage():
    """sports2d demo at half resolution, yolo11n-pose at 320: a person stands on a box at the top
    (the longest-lived track, our "runner") while a woman walks across the bottom of the frame
    from frame ~40; the detector also emits duplicate half-body boxes of the standing person."""
    pipeline = build_pipeline(estimator="yolo-pose", device="cpu", detector_imgsz=320, target="longest")
    capture = cv2.VideoCapture(str(SPORTS2D_DEMO))
    selected_ids, centres_y, others = [], [], set()
    for index in range(90):
        ok, frame_bgr = capture.read()
        assert ok, f"{SPORTS2D_DEMO} ended at frame {index}"
        small = cv2.resize(frame_bgr, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        result = pipeline(np.ascontiguousarray(small[..., ::-1]), stamp_s=index / 30.0)
        selected_ids.extend(int(i) for i in result.track_ids)
        centres_y.extend((result.boxes_xyxy[:, 1] + result.boxes_xyxy[:, 3]) / 2)
        others.update(t.track_id for t in pipeline.tracker.tracks if t.track_id not in (-1, *selected_ids))
    capture.release()
    assert len(selected_ids) >= 70  # the standing person is missed on a few frames at this resolution
    assert set(selected_ids) == {selected_ids[0]} and selected_ids[0] >= 1
    assert max(centres_y) < 250  # always the person on the box (the walker's boxes are below y 250)
    assert others  # the walker got a track of their own, never selected


@pytest.mark.skipif(not SPORTS2D_DEMO.is_file(), reason="sports2d demo video not extracted (make setup)")
def test_predict_writes_track_ids_and_timestamps(tmp_path):
    """`rhpnet predict --target longest` on a 10-frame clip of the demo: one runner, seconds from the fps."""
    from training.cli import main

    capture = cv2.VideoCapture(str(SPORTS2D_DEMO))
    clip = tmp_path / "clip.mp4"
    writer = None
    for _ in range(10):
        ok, frame = capture.read()
        small = cv2.resize(frame, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        if writer is None:
            writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, small.shape[1::-1])
        writer.write(small)
    writer.release()
    capture.release()
    out = tmp_path / "out"
    assert main(["predict", "--source", str(clip), "--output", str(out), "--device", "cpu",
                 "--detector-imgsz", "320", "--target", "longest", "--detect-every", "3"]) == 0
    entries = json.loads((out / "keypoints.json").read_text())
    assert len({e["image_id"] for e in entries}) == len(entries) >= 7  # at most one person per frame
    assert {e["track_id"] for e in entries if e["image_id"] >= 2} == {1}
    assert all(e["timestamp_s"] == pytest.approx(e["image_id"] / 25.0) for e in entries)
    assert main(["predict", "--source", str(clip), "--output", str(out), "--detect-every", "0"]) == 2
