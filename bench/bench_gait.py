"""Time `analyze` on the live node's window (10 s at 30 fps; the node runs it at 1 Hz) and on a
longer offline recording, with a synthetic σ = 2 px runner. Prints measured milliseconds.

    .venv/bin/python bench/bench_gait.py
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rhpnet_core.gait.synthetic import Corruption, RunnerParams, make_run  # noqa: E402

from rhpnet_core.gait import GaitSettings, KeypointTrack, analyze  # noqa: E402


def time_ms(track: KeypointTrack, repeats: int) -> list[tuple[float, float]]:
    """(wall ms, process CPU ms) per call; CPU time is less disturbed by other jobs on a shared machine."""
    out = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        analyze(track, GaitSettings(belt_speed_mps=2.5))
        out.append((1000.0 * (time.perf_counter() - wall), 1000.0 * (time.process_time() - cpu)))
    return out


def main() -> None:
    cases = {"live window 10 s @ 30 fps": (30.0, 10.0), "live window 10 s @ 60 fps": (60.0, 10.0),
             "offline 120 s @ 60 fps": (60.0, 120.0)}
    tracks = {}
    for name, (fps, duration) in cases.items():
        run = make_run(replace(RunnerParams(), fps=fps, duration_s=duration),
                       Corruption(noise_px=2.0, dropout_rate=0.05, swap_rate=0.01, outlier_rate=0.01, seed=0))
        tracks[name] = KeypointTrack(run.times_s, run.keypoints)
        time_ms(tracks[name], 1)  # warm-up
    results = {name: [] for name in cases}
    for _ in range(5):  # alternate the cases so a shared machine's load hits them alike
        for name, track in tracks.items():
            results[name] += time_ms(track, 2 if "live" in name else 1)
    print(f"{'case':<28} {'frames':>7} {'wall median ms':>15} {'wall p90 ms':>12} {'CPU median ms':>14}")
    for name, ms in results.items():
        wall, cpu = np.array(ms).T
        print(f"{name:<28} {len(tracks[name]):>7} {np.median(wall):>15.1f} {np.percentile(wall, 90):>12.1f} "
              f"{np.median(cpu):>14.1f}")


if __name__ == "__main__":
    main()
