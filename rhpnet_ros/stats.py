"""Accounting of a pose node: frame counters, rates and latency percentiles for /diagnostics.

Every frame the subscription hands over is `received` and ends in exactly one of `processed`,
`dropped` (replaced by a newer frame before inference), `skipped` (cannot be converted) or `failed`
(the pipeline raised), so at rest `received == processed + dropped + skipped + failed`.
Frames that never reached the node are counted apart: `unseen` from gaps in the publishers'
sequence numbers, `message_lost` from the middleware's QoS event.
"""
from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

OUTCOMES = ("processed", "dropped", "skipped", "failed")
# Per-frame stages in the node: waiting in the mailbox, conversion (deserialise + decode), the
# pipeline's own stages, publishing (messages, overlays); `frame` is the worker's whole time per frame.
STAGES = ("wait", "convert", "detect", "pose", "track", "publish", "frame")
LATENCY_SAMPLES = 300  # percentiles over the most recent frames (seconds to minutes of input)


class NodeStats:
    """Thread-safe: the subscription callback counts `received`, the worker everything else."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts = dict.fromkeys(("received", *OUTCOMES, "unseen", "message_lost"), 0)
        self.persons_total = 0
        self.busy_ms_total = self.inference_ms_total = 0.0
        self.recent: deque[dict[str, float]] = deque(maxlen=LATENCY_SAMPLES)
        self.last_sequence: dict[bytes, int] = {}
        self.window_start = time.monotonic()
        self.window_counts = dict(self.counts)
        self.window_persons: list[int] = []

    def received(self, publisher: bytes | None, sequence: int | None) -> None:
        """One frame taken from the subscription; a gap in `publisher`'s `sequence` numbers counts
        the frames in between as `unseen` (lost between the middleware and the node)."""
        with self.lock:
            self.counts["received"] += 1
            if publisher is None or not sequence:  # the middleware does not report them
                return
            last = self.last_sequence.get(publisher)
            if last is not None and sequence > last + 1:
                self.counts["unseen"] += sequence - last - 1
            self.last_sequence[publisher] = sequence

    def count(self, outcome: str, n: int = 1) -> None:
        """`dropped`, `skipped`, `failed` (one frame each) or `message_lost` (the event's delta)."""
        with self.lock:
            self.counts[outcome] += n

    def processed(self, persons: int, stage_ms: dict[str, float], node_ms: float, age_ms: float) -> None:
        """A processed frame: `stage_ms` by STAGES, `node_ms` from receipt to published, `age_ms`
        from the image stamp to published."""
        with self.lock:
            self.counts["processed"] += 1
            self.persons_total += persons
            self.busy_ms_total += stage_ms.get("frame", 0.0)
            self.inference_ms_total += stage_ms.get("detect", 0.0) + stage_ms.get("pose", 0.0)
            self.window_persons.append(persons)
            self.recent.append({**stage_ms, "node": node_ms, "e2e": age_ms})

    def totals(self) -> dict[str, int]:
        with self.lock:
            return dict(self.counts)

    def report(self) -> dict[str, str]:
        """Diagnostics key/values: cumulative counters, rates over the window since the previous
        call, latency p50/p95 over recent frames (ms), persons per processed frame."""
        with self.lock:
            now = time.monotonic()
            elapsed = max(now - self.window_start, 1e-9)
            values: dict[str, str] = {k: str(v) for k, v in self.counts.items()}
            values["input_rate_hz"] = f"{(self.counts['received'] - self.window_counts['received']) / elapsed:.2f}"
            values["processed_rate_hz"] = \
                f"{(self.counts['processed'] - self.window_counts['processed']) / elapsed:.2f}"
            values["persons"] = f"{np.mean(self.window_persons):.2f}" if self.window_persons else "0"
            values["persons_total"] = str(self.persons_total)
            # Cumulative worker time and its detect + pose part: the node's own cost (conversion,
            # tracking, messages, overlays) between two reports is the rest.
            values["busy_ms_total"] = f"{self.busy_ms_total:.1f}"
            values["inference_ms_total"] = f"{self.inference_ms_total:.1f}"
            for key in ("e2e", "node", *STAGES):
                samples = [frame[key] for frame in self.recent if key in frame]
                p50, p95 = np.percentile(samples, (50, 95)) if samples else (0.0, 0.0)
                values[f"{key}_ms_p50"], values[f"{key}_ms_p95"] = f"{p50:.1f}", f"{p95:.1f}"
            busy = self.busy_ms_total
            values["overhead_share"] = f"{1.0 - self.inference_ms_total / busy:.3f}" if busy > 0 else "0"
            self.window_start, self.window_counts, self.window_persons = now, dict(self.counts), []
            return values
