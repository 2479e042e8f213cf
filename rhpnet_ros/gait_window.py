"""The gait node's bookkeeping, without ROS: which person is the runner, the sliding window of their
keypoints on the message clock, when the next analysis is due, and which events are new and final.

Times are message header stamps in seconds (camera time live, the bag's on replay), never arrival
times. The window never bridges a long gap: when the stream or the runner is missing for more than
`max_gap_s`, when the followed runner changes or the clock jumps back, it restarts empty, so no
analysis mixes data from before and after (the analysis then says "too few strides" until enough
new strides arrive). Shorter gaps stay in the window as missing frames, which the analysis counts.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from rhpnet_core.gait import GaitAnalysis, GaitEvent, KeypointTrack


class RunnerFollower:
    """Chooses the runner in each Keypoints message: the person with `track_id` when configured (>= 0),
    else the largest (box area) tracked person, kept while in view unless another is `switch_ratio`
    times larger (a runner's box changes with every stride; a bystander followed while the runner
    was away gives way when the runner returns); with an estimator that does not track (every id
    -1), the largest person of each frame."""

    def __init__(self, track_id: int = -1, lost_after_s: float = 1.0, switch_ratio: float = 1.5) -> None:
        self.configured = track_id
        self.lost_after_s = lost_after_s
        self.switch_ratio = switch_ratio
        self.current: int | None = track_id if track_id >= 0 else None
        self.last_seen_s: float | None = None

    def pick(self, stamp_s: float, track_ids: np.ndarray, boxes_xywh: np.ndarray) -> int | None:
        """Index of the runner among this message's persons (N,), or None when not in view."""
        ids = np.asarray(track_ids).reshape(-1)
        areas = np.asarray(boxes_xywh, dtype=float).reshape(-1, 4)[:, 2:].prod(axis=1)
        tracked = np.flatnonzero(ids >= 0)
        if self.current is not None and self.current in ids:
            index = int(np.flatnonzero(ids == self.current)[0])
            best = int(tracked[np.argmax(areas[tracked])])
            if self.configured < 0 and areas[best] > self.switch_ratio * areas[index]:
                index = best
                self.current = int(ids[best])
            self.last_seen_s = stamp_s
            return index
        if self.configured >= 0:
            return None
        if self.current is not None and self.last_seen_s is not None and stamp_s - self.last_seen_s < self.lost_after_s:
            return None  # briefly hidden: keep waiting for the same runner
        if len(tracked):
            best = int(tracked[np.argmax(areas[tracked])])
            self.current, self.last_seen_s = int(ids[best]), stamp_s
            return best
        if len(ids) and not (ids >= 0).any():
            self.current = None  # untracked stream: no identity to keep
            self.last_seen_s = stamp_s
            return int(np.argmax(areas))
        return None

    @property
    def track_id(self) -> int:
        return -1 if self.current is None else self.current


class SlidingWindow:
    """The runner's keypoints over the last `window_s` seconds of message time.

    `add` takes every Keypoints message (keypoints None when the runner is not in it) and returns the
    reason when the window restarted; `due` says when an analysis is due (every `hop_s` of message time).
    """

    def __init__(self, window_s: float = 10.0, hop_s: float = 1.0, max_gap_s: float = 1.0) -> None:
        if not (window_s > 0 and hop_s > 0 and max_gap_s > 0):
            raise ValueError(f"window_s, hop_s and max_gap_s must be positive, got {window_s}, {hop_s}, {max_gap_s}")
        self.window_s, self.hop_s, self.max_gap_s = window_s, hop_s, max_gap_s
        self.samples: deque[tuple[float, np.ndarray]] = deque()
        self.track_id = -1
        self.last_message_s: float | None = None
        self.last_runner_s: float | None = None
        self.next_due_s: float | None = None
        self.restart_reason = ""

    def restart(self, reason: str) -> str:
        self.samples.clear()
        self.last_runner_s = None
        self.restart_reason = reason
        return reason

    def add(self, stamp_s: float, keypoints: np.ndarray | None, track_id: int = -1) -> str:
        """Record one message; keypoints (17, 3) of the runner or None. Returns a restart reason or ''."""
        reason = ""
        if self.last_message_s is not None and stamp_s < self.last_message_s:
            reason = self.restart(f"keypoint stamps went back {self.last_message_s - stamp_s:.2f} s (replay restart)")
            self.next_due_s = None
        elif self.last_message_s is not None and stamp_s - self.last_message_s > self.max_gap_s:
            reason = self.restart(f"no keypoints for {stamp_s - self.last_message_s:.1f} s")
        self.last_message_s = stamp_s
        if self.next_due_s is None:
            self.next_due_s = stamp_s + self.hop_s
        if keypoints is None:
            if self.last_runner_s is not None and stamp_s - self.last_runner_s > self.max_gap_s:
                reason = self.restart(f"runner lost for {stamp_s - self.last_runner_s:.1f} s")
            return reason
        if self.samples and track_id != self.track_id:
            reason = self.restart(f"followed runner changed from track {self.track_id} to {track_id}")
        elif self.last_runner_s is not None and stamp_s - self.last_runner_s > self.max_gap_s:
            reason = self.restart(f"runner not seen for {stamp_s - self.last_runner_s:.1f} s")
        self.track_id = track_id
        self.last_runner_s = stamp_s
        self.samples.append((stamp_s, np.asarray(keypoints, dtype=np.float64)))
        while self.samples and self.samples[0][0] < stamp_s - self.window_s:
            self.samples.popleft()
        return reason

    def runner_missing_s(self) -> float:
        """Seconds of message time since the runner was last seen (inf when never since the restart)."""
        if self.last_message_s is None or self.last_runner_s is None:
            return float("inf")
        return self.last_message_s - self.last_runner_s

    def due(self) -> bool:
        """True once per `hop_s` of message time (on a fixed grid from the first message)."""
        if self.next_due_s is None or self.last_message_s is None or self.last_message_s < self.next_due_s:
            return False
        while self.next_due_s <= self.last_message_s:
            self.next_due_s += self.hop_s
        return True

    def track(self) -> KeypointTrack | None:
        """The window's samples as a KeypointTrack (None when empty)."""
        if not self.samples:
            return None
        return KeypointTrack(np.array([s for s, _ in self.samples]), np.stack([k for _, k in self.samples]),
                             self.track_id)


@dataclass
class EventGate:
    """Passes each event once, when final: at least `final_lag_s` from both window edges (the zero-lag
    filters and the event lookahead cannot move it any more), and not already passed — an event seen
    again by a later window lies within `min_separation_s` of the one passed for its side and kind."""

    final_lag_s: float = 0.5
    min_separation_s: float = 0.3  # < half the shortest stride (0.6 s at 200 spm)

    def __post_init__(self) -> None:
        self.last: dict[tuple[str, str], float] = {}

    def reset(self) -> None:
        self.last.clear()

    def new_events(self, analysis: GaitAnalysis) -> list[GaitEvent]:
        out = []
        for event in sorted(analysis.final_events(self.final_lag_s), key=lambda e: e.time_s):
            if event.time_s < analysis.start_s + self.final_lag_s:
                continue
            key = (event.side, event.kind)
            if key in self.last and event.time_s <= self.last[key] + self.min_separation_s:
                continue
            self.last[key] = event.time_s
            out.append(event)
        return out
