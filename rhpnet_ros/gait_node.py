"""gait_node: `keypoints` (rhpnet/msg/Keypoints) [+ `belt_speed` (std_msgs/Float32, m/s)] ->
`gait_events` (rhpnet/msg/GaitEvent), `running_metrics` (rhpnet/msg/RunningMetrics), /diagnostics.

Follows one runner (parameter `track_id`, else the largest tracked person) and runs the offline
analysis, `rhpnet_core.gait.analyze`, on a sliding window of message time (default the last 10 s,
every 1 s): the same code as `rhpnet gait-report`, so a replayed bag gives the same numbers. The
analysis runs on a worker thread, not in the subscription callback. Each event is published once,
when final (`final_lag_s` behind the newest keypoints). A gap in keypoints, a lost runner, a runner
who stops or walks: RunningMetrics says so (valid=false, reason) and never repeats old numbers.
"""
from __future__ import annotations

import dataclasses
import math
import sys
import threading
import time
from collections import deque

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from std_msgs.msg import Float32, Header

from rhpnet.msg import GaitEvent, Keypoints, RunningMetrics
from rhpnet_core.bags import keypoints_arrays
from rhpnet_core.gait import GaitAnalysis, GaitSettings, KeypointTrack, analyze
from rhpnet_ros.gait_messages import analysis_to_msg, event_to_msg, invalid_msg, stamp_to_s
from rhpnet_ros.gait_window import EventGate, RunnerFollower, SlidingWindow
from rhpnet_ros.node_runner import run_node

# GaitSettings fields the node sets from its own parameters; every other field (the algorithm's
# thresholds) becomes a parameter of the same name and default.
RIG_FIELDS = ("fps", "belt_speed_mps", "runner_height_m", "facing", "near_side", "roll_deg", "mode")
THRESHOLDS = {f.name: f.default for f in dataclasses.fields(GaitSettings) if f.name not in RIG_FIELDS}

PARAMETERS = {
    "window_s": (10.0, "analysis window in s of message time (>= 7 strides per side needs ~5 s at 170 spm)"),
    "hop_s": (1.0, "one analysis (RunningMetrics) per this many s of message time"),
    "final_lag_s": (0.5, "events are final and published this far behind the newest keypoints"),
    "max_gap_s": (1.0, "a keypoint gap or an absent runner longer than this restarts the window"),
    "keypoints_timeout_s": (2.0, "no Keypoints for this long (node clock): publish valid=false"),
    "track_id": (-1, "follow this tracker id; -1: the largest tracked person"),
    "runner_height_m": (0.0, "runner height in m (scale from leg length); 0: unknown"),
    "belt_speed_mps": (0.0, "belt speed in m/s when no `belt_speed` topic; 0: unknown"),
    "belt_speed_timeout_s": (5.0, "a `belt_speed` value older than this (node clock) is not used"),
    "fps": (0.0, "camera rate in Hz (the resampling grid); 0: from the stamps"),
    "facing": ("auto", "runner faces image right | left | auto"),
    "near_side": ("auto", "camera-facing leg: left | right | auto"),
    "estimate_roll": (True, "fit the floor line from stance ankles; false: use roll_deg (a fixed rig)"),
    "roll_deg": (0.0, "camera roll in deg (+ = floor rising to image right) when estimate_roll is false"),
    "mode": ("auto", "treadmill | overground | auto"),
    "diagnostics_period_s": (1.0, "period of /diagnostics (node clock)"),
    **{name: (default, f"rhpnet_core.gait.GaitSettings.{name} (docs/gait.md)") for name, default in THRESHOLDS.items()},
}


