"""UDP heatmap codec: Gaussian targets, exact round trip, weights, flip."""
from __future__ import annotations

import numpy as np
import pytest

from rhpnet_core.codec import UDPHeatmapCodec, argmax_locations, flip_heatmaps


@pytest.fixture
def codec() -> UDPHeatmapCodec:
    return UDPHeatmapCodec(input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0)


def test_encode_is_eq1_gaussian_at_udp_position(codec):
    heatmaps, weights = codec.encode(np.array([[95.5, 127.5]]), np.array([1]))
    assert heatmaps.shape == (1, 64, 48) and heatmaps.dtype == np.float32
    centre = np.array([95.5, 127.5]) / ((np.array([192, 256]) - 1) / (np.array([48, 64]) - 1))
    ys, xs = np.mgrid[0:64, 0:48]
    expected = np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (2 * 2.0 ** 2))
    np.testing.assert_allclose(heatmaps[0], expected, atol=1e-6)
    assert weights.tolist() == [1.0]


def test_round_trip_within_a_tenth_of_a_heatmap_pixel(codec):
    rng = np.random.default_rng(0)
    keypoints = rng.uniform([12, 12], [180, 244], size=(17, 2))
    heatmaps, weights = codec.encode(keypoints, np.ones(17))
    decoded, scores = codec.decode(heatmaps[None])
    error_heatmap_px = np.abs(decoded[0] - keypoints) / codec.scale
    assert error_heatmap_px.max() < 0.1, error_heatmap_px.max()
    assert weights.min() == 1.0 and scores.min() > 0.85


def test_refinement_beats_plain_argmax(codec):
    keypoints = np.array([[50.3, 70.8], [101.7, 33.2]])
    heatmaps, _ = codec.encode(keypoints, np.ones(2))
    decoded, _ = codec.decode(heatmaps[None])
    argmax, _ = argmax_locations(heatmaps[None])
    assert np.abs(decoded[0] - keypoints).max() < np.abs(argmax[0] * codec.scale - keypoints).max()


def test_unlabelled_and_far_outside_joints_get_zero_weight_and_empty_map(codec):
    keypoints = np.array([[50.0, 50.0], [-200.0, 50.0], [50.0, 900.0], [60.0, 60.0]])
    heatmaps, weights = codec.encode(keypoints, np.array([1, 1, 1, 0]))
    assert weights.tolist() == [1.0, 0.0, 0.0, 0.0]
    assert heatmaps[1:].max() == 0.0


def test_joint_just_outside_keeps_partial_gaussian(codec):
    heatmaps, weights = codec.encode(np.array([[-8.0, 100.0]]), np.array([2]))
    assert weights[0] == 1.0 and 0 < heatmaps[0].max() < 1.0


def test_encode_rejects_bad_shapes(codec):
    with pytest.raises(ValueError, match="expected keypoints"):
        codec.encode(np.zeros((17, 3)), np.ones(17))


def test_decode_rejects_wrong_heatmap_size(codec):
    with pytest.raises(ValueError, match="expected heatmaps"):
        codec.decode(np.zeros((1, 17, 48, 64), np.float32))


def test_decode_of_empty_map_stays_at_argmax(codec):
    decoded, scores = codec.decode(np.zeros((1, 2, 64, 48), np.float32))
    assert np.isfinite(decoded).all() and scores.max() == 0.0


def test_flip_heatmaps_mirrors_and_swaps(codec):
    keypoints = np.array([[20.0, 100.0], [150.0, 40.0], [96.0, 128.0]])
    heatmaps, _ = codec.encode(keypoints, np.ones(3))
    flipped = flip_heatmaps(heatmaps[None], [(0, 1)])
    decoded, _ = codec.decode(flipped)
    # UDP: x -> (W_in - 1) - x with no shift; joint 0 and 1 swapped.
    expected = np.array([[191 - 150.0, 40.0], [191 - 20.0, 100.0], [191 - 96.0, 128.0]])
    np.testing.assert_allclose(decoded[0], expected, atol=0.1 * codec.scale.max())
    np.testing.assert_array_equal(flip_heatmaps(flipped, [(0, 1)]), heatmaps[None])
