"""UDP Gaussian heatmap codec: keypoints <-> heatmaps, and heatmap flipping for the flip test.

The codec owns every coordinate convention between the network input (pixels of the crop) and the
heatmap grid (paper eq. 1 for targets, eq. 3 + sub-pixel refinement for decoding). It follows the
unbiased data processing (UDP, Huang et al. 2020) convention used by the paper (section 4.1): pixel
centres are integer coordinates and the input -> heatmap scale is (input - 1) / (heatmap - 1), so the
first and last pixel centres of the crop land exactly on the first and last heatmap cells.
The network never knows about pixels; this module never knows about layers.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np


class UDPHeatmapCodec:
    """Encode keypoints to Gaussian heatmaps and decode heatmaps back to input-pixel keypoints.

    Args:
        input_size: (W, H) of the network input crop in pixels.
        heatmap_size: (w, h) of the output heatmaps.
        sigma: Gaussian standard deviation in heatmap pixels (paper eq. 1: 2).
        blur_kernel_size: kernel of the DARK modulation blur before the Taylor refinement; 11 is
            DARK's value for sigma 2 (cv2 derives the blur sigma 2.0 from it).
    """

    def __init__(self, input_size: Sequence[int], heatmap_size: Sequence[int], sigma: float = 2.0,
                 blur_kernel_size: int = 11) -> None:
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.heatmap_size = (int(heatmap_size[0]), int(heatmap_size[1]))
        if min(self.input_size) < 2 or min(self.heatmap_size) < 2:
            raise ValueError(f"input_size {self.input_size} and heatmap_size {self.heatmap_size} "
                             "must be at least 2 pixels per side")
        if blur_kernel_size % 2 != 1:
            raise ValueError(f"blur_kernel_size must be odd, got {blur_kernel_size}")
        self.sigma = float(sigma)
        self.blur_kernel_size = int(blur_kernel_size)
        # UDP: pixel-centre spacing ratio between the input crop and the heatmap grid, (sx, sy).
        self.scale = np.array([(self.input_size[i] - 1) / (self.heatmap_size[i] - 1) for i in range(2)],
                              dtype=np.float64)

    @classmethod
    def from_config(cls, codec_cfg: dict) -> "UDPHeatmapCodec":
        """Build from a config's `codec` section: {input_size: [W, H], heatmap_size: [w, h], sigma}."""
        return cls(codec_cfg["input_size"], codec_cfg["heatmap_size"], codec_cfg.get("sigma", 2.0),
                   codec_cfg.get("blur_kernel_size", 11))

    def encode(self, keypoints: np.ndarray, visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gaussian targets (paper eq. 1) and per-joint target weights.

        Args:
            keypoints: (K, 2) keypoint (x, y) in input-crop pixels.
            visible: (K,) > 0 where the joint is labelled.
        Returns:
            heatmaps (K, h, w) float32 and target_weights (K,) float32; a joint that is unlabelled or
            whose 3-sigma support lies entirely outside the heatmap gets weight 0 and an empty map.
        """
        keypoints = np.asarray(keypoints, dtype=np.float64)
        visible = np.asarray(visible)
        if keypoints.ndim != 2 or keypoints.shape[1] != 2 or visible.shape != (keypoints.shape[0],):
            raise ValueError(f"expected keypoints (K, 2) and visible (K,), got {keypoints.shape} "
                             f"and {visible.shape}")
        w, h = self.heatmap_size
        num_joints = keypoints.shape[0]
        heatmaps = np.zeros((num_joints, h, w), dtype=np.float32)
        weights = (visible > 0).astype(np.float32)
        centres = keypoints / self.scale
        radius = 3.0 * self.sigma
        xs = np.arange(w, dtype=np.float64)
        ys = np.arange(h, dtype=np.float64)[:, None]
        for k in range(num_joints):
            mu_x, mu_y = centres[k]
            outside = (mu_x - radius >= w or mu_y - radius >= h or mu_x + radius + 1 < 0
                       or mu_y + radius + 1 < 0)
            if weights[k] == 0 or outside or not np.isfinite(centres[k]).all():
                weights[k] = 0.0
                continue
            heatmaps[k] = np.exp(-((xs - mu_x) ** 2 + (ys - mu_y) ** 2) / (2.0 * self.sigma ** 2))
        return heatmaps, weights

    def decode(self, heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints from heatmaps: argmax (paper eq. 3) then DARK/UDP Taylor refinement.

        Args:
            heatmaps: (N, K, h, w) predicted heatmaps.
        Returns:
            keypoints (N, K, 2) in input-crop pixels (float32) and scores (N, K) = heatmap maxima.
        """
        heatmaps = np.asarray(heatmaps, dtype=np.float32)
        if heatmaps.ndim != 4 or heatmaps.shape[2:] != (self.heatmap_size[1], self.heatmap_size[0]):
            raise ValueError(f"expected heatmaps (N, K, {self.heatmap_size[1]}, {self.heatmap_size[0]}), "
                             f"got {heatmaps.shape}")
        locations, scores = argmax_locations(heatmaps)
        refined = refine_dark_udp(locations, heatmaps, self.blur_kernel_size)
        return (refined * self.scale).astype(np.float32), scores


def argmax_locations(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer peak of each heatmap.

    Args:
        heatmaps: (N, K, h, w).
    Returns:
        locations (N, K, 2) as float (x, y) heatmap cells, scores (N, K) peak values.
    """
    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, h * w)
    index = flat.argmax(axis=2)
    scores = np.take_along_axis(flat, index[..., None], axis=2)[..., 0]
    locations = np.stack([index % w, index // w], axis=-1).astype(np.float64)
    return locations, scores.astype(np.float32)


def _modulate(heatmaps: np.ndarray, kernel_size: int) -> np.ndarray:
    """DARK distribution modulation: Gaussian-blur each map, keep its maximum, take the log.

    Blurring makes a predicted (noisy, non-Gaussian) map closer to a Gaussian so that the
    second-order Taylor expansion of its log around the peak is accurate.
    """
    n, k, h, w = heatmaps.shape
    border = (kernel_size - 1) // 2
    out = np.empty_like(heatmaps)
    for i in range(n):
        for j in range(k):
            padded = np.zeros((h + 2 * border, w + 2 * border), dtype=np.float32)
            padded[border:-border, border:-border] = heatmaps[i, j]
            blurred = cv2.GaussianBlur(padded, (kernel_size, kernel_size), 0)[border:-border, border:-border]
            peak = blurred.max()
            out[i, j] = blurred * (heatmaps[i, j].max() / peak) if peak > 0 else blurred
    np.clip(out, 1e-3, 50.0, out)
    return np.log(out)


def refine_dark_udp(locations: np.ndarray, heatmaps: np.ndarray, kernel_size: int = 11) -> np.ndarray:
    """Sub-pixel peak by one Newton step on the modulated log-heatmap (DARK, UDP variant).

    Args:
        locations: (N, K, 2) integer argmax (x, y).
        heatmaps: (N, K, h, w).
    Returns:
        (N, K, 2) refined (x, y) in heatmap cells.
    """
    n, k, h, w = heatmaps.shape
    log_maps = np.pad(_modulate(heatmaps, kernel_size), ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    # Indices into the edge-padded maps, so the finite differences are defined on the border too.
    x = locations[..., 0].astype(np.int64) + 1
    y = locations[..., 1].astype(np.int64) + 1
    ni, ki = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")

    def at(dx: int, dy: int) -> np.ndarray:
        return log_maps[ni, ki, y + dy, x + dx].astype(np.float64)

    centre = at(0, 0)
    dx = 0.5 * (at(1, 0) - at(-1, 0))
    dy = 0.5 * (at(0, 1) - at(0, -1))
    dxx = at(1, 0) - 2 * centre + at(-1, 0)
    dyy = at(0, 1) - 2 * centre + at(0, -1)
    dxy = 0.5 * (at(1, 1) - at(1, 0) - at(0, 1) + 2 * centre - at(-1, 0) - at(0, -1) + at(-1, -1))
    hessian = np.stack([np.stack([dxx, dxy], -1), np.stack([dxy, dyy], -1)], -2)
    hessian = hessian + np.finfo(np.float32).eps * np.eye(2)
    gradient = np.stack([dx, dy], -1)[..., None]
    step = np.linalg.solve(hessian, gradient)[..., 0]
    # A flat or saddle neighbourhood (e.g. an all-zero map) gives a meaningless step; keep the argmax.
    step = np.where(np.abs(step) <= 1.0, step, 0.0)
    return locations - step


def flip_heatmaps(heatmaps: np.ndarray, flip_pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Heatmaps of a horizontally flipped crop mapped back to the unflipped crop's frame.

    Mirrors the width axis and swaps left/right channels. With the UDP affine the flipped crop's
    pixel x corresponds exactly to w - 1 - x, so no one-pixel shift is needed (unlike HRNet's
    biased flip test).

    Args:
        heatmaps: (N, K, h, w).
        flip_pairs: (left, right) channel index pairs.
    Returns:
        (N, K, h, w) new array.
    """
    flipped = np.ascontiguousarray(heatmaps[..., ::-1])
    for left, right in flip_pairs:
        flipped[:, [left, right]] = flipped[:, [right, left]]
    return flipped
