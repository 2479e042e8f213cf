"""`make demo DEMO=synthetic`: a generated treadmill runner whose true gait is known, through the gait side
of the rig.

The runner comes from the gait tests' parametric generator (rhpnet_core/gait/synthetic.py: cadence, duty factor,
belt speed, trunk lean, vertical oscillation set by hand, 1 px of keypoint noise). It is
  - drawn as a stick-figure video (no camera image: the person detector does not see a stick figure,
    so this demo never runs the pose network — it starts where the pose node's Keypoints start);
  - played as rhpnet/msg/Keypoints, on its own timeline, through the live gait node (one status line
    per second from `running_metrics`);
  - written to a Keypoints bag, from which `rhpnet gait-report` writes the report.
It ends with the values the generator was given next to what the report measured.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rosbags.rosbag2 import Writer
from std_msgs.msg import Header

from rhpnet.msg import Keypoints, RunningMetrics
from rhpnet_core.bags.keypoints import KEYPOINTS_TYPE, keypoints_fields, keypoints_message
from rhpnet_core.bags.recording import STORAGES
from rhpnet_core.bags.types import project_typestore
from rhpnet_core.gait import GaitSettings, KeypointTrack, analyze
from rhpnet_core.gait.stick_video import write_stick_video
from rhpnet_core.keypoints import COCO_KEYPOINT_NAMES
from rhpnet_core.pipeline import PoseResult
from rhpnet_ros.demo_monitor import describe
from rhpnet_ros.demo_offline import run_rhpnet
from rhpnet_ros.messages import result_to_msg
from rhpnet_core.gait.synthetic import Corruption, RunnerParams, make_run

NAMESPACE = "synthetic"
FRAME_ID = "synthetic_camera"
MODEL = "synthetic runner (rhpnet_core/gait/synthetic.py)"
TRACK_ID = 1
STOP_TIMEOUT_S = 10.0


@dataclass
class SyntheticDemoSettings:
    output: Path
    seconds: float = 16.0
    speed: float = 2.0  # Keypoints played this many times faster than real time
    gait_window_s: float = 8.0  # live window in s of runner time (>= 7 strides at 176 steps/min)
    params: RunnerParams = field(default_factory=lambda: RunnerParams(
        fps=30.0, image_size=(960, 540), px_per_m=170.0, cadence_spm=176.0, duty_factor=0.26))
    noise_px: float = 1.0


@dataclass
class SyntheticDemoResult:
    video: Path
    bag: Path
    report_html: Path
    truth: dict[str, float]
    report: dict[str, Any]
    live_verdicts: list[str]


def generated_truth(params: RunnerParams) -> dict[str, float]:
    """The generator's true values, under the report's metric names."""
    return {"cadence_spm": params.cadence_spm, "ground_contact_time_ms": 1000 * params.contact_time_s("right"),
            "duty_factor": params.duty_factor, "trunk_lean_deg": params.trunk_lean_deg,
            "overstride_cm": 100 * params.overstride_m, "vertical_oscillation_cm": 100 * params.vo_m()}


def pose_result(person: np.ndarray) -> PoseResult:
    """The generated person (17, 3) as the pose pipeline would return it: one tracked runner."""
    xy = person[:, :2]
    box = np.array([[*xy.min(axis=0), *xy.max(axis=0)]], np.float32)
    return PoseResult(boxes_xyxy=box, scores=np.ones(1, np.float32), keypoints=person[None].astype(np.float32),
                      keypoint_names=COCO_KEYPOINT_NAMES, model=MODEL, track_ids=np.full(1, TRACK_ID, np.int32))


def write_keypoints_bag(path: Path, stamps_ns: np.ndarray, keypoints: np.ndarray, image_size: tuple[int, int]) -> Path:
    """A rosbag2 MCAP with one Keypoints message per frame on /synthetic/keypoints, log time = stamp."""
    store = project_typestore()
    header_cls = store.types["std_msgs/msg/Header"]
    time_cls = store.types["builtin_interfaces/msg/Time"]
    with Writer(path, version=Writer.VERSION_LATEST, storage_plugin=STORAGES["mcap"]) as writer:
        connection = writer.add_connection(f"/{NAMESPACE}/keypoints", KEYPOINTS_TYPE, typestore=store)
        for stamp_ns, person in zip(stamps_ns, keypoints):
            header = header_cls(stamp=time_cls(sec=int(stamp_ns // 1_000_000_000),
                                               nanosec=int(stamp_ns % 1_000_000_000)), frame_id=FRAME_ID)
            fields = keypoints_fields(pose_result(person), *image_size)
            writer.write(connection, int(stamp_ns),
                         store.serialize_cdr(keypoints_message(store, fields, header), KEYPOINTS_TYPE))
    return path


class KeypointPlayer(Node):
    """Publishes the generated Keypoints at `speed` x real time and listens to the gait node."""

    def __init__(self) -> None:
        super().__init__("rhpnet_demo_keypoint_player")
        self.publisher = self.create_publisher(Keypoints, f"/{NAMESPACE}/keypoints", 50)
        self.metrics: list[RunningMetrics] = []
        self.create_subscription(RunningMetrics, f"/{NAMESPACE}/running_metrics", self.metrics.append, 10)

    def publish(self, stamp_ns: int, person: np.ndarray, image_size: tuple[int, int]) -> None:
        header = Header(frame_id=FRAME_ID)
        header.stamp.sec, header.stamp.nanosec = int(stamp_ns // 1_000_000_000), int(stamp_ns % 1_000_000_000)
        self.publisher.publish(result_to_msg(pose_result(person), header, *image_size))


def live_line(elapsed_s: float, clip_s: float, metrics: RunningMetrics | None) -> str:
    if metrics is None:
        return f"t={elapsed_s:5.1f}s runner time={clip_s:5.1f}s | gait: window filling"
    values = [describe(metrics)]
    if metrics.valid:
        for name, label, unit in (("ground_contact_time_ms", "contact", "ms"), ("duty_factor", "duty", ""),
                                  ("trunk_lean_deg", "trunk lean", "deg")):
            value = getattr(metrics, name).value
            if math.isfinite(value):
                values.append(f"{label} {value:.2f}{unit}" if unit == "" else f"{label} {value:.0f} {unit}")
    return f"t={elapsed_s:5.1f}s runner time={clip_s:5.1f}s | gait: " + ", ".join(values)


def play_live(settings: SyntheticDemoSettings, params: RunnerParams, stamps_ns: np.ndarray, keypoints: np.ndarray,
              logs: Path) -> list[str]:
    """Start the gait node, play the track through it, print a line per second; the verdicts seen."""
    parameters = {"window_s": settings.gait_window_s, "fps": params.fps, "belt_speed_mps": params.belt_speed_mps,
                  "runner_height_m": params.height_m}
    command = [str(Path(sys.prefix) / "lib" / "rhpnet" / "gait_node"), "--ros-args", "-r", f"__ns:=/{NAMESPACE}"]
    command += [arg for name, value in parameters.items() for arg in ("-p", f"{name}:={float(value)}")]
    env = dict(os.environ)
    env["AMENT_PREFIX_PATH"] = os.pathsep.join(p for p in (sys.prefix, env.get("AMENT_PREFIX_PATH")) if p)
    logs.mkdir(parents=True, exist_ok=True)
    print(f"demo: $ {' '.join(command)}", flush=True)
    with open(logs / "gait_node.log", "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    rclpy.init()
    player = KeypointPlayer()
    executor = SingleThreadedExecutor()
    executor.add_node(player)
    verdicts = []
    try:
        deadline = time.monotonic() + 30.0
        while player.publisher.get_subscription_count() == 0:  # the gait node has subscribed
            executor.spin_once(timeout_sec=0.1)
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gait_node did not subscribe to /{NAMESPACE}/keypoints; "
                                   f"log: {logs / 'gait_node.log'}")
        started = time.monotonic()
        next_line = started + 1.0
        track_start_ns = stamps_ns[0]
        for stamp_ns, person in zip(stamps_ns, keypoints):
            due = started + (stamp_ns - track_start_ns) * 1e-9 / settings.speed
            while (now := time.monotonic()) < due:
                executor.spin_once(timeout_sec=min(0.05, due - now))
            player.publish(int(stamp_ns), person, params.image_size)
            if now >= next_line:
                latest = player.metrics[-1] if player.metrics else None
                print(live_line(now - started, (stamp_ns - track_start_ns) * 1e-9, latest), flush=True)
                next_line += 1.0
        end = time.monotonic() + 2.0  # the last window
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.1)
        verdicts = [describe(m) for m in player.metrics]
    finally:
        executor.shutdown()
        player.destroy_node()
        rclpy.shutdown()
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    return verdicts


def run(settings: SyntheticDemoSettings) -> SyntheticDemoResult:
    output = settings.output.resolve()
    for name in ("keypoints_bag", "report", "logs"):
        shutil.rmtree(output / name, ignore_errors=True)
    output.mkdir(parents=True, exist_ok=True)
    params = replace(settings.params, duration_s=settings.seconds)
    run_ = make_run(params, Corruption(noise_px=settings.noise_px, seed=0))
    truth = generated_truth(params)
    print(f"demo: synthetic runner, {settings.seconds:g} s at {params.fps:g} fps, belt {params.belt_speed_mps:g} m/s: "
          + ", ".join(f"{k} {v:.3g}" for k, v in truth.items()) + f"; keypoint noise {settings.noise_px:g} px",
          flush=True)
    t0_ns = time.time_ns()
    stamps_ns = t0_ns + np.round(run_.times_s * 1e9).astype(np.int64)

    analysis = analyze(KeypointTrack(run_.times_s, run_.keypoints, TRACK_ID), GaitSettings(fps=params.fps))
    video = output / "stick_figure.mp4"
    write_stick_video(video, run_.times_s, run_.keypoints, params.image_size, params.fps,
                      analysis.events, "synthetic runner")
    bag = write_keypoints_bag(output / "keypoints_bag", stamps_ns, run_.keypoints, params.image_size)
    print(f"demo: wrote {video} and {bag}; playing the Keypoints through gait_node at {settings.speed:g}x",
          flush=True)
    verdicts = play_live(settings, params, stamps_ns, run_.keypoints, output / "logs")

    report_dir = output / "report"
    run_rhpnet(["gait-report", str(bag), "--output", str(report_dir), "--fps", f"{params.fps:g}",
                "--belt-speed", f"{params.belt_speed_mps:g}", "--runner-height", f"{params.height_m:g}"],
               output / "report.log")
    report = json.loads((report_dir / "metrics.json").read_text())
    return SyntheticDemoResult(video, bag, report_dir / "report.html", truth, report, verdicts)


def print_result(result: SyntheticDemoResult, seconds: float) -> None:
    print("\ndemo: open")
    print(f"  stick-figure video  {result.video}")
    print(f"  gait report         {result.report_html}")
    print(f"  Keypoints bag       {result.bag}")
    print(f"{'metric':<24} {'generated':>10} {'report':>10}")
    for name, truth in result.truth.items():
        entry = result.report.get(name) or {}
        value = entry.get("value") if isinstance(entry, dict) else entry
        measured = "-" if value is None else f"{value:.3g}"
        print(f"{name:<24} {truth:>10.3g} {measured:>10}")
    state = "walking detected" if result.report.get("walking_detected") else (
        "running, valid" if result.report.get("valid") else f"not valid: {result.report.get('reason')}")
    live = result.live_verdicts[-1] if result.live_verdicts else "no window published"
    print(f"report: {state}; live gait node (last window): {live}; "
          f"{len(result.live_verdicts)} windows published; demo {seconds:.0f} s")
