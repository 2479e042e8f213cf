"""`make demo`: demo.launch.py on real footage, watched from this process.

Starts camera_replay + pose_node (separate processes, through the launch file), subscribes to their
`image` and `keypoints` topics, prints a one-line summary per second and ends by itself when the
replay is over. The annotated video lands in `--output`.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import rclpy
from rclpy.node import Node
from sensor_msgs.msg import Image

from rhpnet.msg import Keypoints
from rhpnet_ros.launch_runner import LaunchRunner
from rhpnet_ros.qos import image_qos

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


class Monitor(Node):
    """Counts frames and keypoint messages; latency = arrival time - source image stamp."""

    def __init__(self) -> None:
        super().__init__("rhpnet_demo_monitor")
        self.images = self.messages = self.persons = 0
        self.window: list[tuple[int, float]] = []
        self.last_arrival = time.monotonic()
        self.model = ""
        self.create_subscription(Image, "image", self.on_image, image_qos())
        self.create_subscription(Keypoints, "keypoints", self.on_keypoints, 10)

    def on_image(self, _msg: Image) -> None:
        self.images += 1
        self.last_arrival = time.monotonic()

    def on_keypoints(self, msg: Keypoints) -> None:
        now = self.get_clock().now().nanoseconds
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        self.messages += 1
        self.persons += len(msg.persons)
        self.model = msg.model
        self.window.append((len(msg.persons), (now - stamp) / 1e6))
        self.last_arrival = time.monotonic()

    def summary_line(self, elapsed_s: float) -> str:
        window, self.window = self.window, []
        latency = sum(lat for _, lat in window) / len(window) if window else 0.0
        return (f"t={elapsed_s:5.1f}s frames_published={self.images} keypoint_msgs={self.messages} "
                f"last_1s: msgs={len(window)} persons={sum(n for n, _ in window)} "
                f"latency_ms={latency:.0f}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default=VTEST, help="video, image folder or image (default: vtest.avi)")
    parser.add_argument("--frames", type=int, default=40, help="frames to replay")
    parser.add_argument("--rate", type=float, default=2.0, help="replay rate in Hz")
    parser.add_argument("--output", default="output/demo", help="folder for the annotated video and logs")
    parser.add_argument("--checkpoint", default="", help="RHPNet checkpoint (default: yolo11n-pose keypoints)")
    parser.add_argument("--idle-timeout", type=float, default=30.0,
                        help="give up when nothing arrives for this many seconds")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not Path(args.source).exists():
        print(f"demo: source {args.source} not found (apt-get install opencv-doc, or pass --source)", file=sys.stderr)
        return 2
    output = Path(args.output).resolve()
    output.mkdir(parents=True, exist_ok=True)
    video = output / "annotated.mp4"
    launch_args = {"source": args.source, "max_frames": str(args.frames), "rate": str(args.rate),
                   "wait_for_subscribers": "2", "queue_size": "2", "annotated_video": str(video),
                   "checkpoint": args.checkpoint}
    rclpy.init()
    monitor = Monitor()
    started = time.monotonic()
    next_summary = started + 1.0
    print(f"demo: replaying {args.frames} frames of {args.source} at {args.rate} Hz through demo.launch.py")
    with LaunchRunner("demo.launch.py", launch_args, output / "logs") as launch:
        while launch.running():
            rclpy.spin_once(monitor, timeout_sec=0.1)
            now = time.monotonic()
            if now >= next_summary:
                print(monitor.summary_line(now - started), flush=True)
                next_summary += 1.0
            replay_done = monitor.images >= args.frames and now - monitor.last_arrival > 3.0
            if replay_done or now - monitor.last_arrival > args.idle_timeout:
                break
        code = launch.stop()
        pose_log = launch.node_log("pose_node")
    monitor.destroy_node()
    rclpy.shutdown()
    print(f"demo: {monitor.messages} Keypoints messages for {monitor.images} published frames, "
          f"{monitor.persons} persons, model {monitor.model or '-'}; launch exit code {code}")
    print(f"demo: annotated video {video} ({video.stat().st_size if video.exists() else 0} bytes); "
          f"node logs in {output / 'logs'}")
    if monitor.messages == 0:
        print("demo: no Keypoints arrived; pose_node stderr tail:\n" + pose_log[-2000:], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