class GaitNode(Node):
    def __init__(self) -> None:
        super().__init__("gait_node")
        self.p = {name: self.parameter(name, default, text) for name, (default, text) in PARAMETERS.items()}
        p = self.p
        self.settings = GaitSettings(  # validates facing/near_side/mode/fps/height
            fps=p["fps"] or None, runner_height_m=p["runner_height_m"] or None,
            facing=p["facing"], near_side=p["near_side"], mode=p["mode"],
            roll_deg=None if p["estimate_roll"] else float(p["roll_deg"]),
            **{name: type(default)(p[name]) for name, default in THRESHOLDS.items()})
        self.window = SlidingWindow(p["window_s"], p["hop_s"], p["max_gap_s"])
        self.follower = RunnerFollower(int(p["track_id"]), lost_after_s=p["max_gap_s"])
        self.gate = EventGate(final_lag_s=p["final_lag_s"])
        self.belt_speed: tuple[float, float] | None = None  # (m/s, monotonic receipt time)
        self.frame_id = ""
        self.last_receipt = time.monotonic()
        self.stats = {"keypoints": 0, "windows": 0, "skipped_windows": 0, "events": 0, "restarts": 0}
        self.state = {"valid": False, "reason": "waiting for keypoints", "cadence_spm": float("nan")}
        self.lock = threading.Lock()
        self.jobs: deque[tuple[KeypointTrack, GaitSettings, str]] = deque(maxlen=1)
        self.wakeup = threading.Condition(self.lock)
        self.stopping = False

        self.events_pub = self.create_publisher(GaitEvent, "gait_events", 50)
        self.metrics_pub = self.create_publisher(RunningMetrics, "running_metrics", 10)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        # Deep enough for a replayed bag faster than real time: the callback only appends.
        self.create_subscription(Keypoints, "keypoints", self.on_keypoints, 100)
        self.create_subscription(Float32, "belt_speed", self.on_belt_speed, 10)
        self.create_timer(p["hop_s"], self.check_input)
        self.create_timer(p["diagnostics_period_s"], self.publish_diagnostics)
        self.worker = threading.Thread(target=self.work, name="gait-analysis", daemon=True)
        self.worker.start()
        self.get_logger().info(f"following {'track ' + str(p['track_id']) if p['track_id'] >= 0 else 'the largest tracked person'} "
                               f"on {self.resolve_topic_name('keypoints')}; {p['window_s']:g} s window every {p['hop_s']:g} s")

    def parameter(self, name: str, default, description: str):
        """A read-only parameter. Numbers may also come as text (launch arguments) or as an int for a
        float; "" means the default (e.g. an unknown belt speed)."""
        numeric = isinstance(default, (int, float)) and not isinstance(default, bool)
        value = self.declare_parameter(name, default, ParameterDescriptor(
            description=description, read_only=True, dynamic_typing=numeric)).value
        if not numeric or isinstance(value, type(default)):
            return value
        try:
            return default if value in ("", None) else type(default)(float(value))
        except (TypeError, ValueError):
            raise ValueError(f"parameter {name}={value!r}; expected a number like {default!r}") from None

    # ------------------------------------------------------------------ input
    def on_belt_speed(self, msg: Float32) -> None:
        self.belt_speed = (float(msg.data), time.monotonic())

    def current_belt_speed(self) -> float | None:
        if self.belt_speed is not None and time.monotonic() - self.belt_speed[1] <= self.p["belt_speed_timeout_s"]:
            speed = self.belt_speed[0]
        else:
            speed = self.p["belt_speed_mps"]
        return speed if speed and math.isfinite(speed) and speed > 0 else None

    def on_keypoints(self, msg: Keypoints) -> None:
        self.last_receipt = time.monotonic()
        self.stats["keypoints"] += 1
        self.frame_id = msg.header.frame_id
        stamp_s = stamp_to_s(msg.header.stamp)
        if self.window.last_message_s is not None and stamp_s < self.window.last_message_s:
            self.gate.reset()  # replay restart: events of the new pass are new
        runner = None
        if msg.persons and len(msg.keypoint_names) != 17:
            self.get_logger().error(f"the gait analysis needs COCO-17 keypoints; {msg.model} gives "
                                    f"{len(msg.keypoint_names)}", throttle_duration_sec=10.0)
        elif msg.persons:
            boxes, _, keypoints, track_ids = keypoints_arrays(msg)
            index = self.follower.pick(stamp_s, track_ids, boxes)
            runner = None if index is None else keypoints[index]
        restarted = self.window.add(stamp_s, runner, self.follower.track_id)
        if restarted:
            self.stats["restarts"] += 1
            self.get_logger().info(f"window restarted: {restarted}")
        if not self.window.due():
            return
        missing_s = self.window.runner_missing_s()
        track = self.window.track()
        if track is None or missing_s > self.p["max_gap_s"]:
            what = "no runner in view" if track is None else f"runner lost for {missing_s:.1f} s"
            self.publish_invalid(msg.header.stamp, what)
            return
        settings = dataclasses.replace(self.settings, belt_speed_mps=self.current_belt_speed())
        # A restart explains an invalid window only while the window is still filling up again.
        filling = track.times_s[-1] - track.times_s[0] < self.p["window_s"] - self.p["hop_s"]
        with self.wakeup:
            if self.jobs:
                self.stats["skipped_windows"] += 1  # the worker is behind: the newer window wins
            self.jobs.append((track, settings, self.window.restart_reason if filling else ""))
            self.wakeup.notify()

    def check_input(self) -> None:
        """Keypoints stopped arriving: say so (stamped with the node clock, there is no message time)."""
        silent_s = time.monotonic() - self.last_receipt
        if silent_s > self.p["keypoints_timeout_s"]:
            self.publish_invalid(self.get_clock().now().to_msg(), f"no keypoints received for {silent_s:.1f} s")

    # ------------------------------------------------------------------ analysis (worker thread)
    def work(self) -> None:
        while True:
            with self.wakeup:
                while not self.jobs and not self.stopping:
                    self.wakeup.wait()
                if self.stopping:
                    return
                track, settings, restart_reason = self.jobs.popleft()
            try:
                self.analyse(track, settings, restart_reason)
            except Exception as exc:  # a bad window must not stop the node; logged and counted
                if not self.context.ok():
                    return
                self.stats["skipped_windows"] += 1
                self.get_logger().error(f"gait analysis failed: {exc!r}", throttle_duration_sec=5.0)

    def analyse(self, track: KeypointTrack, settings: GaitSettings, restart_reason: str) -> None:
        analysis = analyze(track, settings)
        valid, reason = verdict(analysis, restart_reason)
        for event in self.gate.new_events(analysis):
            self.events_pub.publish(event_to_msg(event, self.frame_id, analysis.track_id, analysis.near_side))
            self.stats["events"] += 1
        self.metrics_pub.publish(analysis_to_msg(analysis, self.frame_id, settings.belt_speed_mps, valid, reason))
        self.stats["windows"] += 1
        cadence = analysis.metrics["cadence_spm"].value
        self.state = {"valid": valid, "reason": reason, "cadence_spm": float("nan") if cadence is None else cadence}

    def publish_invalid(self, stamp, reason: str) -> None:
        self.metrics_pub.publish(invalid_msg(stamp, self.frame_id, self.follower.track_id, reason,
                                             self.p["window_s"], self.current_belt_speed()))
        self.state = {"valid": False, "reason": reason, "cadence_spm": float("nan")}

    # ------------------------------------------------------------------ diagnostics
    def publish_diagnostics(self) -> None:
        state = dict(self.state)
        silent = time.monotonic() - self.last_receipt > self.p["keypoints_timeout_s"]
        level = DiagnosticStatus.STALE if silent else DiagnosticStatus.OK if state["valid"] else DiagnosticStatus.WARN
        message = (f"running, {state['cadence_spm']:.0f} spm" if state["valid"] else state["reason"])
        values = {"track_id": self.follower.track_id, **self.stats, "valid": state["valid"], "reason": state["reason"],
                  "cadence_spm": f"{state['cadence_spm']:.1f}", "belt_speed_mps": self.current_belt_speed() or "unknown"}
        status = DiagnosticStatus(level=level, name=f"{self.get_fully_qualified_name()}: gait", message=message,
                                  hardware_id=self.frame_id or "unknown",
                                  values=[KeyValue(key=k, value=str(v)) for k, v in values.items()])
        self.diagnostics_pub.publish(DiagnosticArray(header=Header(stamp=self.get_clock().now().to_msg()),
                                                     status=[status]))

    def close(self) -> None:
        with self.wakeup:
            self.stopping = True
            self.wakeup.notify()
        self.worker.join(timeout=10.0)


def verdict(analysis: GaitAnalysis, restart_reason: str) -> tuple[bool, str]:
    """The node's valid/reason for a window: the analysis's, and not walking; a restart is named."""
    if analysis.walking_detected:
        valid, reason = False, "walking detected (no running metrics)"
    else:
        valid, reason = analysis.valid, analysis.reason
    if not valid and restart_reason:
        reason = f"{reason}; window restarted after: {restart_reason}"
    return valid, reason


def main(args: list[str] | None = None) -> int:
    return run_node(GaitNode, "gait_node", args)


if __name__ == "__main__":
    sys.exit(main())
