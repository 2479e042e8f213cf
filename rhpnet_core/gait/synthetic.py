"""A parametric synthetic treadmill runner (research spec §7.1): COCO-17 keypoints in image pixels with
exact ground truth (events, contact time, duty factor, angles, vertical oscillation, overstride), and
the corruptions pose models produce (noise, outliers, dropouts, L/R swaps, collapsed legs, dropped
frames). Pure numpy, deterministic per seed. Also feeds the demo's stick-figure video:
`runner_keypoints(RunnerParams())` returns (times_s, (T, 17, 3) keypoints).

Model (treadmill frame, metres; u forward, z up; pelvis at u = 0): each leg has phase τ ∈ [0, T),
the right leg leads the left by one step T_s. Stance (τ < t_c): ankle u = d_IC − v·τ, z = a0 — an exact
initial contact at τ = 0 and toe-off at τ = t_c. Swing: u is a cubic Hermite back to d_IC, leaving with a
fraction of the belt velocity and landing with another fraction, z = a0 + h_sw·sin²(πσ). The pelvis bobs by VO, lowest at mid-stance; knees by
two-link inverse kinematics, bent forward; segment lengths are Winter's ratios of the height.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from rhpnet_core.keypoints import COCO_FLIP_PAIRS

NOSE, L_EYE, R_EYE, L_EAR, R_EAR, L_SH, R_SH, L_EL, R_EL, L_WR, R_WR, L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANK, R_ANK = range(17)
LEG_JOINTS = {"left": (L_HIP, L_KNEE, L_ANK), "right": (R_HIP, R_KNEE, R_ANK)}
G = 9.81


@dataclass
class RunnerParams:
    """One synthetic runner and camera. Units in the names; facing +1 = runner faces image +x."""

    height_m: float = 1.75
    fps: float = 60.0
    duration_s: float = 20.0
    cadence_spm: float = 180.0
    duty_factor: float = 0.25
    belt_speed_mps: float = 2.5
    overstride_m: float = 0.20
    trunk_lean_deg: float = 8.0
    vertical_oscillation_m: float | None = None  # None: Morin 2005 spring-mass estimate
    swing_lift_m: float = 0.25
    midstance_knee_deg: float = 50.0
    # Foot velocity at toe-off / contact as a fraction of the belt's. The spec uses 1.0 at both: a cubic
    # swing then overshoots ~10 cm behind toe-off and ahead of contact, further than a leg with the
    # ankle on the belt line reaches, so every realistic parameter set was infeasible.
    toe_off_velocity_fraction: float = 0.3
    contact_velocity_fraction: float = 0.5
    facing: int = 1
    px_per_m: float = 300.0
    roll_deg: float = 0.0
    gct_ratio_rl: float = 1.0  # right/left contact time (asymmetry)
    image_size: tuple[int, int] = (1280, 720)
    overground: bool = False  # static camera, the runner crosses the image at belt_speed_mps
    t0_s: float = 0.137  # first right initial contact

    @property
    def step_time_s(self) -> float:
        return 60.0 / self.cadence_spm

    @property
    def leg_length_m(self) -> float:
        return 0.491 * self.height_m

    def contact_time_s(self, side: str) -> float:
        t_c = self.duty_factor * 2 * self.step_time_s
        ratio = math.sqrt(self.gct_ratio_rl)
        return t_c * ratio if side == "right" else t_c / ratio

    def vo_m(self) -> float:
        if self.vertical_oscillation_m is not None:
            return self.vertical_oscillation_m
        t_c = self.duty_factor * 2 * self.step_time_s
        t_f = max(self.step_time_s - t_c, 0.0)
        f_max_per_m = G * math.pi / 2 * (t_f / t_c + 1)
        return float(np.clip(abs(-f_max_per_m * t_c**2 / math.pi**2 + G * t_c**2 / 8), 0.02, 0.12))


@dataclass
class Corruption:
    """Pose-model errors to apply (rates per keypoint-frame or per frame, see each name)."""

    noise_px: float = 0.0
    outlier_rate: float = 0.0  # per keypoint-frame: jump 0.2 leg lengths, score 0.2
    dropout_rate: float = 0.0  # per leg keypoint-frame: NaN runs, mean length 2 frames, far side 2x
    swap_rate: float = 0.0  # fraction of frames inside L/R swap segments (1-10 frames)
    collapse_rate: float = 0.0  # fraction of frames where the far ankle collapses onto the near ankle
    dropped_frame_rate: float = 0.0  # frames missing from the stream (timestamps too)
    seed: int = 0


@dataclass
class SyntheticRun:
    """A generated track and its truth. keypoints (T, 17, 3) image px + score; swapped (T,) bool."""

    times_s: np.ndarray
    keypoints: np.ndarray
    swapped: np.ndarray
    runner: "Runner"
    corruption: Corruption = field(default_factory=Corruption)


class Runner:
    """The continuous model: pose at any time, exact events and truth values."""

    def __init__(self, params: RunnerParams):
        self.p = params
        h = params.height_m
        self.thigh_m, self.shank_m = 0.245 * h, 0.246 * h
        self.ankle_height_m, self.trunk_m = 0.039 * h, 0.288 * h
        self.stride_s = 2 * params.step_time_s
        self.z0 = self._pelvis_mean_height()
        t = np.arange(0.0, self.stride_s * 2, 1e-3)
        for side in ("left", "right"):
            dist = np.linalg.norm(self._ankle_m(t, side) - self._pelvis_m(t)[:, None] * [0, 1], axis=1)
            if dist.max() > 0.999 * (self.thigh_m + self.shank_m):
                raise ValueError(f"infeasible runner: {side} hip-ankle distance {dist.max():.3f} m exceeds the leg "
                                 f"({self.thigh_m + self.shank_m:.3f} m); reduce stance length or overstride")

    # --- timing -------------------------------------------------------------------------------
    def phase_s(self, t: np.ndarray, side: str) -> np.ndarray:
        lead = 0.0 if side == "right" else self.p.step_time_s
        return np.mod(np.asarray(t, dtype=float) - self.p.t0_s - lead, self.stride_s)

    def events_s(self, side: str, start_s: float, end_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Exact (initial contact, toe-off) times of `side` within [start_s, end_s]."""
        lead = 0.0 if side == "right" else self.p.step_time_s
        first = self.p.t0_s + lead - self.stride_s * math.ceil((self.p.t0_s + lead - start_s) / self.stride_s + 1)
        ic = first + self.stride_s * np.arange(int((end_s - first) / self.stride_s) + 2)
        to = ic + self.p.contact_time_s(side)
        return ic[(ic >= start_s) & (ic <= end_s)], to[(to >= start_s) & (to <= end_s)]

    # --- geometry (metres) --------------------------------------------------------------------
    def _ankle_m(self, t: np.ndarray, side: str) -> np.ndarray:
        p = self.p
        tau = self.phase_s(t, side)
        t_c = p.contact_time_s(side)
        t_sw = self.stride_s - t_c
        u_to = p.overstride_m - p.belt_speed_mps * t_c
        sig = np.clip((tau - t_c) / t_sw, 0.0, 1.0)
        m_ic = -p.contact_velocity_fraction * p.belt_speed_mps * t_sw  # end slopes in sigma units
        m_to = -p.toe_off_velocity_fraction * p.belt_speed_mps * t_sw
        h00, h10, h01, h11 = 2 * sig**3 - 3 * sig**2 + 1, sig**3 - 2 * sig**2 + sig, -2 * sig**3 + 3 * sig**2, sig**3 - sig**2
        u_swing = h00 * u_to + h10 * m_to + h01 * p.overstride_m + h11 * m_ic
        stance = tau < t_c
        u = np.where(stance, p.overstride_m - p.belt_speed_mps * tau, u_swing)
        z = np.where(stance, self.ankle_height_m, self.ankle_height_m + p.swing_lift_m * np.sin(np.pi * sig) ** 2)
        return np.stack([u, z], axis=-1)

    def _pelvis_offset(self, t: np.ndarray) -> np.ndarray:
        """Pelvis height relative to its mean: lowest at each mid-stance."""
        mid = self.p.t0_s + self.p.contact_time_s("right") / 2
        return -self.p.vo_m() / 2 * np.cos(2 * np.pi * (np.asarray(t, dtype=float) - mid) / self.p.step_time_s)

    def _pelvis_m(self, t: np.ndarray) -> np.ndarray:
        return self.z0 + self._pelvis_offset(t)

    def _pelvis_mean_height(self) -> float:
        """z0 such that the right knee flexes `midstance_knee_deg` at mid-stance."""
        p = self.p
        interior = math.radians(180.0 - p.midstance_knee_deg)
        d = math.sqrt(self.thigh_m**2 + self.shank_m**2 - 2 * self.thigh_m * self.shank_m * math.cos(interior))
        u_mid = p.overstride_m - p.belt_speed_mps * p.contact_time_s("right") / 2
        if abs(u_mid) >= d:
            raise ValueError(f"infeasible runner: mid-stance ankle {u_mid:.3f} m from the pelvis, leg reach {d:.3f} m")
        return self.ankle_height_m + math.sqrt(d**2 - u_mid**2) + p.vo_m() / 2

    def _knee_m(self, hip: np.ndarray, ankle: np.ndarray) -> np.ndarray:
        """Two-link IK, knee on the forward (+u) side."""
        d_vec = ankle - hip
        d = np.linalg.norm(d_vec, axis=-1, keepdims=True)
        cos_a = np.clip((self.thigh_m**2 + d**2 - self.shank_m**2) / (2 * self.thigh_m * d), -1.0, 1.0)
        alpha = np.arccos(cos_a)[..., 0]
        base = np.arctan2(d_vec[..., 1], d_vec[..., 0])
        # The hip->ankle direction points down; rotating it clockwise (towards +u) puts the knee forward.
        ang = base + alpha
        return hip + self.thigh_m * np.stack([np.cos(ang), np.sin(ang)], axis=-1)

    def pose_m(self, t: np.ndarray) -> np.ndarray:
        """(N, 17, 2) u, z in metres (treadmill frame) at times `t` (N,)."""
        p = self.p
        t = np.atleast_1d(np.asarray(t, dtype=float))
        n = len(t)
        out = np.zeros((n, 17, 2))
        pelvis = np.stack([np.zeros(n), self._pelvis_m(t)], axis=-1)
        out[:, L_HIP] = out[:, R_HIP] = pelvis
        for side in ("left", "right"):
            hip_i, knee_i, ank_i = LEG_JOINTS[side]
            ankle = self._ankle_m(t, side)
            out[:, ank_i] = ankle
            out[:, knee_i] = self._knee_m(pelvis, ankle)
        lean = np.radians(p.trunk_lean_deg + 1.0 * np.sin(2 * np.pi * t / p.step_time_s))
        trunk_dir = np.stack([np.sin(lean), np.cos(lean)], axis=-1)
        shoulder = pelvis + self.trunk_m * trunk_dir
        out[:, L_SH] = out[:, R_SH] = shoulder
        ear = shoulder + 0.13 * p.height_m * trunk_dir
        out[:, L_EAR] = out[:, R_EAR] = ear
        out[:, L_EYE] = out[:, R_EYE] = ear + [0.07, 0.01]
        out[:, NOSE] = ear + [0.10, -0.02]
        upper, fore = 0.186 * p.height_m, 0.146 * p.height_m
        for side, elbow_i, wrist_i, lag in (("left", L_EL, L_WR, 0.0), ("right", R_EL, R_WR, p.step_time_s)):
            # Arms swing against the ipsilateral leg: the left arm is forward when the right leg is.
            swing = np.radians(35.0) * np.cos(2 * np.pi * (t - p.t0_s - lag) / self.stride_s)
            elbow = shoulder + upper * np.stack([np.sin(swing), -np.cos(swing)], axis=-1)
            fore_ang = swing + np.radians(80.0)
            out[:, elbow_i] = elbow
            out[:, wrist_i] = elbow + fore * np.stack([np.sin(fore_ang), -np.cos(fore_ang)], axis=-1)
        return out

    def pose_px(self, t: np.ndarray) -> np.ndarray:
        """(N, 17, 2) image x, y in pixels: scaled, facing applied, centred, rotated by the camera roll."""
        p = self.p
        m = self.pose_m(t)
        cx, cy = p.image_size[0] / 2, p.image_size[1] * 0.55
        u = m[..., 0]
        if p.overground:  # the treadmill frame moves forward; centred at mid-recording
            u = u + p.belt_speed_mps * (np.atleast_1d(np.asarray(t, dtype=float)) - p.duration_s / 2)[:, None]
        dx = p.facing * p.px_per_m * u
        dy = -p.px_per_m * (m[..., 1] - self.z0 * 0.55)
        rho = math.radians(p.roll_deg)  # + = floor line rising to image right
        x = cx + math.cos(rho) * dx + math.sin(rho) * dy
        y = cy - math.sin(rho) * dx + math.cos(rho) * dy
        return np.stack([x, y], axis=-1)

    def near_side(self) -> str:
        return "right" if self.p.facing > 0 else "left"


