"""The demo's view of a running rig: one status line per second from the rig's own topics.

Subscribes `<rig>/keypoints` (tracked persons), `<rig>/running_metrics` (the runner the gait node
follows, live cadence), `<rig>/camera_info` (one small message per camera frame: counts what
the camera published) and `/diagnostics` (the pose node's frame accounting and latency), never the
camera images: a 1768x994 frame is 5 MB, and the demo must not compete with the rig for the CPU it
measures.
"""
from __future__ import annotations

import math
import time
from collections import Counter

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo

from rhpnet.msg import Keypoints, PoseModelInfo, RunningMetrics

POSE_STATUS_SUFFIX = "pose_node: pose estimation"


class RigMonitor(Node):
    """Counts what the rig publishes; `status_line()` summarises it."""

    def __init__(self, rig: str) -> None:
        super().__init__("rhpnet_demo_monitor")
        self.rig = rig.strip("/")
        self.keypoint_msgs = 0
        self.track_frames: Counter[int] = Counter()  # track id -> processed frames it was published in
        self.persons = 0  # in the latest Keypoints message
        self.first_keypoints_s: float | None = None
        self.last_keypoints_s: float | None = None
        self.pose: dict[str, str] = {}  # the pose node's latest /diagnostics values
        self.model = ""
        self.metrics: RunningMetrics | None = None
        self.verdict: RunningMetrics | None = None  # the latest window that found running or walking
        self.metrics_msgs = 0
        self.create_subscription(Keypoints, f"/{self.rig}/keypoints", self.on_keypoints, 50)
        self.create_subscription(RunningMetrics, f"/{self.rig}/running_metrics", self.on_metrics, 10)
        self.create_subscription(DiagnosticArray, "/diagnostics", self.on_diagnostics, 10)
        self.camera_frames = 0
        self.create_subscription(CameraInfo, f"/{self.rig}/camera_info", self.on_camera_info, 50)
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                             reliability=ReliabilityPolicy.RELIABLE)
        self.create_subscription(PoseModelInfo, f"/{self.rig}/keypoints/info", self.on_info, latched)

    def on_keypoints(self, msg: Keypoints) -> None:
        now = time.monotonic()
        self.first_keypoints_s = self.first_keypoints_s or now
        self.last_keypoints_s = now
        self.keypoint_msgs += 1
        self.model = msg.model
        self.persons = len(msg.persons)
        self.track_frames.update(int(person.track_id) for person in msg.persons if person.track_id >= 0)

    def on_camera_info(self, _msg: CameraInfo) -> None:
        self.camera_frames += 1

    def on_metrics(self, msg: RunningMetrics) -> None:
        self.metrics = msg
        if msg.valid or msg.walking_detected:
            self.verdict = msg
        self.metrics_msgs += 1

    def on_info(self, msg: PoseModelInfo) -> None:
        self.model = self.model or msg.model

    def on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.startswith(f"/{self.rig}/") and status.name.endswith(POSE_STATUS_SUFFIX):
                self.pose = {kv.key: kv.value for kv in status.values}

    def count(self, key: str) -> int:
        """A cumulative pose-node counter (`received`, `processed`, `dropped`, ...), 0 before the first report."""
        return int(self.pose.get(key, 0))

    def live_gait(self) -> str:
        """The gait node's latest window: cadence, walking, or why there is no number (yet)."""
        return "gait: window filling" if self.metrics is None else "gait: " + describe(self.metrics)

    def best_verdict(self) -> str:
        """The latest window that found running or walking, else the latest window's reason."""
        if self.verdict is not None:
            return describe(self.verdict)
        return "no gait window analysed" if self.metrics is None else describe(self.metrics)

    def status_line(self, elapsed_s: float) -> str:
        runner = "-" if self.metrics is None or self.metrics.track_id < 0 else str(self.metrics.track_id)
        return (f"t={elapsed_s:5.1f}s camera={self.camera_frames} in={self.count('received')} "
                f"processed={self.count('processed')} dropped={self.count('dropped')} persons={self.persons} runner={runner} "
                f"latency_ms p50={self.pose.get('node_ms_p50', '-')} p95={self.pose.get('node_ms_p95', '-')} | "
                f"{self.live_gait()}")

    def verdict_track_id(self) -> int | None:
        """The track the gait node followed in the window `best_verdict` describes."""
        window = self.verdict or self.metrics
        return None if window is None else int(window.track_id)

    def processed_fps(self) -> float:
        """Keypoints messages per second between the first and the last one."""
        if self.first_keypoints_s is None or self.last_keypoints_s == self.first_keypoints_s:
            return 0.0
        return (self.keypoint_msgs - 1) / (self.last_keypoints_s - self.first_keypoints_s)


def describe(metrics: RunningMetrics) -> str:
    """One RunningMetrics window in words: walking, the cadence, or the reason it has no numbers."""
    cadence = metrics.cadence_spm.value
    if metrics.walking_detected:
        return "walking detected" + (f" ({cadence:.0f} steps/min)" if math.isfinite(cadence) else "")
    if metrics.valid and math.isfinite(cadence):
        return f"cadence {cadence:.0f} steps/min"
    return f"no metrics ({metrics.reason or 'not valid'})"
