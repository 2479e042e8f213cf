"""sensor_msgs/Image <-> numpy and CompressedImage -> numpy: every encoding, padded rows, byte
order, image_transport format strings, bad input."""
import cv2
import numpy as np
import pytest

pytest.importorskip("rclpy")
from sensor_msgs.msg import CompressedImage, Image  # noqa: E402

from rhpnet_ros.image_conv import (ImageConversionError, array_to_image, compressed_to_rgb, image_to_array,  # noqa: E402
                                   image_to_rgb, parse_compressed_format)

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (6, 5, 3), dtype=np.uint8)


def padded(msg: Image, pad: int) -> Image:
    """The same image with `pad` junk bytes after every row."""
    rows = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.step)
    junk = np.full((msg.height, pad), 77, np.uint8)
    msg.data = np.hstack([rows, junk]).tobytes()
    msg.step += pad
    return msg


@pytest.mark.parametrize("encoding,pixels", [
    ("rgb8", RGB),
    ("bgr8", RGB[..., ::-1]),
    ("rgba8", np.dstack([RGB, np.full(RGB.shape[:2], 9, np.uint8)])),
    ("bgra8", np.dstack([RGB[..., ::-1], np.full(RGB.shape[:2], 9, np.uint8)])),
])
@pytest.mark.parametrize("pad", [0, 3])
def test_colour_encodings_give_rgb(encoding, pixels, pad):
    msg = padded(array_to_image(np.ascontiguousarray(pixels), encoding), pad)
    np.testing.assert_array_equal(image_to_rgb(msg), RGB)


@pytest.mark.parametrize("pad", [0, 1])
def test_mono8_is_replicated_to_three_channels(pad):
    gray = RGB[..., 0].copy()
    rgb = image_to_rgb(padded(array_to_image(gray, "mono8"), pad))
    assert rgb.shape == (6, 5, 3)
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel], gray)


@pytest.mark.parametrize("bigendian", [False, True])
def test_mono16_honours_byte_order(bigendian):
    values = RNG.integers(0, 65536, (4, 3), dtype=np.uint16)
    msg = Image(height=4, width=3, encoding="mono16", is_bigendian=bigendian, step=3 * 2 + 2)
    data = values.astype(">u2" if bigendian else "<u2").view(np.uint8).reshape(4, 6)
    msg.data = np.hstack([data, np.zeros((4, 2), np.uint8)]).tobytes()
    np.testing.assert_array_equal(image_to_array(msg), values)
    np.testing.assert_array_equal(image_to_rgb(msg)[..., 1], (values >> 8).astype(np.uint8))


def test_unsupported_encoding_is_named():
    msg = Image(height=2, width=2, encoding="yuv422", step=4, data=bytes(8))
    with pytest.raises(ImageConversionError, match="'yuv422' not supported; expected one of rgb8"):
        image_to_rgb(msg)


@pytest.mark.parametrize("field,value,match", [
    ("step", 5, "step 5 is smaller than a row"),
    ("data", bytes(10), "data has 10 bytes"),
    ("height", 0, "empty image"),
])
def test_inconsistent_sizes_raise(field, value, match):
    msg = array_to_image(RGB, "rgb8")
    setattr(msg, field, value)
    with pytest.raises(ImageConversionError, match=match):
        image_to_rgb(msg)


def test_array_to_image_checks_shape_and_dtype():
    with pytest.raises(ImageConversionError, match="3 channels"):
        array_to_image(RGB[..., :2].copy(), "rgb8")
    with pytest.raises(ImageConversionError, match="dtype"):
        array_to_image(RGB.astype(np.float32), "rgb8")


# --- sensor_msgs/CompressedImage (image_transport's `compressed` transport) ---
# (40, 60, 3) gradients: JPEG keeps them within a few levels, a swapped channel would be far off.
SMOOTH_RGB = np.dstack([*np.meshgrid(np.arange(0, 240, 4, dtype=np.uint8), np.arange(0, 160, 4, dtype=np.uint8)),
                        np.full((40, 60), 200, np.uint8)])


def encoded(rgb: np.ndarray, ext: str, fmt: str, swap_to_bgr: bool = True) -> CompressedImage:
    pixels = rgb[..., ::-1] if swap_to_bgr else rgb
    ok, data = cv2.imencode(ext, np.ascontiguousarray(pixels))
    assert ok
    return CompressedImage(format=fmt, data=data.tobytes())


@pytest.mark.parametrize("fmt,expected", [
    ("rgb8; jpeg compressed bgr8", ("rgb8", "jpeg", "bgr8")),
    ("bgr8; png compressed bgr8", ("bgr8", "png", "bgr8")),
    ("mono8; jpeg compressed mono8", ("mono8", "jpeg", "mono8")),
    ("jpeg", ("", "jpeg", "")),
    ("", ("", "", "")),
])
def test_compressed_format_strings_are_parsed(fmt, expected):
    assert parse_compressed_format(fmt) == expected


@pytest.mark.parametrize("ext,fmt", [(".jpg", "rgb8; jpeg compressed bgr8"), (".jpg", "jpeg"), (".jpg", ""),
                                     (".png", "bgr8; png compressed bgr8"), (".png", "png")])
def test_compressed_colour_frames_decode_to_rgb(ext, fmt):
    rgb = compressed_to_rgb(encoded(SMOOTH_RGB, ext, fmt))
    assert rgb.shape == SMOOTH_RGB.shape and rgb.dtype == np.uint8
    tolerance = 0 if ext == ".png" else 12  # JPEG is lossy
    assert np.abs(rgb.astype(int) - SMOOTH_RGB).max() <= tolerance


def test_compressed_rgb_rows_stay_rgb():
    msg = encoded(SMOOTH_RGB, ".png", "rgb8; png compressed rgb8", swap_to_bgr=False)
    np.testing.assert_array_equal(compressed_to_rgb(msg), SMOOTH_RGB)


def test_compressed_mono_is_replicated():
    ok, data = cv2.imencode(".png", SMOOTH_RGB[..., 0])
    rgb = compressed_to_rgb(CompressedImage(format="mono8; png compressed mono8", data=data.tobytes()))
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel], SMOOTH_RGB[..., 0])


@pytest.mark.parametrize("make,match", [
    (lambda m: CompressedImage(format=m.format, data=m.data[: len(m.data) // 2]), "truncated"),
    (lambda m: CompressedImage(format=m.format, data=bytes(500) + b"\xff\xd9"), "cannot decode"),
    (lambda m: CompressedImage(format="png", data=b"\x89PNG\r\n\x1a\nrubbish"), "cannot decode"),
    (lambda m: CompressedImage(format=m.format, data=b""), "no data"),
    (lambda m: CompressedImage(format="16UC1; compressedDepth png", data=m.data), "depth image"),
    (lambda m: CompressedImage(format="bgr8; h264 compressed bgr8", data=m.data), "codec 'h264' not supported"),
])
def test_bad_compressed_frames_raise(make, match):
    with pytest.raises(ImageConversionError, match=match):
        compressed_to_rgb(make(encoded(SMOOTH_RGB, ".jpg", "rgb8; jpeg compressed bgr8")))
