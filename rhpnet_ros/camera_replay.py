"""camera_replay: publishes `image` (sensor_msgs/Image) and `camera_info` from a video, a folder or an image.

For rigs and demos without a camera driver: at the source fps or a given `rate`, looping or once,
at the source resolution or resized to `width` x `height`.
With `wait_for_subscribers` > 0 it holds the first frame until that many subscribers listen, so a
pipeline started together with it sees every frame. `stamps`: `wall` stamps each frame with the
node clock when it is published; `video` stamps frame n with (first frame's publish time + n / the
source fps), so a replay slower than the clip (e.g. at the rate a CPU pose node keeps up with)
still carries the clip's own timeline for time-based analysis (gait cadence, contact times).
"""
from __future__ import annotations

import sys

from builtin_interfaces.msg import Time as TimeMsg
import cv2
from rclpy.node import Node
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, Image

from rhpnet_core.frames import FrameSource
from rhpnet_ros.image_conv import array_to_image
from rhpnet_ros.node_runner import run_node
from rhpnet_ros.qos import image_qos

DEFAULT_IMAGE_RATE_HZ = 10.0  # for image folders, which have no fps of their own


class CameraReplay(Node):
    def __init__(self) -> None:
        super().__init__("camera_replay")
        self.source_path = self.declare_parameter("source", "").value
        rate = float(self.declare_parameter("rate", 0.0).value)  # Hz; 0 = the source's own fps
        self.loop = bool(self.declare_parameter("loop", False).value)
        self.max_frames = int(self.declare_parameter("max_frames", 0).value)  # 0 = no limit
        self.frame_id = self.declare_parameter("frame_id", "camera").value
        self.encoding = self.declare_parameter("encoding", "bgr8").value
        self.size_wh = (int(self.declare_parameter("width", 0).value), int(self.declare_parameter("height", 0).value))
        self.wait_for_subscribers = int(self.declare_parameter("wait_for_subscribers", 0).value)
        self.stamps = self.declare_parameter("stamps", "wall").value
        qos = image_qos(self.declare_parameter("qos_reliability", "reliable").value,
                        int(self.declare_parameter("qos_depth", 5).value))
        if self.encoding not in ("bgr8", "rgb8"):
            raise ValueError(f"encoding '{self.encoding}' not supported by camera_replay; expected bgr8 or rgb8")
        if self.stamps not in ("wall", "video"):
            raise ValueError(f"stamps '{self.stamps}' not supported by camera_replay; expected wall or video")
        if (self.size_wh[0] > 0) != (self.size_wh[1] > 0) or min(self.size_wh) < 0:
            raise ValueError(f"width and height must both be > 0 (resize) or both 0 (source size), got "
                             f"{self.size_wh[0]} x {self.size_wh[1]}")
        if not self.source_path:
            raise ValueError("parameter 'source' is required: a video file, an image folder or an image")
        self.source = FrameSource(self.source_path)
        self.rate_hz = rate if rate > 0 else (self.source.fps or DEFAULT_IMAGE_RATE_HZ)
        self.image_pub = self.create_publisher(Image, "image", qos)
        self.info_pub = self.create_publisher(CameraInfo, "camera_info", qos)
        self.frames = self.source.frames()
        self.published = 0
        self.first_stamp_ns: int | None = None
        self.done = False
        self.timer = self.create_timer(1.0 / self.rate_hz, self.tick)
        self.get_logger().info(f"replaying {self.source_path} at {self.rate_hz:.2f} Hz "
                               f"(loop={self.loop}, max_frames={self.max_frames or 'all'})")

    def next_frame(self):
        frame = next(self.frames, None)
        if frame is None and self.loop and self.published > 0:
            self.frames = self.source.frames()
            frame = next(self.frames, None)
        return frame

    def tick(self) -> None:
        if self.image_pub.get_subscription_count() < self.wait_for_subscribers:
            return
        frame = None if 0 < self.max_frames <= self.published else self.next_frame()
        if frame is None:
            self.finish()
            return
        if self.size_wh[0] and (frame.shape[1], frame.shape[0]) != self.size_wh:
            frame = cv2.resize(frame, self.size_wh, interpolation=cv2.INTER_AREA)
        if self.encoding == "rgb8":
            frame = frame[..., ::-1]
        msg = array_to_image(frame, self.encoding)
        msg.header.stamp = self.stamp_of_next_frame()
        msg.header.frame_id = self.frame_id
        info = CameraInfo(header=msg.header, height=msg.height, width=msg.width)
        self.image_pub.publish(msg)
        self.info_pub.publish(info)
        self.published += 1

    def stamp_of_next_frame(self) -> TimeMsg:
        now = self.get_clock().now()
        if self.stamps == "wall":
            return now.to_msg()
        if self.first_stamp_ns is None:
            self.first_stamp_ns = now.nanoseconds
        video_fps = self.source.fps or self.rate_hz  # image folders: the replay rate is their timeline
        return Time(nanoseconds=self.first_stamp_ns + round(self.published * 1e9 / video_fps)).to_msg()

    def finish(self) -> None:
        self.timer.cancel()
        for path in self.source.unreadable:
            self.get_logger().warning(f"skipped unreadable image {path}")
        self.get_logger().info(f"published {self.published} frames; source finished")
        self.done = True


def main(args: list[str] | None = None) -> int:
    return run_node(CameraReplay, "camera_replay", args)


if __name__ == "__main__":
    sys.exit(main())
