"""The pose node under launch, one launch serving many assertions.

two_rigs.launch.py starts two treadmill rigs side by side: rig1 replays real footage through
camera_replay, rig2's camera is this test process (so each test feeds it exactly the frames it
needs). A third pose node (rhpnet.launch.py) reads compressed images. Faults covered: the fifteen
bad-input kinds, encodings changing mid-stream, stamps going backwards, a camera pausing 10 s,
corrupt/truncated CompressedImage, an incompatible QoS; plus runtime parameters, overlays,
transient-local model info and the /diagnostics accounting.
"""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
from builtin_interfaces.msg import Time  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.parameter_client import AsyncParameterClient  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CompressedImage, Image  # noqa: E402
from visualization_msgs.msg import ImageMarker  # noqa: E402

from footage import SPORTS2D_DEMO, VTEST, read_rgb, ultralytics_asset  # noqa: E402
from rhpnet.msg import Keypoints, PoseModelInfo  # noqa: E402
from rhpnet_core.keypoints import COCO_KEYPOINT_NAMES  # noqa: E402
from rhpnet_ros.image_conv import array_to_image  # noqa: E402
from rhpnet_ros.launch_runner import LaunchRunner  # noqa: E402
from rhpnet_ros.messages import msg_to_arrays  # noqa: E402
from rhpnet_ros.qos import image_qos  # noqa: E402
from ros_probe import Probe, diagnostic_values, launch_logs, namespaced_log, stamp_key  # noqa: E402

RIG2 = "/rig2/pose_node"
CMP = "/cmp/pose_node"
ANSWER_TIMEOUT_S = 60.0
DIAGNOSTIC_KEYS = ("received", "processed", "dropped", "skipped", "failed", "unseen", "message_lost",
                   "input_rate_hz", "processed_rate_hz", "persons", "e2e_ms_p50", "e2e_ms_p95", "node_ms_p50",
                   "convert_ms_p50", "detect_ms_p50", "pose_ms_p50", "track_ms_p95", "publish_ms_p95",
                   "backend", "device", "model", "tracker_resets")
LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE)


