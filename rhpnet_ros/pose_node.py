"""pose_node: `image` (sensor_msgs/Image) -> rhpnet_core.PosePipeline -> `keypoints` (rhpnet/msg/Keypoints).

Inference runs on a worker thread, never in the subscription callback, so the executor keeps
receiving while a frame is processed. Frames waiting beyond `queue_size` are dropped oldest-first
and counted; frames that cannot be converted or processed are logged and counted, never fatal.
A Keypoints message is published for every processed frame, also when nobody is seen.
"""
from __future__ import annotations

import sys
import threading
import time
from collections import deque
from pathlib import Path

import cv2
import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from std_srvs.srv import SetBool

from rhpnet.msg import Keypoints
from rhpnet_core.pipeline import build_pipeline
from rhpnet_core.visualize import draw_poses
from rhpnet_ros.image_conv import ImageConversionError, array_to_image, image_to_rgb
from rhpnet_ros.messages import result_to_msg
from rhpnet_ros.node_runner import run_node
from rhpnet_ros.qos import image_qos
from rhpnet_ros.stats import FrameStats


class PoseNode(Node):
    def __init__(self) -> None:
        super().__init__("pose_node")
        p = self.declare_parameter
        self.pipeline = build_pipeline(
            estimator=p("estimator", "auto").value,
            checkpoint=p("checkpoint", "").value or None,
            backend=p("backend", "torch").value,
            device=p("device", "auto").value,
            detector_weights=p("detector_weights", "").value or None,
            detector_conf=float(p("detector_conf", 0.25).value),
            detector_imgsz=int(p("detector_imgsz", 640).value),
            max_persons=int(p("max_persons", 20).value),
            flip_test=bool(p("flip_test", True).value),
        )
        # First inference pays for lazy initialisation (seconds on CPU): pay it before subscribing.
        self.pipeline(np.zeros((480, 640, 3), np.uint8))
        queue_size = int(p("queue_size", 1).value)
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        qos = image_qos(p("qos_reliability", "reliable").value, int(p("qos_depth", 5).value))
        self.publish_debug_image = bool(p("publish_debug_image", False).value)
        self.annotated_video = p("annotated_video", "").value
        self.annotated_fps = float(p("annotated_fps", 10.0).value)
        summary_period_s = float(p("summary_period_s", 1.0).value)

        self.queue: deque[Image] = deque(maxlen=queue_size)
        self.wakeup = threading.Condition()
        self.stopping = False
        self.stats = FrameStats()
        self.video_writer: cv2.VideoWriter | None = None

        self.keypoints_pub = self.create_publisher(Keypoints, "keypoints", 10)
        self.debug_pub = self.create_publisher(Image, "debug_image", qos) if self.publish_debug_image else None
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.image_qos = qos
        self.subscription = self.create_subscription(Image, "image", self.on_image, qos)
        self.create_service(SetBool, "~/enable", self.on_enable)
        self.create_timer(summary_period_s, self.report)
        self.worker = threading.Thread(target=self.work, name="pose-inference", daemon=True)
        self.worker.start()
        self.get_logger().info(f"estimator {self.pipeline.model_name}; subscribed to "
                               f"{self.resolve_topic_name('image')}, publishing "
                               f"{self.resolve_topic_name('keypoints')}")

    def on_enable(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        """Disabled = unsubscribed from `image`: no frames are transported or processed."""
        if request.data and self.subscription is None:
            self.subscription = self.create_subscription(Image, "image", self.on_image, self.image_qos)
        elif not request.data and self.subscription is not None:
            self.destroy_subscription(self.subscription)
            self.subscription = None
        response.success = True
        response.message = "enabled" if request.data else "disabled"
        self.get_logger().info(f"pose estimation {response.message}")
        return response

    def on_image(self, msg: Image) -> None:
        with self.wakeup:
            if len(self.queue) == self.queue.maxlen:
                self.stats.count("dropped")
            self.queue.append(msg)
            self.wakeup.notify()

    def work(self) -> None:
        while True:
            with self.wakeup:
                while not self.queue and not self.stopping:
                    self.wakeup.wait()
                if self.stopping:
                    return
                msg = self.queue.popleft()
            try:
                self.process(msg)
            except Exception as exc:  # publishing races a shutdown; anything else is a counted failure
                if not self.context.ok():
                    return
                self.stats.count("failed")
                self.get_logger().error(f"frame processing failed: {exc!r}", throttle_duration_sec=5.0)

    def process(self, msg: Image) -> None:
        try:
            rgb = image_to_rgb(msg)
        except ImageConversionError as exc:
            self.stats.count("skipped")
            self.get_logger().warning(f"skipped frame {msg.header.frame_id}@{msg.header.stamp.sec}."
                                      f"{msg.header.stamp.nanosec:09d}: {exc}", throttle_duration_sec=5.0)
            return
        started = time.perf_counter()
        try:
            result = self.pipeline(rgb)
        except Exception as exc:  # a bad frame must not kill the node; it is counted and logged
            self.stats.count("failed")
            self.get_logger().error(f"pose estimation failed on a {rgb.shape} frame: {exc!r}",
                                    throttle_duration_sec=5.0)
            return
        self.keypoints_pub.publish(result_to_msg(result, msg.header, msg.width, msg.height))
        self.stats.record(len(result), (time.perf_counter() - started) * 1e3)
        if self.debug_pub is not None or self.annotated_video:
            annotated = draw_poses(np.ascontiguousarray(rgb[..., ::-1]), result.boxes_xyxy, result.keypoints)
            if self.debug_pub is not None:
                self.debug_pub.publish(array_to_image(annotated, "bgr8", msg.header))
            if self.annotated_video:
                self.write_video_frame(annotated)

    def write_video_frame(self, frame_bgr: np.ndarray) -> None:
        if self.video_writer is None:
            Path(self.annotated_video).parent.mkdir(parents=True, exist_ok=True)
            self.video_size = (frame_bgr.shape[1], frame_bgr.shape[0])  # the first frame fixes it
            self.video_writer = cv2.VideoWriter(self.annotated_video, cv2.VideoWriter_fourcc(*"mp4v"),
                                                self.annotated_fps, self.video_size)
        if (frame_bgr.shape[1], frame_bgr.shape[0]) != self.video_size:
            frame_bgr = cv2.resize(frame_bgr, self.video_size)
        self.video_writer.write(frame_bgr)

    def report(self) -> None:
        summary = self.stats.take_window()
        if summary["frames"] or summary["dropped"] or summary["skipped"] or summary["failed"]:
            self.get_logger().info(" ".join(f"{k}={v}" for k, v in summary.items()))
        totals = self.stats.totals()
        status = DiagnosticStatus(
            level=DiagnosticStatus.WARN if totals["failed"] or totals["skipped"] else DiagnosticStatus.OK,
            name=f"{self.get_fully_qualified_name()}: pose estimation",
            message=self.pipeline.model_name,
            hardware_id=self.pipeline.model_name,
            values=[KeyValue(key=k, value=str(v)) for k, v in totals.items()])
        self.diagnostics_pub.publish(
            DiagnosticArray(header=Header(stamp=self.get_clock().now().to_msg()), status=[status]))

    def close(self) -> None:
        with self.wakeup:
            self.stopping = True
            self.wakeup.notify()
        self.worker.join(timeout=30.0)
        if self.video_writer is not None:
            self.video_writer.release()  # finalises the file: frames already processed are kept


def main(args: list[str] | None = None) -> int:
    return run_node(PoseNode, "pose_node", args)


if __name__ == "__main__":
    sys.exit(main())
