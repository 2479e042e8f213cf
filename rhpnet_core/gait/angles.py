"""Sagittal angle definitions (research spec §1; docs/gait.md has the table with zeros and signs).

All take image-pixel points (y down) in a roll-corrected frame and the facing sign `s` (+1 = runner
faces image +x), so a runner facing left or right gives identical numbers. Arrays broadcast: points
are (..., 2), results (...,) in degrees; NaN in, NaN out.
"""
from __future__ import annotations

import numpy as np


def segment_angle_deg(proximal: np.ndarray, distal: np.ndarray, facing: int) -> np.ndarray:
    """Angle of proximal->distal from the downward vertical, + when the distal end is ahead (deg)."""
    d = distal - proximal
    return np.degrees(np.arctan2(facing * d[..., 0], d[..., 1]))


def trunk_lean_deg(pelvis: np.ndarray, shoulders: np.ndarray, facing: int) -> np.ndarray:
    """atan2(s·(x_S − x_P), y_P − y_S): 0 vertical, + forward lean."""
    d = shoulders - pelvis
    return np.degrees(np.arctan2(facing * d[..., 0], -d[..., 1]))


def thigh_angle_deg(hip: np.ndarray, knee: np.ndarray, facing: int) -> np.ndarray:
    """atan2(s·(x_knee − x_hip), y_knee − y_hip): 0 vertical, + knee ahead of the hip (flexion)."""
    return segment_angle_deg(hip, knee, facing)


def shank_angle_deg(knee: np.ndarray, ankle: np.ndarray, facing: int) -> np.ndarray:
    """atan2(s·(x_ankle − x_knee), y_ankle − y_knee): 0 vertical, + ankle ahead of the knee."""
    return segment_angle_deg(knee, ankle, facing)


def knee_flexion_deg(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray) -> np.ndarray:
    """180° − the hip-knee-ankle angle: 0 straight, + flexed; unsigned (no hyperextension)."""
    u, v = hip - knee, ankle - knee
    cos = np.sum(u * v, axis=-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return 180.0 - np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def hip_flexion_deg(thigh_deg: np.ndarray, trunk_deg: np.ndarray) -> np.ndarray:
    """thigh angle + trunk lean: 0 thigh along the trunk line, + flexion."""
    return thigh_deg + trunk_deg
