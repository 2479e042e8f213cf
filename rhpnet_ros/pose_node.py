"""pose_node: camera frames -> rhpnet_core.PosePipeline -> Keypoints, overlays, diagnostics.

Subscribes `image` (sensor_msgs/Image) or, with `input_transport:=compressed`, `<image>/compressed`
(sensor_msgs/CompressedImage). Publishes, every output with the input frame's header:
  keypoints                rhpnet/msg/Keypoints, one per processed frame (also when empty)
  keypoints/info           rhpnet/msg/PoseModelInfo, once, transient local (late joiners get it)
  overlay/bones            visualization_msgs/ImageMarker LINE_LIST   } only when someone
  overlay/joints           visualization_msgs/ImageMarker POINTS      } subscribes
  debug_image              sensor_msgs/Image bgr8, rendered           }
  /diagnostics             diagnostic_msgs/DiagnosticArray every `diagnostics_period_s`

The subscription callback only stores the newest serialized frame (raw=True: no deserialisation on
the executor thread) and counts it; a worker thread deserialises, converts, runs the pipeline and
publishes. So the executor keeps taking frames from the middleware while inference runs, and every
frame the node takes is accounted for (see rhpnet_ros.stats).
"""
from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSPolicyKind, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from std_srvs.srv import SetBool
from visualization_msgs.msg import ImageMarker

from rhpnet.msg import Keypoints, PoseModelInfo
from rhpnet_core.keypoints import layout_for
from rhpnet_core.pipeline import PosePipeline, build_pipeline
from rhpnet_core.visualize import draw_poses
from rhpnet_ros.image_conv import array_to_image, compressed_to_rgb, image_to_rgb
from rhpnet_ros.messages import model_info_msg, result_to_msg
from rhpnet_ros.node_runner import run_node
from rhpnet_ros.overlay import pose_markers
from rhpnet_ros.params import FLIP_TEST, PIPELINE_OPTIONS, declare_parameters, validate_update
from rhpnet_ros.qos import image_qos
from rhpnet_ros.stats import NodeStats

# play_launch sends SIGKILL 5 s after SIGTERM: wait at most this long for the frame in flight.
CLOSE_WAIT_S = 3.0
QOS_FIXES = {
    QoSPolicyKind.RELIABILITY: "the image publisher is best effort: set qos_reliability:=best_effort",
    QoSPolicyKind.DURABILITY: "durability mismatch: the image publisher must be volatile or transient local",
}


@dataclass
class Frame:
    data: bytes  # serialized sensor_msgs/Image or CompressedImage
    received_s: float  # time.perf_counter() when taken from the subscription


def load_pipeline(values: dict[str, object]) -> PosePipeline:
    """The pipeline from the node's parameters; any loading failure becomes one line naming the file."""
    options = dict(
        estimator=values["estimator"], checkpoint=values["checkpoint"] or None, backend=values["backend"],
        device=values["device"], detector_weights=values["detector_weights"] or None,
        detector_conf=values["detector_conf"], detector_imgsz=values["detector_imgsz"],
        max_persons=values["max_persons"], flip_test=FLIP_TEST[values["flip_test"]], target=values["target"],
        detect_every=values["detect_every"], precision=values["precision"],
        calibration=values["calibration"] or None)
    try:
        return build_pipeline(**options)
    except Exception as exc:  # ultralytics raises TypeError/OSError with multi-line texts for a corrupt .pt
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].replace("ERROR ❌️ ", "")
        files = {"checkpoint": values["checkpoint"], "detector weights": values["detector_weights"]}
        if not any(path and Path(path).name in reason for path in files.values()):
            named = ", ".join(f"{what} {path}" for what, path in files.items() if path) or "default detector weights"
            reason = f"cannot load the pose pipeline ({named}): {reason}"
        raise RuntimeError(reason) from None


