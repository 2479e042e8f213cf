"""UDP affine, back-projection, flip and HRNet augmentation."""
from __future__ import annotations

import numpy as np
import pytest

from rhpnet_core.keypoints import COCO_FLIP_PAIRS, COCO_KEYPOINT_NAMES, MPII_KEYPOINT_NAMES
from rhpnet_core.transforms import (AugmentConfig, apply_affine, box_to_center_scale, crop_to_image,
                                    flip_keypoints, get_udp_warp_matrix, half_body_center_scale,
                                    normalize, random_center_scale_rotation, upper_body_ids, warp_crop)


def test_box_to_center_scale_fixes_aspect_and_pads():
    centre, scale = box_to_center_scale((10, 20, 30, 100), aspect_ratio=0.75, padding=1.25)
    np.testing.assert_allclose(centre, [25, 70])
    np.testing.assert_allclose(scale, [75 * 1.25, 100 * 1.25])
    _, scale = box_to_center_scale((0, 0, 300, 100), aspect_ratio=0.75, padding=1.0)
    np.testing.assert_allclose(scale, [300, 400])


@pytest.mark.parametrize("rotation", [0.0, 30.0, -75.0])
def test_udp_matrix_maps_centre_to_crop_centre_and_back(rotation):
    centre, scale = np.array([321.3, 210.7]), np.array([150.0, 200.0])
    matrix = get_udp_warp_matrix(centre, scale, rotation, (192, 256))
    np.testing.assert_allclose(apply_affine(centre, matrix), [95.5, 127.5], atol=1e-9)
    points = np.random.default_rng(0).uniform(0, 500, size=(17, 2))
    np.testing.assert_allclose(crop_to_image(apply_affine(points, matrix), matrix), points, atol=1e-6)


def test_udp_matrix_spans_region_corner_to_corner_without_rotation():
    matrix = get_udp_warp_matrix(np.array([100.0, 100.0]), np.array([96.0, 128.0]), 0.0, (192, 256))
    np.testing.assert_allclose(apply_affine(np.array([[52.0, 36.0], [148.0, 164.0]]), matrix),
                               [[0, 0], [191, 255]], atol=1e-9)


def test_crop_content_sits_where_the_matrix_says():
    image = np.zeros((300, 400, 3), np.uint8)
    image[123, 217] = 255
    matrix = get_udp_warp_matrix(np.array([200.0, 150.0]), np.array([96.0, 128.0]), 20.0, (192, 256))
    crop = warp_crop(image, matrix, (192, 256))
    y, x = np.unravel_index(crop[..., 0].argmax(), crop.shape[:2])
    np.testing.assert_allclose([x, y], apply_affine(np.array([217.0, 123.0]), matrix), atol=1.0)


def test_flip_keypoints_mirrors_about_pixel_centres_and_swaps():
    keypoints = np.arange(34, dtype=float).reshape(17, 2)
    visible = np.arange(17)
    flipped, vis = flip_keypoints(keypoints, visible, COCO_FLIP_PAIRS, image_width=100)
    assert flipped[0, 0] == 99 - keypoints[0, 0]
    assert flipped[1, 0] == 99 - keypoints[2, 0] and vis[1] == 2 and vis[2] == 1
    back, vis_back = flip_keypoints(flipped, vis, COCO_FLIP_PAIRS, image_width=100)
    np.testing.assert_array_equal(back, keypoints)
    np.testing.assert_array_equal(vis_back, visible)


def test_flipping_the_image_matches_flipping_the_keypoints():
    image = np.zeros((50, 80, 3), np.uint8)
    image[10, 7] = 255
    flipped_image = image[:, ::-1]
    flipped, _ = flip_keypoints(np.array([[7.0, 10.0]]), np.ones(1), (), image_width=80)
    x, y = flipped[0]
    assert flipped_image[int(y), int(x), 0] == 255


def test_upper_body_ids_match_hrnet():
    assert upper_body_ids(COCO_KEYPOINT_NAMES) == tuple(range(11))
    assert upper_body_ids(MPII_KEYPOINT_NAMES) == (7, 8, 9, 10, 11, 12, 13, 14, 15)


def test_normalize_is_imagenet_chw():
    image = np.full((4, 3, 3), 255, np.uint8)
    out = normalize(image)
    assert out.shape == (3, 4, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0, 0], (1 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225]),
                               rtol=1e-6)


def test_half_body_region_covers_chosen_half():
    rng = np.random.default_rng(1)
    keypoints = rng.uniform(0, 100, size=(17, 2))
    region = half_body_center_scale(keypoints, np.ones(17), upper_body_ids(COCO_KEYPOINT_NAMES), 0.75, rng)
    assert region is not None
    centre, scale = region
    assert scale[0] / scale[1] == pytest.approx(0.75)
    assert half_body_center_scale(keypoints, np.eye(17)[0], tuple(range(11)), 0.75, rng) is None


def test_random_augment_stays_in_hrnet_ranges_and_is_seeded():
    aug = AugmentConfig(half_body_prob=0.0)
    centre, scale = np.array([50.0, 50.0]), np.array([75.0, 100.0])
    draws = [random_center_scale_rotation(centre, scale, np.zeros((17, 2)), np.ones(17), (), 0.75, aug,
                                          np.random.default_rng(i)) for i in range(300)]
    factors = np.array([d[1][0] / 75.0 for d in draws])
    rotations = np.array([d[2] for d in draws])
    assert factors.min() >= 0.65 - 1e-9 and factors.max() <= 1.35 + 1e-9
    assert np.abs(rotations).max() <= 90.0 and 0.2 < (rotations == 0).mean() < 0.6
    again = random_center_scale_rotation(centre, scale, np.zeros((17, 2)), np.ones(17), (), 0.75, aug,
                                         np.random.default_rng(5))
    assert again[2] == draws[5][2]


def test_augment_config_rejects_unknown_keys():
    with pytest.raises(ValueError, match="unknown data.augment keys"):
        AugmentConfig.from_config({"scale_factr": 0.3})
