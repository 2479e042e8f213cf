"""Live equals offline, measured: the gait_node process fed the synthetic runner's Keypoints (camera
stamps, 3x real time) against `rhpnet_core.gait.analyze` on the same samples.

    .venv/bin/python bench/bench_gait_node.py [--seconds 30] [--fps 30] [--noise-px 1]

Prints, over every valid RunningMetrics window, the largest relative difference of any metric median
from the offline analysis of that window, and, for the events the node can make final, how far each
published GaitEvent lies from the offline event on the whole recording (in frames).
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import test_gait_node as live  # noqa: E402  (the node runner and message helpers of the test)
from rhpnet_core.gait.synthetic import Corruption, RunnerParams, make_run  # noqa: E402
from ros_probe import Probe  # noqa: E402

from rhpnet_core.gait import METRICS  # noqa: E402
from rhpnet_ros.gait_messages import stamp_to_s  # noqa: E402

SIDES = {0: "left", 1: "right"}
KINDS = {0: "initial_contact", 1: "toe_off"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--noise-px", type=float, default=1.0)
    args = parser.parse_args()
    run_params = RunnerParams(fps=args.fps, duration_s=args.seconds)
    synthetic = make_run(run_params, Corruption(noise_px=args.noise_px, seed=7))
    times = live.EPOCH_S + synthetic.times_s
    with Probe("bench_gait_node") as probe, tempfile.TemporaryDirectory() as logs:
        node = live.GaitNodeRun(probe, Path(logs))
        try:
            node.wait(lambda: node.keypoints_pub.get_subscription_count() > 0, 60.0)
            node.publish(times, synthetic.keypoints)
            node.wait(lambda: any(stamp_to_s(m.header.stamp) >= times[-1] - 1.0 and m.valid for m in node.metrics),
                      60.0)
        finally:
            node.close()
    valid = [m for m in node.metrics if m.valid]
    worst, compared = 0.0, 0
    for msg in valid:
        reference = live.offline(times, synthetic.keypoints, stamp_to_s(msg.window_start), stamp_to_s(msg.header.stamp))
        for name in METRICS:
            value, expected = getattr(msg, name).value, reference.metrics[name].value
            if expected is not None and math.isfinite(value):
                worst = max(worst, abs(value - expected) / max(abs(expected), 1e-9))
                compared += 1
    whole = live.offline(times, synthetic.keypoints, times[0], times[-1])
    last_end = max(stamp_to_s(m.header.stamp) for m in node.metrics)
    expected = [e for e in whole.events if times[0] + 1.0 <= e.time_s <= last_end - 0.5 and e.accepted]
    frames = np.array([min((abs(stamp_to_s(p.header.stamp) - e.time_s) for p in node.events
                            if SIDES[p.side] == e.side and KINDS[p.type] == e.kind), default=math.inf)
                       for e in expected]) * args.fps
    print(f"runner {run_params.cadence_spm:g} spm, {args.seconds:g} s at {args.fps:g} fps, noise {args.noise_px:g} px")
    print(f"windows: {len(valid)} valid of {len(node.metrics)}; {compared} metric medians compared; "
          f"max relative difference live vs offline window: {worst:.1e}")
    print(f"events: {len(expected)} final offline, {len(node.events)} published; |live - offline| in frames: "
          f"median {np.median(frames):.3f}, p95 {np.percentile(frames, 95):.3f}, max {frames.max():.3f}; "
          f"identical (< 0.001 frame): {100 * np.mean(frames < 1e-3):.0f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
