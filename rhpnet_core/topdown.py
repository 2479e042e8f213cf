"""Top-down pose estimation on one frame: the single place where person crops are made and heatmaps
are decoded at inference (ROS node, `rhpnet predict`, `rhpnet evaluate`, benchmarks).

boxes (image px) -> UDP affine crops -> runtime (one batch: crops + flipped crops) -> averaged
heatmaps -> codec decode (crop px) -> back-projection to source-image pixels.
"""
from __future__ import annotations

from typing import Callable, Protocol, Sequence

import numpy as np

from rhpnet_core.codec import UDPHeatmapCodec, flip_heatmaps
from rhpnet_core.keypoints import layout_for
from rhpnet_core.transforms import box_to_center_scale, crop_to_image, get_udp_warp_matrix, normalize, warp_crop


class HeatmapRuntime(Protocol):
    """What the estimator needs from a backend: (N, 3, H, W) float32 -> (N, K, h, w) float32."""

    input_size: tuple[int, int]
    num_joints: int

    def __call__(self, batch: np.ndarray) -> np.ndarray: ...


class TopDownEstimator:
    """Keypoints of every boxed person in an RGB frame.

    Args:
        runtime: callable backend with `input_size` (W, H) and `num_joints`.
        codec: heatmap codec matching the runtime's input and heatmap sizes.
        flip_pairs: left/right joint pairs for the flip test; defaults to the layout of
            `runtime.num_joints` (COCO-17 or MPII-16).
        flip_test: average with the heatmaps of horizontally flipped crops (HRNet/UDP test recipe).
        bbox_padding: context factor around each box (1.25, as in training).
    """

    def __init__(self, runtime: HeatmapRuntime | Callable[[np.ndarray], np.ndarray], codec: UDPHeatmapCodec,
                 flip_pairs: Sequence[tuple[int, int]] | None = None, flip_test: bool = True,
                 bbox_padding: float = 1.25) -> None:
        if tuple(runtime.input_size) != codec.input_size:
            raise ValueError(f"runtime input_size {tuple(runtime.input_size)} != codec input_size "
                             f"{codec.input_size}")
        self.runtime = runtime
        self.codec = codec
        self.num_joints = int(runtime.num_joints)
        self.flip_pairs = tuple(flip_pairs) if flip_pairs is not None else layout_for(self.num_joints)["flip_pairs"]
        self.flip_test = flip_test
        self.bbox_padding = bbox_padding
        self.aspect_ratio = codec.input_size[0] / codec.input_size[1]

    def crop(self, image_rgb: np.ndarray, boxes_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Network inputs for each box.

        Args:
            image_rgb: (H, W, 3) uint8.
            boxes_xyxy: (N, 4) float (x1, y1, x2, y2) image pixels.
        Returns:
            batch (N, 3, h_in, w_in) float32 normalised crops and matrices (N, 2, 3) image -> crop.
        """
        batch, matrices = [], []
        for x1, y1, x2, y2 in np.asarray(boxes_xyxy, dtype=np.float64):
            centre, scale = box_to_center_scale((x1, y1, x2 - x1, y2 - y1), self.aspect_ratio, self.bbox_padding)
            matrix = get_udp_warp_matrix(centre, scale, 0.0, self.codec.input_size)
            batch.append(normalize(warp_crop(image_rgb, matrix, self.codec.input_size)))
            matrices.append(matrix)
        return np.stack(batch), np.stack(matrices)

    def heatmaps(self, batch: np.ndarray) -> np.ndarray:
        """(N, K, h, w) heatmaps of a crop batch, flip-test averaged when enabled."""
        if not self.flip_test:
            return np.asarray(self.runtime(batch), dtype=np.float32)
        # A flipped normalised crop equals the UDP crop of the flipped image, so flipping the batch
        # is enough; its heatmaps are flipped back and joint channels swapped. One runtime call for
        # both halves: larger batches are cheaper per crop on every backend (docs/benchmarks.md).
        count = len(batch)
        both = np.asarray(self.runtime(np.concatenate([batch, batch[..., ::-1]])), dtype=np.float32)
        return 0.5 * (both[:count] + flip_heatmaps(both[count:], self.flip_pairs))

    def estimate(self, image_rgb: np.ndarray, boxes_xyxy: np.ndarray) -> np.ndarray:
        """Keypoints of each boxed person.

        Args:
            image_rgb: (H, W, 3) uint8 RGB frame.
            boxes_xyxy: (N, 4) person boxes in frame pixels.
        Returns:
            (N, K, 3) float32 [x_px, y_px, score] in frame pixels; (0, K, 3) for no boxes.
        """
        image_rgb = np.asarray(image_rgb)
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image_rgb.shape} {image_rgb.dtype}")
        boxes_xyxy = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
        if len(boxes_xyxy) == 0:
            return np.zeros((0, self.num_joints, 3), dtype=np.float32)
        batch, matrices = self.crop(image_rgb, boxes_xyxy)
        keypoints_crop, scores = self.codec.decode(self.heatmaps(batch))
        keypoints_image = np.stack([crop_to_image(kps, m) for kps, m in zip(keypoints_crop, matrices)])
        return np.concatenate([keypoints_image, scores[..., None]], axis=-1).astype(np.float32)


def keypoints_to_box(keypoints: np.ndarray, min_score: float = 0.3, min_keypoints: int = 4,
                     scale: float = 1.2) -> np.ndarray | None:
    """A person box from its keypoints, for the frames between detections (RTMPose/MediaPipe video recipe).

    Args:
        keypoints: (K, 3) [x, y, score] in image pixels.
        min_score: joints below this score (or not finite) are ignored.
        min_keypoints: fewer confident joints than this give no box (None): detect again instead.
        scale: enlargement of the confident joints' extent about its centre (joints sit inside the
            person: head top above the eyes, feet below the ankles).
    Returns:
        (4,) float64 xyxy box, or None.
    """
    usable = (keypoints[:, 2] >= min_score) & np.isfinite(keypoints[:, :2]).all(axis=1)
    confident = keypoints[usable, :2].astype(np.float64)
    if len(confident) < min_keypoints:
        return None
    low, high = confident.min(axis=0), confident.max(axis=0)
    centre, half = (low + high) / 2.0, (high - low) / 2.0 * scale
    return np.concatenate([centre - half, centre + half])
