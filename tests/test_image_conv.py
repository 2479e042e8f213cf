"""sensor_msgs/Image <-> numpy: every encoding, padded rows, byte order, bad input."""
import numpy as np
import pytest

pytest.importorskip("rclpy")
from sensor_msgs.msg import Image  # noqa: E402

from rhpnet_ros.image_conv import ImageConversionError, array_to_image, image_to_array, image_to_rgb  # noqa: E402

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