def runner_keypoints(params: RunnerParams) -> tuple[np.ndarray, np.ndarray]:
    """Clean (times_s (T,), keypoints (T, 17, 3) image px + score) for a stick-figure video."""
    run = make_run(params)
    return run.times_s, run.keypoints


def make_run(params: RunnerParams, corruption: Corruption | None = None) -> SyntheticRun:
    """Sample the runner at `params.fps` for `params.duration_s` and apply `corruption`."""
    corruption = corruption or Corruption()
    rng = np.random.default_rng(corruption.seed)
    runner = Runner(params)
    n = int(round(params.duration_s * params.fps))
    times = np.arange(n) / params.fps
    xy = runner.pose_px(times)
    near = runner.near_side()
    scores = np.full((n, 17), 0.9)
    far_idx = [i for i in range(17) if i in _side_indices("left" if near == "right" else "right")]
    scores[:, far_idx] = 0.6
    kp = np.concatenate([xy, scores[..., None]], axis=-1)
    leg_px = params.leg_length_m * params.px_per_m

    if corruption.noise_px:
        kp[..., :2] += rng.normal(0.0, corruption.noise_px, size=(n, 17, 2))
    if corruption.outlier_rate:
        hit = rng.random((n, 17)) < corruption.outlier_rate
        angle = rng.uniform(0, 2 * np.pi, size=(n, 17))
        kp[..., 0] += np.where(hit, 0.2 * leg_px * np.cos(angle), 0.0)
        kp[..., 1] += np.where(hit, 0.2 * leg_px * np.sin(angle), 0.0)
        kp[..., 2] = np.where(hit, 0.2, kp[..., 2])
    swapped = np.zeros(n, dtype=bool)
    if corruption.swap_rate:
        target = corruption.swap_rate * n
        while swapped.sum() < target:
            start, length = rng.integers(0, n), rng.integers(1, 11)
            swapped[start:start + length] = True
        for a, b in COCO_FLIP_PAIRS:
            kp[swapped, a], kp[swapped, b] = kp[swapped, b].copy(), kp[swapped, a].copy()
    if corruption.collapse_rate:
        near_ank, far_ank = (R_ANK, L_ANK) if near == "right" else (L_ANK, R_ANK)
        collapsed = _runs(rng, n, corruption.collapse_rate, mean_len=6)
        kp[collapsed, far_ank, :2] = kp[collapsed, near_ank, :2]
        kp[collapsed, far_ank, 2] = 0.35
    if corruption.dropout_rate:
        for j in range(11, 17):
            heavier = 2.0 if j in far_idx else 1.0
            gone = _runs(rng, n, min(corruption.dropout_rate * heavier, 0.5), mean_len=2)
            kp[gone, j, :2] = np.nan
            kp[gone, j, 2] = 0.0
    keep = np.ones(n, dtype=bool)
    if corruption.dropped_frame_rate:
        keep = rng.random(n) >= corruption.dropped_frame_rate
    return SyntheticRun(times[keep], kp[keep], swapped[keep], runner, corruption)


