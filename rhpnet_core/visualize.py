"""Drawing of pose results on frames (debug images, demo videos)."""
from __future__ import annotations

import cv2
import numpy as np

from rhpnet_core.keypoints import layout_for


def draw_poses(image_bgr: np.ndarray, boxes_xyxy: np.ndarray, keypoints: np.ndarray,
               min_score: float = 0.3) -> np.ndarray:
    """A copy of `image_bgr` with boxes, skeletons and keypoints (N, K, 3) scoring >= min_score drawn."""
    canvas = image_bgr.copy()
    if len(keypoints) == 0:
        return canvas
    skeleton = layout_for(keypoints.shape[1])["skeleton"]
    thickness = max(1, round(max(canvas.shape[:2]) / 400))
    for box, person in zip(boxes_xyxy, keypoints):
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        cv2.rectangle(canvas, (x0, y0), (x1, y1), (255, 160, 0), thickness)
        visible = person[:, 2] >= min_score
        for a, b in skeleton:
            if visible[a] and visible[b]:
                pa = tuple(int(round(v)) for v in person[a, :2])
                pb = tuple(int(round(v)) for v in person[b, :2])
                cv2.line(canvas, pa, pb, (0, 220, 0), thickness, cv2.LINE_AA)
        radius = max(2, round((y1 - y0) / 60))  # small people get small dots
        for x, y, _ in person[visible]:
            cv2.circle(canvas, (int(round(x)), int(round(y))), radius, (0, 0, 255), -1, cv2.LINE_AA)
    return canvas
