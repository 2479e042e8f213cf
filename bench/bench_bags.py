"""Recording throughput of `rhpnet record` (the pose_recorder node) and scoring speed of `rhpnet score`.

    .venv/bin/python bench/bench_bags.py [--seconds 5] [--rates 30 60 120]

Recording: this process publishes 640x480 frames of real footage (sports2d demo) as raw bgr8 Images or
JPEG q90 CompressedImages (pre-serialised, published as raw bytes) at each rate for `--seconds`;
a `rhpnet record` child records them (MCAP, chunk compression auto). Printed per case: frames
published / recorded, recorded images/s and MB/s, and the recorder's CPU share (its user+system time
over the publishing wall time; 1.0 = one core). Storage alone (SplitRecorder.write, no DDS) is timed
too. Scoring: `rhpnet score` frames/s (yolo-pose, CPU) over a recorded raw bag.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from footage import SPORTS2D_DEMO  # noqa: E402
from rhpnet_core.bags.reader import BagReader  # noqa: E402
from rhpnet_core.bags.recording import SplitRecorder  # noqa: E402
from rhpnet_core.bags.types import project_typestore  # noqa: E402
from rhpnet_core.frames import FrameSource  # noqa: E402

STORE = project_typestore()
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def footage_frames(count: int = 8) -> list[np.ndarray]:
    frames = []
    for bgr in FrameSource(str(SPORTS2D_DEMO)).frames():
        frames.append(np.ascontiguousarray(cv2.resize(bgr, (640, 480))))
        if len(frames) == count:
            return frames
    return frames


def serialized(frames: list[np.ndarray], kind: str, index: int) -> bytes:
    t = STORE.types
    stamp = t["builtin_interfaces/msg/Time"](sec=1000 + index // 30, nanosec=(index % 30) * 33_333_333)
    header = t["std_msgs/msg/Header"](stamp=stamp, frame_id="camera")
    bgr = frames[index % len(frames)]
    if kind == "raw":
        msg = t["sensor_msgs/msg/Image"](header=header, height=480, width=640, encoding="bgr8", is_bigendian=0,
                                         step=640 * 3, data=bgr.reshape(-1))
        return bytes(STORE.serialize_cdr(msg, "sensor_msgs/msg/Image"))
    jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].reshape(-1)
    msg = t["sensor_msgs/msg/CompressedImage"](header=header, format="bgr8; jpeg compressed bgr8", data=jpeg)
    return bytes(STORE.serialize_cdr(msg, "sensor_msgs/msg/CompressedImage"))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def record_case(node, kind: str, rate_hz: float, seconds: float, payloads: list[bytes], out: Path,
                compression: str) -> dict:
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage, Image

    topic = "/bench/image" if kind == "raw" else "/bench/image/compressed"
    qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE)
    publisher = node.create_publisher(Image if kind == "raw" else CompressedImage, topic, qos)
    child = subprocess.Popen([sys.executable, "-m", "training.cli", "record", "--output", str(out), "--topics", topic,
                              "--split-duration", "0", "--compression", compression], cwd=ROOT,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        cpu0, start = cpu_seconds(child.pid), time.monotonic()
        published = 0
        while time.monotonic() - start < seconds:
            publisher.publish(payloads[published % len(payloads)])
            published += 1
            delay = start + published / rate_hz - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        wall = time.monotonic() - start
        time.sleep(0.5)  # let the recorder drain its queue
        cpu = cpu_seconds(child.pid) - cpu0
    finally:
        child.send_signal(signal.SIGINT)
        child.wait(timeout=30)
    node.destroy_publisher(publisher)
    recorded = BagReader(out).topics[topic].count
    megabytes = recorded * len(payloads[0]) / 1e6
    return {"kind": kind, "rate_hz": rate_hz, "published": published, "recorded": recorded,
            "images_per_s": recorded / wall, "mb_per_s": megabytes / wall, "recorder_cpu_share": cpu / wall}


def storage_only(kind: str, payloads: list[bytes], out: Path, compression: str, count: int = 150) -> dict:
    msgtype = "sensor_msgs/msg/Image" if kind == "raw" else "sensor_msgs/msg/CompressedImage"
    recorder = SplitRecorder(out, split_duration_s=0, compression=compression, min_free_mb=1)
    recorder.add_topic("/image", msgtype, STORE.generate_msgdef(msgtype, ros_version=2)[0], STORE.hash_rihs01(msgtype))
    start = time.perf_counter()
    for i in range(count):
        recorder.write("/image", 1_000_000_000 + i, payloads[i % len(payloads)])
    recorder.close()
    seconds = time.perf_counter() - start
    size_mb = sum(f.stat().st_size for f in out.rglob("*.mcap")) / 1e6
    return {"kind": kind, "images_per_s": count / seconds, "mb_per_s": count * len(payloads[0]) / 1e6 / seconds,
            "file_mb_per_image": size_mb / count}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rates", type=float, nargs="+", default=[30.0, 60.0, 120.0])
    parser.add_argument("--compression", default="auto", choices=("auto", "zstd", "none"),
                        help="recorder chunk compression (auto: zstd for raw, none for JPEG)")
    args = parser.parse_args()
    os.environ.setdefault("ROS_DOMAIN_ID", str(150 + os.getpid() % 50))
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    import rclpy

    frames = footage_frames()
    payloads = {kind: [serialized(frames, kind, i) for i in range(len(frames))] for kind in ("raw", "jpeg")}
    print(f"payload bytes: raw {len(payloads['raw'][0])}, jpeg q90 ~{np.mean([len(p) for p in payloads['jpeg']]):.0f}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench-bags-") as tmp:
        tmp = Path(tmp)
        for kind in ("raw", "jpeg"):
            r = storage_only(kind, payloads[kind], tmp / f"storage_{kind}", args.compression)
            print(f"storage only {kind:4}: {r['images_per_s']:7.1f} images/s {r['mb_per_s']:7.1f} MB/s "
                  f"({r['file_mb_per_image']:.3f} MB on disk per image)")
        rclpy.init()
        node = rclpy.create_node("bench_bags_publisher")
        print(f"{'kind':5} {'rate Hz':>8} {'published':>9} {'recorded':>8} {'images/s':>9} {'MB/s':>7} {'rec CPU':>8}")
        for rate in args.rates:
            for kind in ("raw", "jpeg"):  # alternate the compared cases within one run
                r = record_case(node, kind, rate, args.seconds, payloads[kind], tmp / f"rec_{kind}_{rate:g}",
                                args.compression)
                print(f"{kind:5} {rate:8.0f} {r['published']:9d} {r['recorded']:8d} {r['images_per_s']:9.1f} "
                      f"{r['mb_per_s']:7.1f} {r['recorder_cpu_share']:8.2f}")
        node.destroy_node()
        rclpy.shutdown()
        bag = tmp / f"rec_raw_{args.rates[0]:g}"
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "training.cli", "score", str(bag), "--output",
                                 str(tmp / "score"), "--estimator", "yolo-pose", "--device", "cpu"],
                                cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        frames_scored = BagReader(bag).topics["/bench/image"].count
        assert result.returncode == 0, result.stderr[-2000:]
        print(f"load average {os.getloadavg()[0]:.1f}")
        print(f"rhpnet score (yolo-pose, cpu, incl. start-up): {frames_scored} frames in {seconds:.1f} s = "
              f"{frames_scored / seconds:.1f} frames/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
