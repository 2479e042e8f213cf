"""pose_recorder in treadmill.launch.py (`record:=true`) on real footage (sports2d demo frames) with
the pose node, one launch for every check: kill -9 of the recorder mid-run and the loss bound,
recovery, both independent readers, metadata, `rhpnet score` reproducing the live keypoints, and
`rhpnet record` (same node) for SIGTERM, the lock and the ~/split service."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
import yaml

from ros_probe import Probe  # noqa: E402  (skips without rclpy)
from footage import SPORTS2D_DEMO
from rhpnet_core.bags.info import bag_info
from rhpnet_core.bags.reader import BagReader
from rhpnet_core.bags.recover import recover
from rhpnet_core.frames import FrameSource
from rhpnet_ros.launch_runner import LaunchRunner
from rhpnet_ros.qos import image_qos

from rhpnet.msg import Keypoints  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

FRAMES = 20
RATE_HZ = 1.0  # slow enough that the pose node (~0.6 s a frame here) processes every frame: live == offline
KILL_AFTER_KEYPOINTS = 8
FLUSH_PERIOD_S = 1.0  # the recorder's default: the loss bound
IMAGE_TOPIC = "/rig1/camera/image_raw"
KEYPOINTS_TOPIC = "/rig1/keypoints"


def descendants(pid: int) -> list[int]:
    """Process ids below `pid` (from /proc), to find a node that the launch started."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def find_process(launch: LaunchRunner, executable: str) -> int | None:
    for pid in descendants(launch.process.pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(f"/{executable}".encode()) for part in cmdline):
            return pid
    return None


def process_of(launch: LaunchRunner, executable: str) -> int:
    pid = find_process(launch, executable)
    assert pid is not None, f"no {executable} process under the launch:\n{launch.node_log(executable)[-2000:]}"
    return pid


def rhpnet_record(output: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "training.cli", "record", "--output", str(output), "--topics",
                             KEYPOINTS_TOPIC, IMAGE_TOPIC, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=Path(__file__).parents[1])


def call(probe: Probe, client, launch) -> Trigger.Response:
    probe.spin_until(client.service_is_ready, 30.0, launch, node="pose_recorder")
    future = client.call_async(Trigger.Request())
    probe.spin_until(future.done, 30.0, launch, node="pose_recorder")
    return future.result()


