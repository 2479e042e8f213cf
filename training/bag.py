"""`rhpnet bag info|recover|export BAG`: inspect, rebuild after a crash, export images/keypoints.

BAG is a bag folder (with or without metadata.yaml), a standalone .mcap/.db3, or the DIR of a split
recording (`rhpnet record`, `pose_recorder`).
"""
from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    info = actions.add_parser("info", help="topics, types, hashes, counts, rates, duration, metadata")
    info.add_argument("bag", help="bag folder, .mcap/.db3 file, or DIR of split bags")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    recover = actions.add_parser("recover", help="rebuild complete, indexed bags from a killed recording")
    recover.add_argument("bag")
    recover.add_argument("--output", default=None, help="output bag or DIR (default: <BAG>.recovered)")
    export = actions.add_parser("export", help="a camera topic to mp4, a Keypoints topic to COCO json + csv")
    export.add_argument("bag")
    export.add_argument("--topic", required=True)
    export.add_argument("--output", required=True, help="folder for the exported files")


def run(args: argparse.Namespace) -> int:
    if args.action == "info":
        from rhpnet_core.bags.info import bag_info, format_info

        info = bag_info(args.bag)
        print(json.dumps(info, indent=1) if args.json else format_info(info))
    elif args.action == "recover":
        from rhpnet_core.bags.recover import recover

        for part in recover(args.bag, args.output):
            how = (f"rebuilt, {part.messages} messages (stream ended: {part.stopped_because or 'clean end'})"
                   if part.rebuilt else f"complete, linked unchanged ({part.messages} messages)")
            print(f"{part.source} -> {part.output}: {how}")
    else:
        from rhpnet_core.bags.export import export_topic

        for path in export_topic(args.bag, args.topic, args.output):
            print(path)
    return 0