class PoseNode(Node):
    def __init__(self) -> None:
        super().__init__("pose_node")
        values = declare_parameters(self)
        self.pipeline = load_pipeline(values)
        # First inference pays for lazy initialisation (seconds on CPU): pay it before subscribing.
        self.pipeline(np.zeros((480, 640, 3), np.uint8))
        self.pipeline.reset()
        self.draw_min_score = float(values["draw_min_score"])
        self.annotated_video = values["annotated_video"]
        self.annotated_fps = float(values["annotated_fps"])
        self.skeleton = layout_for(len(self.pipeline.keypoint_names))["skeleton"]
        self.info = self.describe_model(values)

        self.queue: deque[Frame] = deque(maxlen=int(values["queue_size"]))
        self.wakeup = threading.Condition()
        self.stopping = False
        self.stats = NodeStats()
        self.video_lock = threading.Lock()
        self.video_writer: cv2.VideoWriter | None = None
        self.video_closed = False
        self.warned_qos: set[QoSPolicyKind] = set()

        self.keypoints_pub = self.create_publisher(Keypoints, "keypoints", 10)
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                             reliability=ReliabilityPolicy.RELIABLE)
        self.info_pub = self.create_publisher(PoseModelInfo, self.resolve_topic_name("keypoints") + "/info", latched)
        self.info.header.stamp = self.get_clock().now().to_msg()
        self.info_pub.publish(self.info)
        self.bones_pub = self.create_publisher(ImageMarker, "overlay/bones", 10)
        self.joints_pub = self.create_publisher(ImageMarker, "overlay/joints", 10)
        self.debug_pub = self.create_publisher(Image, "debug_image", image_qos())
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)

        self.input_transport = values["input_transport"]
        self.image_type = CompressedImage if self.input_transport == "compressed" else Image
        self.image_topic = self.resolve_topic_name("image") + ("/compressed" if self.image_type is CompressedImage
                                                               else "")
        self.image_qos = image_qos(values["qos_reliability"], int(values["qos_depth"]))
        self.subscription = None
        self.subscribe()
        self.add_on_set_parameters_callback(validate_update)
        self.add_post_set_parameters_callback(self.apply_parameters)
        self.create_service(SetBool, "~/enable", self.on_enable)
        self.create_timer(float(values["diagnostics_period_s"]), self.report)
        self.worker = threading.Thread(target=self.work, name="pose-inference", daemon=True)
        self.worker.start()
        self.get_logger().info(f"{self.info.model} ({self.info.backend} {self.info.precision} on "
                               f"{self.info.device}); subscribed to {self.image_topic} "
                               f"({self.image_type.__name__}), publishing {self.resolve_topic_name('keypoints')}")

    def describe_model(self, values: dict[str, object]) -> PoseModelInfo:
        estimator = self.pipeline.estimator
        runtime = getattr(estimator, "runtime", None)
        if runtime is None:  # yolo-pose: the detector's own keypoints
            return model_info_msg(Header(), self.pipeline.model_name, "yolo-pose", self.pipeline.keypoint_names,
                                  self.skeleton, (0, 0), int(values["detector_imgsz"]), "torch", "fp32",
                                  self.pipeline.detector.device)
        return model_info_msg(Header(), self.pipeline.model_name, "rhpnet", self.pipeline.keypoint_names,
                              self.skeleton, tuple(runtime.input_size), int(values["detector_imgsz"]),
                              runtime.backend, getattr(runtime, "precision", "fp32") or "fp32", str(runtime.device))

    # --- executor side: subscription, parameters, services, diagnostics (all cheap) ---

    def subscribe(self) -> None:
        events = SubscriptionEventCallbacks(incompatible_qos=self.on_incompatible_qos,
                                            message_lost=self.on_message_lost)
        self.subscription = self.create_subscription(self.image_type, self.image_topic, self.on_frame,
                                                     self.image_qos, raw=True, event_callbacks=events)

    def on_frame(self, data: bytes, info: dict) -> None:
        gid = info.get("publisher_gid")
        self.stats.received(bytes(gid["data"]) if gid else None, info.get("publication_sequence_number"))
        with self.wakeup:
            if len(self.queue) == self.queue.maxlen:
                self.stats.count("dropped")
            self.queue.append(Frame(data, time.perf_counter()))
            self.wakeup.notify()

    def on_message_lost(self, info) -> None:
        self.stats.count("message_lost", int(info.total_count_change))

    def on_incompatible_qos(self, info) -> None:
        policy = info.last_policy_kind
        if policy not in self.warned_qos:
            self.warned_qos.add(policy)
            self.get_logger().error(f"{self.image_topic}: incompatible QoS ({policy.name}); no frames arrive "
                                    f"from that publisher. Fix: {QOS_FIXES.get(policy, 'match the publisher QoS')}")

    def apply_parameters(self, parameters) -> None:
        options = {p.name: p.value for p in parameters if p.name in PIPELINE_OPTIONS}
        if "flip_test" in options:
            flip = FLIP_TEST[options["flip_test"]]
            options["flip_test"] = self.info.device != "cpu" if flip is None else flip  # auto, as at start-up
        if options:
            self.pipeline.update_options(**options)
        for p in parameters:
            if p.name == "draw_min_score":
                self.draw_min_score = float(p.value)
        self.get_logger().info("applied on the next frame: " + ", ".join(f"{p.name}={p.value}" for p in parameters))

    def on_enable(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        """Disabled = unsubscribed from the image topic: no frames are transported or processed."""
        if request.data and self.subscription is None:
            self.subscribe()
        elif not request.data and self.subscription is not None:
            self.destroy_subscription(self.subscription)
            self.subscription = None
        response.success = True
        response.message = "enabled" if request.data else "disabled"
        self.get_logger().info(f"pose estimation {response.message}")
        return response

    def report(self) -> None:
        values = self.stats.report()
        values.update(model=self.info.model, backend=self.info.backend, precision=self.info.precision,
                      device=self.info.device, input_transport=self.input_transport,
                      tracker_resets=str(getattr(self.pipeline, "tracker_resets", 0)))
        if values["input_rate_hz"] != "0.00" or values["processed_rate_hz"] != "0.00":
            self.get_logger().info(" ".join(f"{k}={values[k]}" for k in (
                "received", "processed", "dropped", "skipped", "failed", "unseen", "processed_rate_hz",
                "persons", "node_ms_p50", "e2e_ms_p50")))
        problems = int(values["skipped"]) + int(values["failed"]) + int(values["unseen"]) + \
            int(values["message_lost"])
        status = DiagnosticStatus(
            level=DiagnosticStatus.WARN if problems or self.warned_qos else DiagnosticStatus.OK,
            name=f"{self.get_fully_qualified_name()}: pose estimation",
            message=("incompatible image QoS; " if self.warned_qos else "")
            + f"{values['processed_rate_hz']} fps, {values['persons']} persons/frame",
            hardware_id=self.info.device,
            values=[KeyValue(key=k, value=v) for k, v in values.items()])
        self.diagnostics_pub.publish(
            DiagnosticArray(header=Header(stamp=self.get_clock().now().to_msg()), status=[status]))

    # --- worker side: one frame at a time, newest first ---

    def work(self) -> None:
        while True:
            with self.wakeup:
                while not self.queue and not self.stopping:
                    self.wakeup.wait()
                if self.stopping:
                    return
                frame = self.queue.popleft()
            try:
                self.process(frame)
            except Exception as exc:  # publishing races a shutdown; anything else is a counted failure
                if not self.context.ok():
                    return
                self.stats.count("failed")
                self.get_logger().error(f"frame processing failed: {exc!r}", throttle_duration_sec=5.0)

    def process(self, frame: Frame) -> None:
        started = time.perf_counter()
        try:
            msg = deserialize_message(frame.data, self.image_type)
            rgb = compressed_to_rgb(msg) if self.image_type is CompressedImage else image_to_rgb(msg)
        except Exception as exc:  # ImageConversionError, or bytes that do not deserialise: a counted skip
            self.stats.count("skipped")
            self.get_logger().warning(f"skipped a frame: {exc}", throttle_duration_sec=5.0)
            return
        converted = time.perf_counter()
        stamp_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        try:
            result = self.pipeline(rgb, stamp_ns * 1e-9)
        except Exception as exc:  # a bad frame must not kill the node; it is counted and logged
            self.stats.count("failed")
            self.get_logger().error(f"pose estimation failed on a {rgb.shape} frame: {exc!r}",
                                    throttle_duration_sec=5.0)
            return
        inferred = time.perf_counter()
        height, width = rgb.shape[:2]
        self.keypoints_pub.publish(result_to_msg(result, msg.header, width, height))
        self.publish_overlays(rgb, result, msg.header)
        done = time.perf_counter()
        stage_ms = {"wait": (started - frame.received_s) * 1e3, "convert": (converted - started) * 1e3,
                    "publish": (done - inferred) * 1e3, "frame": (done - started) * 1e3}
        stage_ms.update({k: result.latency_ms[k] for k in ("detect", "pose", "track") if k in result.latency_ms})
        self.stats.processed(len(result), stage_ms, (done - frame.received_s) * 1e3,
                             (self.get_clock().now().nanoseconds - stamp_ns) * 1e-6)

    def publish_overlays(self, rgb: np.ndarray, result, header: Header) -> None:
        if self.bones_pub.get_subscription_count() or self.joints_pub.get_subscription_count():
            bones, joints = pose_markers(result, header, self.skeleton, self.draw_min_score)
            self.bones_pub.publish(bones)
            self.joints_pub.publish(joints)
        debug_wanted = self.debug_pub.get_subscription_count() > 0
        if debug_wanted or self.annotated_video:
            annotated = draw_poses(np.ascontiguousarray(rgb[..., ::-1]), result.boxes_xyxy, result.keypoints,
                                   self.draw_min_score)
            if debug_wanted:
                self.debug_pub.publish(array_to_image(annotated, "bgr8", header))
            if self.annotated_video:
                self.write_video_frame(annotated)

    def write_video_frame(self, frame_bgr: np.ndarray) -> None:
        with self.video_lock:
            if self.video_closed:  # shutdown already finalised the file
                return
            if self.video_writer is None:
                Path(self.annotated_video).parent.mkdir(parents=True, exist_ok=True)
                self.video_size = (frame_bgr.shape[1], frame_bgr.shape[0])  # the first frame fixes it
                self.video_writer = cv2.VideoWriter(self.annotated_video, cv2.VideoWriter_fourcc(*"mp4v"),
                                                    self.annotated_fps, self.video_size)
            if (frame_bgr.shape[1], frame_bgr.shape[0]) != self.video_size:
                frame_bgr = cv2.resize(frame_bgr, self.video_size)
            self.video_writer.write(frame_bgr)

    def close(self) -> None:
        """Stop the worker (waiting up to CLOSE_WAIT_S for the frame in flight), finalise the video."""
        with self.wakeup:
            self.stopping = True
            self.wakeup.notify()
        self.worker.join(timeout=CLOSE_WAIT_S)
        with self.video_lock:
            self.video_closed = True
            if self.video_writer is not None:
                self.video_writer.release()  # frames already written are kept in a playable file


def main(args: list[str] | None = None) -> int:
    code = run_node(PoseNode, "pose_node", args)
    # Everything is closed by now (video finalised, rclpy shut down). The interpreter's own teardown
    # of torch/ultralytics took 2-3 s under load, more than play_launch's 5 s SIGTERM->SIGKILL
    # deadline can spare after a frame in flight: leave without it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
