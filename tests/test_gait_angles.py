"""Angle definitions against the published formulas (Pose2Sim/Sports2D points_to_angles + fixed_angles,
re-implemented here from their source) and the research spec §1 golden pairs."""
from __future__ import annotations

import math

import numpy as np
import pytest

from rhpnet_core.gait import angles as ang


def p2s_points_to_angles(points: list[np.ndarray]) -> float:
    """Pose2Sim common.points_to_angles, 2D branch (angle of u minus angle of v)."""
    if len(points) == 2:
        u, v = points[0] - points[1], np.array([1.0, 0.0])
    elif len(points) == 3:
        u, v = points[0] - points[1], points[2] - points[1]
    else:
        u, v = points[1] - points[0], points[3] - points[2]
    return math.degrees(math.atan2(u[1], u[0]) - math.atan2(v[1], v[0]))


def p2s_fixed(points: list[np.ndarray], offset: float, factor: float) -> float:
    """Pose2Sim common.fixed_angles: (angle + offset) * factor, wrapped to (-180, 180]."""
    a = (p2s_points_to_angles(points) + offset) * factor
    return (a + 180.0) % 360.0 - 180.0


def side_view(thigh_deg: float, knee_deg: float, lean_deg: float, facing: int = 1) -> dict[str, np.ndarray]:
    """Image points (px, y down) of a leg and trunk with known angles."""
    hip = np.array([400.0, 300.0])
    t, k, lam = (math.radians(v) for v in (thigh_deg, knee_deg, lean_deg))
    knee = hip + 200 * np.array([facing * math.sin(t), math.cos(t)])
    shank = t - k  # shank angle from vertical = thigh − knee flexion
    ankle = knee + 210 * np.array([facing * math.sin(shank), math.cos(shank)])
    neck = hip + 250 * np.array([facing * math.sin(lam), -math.cos(lam)])
    return {"hip": hip, "knee": knee, "ankle": ankle, "neck": neck}


# (thigh, knee flexion, trunk lean): includes the spec's pairs (knee 28.1; thigh 14.0 + trunk 4.8 = 18.8; trunk 9.5).
CASES = [(14.0, 28.1, 4.8), (30.0, 10.0, 9.5), (-15.0, 45.0, 0.0), (5.0, 90.0, 15.0)]


@pytest.mark.parametrize("thigh,knee,lean", CASES)
def test_knee_flexion_matches_pose2sim_right_knee(thigh, knee, lean):
    p = side_view(thigh, knee, lean)
    ours = float(ang.knee_flexion_deg(p["hip"], p["knee"], p["ankle"]))
    # angle_dict 'right knee': [['RAnkle', 'RKnee', 'RHip'], 'flexion', -180, 1]
    theirs = p2s_fixed([p["ankle"], p["knee"], p["hip"]], -180.0, 1.0)
    assert ours == pytest.approx(knee, abs=1e-9)
    assert ours == pytest.approx(abs(theirs), abs=1e-9)


@pytest.mark.parametrize("thigh,knee,lean", CASES)
def test_hip_flexion_matches_pose2sim_right_hip(thigh, knee, lean):
    p = side_view(thigh, knee, lean)
    thigh_ours = ang.thigh_angle_deg(p["hip"], p["knee"], 1)
    trunk_ours = ang.trunk_lean_deg(p["hip"], p["neck"], 1)
    hip_ours = float(ang.hip_flexion_deg(thigh_ours, trunk_ours))
    # angle_dict 'right hip': [['RKnee', 'RHip', 'Hip', 'Neck'], 'flexion', 0, -1]
    theirs = p2s_fixed([p["knee"], p["hip"], p["hip"], p["neck"]], 0.0, -1.0)
    assert float(thigh_ours) == pytest.approx(thigh, abs=1e-9)
    assert hip_ours == pytest.approx(thigh + lean, abs=1e-9)
    assert hip_ours == pytest.approx(theirs, abs=1e-9)


@pytest.mark.parametrize("lean", [9.5, 0.0, -2.0, 20.0])
def test_trunk_lean_is_90_minus_sports2d_trunk_segment(lean):
    p = side_view(10.0, 20.0, lean)
    # angle_dict 'trunk': [['Neck', 'Hip'], 'horizontal', 0, -1]; spec pair: 9.5° forward -> S2D 80.5°
    theirs = p2s_fixed([p["neck"], p["hip"]], 0.0, -1.0)
    assert float(ang.trunk_lean_deg(p["hip"], p["neck"], 1)) == pytest.approx(lean, abs=1e-9)
    assert theirs == pytest.approx(90.0 - lean, abs=1e-9)


def test_shank_angle_is_sports2d_shank_plus_90():
    p = side_view(20.0, 35.0, 5.0)
    ours = float(ang.shank_angle_deg(p["knee"], p["ankle"], 1))
    # angle_dict 'right shank': [['RAnkle', 'RKnee'], 'horizontal', 0, -1]; spec: shank_angle = S2D shank + 90
    theirs = p2s_fixed([p["ankle"], p["knee"]], 0.0, -1.0)
    assert ours == pytest.approx(20.0 - 35.0, abs=1e-9)
    assert ours == pytest.approx(theirs + 90.0, abs=1e-9)


@pytest.mark.parametrize("thigh,knee,lean", CASES)
def test_facing_left_gives_identical_angles(thigh, knee, lean):
    right, left = side_view(thigh, knee, lean, 1), side_view(thigh, knee, lean, -1)
    for fn, keys in ((ang.thigh_angle_deg, ("hip", "knee")), (ang.shank_angle_deg, ("knee", "ankle")),
                     (ang.trunk_lean_deg, ("hip", "neck"))):
        assert float(fn(*(left[k] for k in keys), -1)) == pytest.approx(float(fn(*(right[k] for k in keys), 1)))
    assert float(ang.knee_flexion_deg(left["hip"], left["knee"], left["ankle"])) == pytest.approx(knee)


def test_missing_points_give_nan_not_errors():
    nan = np.array([np.nan, np.nan])
    p = side_view(10.0, 20.0, 5.0)
    assert np.isnan(ang.knee_flexion_deg(p["hip"], nan, p["ankle"]))
    assert np.isnan(ang.trunk_lean_deg(nan, p["neck"], 1))
