"""numpy <-> sensor_msgs/Image and CompressedImage -> numpy (our own: ROS 2 cv_bridge and
image_transport are not installable here).

Frames enter rhpnet_core as RGB uint8 (H, W, 3). The colour order is read from `encoding` (or the
image_transport `format` string), never assumed; row padding (`step`) and the byte order of 16-bit
encodings (`is_bigendian`) are honoured.
"""
from __future__ import annotations

import sys

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image

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


# image_transport's compressed formats; compressedDepth (16UC1/32FC1 depth) is not a camera frame.
CODECS = ("jpeg", "jpg", "png", "tiff", "webp")
# A JPEG ends with the EOI marker; OpenCV decodes a truncated one into grey-filled rows without
# an error, so a missing EOI is how a cut-off frame is recognised. Some encoders pad after it.
JPEG_EOI = b"\xff\xd9"
JPEG_EOI_SEARCH_BYTES = 64


def parse_compressed_format(fmt: str) -> tuple[str, str, str]:
    """(original encoding, codec, compressed pixel format) of an image_transport `format` string.

    `"rgb8; jpeg compressed bgr8"` -> ("rgb8", "jpeg", "bgr8"); a bare `"jpeg"` or `""` ->
    ("", "jpeg" or "", "") (decoded by channel count, colour in OpenCV's BGR order).
    """
    original, _, rest = fmt.partition(";") if ";" in fmt else ("", "", fmt)
    words = rest.split()
    if "compressedDepth" in words:
        raise ImageConversionError(f"compressed format '{fmt}' is a depth image (compressedDepth); "
                                   "expected a colour or mono camera frame")
    codec = words[0].lower() if words else ""
    compressed_pixfmt = words[2] if len(words) >= 3 and words[1] == "compressed" else ""
    if codec and codec not in CODECS:
        raise ImageConversionError(f"compressed format '{fmt}': codec '{codec}' not supported; "
                                   f"expected one of {', '.join(CODECS)}")
    return original.strip(), codec, compressed_pixfmt


def compressed_to_rgb(msg: CompressedImage) -> np.ndarray:
    """The frame of a sensor_msgs/CompressedImage as RGB uint8 (H, W, 3)."""
    _, codec, compressed_pixfmt = parse_compressed_format(msg.format)
    data = _as_bytes_array(msg.data)
    if data.size == 0:
        raise ImageConversionError("compressed image has no data")
    if codec in ("jpeg", "jpg") or (not codec and data[:2].tobytes() == b"\xff\xd8"):
        if JPEG_EOI not in data[-JPEG_EOI_SEARCH_BYTES:].tobytes():
            raise ImageConversionError(f"JPEG of {data.size} bytes is truncated (no end-of-image marker)")
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)  # always 8-bit, 3 channels; grey is replicated
    if decoded is None:
        raise ImageConversionError(f"cannot decode {data.size} bytes of '{msg.format or 'unknown format'}' data")
    if compressed_pixfmt.startswith("rgb"):  # compressed from RGB rows as they were: already RGB
        return decoded
    return np.ascontiguousarray(decoded[..., ::-1])
