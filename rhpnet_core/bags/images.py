"""Camera frames out of decoded bag messages (rosbags dataclasses, no rclpy): sensor_msgs/Image in the
encodings the pose node accepts, and sensor_msgs/CompressedImage with image_transport `format` strings.
"""
from __future__ import annotations

import cv2
import numpy as np

IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_TYPE = "sensor_msgs/msg/CompressedImage"
IMAGE_TYPES = (IMAGE_TYPE, COMPRESSED_TYPE)
# encoding -> (channels, dtype, channel order of the first three channels)
ENCODINGS = {"rgb8": (3, np.uint8, "rgb"), "bgr8": (3, np.uint8, "bgr"), "rgba8": (4, np.uint8, "rgb"),
             "bgra8": (4, np.uint8, "bgr"), "mono8": (1, np.uint8, "mono"), "mono16": (1, np.uint16, "mono")}


class FrameError(ValueError):
    """A message that holds no decodable camera frame; the message says why."""


def image_msg_to_rgb(msg) -> np.ndarray:
    """RGB uint8 (H, W, 3) of a sensor_msgs/Image; row padding and 16-bit byte order honoured."""
    if msg.encoding not in ENCODINGS:
        raise FrameError(f"encoding '{msg.encoding}' not supported; expected one of {', '.join(ENCODINGS)}")
    channels, dtype, order = ENCODINGS[msg.encoding]
    dtype = np.dtype(dtype).newbyteorder(">" if msg.is_bigendian else "<")
    row_bytes = msg.width * channels * dtype.itemsize
    data = np.asarray(msg.data, dtype=np.uint8)
    if msg.height == 0 or msg.step < row_bytes or data.size < msg.step * msg.height:
        raise FrameError(f"image {msg.width}x{msg.height} '{msg.encoding}' with step {msg.step} does not fit "
                         f"its {data.size} data bytes")
    rows = data[: msg.step * msg.height].reshape(msg.height, msg.step)[:, :row_bytes]
    pixels = np.ascontiguousarray(rows).view(dtype).reshape(msg.height, msg.width, channels)
    if pixels.dtype.itemsize == 2:
        pixels = (pixels >> 8).astype(np.uint8)  # keep the most significant byte
    if order == "mono":
        return np.repeat(pixels, 3, axis=2)
    pixels = pixels[..., :3]
    return np.ascontiguousarray(pixels[..., ::-1] if order == "bgr" else pixels)


def compressed_msg_to_rgb(msg) -> np.ndarray:
    """RGB uint8 (H, W, 3) of a sensor_msgs/CompressedImage (JPEG/PNG; `format` as image_transport
    writes it, e.g. 'rgb8; jpeg compressed bgr8', or bare 'jpeg': decoded as BGR unless it says rgb)."""
    if "compressedDepth" in msg.format:
        raise FrameError(f"compressed format '{msg.format}' is a depth image; expected a camera frame")
    data = np.asarray(msg.data, dtype=np.uint8)
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if decoded is None:
        raise FrameError(f"cannot decode {data.size} bytes of '{msg.format or 'unknown format'}' data")
    compressed_pixfmt = msg.format.partition("compressed")[2].strip()
    return decoded if compressed_pixfmt.startswith("rgb") else np.ascontiguousarray(decoded[..., ::-1])


def frame_to_rgb(msg, msgtype: str) -> np.ndarray:
    """RGB uint8 (H, W, 3) of an Image or CompressedImage message."""
    if msgtype == IMAGE_TYPE:
        return image_msg_to_rgb(msg)
    if msgtype == COMPRESSED_TYPE:
        return compressed_msg_to_rgb(msg)
    raise FrameError(f"message type {msgtype} holds no camera frame; expected one of {', '.join(IMAGE_TYPES)}")
