"""Multi-process: our launch files run through play_launch (separate node processes) and this test
process subscribes/publishes like any other node on the graph."""
from __future__ import annotations

import shutil

import cv2
import pytest

rclpy = pytest.importorskip("rclpy")
from builtin_interfaces.msg import Time  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_srvs.srv import SetBool  # noqa: E402

from footage import read_rgb, ultralytics_asset  # noqa: E402
from rhpnet.msg import Keypoints  # noqa: E402
from rhpnet_core.keypoints import COCO_KEYPOINT_NAMES  # noqa: E402
from rhpnet_ros.image_conv import array_to_image  # noqa: E402
from rhpnet_ros.launch_runner import LaunchRunner  # noqa: E402
from rhpnet_ros.messages import msg_to_arrays  # noqa: E402
from rhpnet_ros.qos import image_qos  # noqa: E402
from ros_probe import diagnostic_values, ros_node, stamp_key  # noqa: E402,F401


def test_demo_launch_publishes_keypoints_for_every_frame(tmp_path, ros_node):
    node = ros_node.node
    frames_dir = tmp_path / "frames"
    frames_dir.mkdir()
    for name in ("bus.jpg", "zidane.jpg"):
        shutil.copy(ultralytics_asset(name), frames_dir / name)
    images: dict[tuple, Image] = {}
    keypoints: list[Keypoints] = []
    node.create_subscription(Image, "image", lambda m: images.setdefault(stamp_key(m.header), m), image_qos())
    node.create_subscription(Keypoints, "keypoints", keypoints.append, 10)
    video = tmp_path / "annotated.mp4"
    frames = 4
    arguments = {"source": str(frames_dir), "loop": "true", "max_frames": str(frames), "rate": "1.0",
                 "wait_for_subscribers": "2", "queue_size": "10", "detector_imgsz": "640",
                 "annotated_video": str(video)}
    with LaunchRunner("demo.launch.py", arguments, tmp_path / "logs") as launch:
        ros_node.spin_until(lambda: len(keypoints) >= frames, 180.0, launch)
        ros_node.spin(1.0)  # a surplus message would arrive now
        launch.stop()
        assert "published 4 frames" in launch.node_log("camera_replay")

    assert len(images) == frames and len(keypoints) == frames
    bus_shape = read_rgb(ultralytics_asset("bus.jpg")).shape
    for msg in keypoints:
        source = images[stamp_key(msg.header)]  # every message answers a published frame
        assert msg.header.frame_id == "camera"
        assert (msg.image_width, msg.image_height) == (source.width, source.height)
        assert list(msg.keypoint_names) == list(COCO_KEYPOINT_NAMES)
        assert msg.model.startswith("yolo11n-pose")
        boxes, scores, kps = msg_to_arrays(msg)
        expected = 3 if (source.height, source.width) == bus_shape[:2] else 2
        assert len(msg.persons) >= expected
        assert (kps[..., 0] >= 0).all() and (kps[..., 0] <= source.width).all()
        assert (kps[..., 1] >= 0).all() and (kps[..., 1] <= source.height).all()
        assert ((kps[..., 2] >= 0) & (kps[..., 2] <= 1)).all()
    # SIGINT shutdown closed the annotated video with every processed frame in it.
    capture = cv2.VideoCapture(str(video))
    written = 0
    while capture.read()[0]:
        written += 1
    assert written == frames


def test_pose_launch_remaps_and_survives_bad_frames(tmp_path, ros_node):
    node = ros_node.node
    received: list[Keypoints] = []
    diagnostics: list[DiagnosticArray] = []
    node.create_subscription(Keypoints, "/rig1/poses", received.append, 10)
    node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
    publisher = node.create_publisher(Image, "/cam/image_raw", image_qos())
    arguments = {"namespace": "rig1", "image_topic": "/cam/image_raw", "keypoints_topic": "poses",
                 "estimator": "yolo-pose", "device": "cpu", "queue_size": "5"}
    with LaunchRunner("rhpnet.launch.py", arguments, tmp_path / "logs") as launch:
        ros_node.spin_until(lambda: publisher.get_subscription_count() > 0, 120.0, launch)
        bad = Image(height=2, width=2, encoding="yuv422", step=4, data=bytes(8))
        bad.header.stamp, bad.header.frame_id = Time(sec=1, nanosec=1), "cam"
        publisher.publish(bad)
        good = array_to_image(read_rgb(ultralytics_asset("zidane.jpg")), "rgb8")
        good.header.stamp, good.header.frame_id = Time(sec=2, nanosec=2), "cam"
        publisher.publish(good)

        def skipped_reported() -> bool:
            values = diagnostic_values(diagnostics)
            return bool(values) and values[-1].get("skipped") == "1" and values[-1].get("processed") == "1"

        ros_node.spin_until(lambda: received and skipped_reported(), 120.0, launch)
        assert launch.running()  # the bad frame did not take the node down

        # ~/enable false unsubscribes: the node leaves the image topic; true brings it back.
        enable = node.create_client(SetBool, "/rig1/pose_node/enable")
        for state, subscribers in ((False, 0), (True, 1)):
            ros_node.spin_until(lambda: enable.service_is_ready(), 30.0, launch)
            future = enable.call_async(SetBool.Request(data=state))
            ros_node.spin_until(future.done, 30.0, launch)
            assert future.result().success
            ros_node.spin_until(lambda: publisher.get_subscription_count() == subscribers, 30.0, launch)
        good.header.stamp = Time(sec=3, nanosec=3)
        publisher.publish(good)
        ros_node.spin_until(lambda: len(received) == 2, 60.0, launch)
    assert [stamp_key(m.header) for m in received] == [(2, 2, "cam"), (3, 3, "cam")]
    assert len(received[0].persons) >= 2
    assert "not supported" in launch.node_log("pose_node")
