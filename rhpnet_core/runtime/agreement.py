"""How far a reduced-precision engine moves the decoded keypoints of its fp32 reference.

Both heatmap sets are decoded by the model's own codec (argmax + DARK/UDP refinement), and the shift
is measured in heatmap pixels (crop pixels / codec scale; one heatmap pixel is 4 input pixels).
Only joints the fp32 network sees are counted (score >= `MIN_JOINT_SCORE` of its peak scale):
a joint with no peak (occluded, outside the crop) has an argmax that any rounding moves anywhere,
which says nothing about the engine.

The export refuses an int8 model whose p95 shift exceeds `MAX_SHIFT_P95_HM_PX` or whose fraction
of joints moving more than one heatmap pixel exceeds `MAX_MOVED_FRACTION`. The p95 bound stays below
the training targets' own width (sigma = 2 heatmap px), so int8 moves a joint by less than the label
spread the network was trained with; a broken quantisation (whole-limb jumps) exceeds both bounds.
Measured in docs/benchmarks.md: the trained tiny test model's int8 p95 is ~1 heatmap px at its coarse
24x16 heatmaps, 3% of joints moving > 1 px.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rhpnet_core.codec import UDPHeatmapCodec

MAX_SHIFT_P95_HM_PX = 1.5
MAX_MOVED_FRACTION = 0.10
# Joints whose fp32 heatmap maximum is below this fraction of the largest maximum are not counted.
MIN_JOINT_SCORE = 0.3


@dataclass
class Agreement:
    """Keypoint shift of a candidate engine against its fp32 reference on the same crops."""

    crops: int
    joints_counted: int
    shift_median_hm_px: float
    shift_p95_hm_px: float
    shift_max_hm_px: float
    moved_over_1px_fraction: float
    heatmap_mean_abs_over_range: float
    max_shift_p95_hm_px: float = MAX_SHIFT_P95_HM_PX
    max_moved_fraction: float = MAX_MOVED_FRACTION

    @property
    def passed(self) -> bool:
        return (self.shift_p95_hm_px <= self.max_shift_p95_hm_px
                and self.moved_over_1px_fraction <= self.max_moved_fraction)

    def as_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}

    def summary(self) -> str:
        return (f"keypoint shift vs fp32 on {self.crops} held-out crops ({self.joints_counted} joints): "
                f"median {self.shift_median_hm_px:.3f}, p95 {self.shift_p95_hm_px:.3f}, "
                f"max {self.shift_max_hm_px:.3f} heatmap px; {100 * self.moved_over_1px_fraction:.1f}% "
                f"moved > 1 heatmap px (limits: p95 <= {self.max_shift_p95_hm_px}, "
                f"moved <= {100 * self.max_moved_fraction:.0f}%)")


def measure_agreement(reference: np.ndarray, candidate: np.ndarray, codec: UDPHeatmapCodec,
                      max_shift_p95_hm_px: float = MAX_SHIFT_P95_HM_PX,
                      max_moved_fraction: float = MAX_MOVED_FRACTION) -> Agreement:
    """Compare heatmaps (N, K, h, w) of the fp32 reference and a candidate engine on the same crops."""
    if reference.shape != candidate.shape or reference.ndim != 4:
        raise ValueError(f"expected two heatmap arrays of one shape (N, K, h, w), got {reference.shape} "
                         f"and {candidate.shape}")
    ref_kps, ref_scores = codec.decode(reference)
    cand_kps, _ = codec.decode(candidate)
    shift = np.linalg.norm((cand_kps - ref_kps) / codec.scale, axis=-1)  # (N, K) heatmap px
    counted = ref_scores >= MIN_JOINT_SCORE * float(ref_scores.max())
    shift = shift[counted]
    value_range = float(reference.max() - reference.min()) or 1.0
    if shift.size == 0:
        raise ValueError("no joint has a heatmap peak in the reference: the network is untrained or the "
                         "crops hold no person; agreement cannot be measured")
    return Agreement(crops=len(reference), joints_counted=int(shift.size),
                     shift_median_hm_px=float(np.median(shift)),
                     shift_p95_hm_px=float(np.percentile(shift, 95)), shift_max_hm_px=float(shift.max()),
                     moved_over_1px_fraction=float((shift > 1.0).mean()),
                     heatmap_mean_abs_over_range=float(np.abs(candidate - reference).mean() / value_range),
                     max_shift_p95_hm_px=max_shift_p95_hm_px, max_moved_fraction=max_moved_fraction)
