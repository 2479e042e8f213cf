"""The pose node as a rig runs it: camera_replay -> pose_node -> this subscriber, three processes.

    .venv/bin/python bench/bench_node.py --quick            # < 2 min: yolo-pose, sports2d demo
    .venv/bin/python bench/bench_node.py --duration 20 --rss-duration 300

Tables (markdown, measured now; the machine's load is printed with them):
  stream   per estimator x footage x resolution (640x480, source) x input rate (10, 30 Hz):
           frames published by camera_replay, taken by the node (`received`), lost before the node
           (`unseen`, sequence-number gaps), replaced in the mailbox (`dropped`), answered; processed
           fps; end-to-end latency p50/p95 (this process's clock - image stamp, same machine); node
           overhead = worker time outside the pipeline's detect + pose stages, as a share
  burst    the issue's case: 810x1080 frames at 30 Hz for `--burst-s` seconds
  rss      the node's RSS every 10 s over `--rss-duration` s of 30 Hz input
  inside   in-process, same frames: share of the detect + pose stages that is not network
           inference (letterbox, NMS, crops, heatmap decode), from ultralytics' own `speed` and a
           timer around the keypoint runtime; adds to the node overhead above
  persons  per-frame and per-person cost with 1, 2, 4, 8 persons (one real person tiled), in-process
  peer     a plain ultralytics predict loop on the same frames in one process; node fps / peer fps

RHPNet rows use random W32 weights at trained scale (rhpnet_core.model.calibration, as
bench_pipeline.py): latency does not depend on the values.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="rhpnet-bench-yolo-"))
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "False")
# A DDS domain of our own on loopback: other graphs on the machine stay out of the measurement.
os.environ["ROS_DOMAIN_ID"] = str(101 + zlib.crc32(str(os.getpid()).encode()) % 100)
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"

import rclpy  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402

from rhpnet.msg import Keypoints  # noqa: E402
from random_weights import random_w32_checkpoint  # noqa: E402
from rhpnet_core.frames import FrameSource  # noqa: E402

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
SPORTS2D_DEMO = Path(sys.prefix) / "share" / "rhpnet-footage" / "sports2d_demo.mp4"
NODE_BIN = Path(sys.prefix) / "lib" / "rhpnet"
COUNTERS = ("received", "processed", "dropped", "skipped", "failed", "unseen", "message_lost")
RSS_PERIOD_S = 10.0


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


class Bench:
    """This process's ROS side: subscribes to the node's keypoints and /diagnostics."""

    def __init__(self) -> None:
        rclpy.init()
        self.node = rclpy.create_node("rhpnet_bench_node")
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.answers: list[tuple[float, int]] = []  # (arrival ns, stamp ns)
        self.diagnostics: dict[str, str] = {}
        self.node.create_subscription(Keypoints, "keypoints", self.on_keypoints, 100)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self.on_diagnostics, 10)

    def on_keypoints(self, msg: Keypoints) -> None:
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        self.answers.append((time.time_ns(), stamp))

    def on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if "pose_node" in status.name:
                self.diagnostics = {kv.key: kv.value for kv in status.values}

    def spin(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.05)

    def settled(self, timeout_s: float = 60.0) -> dict[str, str]:
        """Node counters once two reports in a row agree (nothing left in flight)."""
        previous: dict[str, str] = {}
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            self.diagnostics = {}
            while not self.diagnostics and time.monotonic() < end:
                self.executor.spin_once(timeout_sec=0.1)
            current = dict(self.diagnostics)
            if previous and all(previous.get(k) == current.get(k) for k in COUNTERS):
                return current
            previous = current
        return previous

    def close(self) -> None:
        self.node.destroy_node()
        rclpy.shutdown()


def start(executable: str, params: dict[str, object], log: Path) -> subprocess.Popen:
    command = [str(NODE_BIN / executable), "--ros-args"]
    for name, value in params.items():
        command += ["-p", f"{name}:={value}"]
    with open(log, "w") as handle:
        return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)


def start_pose_node(estimator: str, checkpoint: str | None, log_dir: Path, bench: Bench) -> subprocess.Popen:
    params = {"estimator": estimator, "device": "cpu", "detector_imgsz": 640}
    if checkpoint:
        params["checkpoint"] = checkpoint
    process = start("pose_node", params, log_dir / f"pose_node_{estimator}.log")
    end = time.monotonic() + 600
    while not bench.node.count_subscribers("image") and time.monotonic() < end:
        bench.spin(0.5)
        if process.poll() is not None:
            raise RuntimeError(f"pose_node exited: {(log_dir / f'pose_node_{estimator}.log').read_text()[-2000:]}")
    bench.settled()
    return process


def stream(bench: Bench, node: subprocess.Popen, source: Path, size_wh: tuple[int, int] | None, rate_hz: float,
           duration_s: float, log_dir: Path, rss: list[tuple[float, float]] | None = None) -> dict[str, float]:
    """Replay `source` at `rate_hz` for `duration_s` into the running node; counts and latencies."""
    before = bench.settled()
    frames = int(rate_hz * duration_s)
    params = {"source": str(source), "rate": rate_hz, "loop": True, "max_frames": frames, "wait_for_subscribers": 1}
    if size_wh:
        params.update(width=size_wh[0], height=size_wh[1])
    bench.answers = []
    replay = start("camera_replay", params, log_dir / "camera_replay.log")
    started = time.monotonic()
    next_rss = started
    while replay.poll() is None:
        bench.spin(0.2)
        if rss is not None and time.monotonic() >= next_rss:
            rss.append((time.monotonic() - started, psutil.Process(node.pid).memory_info().rss / 2**20))
            next_rss += RSS_PERIOD_S
    after = bench.settled()
    published = frames if replay.returncode == 0 else float("nan")
    delta = {k: int(after[k]) - int(before[k]) for k in COUNTERS}
    answers = bench.answers
    latency = [(arrival - stamp) / 1e6 for arrival, stamp in answers]
    span_s = (answers[-1][0] - answers[0][0]) / 1e9 if len(answers) > 1 else float("nan")
    busy = float(after["busy_ms_total"]) - float(before["busy_ms_total"])
    inference = float(after["inference_ms_total"]) - float(before["inference_ms_total"])
    return {"published": published, **delta, "answered": len(answers),
            "fps": (len(answers) - 1) / span_s if len(answers) > 1 else 0.0,
            "e2e_p50": percentile(latency, 50), "e2e_p95": percentile(latency, 95),
            "overhead": 1.0 - inference / busy if busy > 0 else float("nan"),
            "busy_ms": busy / max(delta["processed"], 1)}


def source_frames(path: Path, count: int, size_wh: tuple[int, int] | None) -> list[np.ndarray]:
    """`count` RGB frames spread over the clip, resized to `size_wh` when given."""
    frames = list(FrameSource(path).frames())
    picked = [frames[i] for i in np.linspace(0, len(frames) - 1, count).astype(int)]
    if size_wh:
        picked = [cv2.resize(f, size_wh, interpolation=cv2.INTER_AREA) for f in picked]
    return [np.ascontiguousarray(f[..., ::-1]) for f in picked]


def build(estimator: str, checkpoint: str | None):
    from rhpnet_core.pipeline import build_pipeline

    return build_pipeline(estimator, checkpoint, backend="auto", device="cpu", detector_imgsz=640)


def inside_split(pipeline, images: list[np.ndarray]) -> dict[str, float]:
    """Share of the detect + pose stages spent outside network inference (in-process, same frames)."""
    from ultralytics.engine.model import Model

    network_ms: list[float] = []
    predict = Model.predict  # whichever YOLO object the detector runs (torch or an OpenVINO export)

    def timed_predict(self, *args, **kwargs):
        results = predict(self, *args, **kwargs)
        network_ms.append(sum(r.speed["inference"] for r in results))
        return results

    Model.predict = timed_predict
    runtime = getattr(pipeline.estimator, "runtime", None)
    if runtime is not None:
        call = pipeline.estimator.runtime

        def timed_runtime(batch):
            t0 = time.perf_counter()
            out = call(batch)
            network_ms.append((time.perf_counter() - t0) * 1e3)
            return out

        pipeline.estimator.runtime = timed_runtime
    pipeline(images[0])
    network_ms.clear()
    stages = 0.0
    for image in images:
        result = pipeline(image)
        stages += result.latency_ms["detect"] + result.latency_ms["pose"]
    Model.predict = predict
    if runtime is not None:
        pipeline.estimator.runtime = call
    return {"stages_ms": stages / len(images), "network_ms": sum(network_ms) / len(images),
            "non_network_share": 1.0 - sum(network_ms) / stages}


def tiled(person_rgb: np.ndarray, count: int, canvas_wh: tuple[int, int] = (1920, 1080)) -> np.ndarray:
    """`count` copies of one person side by side in a grey canvas (a fixed frame size)."""
    columns = min(count, 4)
    rows = (count + columns - 1) // columns
    cell_w, cell_h = canvas_wh[0] // columns, canvas_wh[1] // rows
    scale = min(cell_w / person_rgb.shape[1], cell_h / person_rgb.shape[0]) * 0.9
    person = cv2.resize(person_rgb, (int(person_rgb.shape[1] * scale), int(person_rgb.shape[0] * scale)))
    canvas = np.full((canvas_wh[1], canvas_wh[0], 3), 114, np.uint8)
    for i in range(count):
        x = (i % columns) * cell_w + (cell_w - person.shape[1]) // 2
        y = (i // columns) * cell_h + (cell_h - person.shape[0]) // 2
        canvas[y:y + person.shape[0], x:x + person.shape[1]] = person
    return canvas


def persons_cost(pipeline, frame: np.ndarray, repeats: int) -> list[tuple[int, float, float, float]]:
    """(persons tiled, persons found, frame ms, pose-stage ms) for 1, 2, 4, 8 persons."""
    result = pipeline(frame)
    if not len(result):
        return []
    x0, y0, x1, y1 = result.boxes_xyxy[int(np.argmax(result.scores))].astype(int)
    pad_x, pad_y = (x1 - x0) // 5, (y1 - y0) // 10
    person = frame[max(0, y0 - pad_y):y1 + pad_y, max(0, x0 - pad_x):x1 + pad_x]
    rows = []
    for count in (1, 2, 4, 8):
        image = tiled(person, count)
        pipeline(image)
        totals, poses, found = [], [], []
        for _ in range(repeats):
            started = time.perf_counter()
            result = pipeline(image)
            totals.append((time.perf_counter() - started) * 1e3)
            poses.append(result.latency_ms["pose"])
            found.append(len(result))
        persons = statistics.median(found)
        rows.append((count, persons, statistics.median(totals), statistics.median(poses)))
    return rows


def peer_fps(images: list[np.ndarray], repeats: int = 1) -> float:
    """A plain ultralytics predict loop on the same frames (one process, no ROS): frames/s."""
    from ultralytics import YOLO

    from rhpnet_core.detector import default_detector_weights

    model = YOLO(str(default_detector_weights()))
    model.predict(images[0][..., ::-1], imgsz=640, device="cpu", verbose=False)
    started = time.perf_counter()
    for _ in range(repeats):
        for image in images:
            model.predict(image[..., ::-1], imgsz=640, device="cpu", verbose=False)
    return repeats * len(images) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="yolo-pose on the sports2d demo only, short runs")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per stream run")
    parser.add_argument("--burst-s", type=float, default=20.0, help="seconds of the 810x1080 30 Hz burst")
    parser.add_argument("--rss-duration", type=float, default=300.0, help="seconds of the RSS run (0: skip)")
    parser.add_argument("--estimators", default="yolo-pose,rhpnet")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.burst_s, args.rss_duration, args.estimators = 5.0, 10.0, 0.0, "yolo-pose"
    clips = [c for c in ((SPORTS2D_DEMO,) if args.quick else (SPORTS2D_DEMO, VTEST)) if c.exists()]
    if not clips:
        print("no footage: run `make setup` (sports2d demo) or apt-get install opencv-doc (vtest.avi)", file=sys.stderr)
        return 2
    load = os.getloadavg()[0]
    print(f"# bench_node {'--quick ' if args.quick else ''}(load average before: {load:.2f}; "
          f"{os.cpu_count()} CPUs, shared machine unless said otherwise)\n")
    with tempfile.TemporaryDirectory(prefix="rhpnet-bench-node-") as tmp:
        tmp_path = Path(tmp)
        os.environ["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # model exports of the random weights
        bench = Bench()
        node_fps: dict[str, float] = {}
        try:
            for estimator in args.estimators.split(","):
                checkpoint = str(random_w32_checkpoint(tmp_path)) if estimator == "rhpnet" else None
                node = start_pose_node(estimator, checkpoint, tmp_path, bench)
                try:
                    print(f"## {estimator}: stream (camera_replay -> pose_node -> subscriber)\n")
                    print("| footage | size | input Hz | published | received | unseen | dropped | answered "
                          "| fps | e2e p50 ms | e2e p95 ms | worker ms/frame | node overhead |\n"
                          "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
                    for clip in clips:
                        capture = cv2.VideoCapture(str(clip))
                        source_wh = (int(capture.get(3)), int(capture.get(4)))
                        for size in ((640, 480), source_wh):
                            for rate in (10.0, 30.0):
                                r = stream(bench, node, clip, size, rate, args.duration, tmp_path)
                                if rate == 30.0:
                                    node_fps[f"{estimator} {clip.stem} {size[0]}x{size[1]}"] = r["fps"]
                                print(f"| {clip.stem} | {size[0]}x{size[1]} | {rate:.0f} | {r['published']} | "
                                      f"{r['received']} | {r['unseen']} | {r['dropped']} | {r['answered']} | "
                                      f"{r['fps']:.2f} | {r['e2e_p50']:.0f} | {r['e2e_p95']:.0f} | "
                                      f"{r['busy_ms']:.0f} | {r['overhead']:.1%} |", flush=True)
                    burst = stream(bench, node, clips[0], (810, 1080), 30.0, args.burst_s, tmp_path)
                    print(f"\n{estimator} burst 810x1080 at 30 Hz for {args.burst_s:.0f} s: published "
                          f"{burst['published']}, received by the node {burst['received']}, unseen (lost before "
                          f"the node) {burst['unseen']}, dropped (mailbox) {burst['dropped']}, processed "
                          f"{burst['processed']}, answered {burst['answered']}, e2e p50 {burst['e2e_p50']:.0f} ms "
                          f"p95 {burst['e2e_p95']:.0f} ms\n", flush=True)
                    if args.rss_duration > 0:
                        rss: list[tuple[float, float]] = []
                        stream(bench, node, clips[0], None, 30.0, args.rss_duration, tmp_path, rss)
                        print(f"{estimator} RSS (MiB) every {RSS_PERIOD_S:.0f} s at 30 Hz: "
                              + ", ".join(f"{t:.0f}s {m:.0f}" for t, m in rss) + "\n", flush=True)
                finally:
                    node.terminate()
                    node.wait(20)
                images = source_frames(clips[0], 10 if args.quick else 30, (640, 480))
                pipeline = build(estimator, checkpoint)
                split = inside_split(pipeline, images)
                print(f"{estimator} inside the pipeline (in-process, {len(images)} frames 640x480): detect+pose "
                      f"{split['stages_ms']:.0f} ms/frame, of which network inference {split['network_ms']:.0f} ms; "
                      f"non-network share {split['non_network_share']:.1%}\n", flush=True)
                rows = persons_cost(pipeline, source_frames(clips[0], 1, None)[0], 2 if args.quick else 5)
                print(f"| {estimator}: persons tiled | found | frame ms | frame ms per person | pose-stage ms "
                      "| pose-stage ms per person |\n|---|---|---|---|---|---|")
                for count, found, frame_ms, pose_ms in rows:
                    per = max(found, 1)
                    print(f"| {count} | {found:.0f} | {frame_ms:.0f} | {frame_ms / per:.0f} | {pose_ms:.0f} | "
                          f"{pose_ms / per:.1f} |")
                print(flush=True)
            images = source_frames(clips[0], 10 if args.quick else 30, (640, 480))
            peer = peer_fps(images)
            print(f"peer: plain ultralytics predict loop (yolo11n-pose, imgsz 640, one process) on "
                  f"{len(images)} frames 640x480: {peer:.2f} fps")
            for name, fps in node_fps.items():
                if "640x480" in name and clips[0].stem in name:
                    print(f"- {name} at 30 Hz input: node {fps:.2f} fps = {fps / peer:.2f} x the peer")
        finally:
            bench.close()
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
