"""QoS of image topics. Default reliable, keep-last 5: best-effort drops most 640x480 frames on
this machine's loopback, and reliable publishers also serve best-effort subscribers."""
from __future__ import annotations

from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

RELIABILITIES = {"reliable": ReliabilityPolicy.RELIABLE, "best_effort": ReliabilityPolicy.BEST_EFFORT}


def image_qos(reliability: str = "reliable", depth: int = 5) -> QoSProfile:
    """Keep-last QoS for image streams; `reliability` is 'reliable' or 'best_effort'."""
    if reliability not in RELIABILITIES:
        raise ValueError(f"image QoS reliability '{reliability}' not understood; expected one of "
                         f"{', '.join(RELIABILITIES)}")
    if depth < 1:
        raise ValueError(f"image QoS depth must be >= 1, got {depth}")
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=RELIABILITIES[reliability])
