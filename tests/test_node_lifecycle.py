"""Start-up and shutdown of the pose node as a process: a missing or corrupt checkpoint or detector
file ends start-up with one line naming the file; SIGTERM with frames in flight exits cleanly
within 5 s (play_launch's SIGKILL deadline) with the annotated video finalised."""
from __future__ import annotations

import signal
import time

import cv2
import pytest

rclpy = pytest.importorskip("rclpy")
from rhpnet.msg import Keypoints  # noqa: E402

from footage import read_rgb, ultralytics_asset  # noqa: E402
from rhpnet_ros.image_conv import array_to_image  # noqa: E402
from rhpnet_ros.qos import image_qos  # noqa: E402
from ros_probe import Probe, start_node  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

STARTUP_TIMEOUT_S = 120.0


def corrupt_file(path, size: int = 4096):
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * (size // 256))
    return path


def test_missing_or_corrupt_model_files_end_startup_with_one_line(tmp_path):
    cases = {
        "missing_checkpoint": ({"estimator": "rhpnet", "checkpoint": str(tmp_path / "absent.pt")}, "absent.pt"),
        "corrupt_checkpoint": ({"estimator": "rhpnet", "checkpoint": str(corrupt_file(tmp_path / "bad_ckpt.pt"))},
                               "bad_ckpt.pt"),
        "missing_detector": ({"detector_weights": str(tmp_path / "no_detector.pt")}, "no_detector.pt"),
        "corrupt_detector": ({"detector_weights": str(corrupt_file(tmp_path / "bad_detector.pt"))},
                             "bad_detector.pt"),
    }
    processes = {name: start_node("pose_node", {"device": "cpu", **params}, tmp_path / f"{name}.log")
                 for name, (params, _) in cases.items()}  # in parallel: each pays the torch import
    for name, (_, file_name) in cases.items():
        assert processes[name].wait(STARTUP_TIMEOUT_S) == 2, name
        log = (tmp_path / f"{name}.log").read_text()
        errors = [line for line in log.splitlines() if line.startswith("pose_node: ")]
        assert len(errors) == 1 and file_name in errors[0], log
        assert "Traceback" not in log, log


def test_sigterm_with_frames_in_flight_exits_cleanly_and_finalises_the_video(tmp_path, request):
    video = tmp_path / "annotated.mp4"
    with Probe(request.module.__name__) as probe:
        answers: list[Keypoints] = []
        probe.node.create_subscription(Keypoints, "keypoints", answers.append, 50)
        camera = probe.node.create_publisher(Image, "image", image_qos())
        process = start_node("pose_node", {"device": "cpu", "estimator": "yolo-pose",
                                           "annotated_video": str(video)}, tmp_path / "node.log")
        try:
            probe.spin_until(lambda: camera.get_subscription_count() > 0 or process.poll() is not None,
                             STARTUP_TIMEOUT_S)
            assert process.poll() is None, (tmp_path / "node.log").read_text()
            frame = array_to_image(read_rgb(ultralytics_asset("zidane.jpg")), "rgb8")
            sent = 0
            while len(answers) < 3 and sent < 3000:  # a 30 Hz camera: the node is always busy
                frame.header.stamp = probe.node.get_clock().now().to_msg()
                camera.publish(frame)
                sent += 1
                probe.spin(1 / 30)
            for _ in range(5):  # more frames in flight while the signal arrives
                camera.publish(frame)
            process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            code = process.wait(10.0)
            exit_s = time.monotonic() - signalled
        finally:
            if process.poll() is None:
                process.kill()
    log = (tmp_path / "node.log").read_text()
    assert code == 0 and exit_s < 5.0, f"exit code {code} after {exit_s:.1f} s\n{log}"
    assert "Traceback" not in log, log
    capture = cv2.VideoCapture(str(video))  # an unfinalised mp4 has no index and does not open
    written = 0
    while capture.read()[0]:
        written += 1
    assert written >= len(answers) >= 3
