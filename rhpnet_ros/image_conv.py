"""numpy <-> sensor_msgs/Image conversion (our own: ROS 2 cv_bridge is not installable here).

Frames enter rhpnet_core as RGB uint8 (H, W, 3). The colour order is read from `encoding`, never
assumed; row padding (`step`) and the byte order of 16-bit encodings (`is_bigendian`) are honoured.
"""
from __future__ import annotations

import sys

import numpy as np
from sensor_msgs.msg import Image

# encoding -> (channels, numpy dtype of one channel)
ENCODINGS: dict[str, tuple[int, np.dtype]] = {
    "rgb8": (3, np.dtype(np.uint8)),
    "bgr8": (3, np.dtype(np.uint8)),
    "rgba8": (4, np.dtype(np.uint8)),
    "bgra8": (4, np.dtype(np.uint8)),
    "mono8": (1, np.dtype(np.uint8)),
    "mono16": (1, np.dtype(np.uint16)),
}
SUPPORTED = ", ".join(ENCODINGS)


class ImageConversionError(ValueError):
    """A sensor_msgs/Image cannot be converted (unsupported encoding, inconsistent sizes)."""


def image_to_array(msg: Image) -> np.ndarray:
    """The pixels of `msg` as an array (H, W) or (H, W, C) in the message's own channel order."""
    if msg.encoding not in ENCODINGS:
        raise ImageConversionError(
            f"encoding '{msg.encoding}' not supported; expected one of {SUPPORTED}")
    channels, dtype = ENCODINGS[msg.encoding]
    height, width = int(msg.height), int(msg.width)
    row_bytes = width * channels * dtype.itemsize
    if height == 0 or width == 0:
        raise ImageConversionError(f"empty image {width}x{height}")
    if msg.step < row_bytes:
        raise ImageConversionError(
            f"step {msg.step} is smaller than a row of {width} px x {channels} ch ({row_bytes} bytes)")
    data = _as_bytes_array(msg.data)
    if data.size < msg.step * height:
        raise ImageConversionError(
            f"data has {data.size} bytes; {height} rows of step {msg.step} need {msg.step * height}")
    rows = data[: msg.step * height].reshape(height, msg.step)[:, :row_bytes]
    byte_order = ">" if msg.is_bigendian else "<"
    pixels = np.ascontiguousarray(rows).view(dtype.newbyteorder(byte_order))
    pixels = pixels.reshape(height, width, channels).astype(dtype.newbyteorder("="), copy=False)
    return pixels[..., 0] if channels == 1 else pixels


def _as_bytes_array(data) -> np.ndarray:
    """Zero-copy view of rclpy's array('B') / bytes; a plain list is copied."""
    try:
        return np.frombuffer(data, dtype=np.uint8)
    except TypeError:
        return np.asarray(data, dtype=np.uint8)


def image_to_rgb(msg: Image) -> np.ndarray:
    """The frame as RGB uint8 (H, W, 3), whatever its supported encoding."""
    pixels = image_to_array(msg)
    encoding = msg.encoding
    if encoding == "mono16":
        pixels = (pixels >> 8).astype(np.uint8)  # keep the most significant byte
    if pixels.ndim == 2:
        return np.repeat(pixels[..., None], 3, axis=2)
    if encoding.startswith("bgr"):
        pixels = pixels[..., 2::-1]
    return np.ascontiguousarray(pixels[..., :3])


def array_to_image(pixels: np.ndarray, encoding: str, header=None) -> Image:
    """A sensor_msgs/Image of `pixels` (already in `encoding`'s channel order), rows unpadded."""
    if encoding not in ENCODINGS:
        raise ImageConversionError(f"encoding '{encoding}' not supported; expected one of {SUPPORTED}")
    channels, dtype = ENCODINGS[encoding]
    expected_ndim = 2 if channels == 1 else 3
    if pixels.ndim != expected_ndim or (channels > 1 and pixels.shape[2] != channels):
        raise ImageConversionError(
            f"array of shape {pixels.shape} does not fit encoding '{encoding}' ({channels} channels)")
    if pixels.dtype != dtype:
        raise ImageConversionError(f"array dtype {pixels.dtype} does not fit '{encoding}' ({dtype})")
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(pixels.shape[0]), int(pixels.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = sys.byteorder == "big"
    msg.step = msg.width * channels * dtype.itemsize
    msg.data = np.ascontiguousarray(pixels).tobytes()
    return msg
