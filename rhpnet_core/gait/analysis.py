"""`analyze`: one window of one runner's keypoint track -> events, strides and metrics with quality."""
from __future__ import annotations

from rhpnet_core.gait.types import GaitAnalysis, GaitSettings, KeypointTrack


def analyze(track: KeypointTrack, settings: GaitSettings | None = None) -> GaitAnalysis:
    """Analyse one runner's track (offline: the whole recording; live: the node's sliding window).

    Never raises on bad data (too short, no runner, all NaN): returns `valid=False` with a reason and
    None values. Raises ValueError only for malformed inputs (shapes, settings).
    """
    raise NotImplementedError("gait analysis is being implemented (API committed first for the node/report)")