@pytest.fixture(scope="module")
def session(request, tmp_path_factory):
    if not SPORTS2D_DEMO.is_file():
        pytest.skip(f"{SPORTS2D_DEMO} missing (make setup extracts it)")
    root = tmp_path_factory.mktemp("recorder")
    frames_dir = root / "frames"
    frames_dir.mkdir()
    for index, frame in enumerate(FrameSource(str(SPORTS2D_DEMO)).frames()):
        if index == FRAMES:
            break
        cv2.imwrite(str(frames_dir / f"{index:04d}.jpg"), cv2.resize(frame, (640, 360)))
    facts: dict = {"root": root, "session": root / "rec" / "rig1" / "s1", "cli": root / "cli"}
    with Probe(request.module.__name__) as probe:
        images: list[tuple[int, int]] = []  # (receive time ns, stamp ns)
        keypoints: list[Keypoints] = []
        probe.node.create_subscription(Keypoints, KEYPOINTS_TOPIC, keypoints.append, 50)
        # target all: every person of every frame (with tracker ids), so the comparison has people in it
        arguments = {"rig": "rig1", "source": str(frames_dir), "rate": str(RATE_HZ), "loop": "false", "target": "all",
                     "wait_for_subscribers": "3", "record": "true", "record_dir": str(root / "rec"),
                     "session": "s1", "record_split_duration": "2.0", "subject": "S01", "trial": "t1",
                     "belt_speed_mps": "2.8",
                     # the checkout's parameters (the installed copy may lag behind a parameter change)
                     "params_file": str(Path(__file__).parents[1] / "config" / "pose_node.yaml")}
        with LaunchRunner("treadmill.launch.py", arguments, root / "logs") as launch:
            # The camera holds its first frame for 3 subscribers: the pose node (once its model is
            # loaded, which takes long on a busy machine), the recorder, then this probe.
            def listening() -> set[str]:
                return {info.node_name for info in probe.node.get_subscriptions_info_by_topic(IMAGE_TOPIC)}

            started = time.monotonic()

            def ready() -> bool:
                if time.monotonic() - started > 20.0:  # by then both processes run; fail fast if one died
                    process_of(launch, "pose_node")
                    process_of(launch, "pose_recorder")
                return {"pose_node", "pose_recorder"} <= listening()

            probe.spin_until(ready, 240.0, launch)
            probe.node.create_subscription(Image, IMAGE_TOPIC, lambda m: images.append(
                (time.time_ns(), m.header.stamp.sec * 10**9 + m.header.stamp.nanosec)), image_qos())
            probe.spin_until(lambda: len(keypoints) >= KILL_AFTER_KEYPOINTS, 180.0, launch)
            os.kill(process_of(launch, "pose_recorder"), signal.SIGKILL)
            facts["kill_ns"] = time.time_ns()
            # `rhpnet record` (the same node) on the same topics while the launch goes on.
            cli = rhpnet_record(facts["cli"], "--split-duration", "30")
            probe.spin_until(lambda: (facts["cli"] / "bag_0000").exists() or cli.poll() is not None, 60.0, launch)
            second = rhpnet_record(facts["cli"])
            facts["second"] = second.communicate(timeout=60)[1], second.returncode
            facts["split"] = call(probe, probe.node.create_client(Trigger, "/pose_recorder/split"), launch)
            probe.spin_until(lambda: (facts["cli"] / "bag_0001").exists(), 30.0, launch)
            started = time.monotonic()
            cli.send_signal(signal.SIGTERM)
            facts["cli_exit"] = cli.wait(timeout=10), time.monotonic() - started, cli.communicate()[1]
            probe.spin_until(lambda: len(keypoints) >= FRAMES, 120.0, launch)
        facts["images"], facts["keypoints"] = images, keypoints
    return facts


def test_kill_9_loses_at_most_the_last_flush_period_and_recovers(session):
    reader = BagReader(session["session"])
    assert not reader.complete and all(p.complete for p in reader.parts[:-1]) and len(reader.parts) >= 2
    out = session["root"] / "recovered"
    recover(session["session"], out)
    recovered = BagReader(out)
    assert recovered.complete
    stamps = {recovered.decode(m).header.stamp.sec * 10**9 + recovered.decode(m).header.stamp.nanosec
              for m in recovered.messages([IMAGE_TOPIC])}
    published = {stamp for _, stamp in session["images"]}
    assert stamps <= published
    # Everything received more than one flush period (+ one 0.1 s tick, + 0.2 s margin) before the kill is on disk.
    safe_ns = session["kill_ns"] - int((FLUSH_PERIOD_S + 0.3) * 1e9)
    must_have = {stamp for received, stamp in session["images"] if received < safe_ns}
    assert len(must_have) >= 3 and must_have <= stamps
    assert [m.data for m in recovered.messages()] == [m.data for m in reader.messages()]


