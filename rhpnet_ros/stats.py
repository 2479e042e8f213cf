"""Frame counters and latency statistics of a pose node (per summary window and since start)."""
from __future__ import annotations

import threading
import time


class FrameStats:
    """Thread-safe counters: processed frames, persons, latency; drops, skips and failures."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.frames = self.persons = 0
        self.dropped = self.skipped = self.failed = 0
        self.window_latencies: list[float] = []
        self.window_persons = 0
        self.window_start = time.monotonic()
        self.window_counts = (0, 0, 0)

    def record(self, persons: int, latency_ms: float) -> None:
        with self.lock:
            self.frames += 1
            self.persons += persons
            self.window_persons += persons
            self.window_latencies.append(latency_ms)

    def count(self, event: str) -> None:
        """Count one 'dropped', 'skipped' or 'failed' frame."""
        with self.lock:
            setattr(self, event, getattr(self, event) + 1)

    def take_window(self) -> dict[str, object]:
        """Summary of the frames since the previous call (one line per period in the log)."""
        with self.lock:
            now = time.monotonic()
            latencies, elapsed = self.window_latencies, max(now - self.window_start, 1e-9)
            counts = (self.dropped, self.skipped, self.failed)
            summary = {
                "frames": len(latencies),
                "persons": self.window_persons,
                "fps": round(len(latencies) / elapsed, 2),
                "latency_ms": round(sum(latencies) / len(latencies), 1) if latencies else 0.0,
                "dropped": counts[0] - self.window_counts[0],
                "skipped": counts[1] - self.window_counts[1],
                "failed": counts[2] - self.window_counts[2],
            }
            self.window_latencies, self.window_persons = [], 0
            self.window_start, self.window_counts = now, counts
            return summary

    def totals(self) -> dict[str, int]:
        with self.lock:
            return {"frames": self.frames, "persons": self.persons, "dropped": self.dropped,
                    "skipped": self.skipped, "failed": self.failed}
