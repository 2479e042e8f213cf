"""TopDownEstimator: crops, batching, flip test and back-projection to frame pixels."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from rhpnet_core.codec import UDPHeatmapCodec
from rhpnet_core.topdown import TopDownEstimator
from rhpnet_core.transforms import IMAGENET_MEAN, IMAGENET_STD


class BlobRuntime:
    """Test backend: heatmap channel k = colour channel k of the crop, UDP-resampled to heatmap size.

    A frame with a bright blob in colour channel k therefore "predicts" joint k at the blob.
    """

    def __init__(self, codec: UDPHeatmapCodec) -> None:
        self.codec = codec
        self.input_size = codec.input_size
        self.num_joints = 3
        self.batch_sizes: list[int] = []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.batch_sizes.append(len(batch))
        sx, sy = self.codec.scale
        matrix = np.array([[1 / sx, 0, 0], [0, 1 / sy, 0]])
        w, h = self.codec.heatmap_size
        rgb = batch * IMAGENET_STD[None, :, None, None] + IMAGENET_MEAN[None, :, None, None]
        return np.stack([[cv2.warpAffine(np.ascontiguousarray(c), matrix, (w, h), flags=cv2.INTER_LINEAR)
                          for c in crop] for crop in rgb]).astype(np.float32)


def blob_frame(points: np.ndarray, shape=(240, 320)) -> np.ndarray:
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    frame = np.zeros(shape + (3,), np.float64)
    for channel, (x, y) in enumerate(points):
        frame[..., channel] = np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 6.0 ** 2))
    return np.round(frame * 255).astype(np.uint8)


@pytest.mark.parametrize("flip_test", [False, True])
def test_estimate_returns_frame_pixels(flip_test):
    codec = UDPHeatmapCodec((96, 128), (24, 32), sigma=2.0)
    runtime = BlobRuntime(codec)
    estimator = TopDownEstimator(runtime, codec, flip_pairs=(), flip_test=flip_test)
    people = np.array([[[60.3, 80.7], [90.2, 150.5], [75.0, 40.4]],
                       [[230.6, 100.1], [260.4, 170.2], [250.5, 130.8]]])
    frame = np.maximum(blob_frame(people[0]), blob_frame(people[1]))
    boxes = np.array([[40, 20, 110, 190], [215, 60, 285, 200]], dtype=float)
    result = estimator.estimate(frame, boxes)
    assert result.shape == (2, 3, 3) and result.dtype == np.float32
    np.testing.assert_allclose(result[..., :2], people, atol=0.6)
    assert (result[..., 2] > 0.5).all()
    # all crops of the frame in one runtime call (plus one flipped call).
    assert runtime.batch_sizes == ([4] if flip_test else [2])  # crops and flipped crops in one call


def test_empty_boxes_give_empty_result():
    codec = UDPHeatmapCodec((96, 128), (24, 32))
    estimator = TopDownEstimator(BlobRuntime(codec), codec, flip_pairs=())
    out = estimator.estimate(np.zeros((50, 60, 3), np.uint8), np.zeros((0, 4)))
    assert out.shape == (0, 3, 3)


def test_default_flip_pairs_come_from_the_joint_layout():
    codec = UDPHeatmapCodec((96, 128), (24, 32))
    runtime = BlobRuntime(codec)
    runtime.num_joints = 17
    assert TopDownEstimator(runtime, codec).flip_pairs[0] == (1, 2)


def test_mismatched_sizes_and_bad_images_are_rejected():
    codec = UDPHeatmapCodec((96, 128), (24, 32))
    runtime = BlobRuntime(UDPHeatmapCodec((192, 256), (48, 64)))
    with pytest.raises(ValueError, match="input_size"):
        TopDownEstimator(runtime, codec, flip_pairs=())
    estimator = TopDownEstimator(BlobRuntime(codec), codec, flip_pairs=())
    with pytest.raises(ValueError, match="uint8 RGB"):
        estimator.estimate(np.zeros((50, 60), np.uint8), np.ones((1, 4)))