def _side_indices(side: str) -> set[int]:
    return {a if side == "left" else b for a, b in COCO_FLIP_PAIRS}


def _runs(rng: np.random.Generator, n: int, rate: float, mean_len: float) -> np.ndarray:
    """(n,) bool: runs of geometric length (mean `mean_len`) covering about `rate` of the frames."""
    mask = np.zeros(n, dtype=bool)
    while mask.sum() < rate * n:
        start = rng.integers(0, n)
        mask[start:start + rng.geometric(1.0 / mean_len)] = True
    return mask


def mirror(keypoints: np.ndarray, width: float) -> np.ndarray:
    """(T, 17, 3) keypoints of the horizontally mirrored image: x -> width - x, L/R labels exchanged."""
    out = keypoints.copy()
    out[..., 0] = width - out[..., 0]
    for a, b in COCO_FLIP_PAIRS:
        out[:, [a, b]] = out[:, [b, a]]
    return out


def walking_params(**overrides) -> RunnerParams:
    """A slow treadmill walker (duty factor >= 0.5: double support, no flight). The ankle stays on the
    belt line through stance, so only a bent-knee walk at a slow belt fits the leg."""
    base = RunnerParams(cadence_spm=116.0, duty_factor=0.58, belt_speed_mps=0.8, overstride_m=0.25,
                        trunk_lean_deg=3.0, vertical_oscillation_m=0.025, swing_lift_m=0.10, midstance_knee_deg=50.0)
    return replace(base, **overrides)
