"""The detector + yolo-pose pipeline on real photos; estimator selection."""
import logging

import numpy as np
import pytest

from footage import read_rgb, ultralytics_asset
from rhpnet_core.detector import default_detector_weights
from rhpnet_core.pipeline import build_pipeline, resolve_estimator


@pytest.fixture(scope="module")
def pipeline():
    return build_pipeline(estimator="yolo-pose", device="cpu")


@pytest.mark.parametrize("name,min_persons", [("bus.jpg", 3), ("zidane.jpg", 2)])
def test_people_found_with_keypoints_inside_the_image(pipeline, name, min_persons):
    image = read_rgb(ultralytics_asset(name))
    result = pipeline(image)
    height, width = image.shape[:2]
    assert len(result) >= min_persons
    assert result.keypoints.shape == (len(result), 17, 3)
    confident = result.keypoints[..., 2] > 0.5
    assert confident.sum() >= 10 * min_persons  # real poses, not empty arrays
    xs, ys = result.keypoints[..., 0], result.keypoints[..., 1]
    assert (xs >= 0).all() and (xs <= width).all() and (ys >= 0).all() and (ys <= height).all()
    # keypoints sit inside (or on) their person's box for confident joints
    for box, person in zip(result.boxes_xyxy, result.keypoints):
        good = person[:, 2] > 0.5
        assert (person[good, 0] >= box[0] - 2).all() and (person[good, 0] <= box[2] + 2).all()
    assert result.model == "yolo11n-pose@torch-cpu"
    assert result.detected and set(result.latency_ms) == {"detect", "pose", "track", "total"}
    assert result.track_ids.dtype == np.int32 and result.track_ids.shape == (len(result),)


def test_empty_scene_gives_empty_result(pipeline):
    result = pipeline(np.zeros((240, 320, 3), np.uint8))
    assert len(result) == 0 and result.keypoints.shape == (0, 17, 3)


def test_bad_frames_are_rejected_with_a_clear_error(pipeline):
    with pytest.raises(ValueError, match="RGB uint8"):
        pipeline(np.zeros((240, 320), np.uint8))


def test_auto_estimator_selection(caplog):
    with caplog.at_level(logging.WARNING):
        assert resolve_estimator("auto", None) == "yolo-pose"
    assert "no RHPNet checkpoint" in caplog.text
    assert resolve_estimator("auto", "best.pt") == "rhpnet"
    assert resolve_estimator("yolo-pose", "best.pt") == "yolo-pose"
    with pytest.raises(ValueError, match="needs a checkpoint"):
        resolve_estimator("rhpnet", None)
    with pytest.raises(ValueError, match="expected one of auto, rhpnet, yolo-pose"):
        resolve_estimator("openpose", None)


def test_shipped_detector_weights_exist():
    assert default_detector_weights().name == "yolo11n-pose.pt"
