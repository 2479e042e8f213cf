"""Running-gait analytics from a 2D keypoint track: signal chain, gait events, metrics with quality.

One code path for offline reports and the live node (which runs `analyze` on a sliding window).
Definitions, units, signs and the algorithm: docs/gait.md.
"""
from rhpnet_core.gait.analysis import analyze
from rhpnet_core.gait.types import (
    METRICS, SIDE_ANGLES, SIDES, GaitAnalysis, GaitEvent, GaitSeries, GaitSettings, KeypointTrack, Metric, Stride,
)

__all__ = [
    "METRICS", "SIDE_ANGLES", "SIDES", "GaitAnalysis", "GaitEvent", "GaitSeries", "GaitSettings", "KeypointTrack",
    "Metric", "Stride", "analyze",
]
