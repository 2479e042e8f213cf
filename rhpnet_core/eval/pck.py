"""Training-time accuracy: HRNet's heatmap PCK (`lib/core/evaluate.py::accuracy`).

Distances between predicted and target peaks are measured in heatmap cells, normalised per axis by
one tenth of the heatmap size; a joint is correct below 0.5. Only labelled joints count.
"""
from __future__ import annotations

import numpy as np

from rhpnet_core.codec import argmax_locations


def heatmap_pck(predicted: np.ndarray, target: np.ndarray, weights: np.ndarray,
                threshold: float = 0.5) -> tuple[float, int]:
    """PCK (fraction in [0, 1]) of predicted vs target heatmap peaks and the number of joints counted.

    Args:
        predicted, target: (N, K, h, w) heatmaps; weights: (N, K) target weights (> 0 counts).
    """
    pred_xy, _ = argmax_locations(np.asarray(predicted, dtype=np.float32))
    target_xy, _ = argmax_locations(np.asarray(target, dtype=np.float32))
    h, w = predicted.shape[2:]
    norm = np.array([w, h], dtype=np.float64) / 10.0
    distance = np.linalg.norm((pred_xy - target_xy) / norm, axis=-1)
    counted = np.asarray(weights) > 0
    total = int(counted.sum())
    return (float((distance[counted] <= threshold).mean()) if total else 0.0), total
