"""PoseResult -> rhpnet/msg/Keypoints (header untouched, every keypoint kept, track ids, serialization
round trip), PoseModelInfo, and the ImageMarker overlays."""
import numpy as np
import pytest

pytest.importorskip("rclpy")
from builtin_interfaces.msg import Time  # noqa: E402
from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from rhpnet.msg import Keypoints  # noqa: E402
from rhpnet_core.keypoints import COCO_KEYPOINT_NAMES  # noqa: E402
from rhpnet_core.pipeline import PoseResult  # noqa: E402
from rhpnet_core.keypoints import COCO_SKELETON  # noqa: E402
from rhpnet_ros.messages import model_info_msg, msg_to_arrays, result_to_msg  # noqa: E402
from rhpnet_ros.overlay import pose_markers  # noqa: E402
from visualization_msgs.msg import ImageMarker  # noqa: E402


def make_result(n: int) -> PoseResult:
    rng = np.random.default_rng(n)
    keypoints = rng.uniform(0, 100, (n, 17, 3)).astype(np.float32)
    keypoints[..., 2] = rng.uniform(0, 1, (n, 17))
    keypoints[:, 3, 2] = 0.001  # a near-zero score must still be published
    boxes = np.array([[10, 20, 60, 120]] * n, np.float32)
    return PoseResult(boxes, np.linspace(0.5, 0.9, n).astype(np.float32), keypoints,
                      COCO_KEYPOINT_NAMES, "unit-test-model", track_ids=np.arange(n, dtype=np.int32) - 1)


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
    assert [p.track_id for p in msg.persons] == [-1, 0, 1]  # -1: not (yet) a confirmed track
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


def test_model_info_lists_names_and_skeleton():
    header = Header(stamp=Time(sec=7), frame_id="")
    info = model_info_msg(header, "m@openvino-cpu", "rhpnet", COCO_KEYPOINT_NAMES, COCO_SKELETON, (192, 256), 640,
                          "openvino", "int8", "cpu")
    assert list(info.keypoint_names) == list(COCO_KEYPOINT_NAMES)
    assert list(zip(info.skeleton_from, info.skeleton_to)) == list(COCO_SKELETON)
    assert (info.input_width, info.input_height, info.detector_imgsz) == (192, 256, 640)
    assert (info.backend, info.precision, info.device, info.estimator) == ("openvino", "int8", "cpu", "rhpnet")


def test_markers_hold_every_visible_bone_and_joint_with_the_image_stamp():
    result = make_result(3)
    result.keypoints[..., 2] = 0.9
    result.keypoints[1, 0, 2] = 0.1  # the nose of person 1 is below the drawing threshold
    header = Header(stamp=Time(sec=11, nanosec=12), frame_id="cam")
    bones, joints = pose_markers(result, header, COCO_SKELETON, min_score=0.3)
    assert (bones.type, joints.type) == (ImageMarker.LINE_LIST, ImageMarker.POINTS)
    assert bones.header == header and joints.header == header
    nose_bones = sum(0 in edge for edge in COCO_SKELETON)
    assert len(bones.points) == 2 * (3 * len(COCO_SKELETON) - nose_bones)
    assert len(joints.points) == 3 * 17 - 1
    assert len(bones.outline_colors) == len(bones.points) and len(joints.outline_colors) == len(joints.points)
    # person 0 is untracked (grey), persons 1 and 2 get distinct colours
    first = {0: joints.outline_colors[0], 1: joints.outline_colors[17], 2: joints.outline_colors[33]}
    assert first[0].r == first[0].g == first[0].b and len({(c.r, c.g, c.b) for c in first.values()}) == 3
    assert (joints.points[0].x, joints.points[0].y) == tuple(float(v) for v in result.keypoints[0, 0, :2])


def test_empty_frame_gives_empty_markers():
    bones, joints = pose_markers(make_result(0), Header(frame_id="cam"), COCO_SKELETON, min_score=0.3)
    assert bones.points == [] and joints.points == []
