"""`make demo`: a treadmill rig's whole day on real side-view footage, from camera to report.

1. treadmill.launch.py with camera_replay on the clip, the pose node tracking every person, the
   recorder on and the gait node live (it follows the largest tracked person); one status line per
   second.
2. `rhpnet score` re-runs the same estimator over the recorded camera frames; the demo compares the
   offline keypoints with the live ones on the frames the node processed.
3. `rhpnet gait-report` writes the report from the recorded bag.

The replay runs slower than the clip (`rate`, a rate a shared CPU keeps up with) while stamping
frames on the clip's own 30 fps timeline (`stamps:=video`), so the gait node and the report see the
real motion; the gait window (`gait_window_s`) is shorter than the clip so live cadence appears.

The runner: on a treadmill the runner is in view from the first frame, which `target:=longest`
relies on. In this clip a bystander on a box is in view first and the walker enters at frame ~40,
so the demo publishes every tracked person (`target:=all`): the live gait node follows the largest
tracked person and `rhpnet gait-report` the tracked person with the most strides. `--target`
changes it.
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rclpy
import yaml
from rclpy.executors import SingleThreadedExecutor

from rhpnet_core.frames import FrameSource
from rhpnet_ros.demo_monitor import RigMonitor
from rhpnet_ros.demo_offline import compare_live_offline, run_rhpnet, video_frames
from rhpnet_ros.launch_runner import LaunchRunner

POSE_PARAMS = Path(__file__).resolve().parents[1] / "config" / "pose_node.yaml"
SESSION = "demo"
DRAIN_S = 3.0  # after the last frame: the gait node's last window and the recorder's flush
STARTUP_TIMEOUT_S = 180.0
LOST_CAMERA_INFO_TOLERANCE = 5  # camera_info messages the monitor may miss on a starved machine


@dataclass
class RigDemoSettings:
    source: Path
    output: Path
    seconds: float = 0.0  # 0: the whole clip
    rate_hz: float = 3.0
    gait_window_s: float = 5.0
    rig: str = "rig1"
    estimator: str = "auto"
    checkpoint: str = ""
    detector_imgsz: int = 640
    target: str = "all"
    idle_timeout_s: float = 30.0


@dataclass
class RigDemoResult:
    """What the run produced: paths a person opens and the numbers of the summary."""

    annotated_video: Path
    bag: Path
    report_html: Path
    summary: dict[str, Any] = field(default_factory=dict)


def clip_frames(settings: RigDemoSettings) -> tuple[int, float]:
    """(frames the replay publishes, the clip's fps)."""
    source = FrameSource(settings.source)
    fps = source.fps or settings.rate_hz
    total = sum(1 for _ in source.frames())
    if settings.seconds > 0:
        total = min(total, round(settings.seconds * fps))
    return total, fps


def pose_params_file(settings: RigDemoSettings, video: Path, video_fps: float) -> Path:
    """The rig's pose-node YAML (config/pose_node.yaml) with the demo's estimator and video output."""
    document = yaml.safe_load(POSE_PARAMS.read_text())
    params = document["/**"]["ros__parameters"]
    params.update(estimator=settings.estimator, checkpoint=settings.checkpoint,
                  detector_imgsz=settings.detector_imgsz, annotated_video=str(video),
                  annotated_fps=float(video_fps))
    path = settings.output / "pose_node.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def fresh_output(output: Path) -> None:
    """Remove what a previous demo run wrote (only the demo's own entries under `output`)."""
    output.mkdir(parents=True, exist_ok=True)
    for name in ("bag", "score", "report", "logs", "annotated.mp4", "summary.json"):
        path = output / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def run_live(settings: RigDemoSettings, frames: int, launch_args: dict[str, str]) -> RigMonitor:
    """Launch the rig, print a status line per second, stop once every frame is accounted for."""
    rclpy.init()
    monitor = RigMonitor(settings.rig)
    executor = SingleThreadedExecutor()
    executor.add_node(monitor)
    started = time.monotonic()
    next_line = started + 1.0
    last_change, last_state = started, None
    with LaunchRunner("treadmill.launch.py", launch_args, settings.output / "logs") as launch:
        while launch.running():
            executor.spin_once(timeout_sec=0.1)
            now = time.monotonic()
            if now >= next_line:
                print(monitor.status_line(now - started), flush=True)
                next_line += 1.0
            state = (monitor.camera_frames, monitor.keypoint_msgs, monitor.count("received"))
            if state != last_state:
                last_change, last_state = now, state
            settled = monitor.count("received") == sum(
                monitor.count(k) for k in ("processed", "dropped", "skipped", "failed"))
            # Done: the camera has published (camera_info counts it; one may be lost in transport
            # too), the pose node's queue is empty and nothing moved for DRAIN_S (frames still in
            # transport, the gait node's last hop, the recorder's flush).
            camera_done = monitor.camera_frames >= frames - LOST_CAMERA_INFO_TOLERANCE
            if camera_done and settled and now - last_change >= DRAIN_S:
                break
            # Loading the models takes seconds idle, a minute or more on a busy machine.
            timeout_s = settings.idle_timeout_s if monitor.camera_frames else STARTUP_TIMEOUT_S
            if now - last_change > timeout_s:
                print(f"demo: nothing new for {timeout_s:.0f} s; stopping "
                      f"(logs: {settings.output / 'logs'})", flush=True)
                break
        code = launch.stop()
    print(monitor.status_line(time.monotonic() - started), flush=True)
    print(f"demo: launch stopped (exit code {code}); node logs in {settings.output / 'logs'}", flush=True)
    executor.shutdown()
    monitor.destroy_node()
    rclpy.shutdown()
    return monitor


def run(settings: RigDemoSettings) -> RigDemoResult:
    output = settings.output.resolve()
    settings.output = output
    fresh_output(output)
    frames, fps = clip_frames(settings)
    video = output / "annotated.mp4"
    bag_dir = output / "bag" / settings.rig / SESSION  # treadmill.launch.py: <record_dir>/<rig>/<session>/
    launch_args = {
        "rig": settings.rig, "source": str(settings.source.resolve()), "rate": str(settings.rate_hz),
        "loop": "false", "max_frames": str(frames), "stamps": "video", "wait_for_subscribers": "2",
        "target": settings.target, "params_file": str(pose_params_file(settings, video, fps)),
        "record": "true", "record_dir": str(output / "bag"), "session": SESSION,
        "gait_window_s": str(settings.gait_window_s), "camera_fps": str(fps),
    }
    print(f"demo: {settings.source.name}: {frames} frames ({frames / fps:.1f} s at {fps:g} fps) replayed at "
          f"{settings.rate_hz:g} Hz, stamped on the clip's timeline; gait window {settings.gait_window_s:g} s "
          f"of clip time", flush=True)
    print(f"demo: $ play_launch launch rhpnet treadmill.launch.py "
          + " ".join(f"{k}:={v}" for k, v in launch_args.items()), flush=True)
    monitor = run_live(settings, frames, launch_args)
    if monitor.keypoint_msgs == 0:
        raise RuntimeError("the pose node published no Keypoints; its log: "
                           f"{output / 'logs' / 'latest' / 'node' / 'pose_node'}")
    if not bag_dir.is_dir():
        raise FileNotFoundError(f"the recorder wrote nothing under {bag_dir}; see {output / 'logs'}")
    bag = bag_dir

    score_dir = output / "score"
    estimator_args = ["--estimator", settings.estimator, "--detector-imgsz", str(settings.detector_imgsz),
                      "--target", settings.target]
    if settings.checkpoint:
        estimator_args += ["--checkpoint", settings.checkpoint]
    score_s = run_rhpnet(["score", str(bag), "--output", str(score_dir), *estimator_args], output / "score.log")
    comparison = compare_live_offline(bag, score_dir / "scored")
    pck_key = f"pck@{comparison['pck_threshold']}"
    print(f"demo: live vs offline on the {comparison['frames_in_reference']} frames the node processed: "
          f"identical {comparison['identical_frames']}, differing {comparison['differing_frames']}, "
          f"mean joint distance {comparison['mean_distance_px']} px, {pck_key} {comparison[pck_key]}", flush=True)

    report_dir = output / "report"
    try:
        run_rhpnet(["gait-report", str(bag), "--output", str(report_dir), "--fps", f"{fps:g}"],
                   output / "report.log")
        metrics = json.loads((report_dir / "metrics.json").read_text())
    except RuntimeError as exc:  # e.g. nobody tracked long enough in a short clip: said, not hidden
        print(f"demo: no gait report: {exc}", flush=True)
        metrics = {"valid": False, "walking_detected": False, "reason": "no report (see above)"}

    decoded, _ = video_frames(video)
    summary = {
        "frames_published": frames, "camera_info_seen": monitor.camera_frames, "clip_fps": fps,
        "replay_rate_hz": settings.rate_hz,
        "live": {"received": monitor.count("received"), "processed": monitor.count("processed"),
                 "dropped": monitor.count("dropped"), "unseen": monitor.count("unseen"),
                 "processed_fps": round(monitor.processed_fps(), 2), "model": monitor.model,
                 "node_latency_ms_p50": monitor.pose.get("node_ms_p50"),
                 "node_latency_ms_p95": monitor.pose.get("node_ms_p95"),
                 "gait_messages": monitor.metrics_msgs, "gait_verdict": monitor.best_verdict()},
        "runner": {"track_id": metrics.get("track_id"), "target": settings.target,
                   "live_frames": monitor.track_frames.get(metrics.get("track_id"), 0),
                   "live_gait_node_track_id": monitor.verdict_track_id()},
        "tracks": dict(monitor.track_frames),
        "offline": {"frames": comparison["offline_frames"], "seconds": round(score_s, 1),
                    "fps": round(comparison["offline_frames"] / score_s, 2) if score_s else None},
        "live_vs_offline": comparison,
        "report": {"walking_detected": metrics.get("walking_detected"), "valid": metrics.get("valid"),
                   "reason": metrics.get("reason"), "cadence_spm": metrics.get("cadence_spm")},
        "annotated_video_frames": decoded,
    }
    (output / "summary.json").write_text(json.dumps(summary, indent=1))
    return RigDemoResult(video, bag, report_dir / "report.html", summary)