class Rigs:
    """The running launches, the probe and everything it received, by topic."""

    def __init__(self, probe: Probe, rigs: LaunchRunner, compressed: LaunchRunner) -> None:
        self.probe, self.rigs, self.compressed = probe, rigs, compressed
        node = probe.node
        self.keypoints: dict[str, list[Keypoints]] = {ns: [] for ns in ("rig1", "rig2", "cmp")}
        for ns, messages in self.keypoints.items():
            node.create_subscription(Keypoints, f"/{ns}/keypoints", messages.append, 50)
        self.diagnostics: list[DiagnosticArray] = []
        node.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics.append, 50)
        self.camera = node.create_publisher(Image, "/rig2/camera/image_raw", image_qos())
        self.compressed_camera = node.create_publisher(CompressedImage, "/cmp/camera/image_raw/compressed",
                                                       image_qos())
        self.params = AsyncParameterClient(node, RIG2)
        self.zidane = read_rgb(ultralytics_asset("zidane.jpg"))
        self.clock_ns = 1000 * 10**9  # stamps of rig2's frames: a 10 Hz camera

    def spin_until(self, condition, timeout_s: float = ANSWER_TIMEOUT_S, node: str = "pose_node") -> None:
        for launch in (self.rigs, self.compressed):
            assert launch.running(), f"a launch exited:\n{launch_logs(launch, node)}"
        self.probe.spin_until(condition, timeout_s, self.rigs, node)

    def stamp(self) -> Time:
        """The next stamp of the 10 Hz camera (the tracker sees one continuous stream)."""
        self.clock_ns += 100_000_000
        return Time(sec=self.clock_ns // 10**9, nanosec=self.clock_ns % 10**9)

    def answer(self, ns: str, stamp: Time) -> Keypoints | None:
        return next((m for m in self.keypoints[ns] if (m.header.stamp.sec, m.header.stamp.nanosec) ==
                     (stamp.sec, stamp.nanosec)), None)

    def ask(self, msg: Image, ns: str = "rig2") -> Keypoints:
        """Publish one frame and wait for the Keypoints message answering it."""
        (self.camera if ns == "rig2" else self.compressed_camera).publish(msg)
        self.spin_until(lambda: self.answer(ns, msg.header.stamp) is not None)
        return self.answer(ns, msg.header.stamp)

    def ask_runner(self, encoding: str = "rgb8", attempts: int = 5) -> Keypoints:
        """With target:=longest the runner is published once its track is confirmed (a few frames
        of one stream): frames until the answer holds one person."""
        for _ in range(attempts):
            answer = self.ask(self.frame(encoding=encoding))
            if len(answer.persons) == 1:
                return answer
        raise AssertionError(f"no runner after {attempts} frames")

    def frame(self, rgb: np.ndarray | None = None, encoding: str = "rgb8", stamp: Time | None = None) -> Image:
        pixels = self.zidane if rgb is None else rgb
        if encoding.startswith("bgr"):
            pixels = pixels[..., ::-1]
        if encoding.endswith("a8"):
            pixels = np.dstack([pixels, np.full(pixels.shape[:2], 255, np.uint8)])
        if encoding == "mono8":
            pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
        msg = array_to_image(np.ascontiguousarray(pixels), encoding)
        msg.header.stamp, msg.header.frame_id = stamp or self.stamp(), "rig2_camera"
        return msg

    def counters(self, name_part: str = RIG2) -> dict[str, str]:
        values = diagnostic_values(self.diagnostics, name_part)
        return values[-1] if values else {}

    def settled_counters(self, name_part: str = RIG2) -> dict[str, str]:
        """Diagnostics once the node is at rest: two consecutive reports with equal counters."""
        seen = len(self.diagnostics)

        def settled() -> bool:
            values = diagnostic_values(self.diagnostics[seen:], name_part)
            return len(values) >= 2 and values[-1]["received"] == values[-2]["received"] and \
                values[-1]["processed"] == values[-2]["processed"]

        self.spin_until(settled, 30.0)
        return self.counters(name_part)

    def set_parameters(self, **values) -> list:
        future = self.params.set_parameters([Parameter(k, value=v) for k, v in values.items()])
        self.spin_until(future.done, 30.0)
        return future.result().results


@pytest.fixture(scope="module")
def rigs(request, tmp_path_factory):
    clip = SPORTS2D_DEMO if SPORTS2D_DEMO.exists() else VTEST
    logs = tmp_path_factory.mktemp("rigs")
    with Probe(request.module.__name__) as probe, \
            LaunchRunner("two_rigs.launch.py", {"rig1_source": str(clip), "rig1_rate": "2.0"}, logs / "rigs") as a, \
            LaunchRunner("rhpnet.launch.py", {"namespace": "cmp", "image_topic": "camera/image_raw",
                                              "input_transport": "compressed", "estimator": "yolo-pose"},
                         logs / "cmp") as b:
        state = Rigs(probe, a, b)
        state.spin_until(lambda: state.camera.get_subscription_count() > 0
                         and state.compressed_camera.get_subscription_count() > 0, 180.0)
        assert state.params.wait_for_services(30.0)
        yield state


def test_two_rigs_publish_side_by_side_with_model_info(rigs):
    answer = rigs.ask_runner()
    rigs.spin_until(lambda: len(rigs.keypoints["rig1"]) >= 5)
    for ns, messages in (("rig1", rigs.keypoints["rig1"]), ("rig2", [answer])):
        for msg in messages:
            assert msg.header.frame_id == f"{ns}_camera"
            assert len(msg.persons) <= 1  # target:=longest publishes the runner only
            assert list(msg.keypoint_names) == list(COCO_KEYPOINT_NAMES)
    # A late joiner still gets the static model info of each rig (transient local).
    infos: dict[str, list[PoseModelInfo]] = {"rig1": [], "rig2": []}
    for ns, received in infos.items():
        rigs.probe.node.create_subscription(PoseModelInfo, f"/{ns}/keypoints/info", received.append, LATCHED)
    rigs.spin_until(lambda: all(infos.values()), 30.0)
    for received in infos.values():
        info = received[0]
        assert info.model == answer.model and info.estimator == "yolo-pose"
        assert list(info.keypoint_names) == list(COCO_KEYPOINT_NAMES)
        assert len(info.skeleton_from) == len(info.skeleton_to) == 19 and info.device


def test_replayed_rig_publishes_a_tracked_runner(rigs):
    """rig1 replays a person walking among distractors: the one person it publishes carries a
    confirmed track id (how long the id lasts depends on the node keeping up with the replay)."""
    rigs.spin_until(lambda: any(p.track_id >= 0 for m in rigs.keypoints["rig1"] for p in m.persons), 120.0)


def test_outputs_keep_the_input_header(rigs):
    node = rigs.probe.node
    bones, joints, debug = [], [], []
    node.create_subscription(ImageMarker, "/rig2/overlay/bones", bones.append, 10)
    node.create_subscription(ImageMarker, "/rig2/overlay/joints", joints.append, 10)
    node.create_subscription(Image, "/rig2/debug_image", debug.append, image_qos())
    rigs.probe.spin(2.0)  # the pose node sees our three subscriptions
    answer = rigs.ask_runner()
    rigs.spin_until(lambda: any(stamp_key(m.header) == stamp_key(answer.header) for m in bones)
                    and joints and debug)
    for out in (bones[-1], joints[-1], debug[-1]):
        assert stamp_key(out.header) == stamp_key(answer.header)
    assert answer.header.frame_id == "rig2_camera"
    assert (debug[-1].height, debug[-1].width) == rigs.zidane.shape[:2] and debug[-1].encoding == "bgr8"
    assert bones[-1].type == ImageMarker.LINE_LIST and len(bones[-1].points) >= 2
    assert joints[-1].type == ImageMarker.POINTS and len(joints[-1].points) >= 5


def bad_frames(rigs: Rigs) -> tuple[list[Image], list[Image]]:
    """(invalid frames that must be skipped, valid oddities that must be answered or counted failed)."""
    def raw(width, height, encoding, step, data, bigendian=False):
        return Image(width=width, height=height, encoding=encoding, step=step, data=data, is_bigendian=bigendian)

    invalid = [
        raw(4, 4, "yuv422", 8, bytes(32)),  # unsupported encodings
        raw(4, 4, "32FC1", 16, bytes(64)),
        raw(4, 4, "bayer_rggb8", 4, bytes(16)),
        raw(4, 4, "", 12, bytes(48)),
        raw(100, 100, "rgb8", 300, bytes(1000)),  # short data
        raw(0, 0, "rgb8", 0, b""),  # zero size
        raw(0, 10, "rgb8", 0, b""),
        raw(100, 10, "rgb8", 100, bytes(1000)),  # step < row
        raw(100000, 100000, "rgb8", 300000, bytes(12)),  # absurd sizes, tiny data
        raw(2**31 - 1, 3, "mono8", 2**31 - 1, bytes(12)),
    ]
    rng = np.random.default_rng(8)
    noise_8k = rng.integers(0, 256, (4320, 7680, 3), dtype=np.uint8)
    mono16 = (np.repeat(cv2.cvtColor(rigs.zidane, cv2.COLOR_RGB2GRAY)[..., None], 1, 2)[..., 0]
              .astype(np.uint16) * 257)
    rgba = np.dstack([rigs.zidane, np.full(rigs.zidane.shape[:2], 255, np.uint8)])
    rgba_rows = np.hstack([rgba.reshape(rgba.shape[0], -1), np.full((rgba.shape[0], 12), 7, np.uint8)])
    valid = [
        array_to_image(np.full((1, 1, 3), 128, np.uint8), "rgb8"),  # 1x1
        array_to_image(rng.integers(0, 256, (1, 20000, 3), dtype=np.uint8), "rgb8"),  # a 1x20000 strip
        array_to_image(noise_8k, "rgb8"),  # 8K noise
        raw(mono16.shape[1], mono16.shape[0], "mono16", mono16.shape[1] * 2,
            mono16.astype(">u2").tobytes(), bigendian=True),  # mono16 big-endian
        raw(rgba.shape[1], rgba.shape[0], "rgba8", rgba_rows.shape[1], rgba_rows.tobytes()),  # padded rgba8
    ]
    for msg in invalid + valid:
        msg.header.stamp, msg.header.frame_id = rigs.stamp(), "rig2_camera"
    return invalid, valid


def test_fifteen_bad_input_kinds_are_counted_never_fatal(rigs):
    """Ten invalid frames are skipped, five odd but valid ones answered (or counted failed); the
    fifteenth kind, stamps going backwards, is test_stamps_backwards_reset_the_tracker."""
    before = rigs.settled_counters()
    invalid, valid = bad_frames(rigs)
    for msg in invalid:
        rigs.camera.publish(msg)
        rigs.probe.spin(0.2)  # skipping takes microseconds: the worker is idle for the next one
    failed_before = int(before["failed"])
    for msg in valid:
        rigs.camera.publish(msg)
        rigs.spin_until(lambda: rigs.answer("rig2", msg.header.stamp) is not None
                        or int(rigs.counters().get("failed", failed_before)) > failed_before, 120.0)
        failed_before = int(rigs.counters().get("failed", failed_before))
        answer = rigs.answer("rig2", msg.header.stamp)
        if answer is not None:
            assert (answer.image_width, answer.image_height) == (msg.width, msg.height)
    assert len(rigs.ask(rigs.frame()).persons) <= 1  # still alive and answering
    after = rigs.settled_counters()
    delta = {k: int(after[k]) - int(before[k]) for k in ("received", "processed", "dropped", "skipped", "failed",
                                                         "unseen", "message_lost")}
    # Every frame sent is accounted for: taken by the node, or `unseen` (lost in the middleware queue
    # on a loaded machine; the last, answered frame reveals any gap before it).
    sent = len(invalid) + len(valid) + 1
    assert delta["received"] + delta["unseen"] == sent, delta
    assert delta["received"] == delta["processed"] + delta["dropped"] + delta["skipped"] + delta["failed"], delta
    assert delta["skipped"] >= len(invalid) - delta["unseen"] and delta["dropped"] == 0, delta
    assert delta["processed"] + delta["failed"] >= len(valid) + 1 - delta["unseen"], delta
    assert all(rigs.answer("rig2", m.header.stamp) is None for m in invalid)


def test_encoding_changing_mid_stream(rigs):
    answers = {enc: rigs.ask_runner(enc) for enc in ("rgb8", "bgr8", "bgra8", "rgba8", "mono8")}
    reference = msg_to_arrays(answers["rgb8"])[2]
    for encoding in ("bgr8", "bgra8", "rgba8"):  # the same pixels in another layout: the same keypoints
        np.testing.assert_allclose(msg_to_arrays(answers[encoding])[2], reference, atol=1e-3)
    assert len(answers["mono8"].persons) == 1


def test_at_rest_every_received_frame_is_accounted_for(rigs):
    values = rigs.settled_counters()
    for key in DIAGNOSTIC_KEYS:
        assert key in values, key
    outcomes = sum(int(values[k]) for k in ("processed", "dropped", "skipped", "failed"))
    assert int(values["received"]) == outcomes > 0
    assert values["device"] and values["backend"] and float(values["detect_ms_p50"]) > 0
    assert float(rigs.counters("/rig1/pose_node")["input_rate_hz"]) > 0  # the replaying rig is live


def test_runtime_parameters_apply_on_the_next_frame(rigs):
    assert all(r.successful for r in rigs.set_parameters(target="all"))
    assert len(rigs.ask(rigs.frame()).persons) == 2
    assert all(r.successful for r in rigs.set_parameters(max_persons=1))
    assert len(rigs.ask(rigs.frame()).persons) == 1
    assert all(r.successful for r in rigs.set_parameters(max_persons=20, detector_conf=0.99))
    assert len(rigs.ask(rigs.frame()).persons) == 0
    rejected = rigs.set_parameters(detector_conf=1.5)[0]
    assert not rejected.successful
    rejected = rigs.set_parameters(target="fastest")[0]
    assert not rejected.successful and "longest" in rejected.reason
    assert rigs.set_parameters(flip_test="always")[0].successful
    assert not rigs.set_parameters(flip_test="on")[0].successful
    rejected = rigs.set_parameters(backend="torch")[0]
    assert not rejected.successful and "read-only" in rejected.reason.lower()
    assert all(r.successful for r in rigs.set_parameters(detector_conf=0.25, target="longest", flip_test="auto"))
    rigs.ask_runner()


def track_ids_of(answers: list[Keypoints]) -> set[int]:
    return {p.track_id for m in answers for p in m.persons if p.track_id >= 0}


def test_stamps_backwards_reset_the_tracker(rigs):
    assert all(r.successful for r in rigs.set_parameters(target="all"))
    before = [rigs.ask(rigs.frame(stamp=Time(sec=5000, nanosec=i * 100_000_000))) for i in range(4)]
    resets = int(rigs.settled_counters()["tracker_resets"])
    after = [rigs.ask(rigs.frame(stamp=Time(sec=4000, nanosec=i * 100_000_000))) for i in range(4)]
    assert len(track_ids_of(before[-1:])) == 2 and len(track_ids_of(after[-1:])) == 2
    assert not track_ids_of(before) & track_ids_of(after)  # new ids after the reset
    assert int(rigs.settled_counters()["tracker_resets"]) == resets + 1
    assert all(r.successful for r in rigs.set_parameters(target="longest"))


def test_camera_pausing_10_s_then_restarting(rigs):
    before = rigs.ask_runner()
    values = rigs.settled_counters()
    rigs.probe.spin(10.0)  # the camera is silent
    assert rigs.counters()["received"] == values["received"] and float(rigs.counters()["input_rate_hz"]) == 0.0
    rigs.clock_ns += 10 * 10**9
    after = rigs.ask_runner()
    assert before.persons[0].track_id >= 0 and after.persons[0].track_id >= 0
    assert after.persons[0].track_id != before.persons[0].track_id  # a 10 s gap is a new stream
    assert int(rigs.settled_counters()["tracker_resets"]) > int(values["tracker_resets"])


def test_compressed_input_decodes_and_counts_corrupt_frames(rigs):
    bgr = np.ascontiguousarray(rigs.zidane[..., ::-1])
    jpeg = cv2.imencode(".jpg", bgr)[1].tobytes()
    png = cv2.imencode(".png", bgr)[1].tobytes()
    before = rigs.settled_counters(CMP)
    good = CompressedImage(format="rgb8; jpeg compressed bgr8", data=jpeg)
    good.header.stamp, good.header.frame_id = rigs.stamp(), "cmp_camera"
    answer = rigs.ask(good, "cmp")
    assert (answer.image_width, answer.image_height) == (bgr.shape[1], bgr.shape[0])
    assert len(answer.persons) >= 2 and answer.header.frame_id == "cmp_camera"
    bad = [CompressedImage(format="rgb8; jpeg compressed bgr8", data=jpeg[: len(jpeg) // 2]),  # truncated
           CompressedImage(format="jpeg", data=bytes(2000) + b"\xff\xd9"),  # corrupt
           CompressedImage(format="png", data=png[:100])]  # truncated PNG
    for msg in bad:
        msg.header.stamp = rigs.stamp()
        rigs.compressed_camera.publish(msg)
        rigs.probe.spin(0.2)
    png_msg = CompressedImage(format="bgr8; png compressed bgr8", data=png)
    png_msg.header.stamp = rigs.stamp()
    png_answer = rigs.ask(png_msg, "cmp")
    assert len(png_answer.persons) == len(answer.persons)
    after = rigs.settled_counters(CMP)
    assert int(after["skipped"]) - int(before["skipped"]) == len(bad)
    assert int(after["received"]) - int(before["received"]) == len(bad) + 2
    assert after["input_transport"] == "compressed"


def test_incompatible_qos_is_logged_once_with_the_fix(rigs):
    best_effort = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
    publisher = rigs.probe.node.create_publisher(Image, "/rig2/camera/image_raw", best_effort)
    rigs.probe.spin(3.0)
    rigs.probe.node.destroy_publisher(publisher)
    rigs.spin_until(lambda: "qos_reliability:=best_effort" in namespaced_log(rigs.rigs, "/rig2"), 30.0)
    rigs.probe.spin(2.0)
    assert namespaced_log(rigs.rigs, "/rig2").count("incompatible QoS") == 1
