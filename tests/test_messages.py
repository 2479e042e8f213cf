"""PoseResult -> rhpnet/msg/Keypoints: header untouched, every keypoint kept, serialization round trip."""
import numpy as np
import pytest

pytest.importorskip("rclpy")
from builtin_interfaces.msg import Time  # noqa: E402
from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from rhpnet.msg import Keypoints  # noqa: E402
from rhpnet_core.keypoints import COCO_KEYPOINT_NAMES  # noqa: E402
from rhpnet_core.pipeline import PoseResult  # noqa: E402
from rhpnet_ros.messages import msg_to_arrays, result_to_msg  # noqa: E402


def make_result(n: int) -> PoseResult:
    rng = np.random.default_rng(n)
    keypoints = rng.uniform(0, 100, (n, 17, 3)).astype(np.float32)
    keypoints[..., 2] = rng.uniform(0, 1, (n, 17))
    keypoints[:, 3, 2] = 0.001  # a near-zero score must still be published
    boxes = np.array([[10, 20, 60, 120]] * n, np.float32)
    return PoseResult(boxes, np.linspace(0.5, 0.9, n).astype(np.float32), keypoints,
                      COCO_KEYPOINT_NAMES, "unit-test-model")


def test_message_carries_header_and_all_keypoints():
    header = Header(stamp=Time(sec=1700000000, nanosec=123456789), frame_id="treadmill_cam")
    result = make_result(3)
    msg = result_to_msg(result, header, 640, 480)
    assert msg.header.stamp.sec == 1700000000 and msg.header.stamp.nanosec == 123456789
    assert msg.header.frame_id == "treadmill_cam"
    assert (msg.image_width, msg.image_height) == (640, 480)
    assert list(msg.keypoint_names) == list(COCO_KEYPOINT_NAMES)
    assert msg.model == "unit-test-model"
    assert [len(p.keypoints) for p in msg.persons] == [17, 17, 17]
    assert all(p.track_id == -1 for p in msg.persons)
    boxes, scores, keypoints = msg_to_arrays(msg)
    np.testing.assert_allclose(boxes[0], [10, 20, 50, 100])
    np.testing.assert_allclose(scores, result.scores, rtol=1e-6)
    np.testing.assert_allclose(keypoints, result.keypoints, rtol=1e-6)


def test_empty_frame_still_makes_a_message():
    msg = result_to_msg(make_result(0), Header(frame_id="cam"), 320, 240)
    assert msg.persons == [] and len(msg.keypoint_names) == 17


def test_serialization_round_trip():
    msg = result_to_msg(make_result(2), Header(stamp=Time(sec=5, nanosec=6), frame_id="cam"), 640, 480)
    back = deserialize_message(serialize_message(msg), Keypoints)
    assert back == msg
