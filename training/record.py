"""`rhpnet record --output DIR --topics T [T ...]`: the pose_recorder node in this process (same code,
same parameters), until Ctrl-C / SIGTERM. Everything it writes lies under DIR."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", required=True, help="folder for the split bags")
    parser.add_argument("--topics", required=True, nargs="+", help="topics to record")
    parser.add_argument("--storage", default="mcap", choices=("mcap", "sqlite3"))
    parser.add_argument("--split-duration", type=float, default=60.0, help="seconds per split (0: no limit)")
    parser.add_argument("--split-size", type=float, default=0.0, help="MB per split (0: no limit)")
    parser.add_argument("--flush-period", type=float, default=1.0,
                        help="seconds between flushes: the most a crash can lose")
    parser.add_argument("--compression", default="auto", choices=("auto", "zstd", "none"),
                        help="MCAP chunk compression (auto: zstd unless a topic is CompressedImage)")
    parser.add_argument("--start-paused", action="store_true", help="wait for ~/start")
    parser.add_argument("--qos-overrides", default="", help="YAML {topic: {reliability, durability, depth}}")
    for key in ("subject", "trial", "belt-speed-mps", "model", "checkpoint"):
        parser.add_argument(f"--{key}", default="", help="stored in each split's metadata")


def run(args: argparse.Namespace) -> int:
    from rhpnet_ros.pose_recorder import main

    overrides = {"output": args.output, "topics": list(args.topics), "storage": args.storage,
                 "split_duration": args.split_duration, "split_size": args.split_size,
                 "flush_period": args.flush_period, "compression": args.compression,
                 "start_paused": args.start_paused, "qos_overrides": args.qos_overrides,
                 "subject": args.subject, "trial": args.trial, "belt_speed_mps": args.belt_speed_mps,
                 "model": args.model, "checkpoint": args.checkpoint}
    return main(args=[], overrides=overrides)