def test_recording_opens_in_independent_readers_with_metadata(session):
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore

    closed = [p for p in sorted(session["session"].iterdir()) if (p / "metadata.yaml").is_file()]
    with AnyReader(closed, default_typestore=get_typestore(Stores.EMPTY)) as reader:
        types = {c.topic: c.msgtype for c in reader.connections}
        decoded = [reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages()]
    # The last closed split: the first may close before the pose node's first Keypoints (model unknown yet).
    custom = yaml.safe_load((closed[-1] / "metadata.yaml").read_text())["rosbag2_bagfile_information"]["custom_data"]
    assert types[IMAGE_TOPIC] == "sensor_msgs/msg/Image" and types[KEYPOINTS_TOPIC] == "rhpnet/msg/Keypoints"
    assert any(getattr(m, "keypoint_names", None) for m in decoded)
    assert any(getattr(m, "encoding", None) == "bgr8" and m.width == 640 for m in decoded)
    assert custom["subject"] == "S01" and custom["trial"] == "t1" and custom["belt_speed_mps"] == "2.8"
    assert custom["model"].startswith("yolo11n-pose") and custom["project_version"]
    assert custom[f"lost.{IMAGE_TOPIC}"] == "middleware=0 stamp_gaps=0"
    with open(next(closed[-1].glob("*.mcap")), "rb") as fh:
        messages = list(make_reader(fh, decoder_factories=[DecoderFactory()]).iter_decoded_messages(
            topics=[KEYPOINTS_TOPIC]))
    assert messages and messages[0].decoded_message.keypoint_names[0] == "nose"
    info = bag_info(closed[-1])
    from rhpnet_core.bags.types import project_typestore

    assert info["topics"][KEYPOINTS_TOPIC]["type_hash"] == project_typestore().hash_rihs01("rhpnet/msg/Keypoints")
    assert "reliability: reliable" in info["topics"][IMAGE_TOPIC]["offered_qos"]  # as camera_replay offers


def test_score_on_the_recording_reproduces_the_live_keypoints(session, tmp_path):
    from training.cli import main as rhpnet

    recovered = session["root"] / "recovered"
    if not recovered.exists():
        recover(session["session"], recovered)
    assert rhpnet(["score", str(recovered), "--output", str(tmp_path), "--topic", IMAGE_TOPIC, "--estimator",
                   "yolo-pose", "--target", "all", "--detector-imgsz", "640", "--device", "cpu"]) == 0
    comparison = json.loads((tmp_path / "comparison.json").read_text())
    assert comparison["frames_in_reference"] >= KILL_AFTER_KEYPOINTS - 3
    assert comparison["identical_frames"] == comparison["frames_in_reference"]
    assert comparison["matched_persons"] >= 1  # frames with the runner, not only empty ones


def test_rhpnet_record_sigterm_lock_and_split(session):
    error, code = session["second"]
    assert code == 2 and "another recorder" in error
    assert session["split"].success
    returncode, seconds, _ = session["cli_exit"]
    assert returncode == 0 and seconds < 5.0, session["cli_exit"][2][-2000:]
    reader = BagReader(session["cli"])
    assert reader.complete and len(reader.parts) >= 2  # ~/split closed one; SIGTERM closed the last
    assert reader.topics[KEYPOINTS_TOPIC].count >= 1


def test_subscription_qos_follows_the_publishers_and_overrides():
    from types import SimpleNamespace

    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    from rhpnet_ros.pose_recorder import subscription_qos

    def publisher(reliability, durability):
        return SimpleNamespace(qos_profile=QoSProfile(depth=1, reliability=reliability, durability=durability))

    reliable = publisher(ReliabilityPolicy.RELIABLE, DurabilityPolicy.VOLATILE)
    best_effort = publisher(ReliabilityPolicy.BEST_EFFORT, DurabilityPolicy.VOLATILE)
    latched = publisher(ReliabilityPolicy.RELIABLE, DurabilityPolicy.TRANSIENT_LOCAL)
    assert subscription_qos([reliable], None).reliability == ReliabilityPolicy.RELIABLE
    assert subscription_qos([reliable, best_effort], None).reliability == ReliabilityPolicy.BEST_EFFORT
    assert subscription_qos([latched], None).durability == DurabilityPolicy.TRANSIENT_LOCAL
    assert subscription_qos([latched, reliable], None).durability == DurabilityPolicy.VOLATILE
    override = subscription_qos([reliable], {"reliability": "best_effort", "depth": 3})
    assert override.reliability == ReliabilityPolicy.BEST_EFFORT and override.depth == 3
    with pytest.raises(ValueError, match="not understood"):
        subscription_qos([reliable], {"lifespan": 1})
    with pytest.raises(ValueError, match="expected one of reliable, best_effort"):
        subscription_qos([reliable], {"reliability": "sometimes"})
