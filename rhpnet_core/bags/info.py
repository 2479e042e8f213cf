"""`rhpnet bag info`: what a bag holds (files, topics, types, hashes, counts, rates, metadata)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from rhpnet_core.bags.reader import BagReader


def bag_info(path: str | Path) -> dict[str, Any]:
    """A JSON-ready summary of BAG (any shape `BagReader` reads)."""
    reader = BagReader(path)
    start, end = reader.start_ns, reader.end_ns
    duration_s = (end - start) * 1e-9 if start is not None else 0.0
    topics = {}
    for name, topic in sorted(reader.topics.items()):
        topics[name] = {"type": topic.msgtype, "count": topic.count, "type_hash": reader.type_hash(name),
                        "rate_hz": round(topic.count / duration_s, 3) if duration_s > 0 else None,
                        "offered_qos": topic.offered_qos}
    return {
        "path": str(reader.path),
        "files": [{"path": str(p.path), "storage": p.storage, "complete": p.complete,
                   "messages": sum(t.count for t in p.topics.values()),
                   **({"stopped_because": p.truncated_reason} if not p.complete else {})}
                  for p in reader.parts],
        "complete": reader.complete,
        "start_ns": start, "end_ns": end, "duration_s": round(duration_s, 3),
        "messages": sum(t["count"] for t in topics.values()),
        "topics": topics,
        "custom_data": reader.custom_data,
    }


def format_info(info: dict[str, Any]) -> str:
    """The summary as a readable table."""
    lines = [f"bag:       {info['path']}",
             f"files:     {len(info['files'])} ({sum(not f['complete'] for f in info['files'])} without index: "
             f"run `rhpnet bag recover`)" if not info["complete"] else
             f"files:     {len(info['files'])}",
             f"duration:  {info['duration_s']:.3f} s",
             f"messages:  {info['messages']}"]
    width = max([len(name) for name in info["topics"]] + [5])
    lines.append(f"{'topic':<{width}}  {'count':>7}  {'rate Hz':>8}  type")
    for name, topic in info["topics"].items():
        rate = f"{topic['rate_hz']:.2f}" if topic["rate_hz"] is not None else "-"
        lines.append(f"{name:<{width}}  {topic['count']:>7}  {rate:>8}  {topic['type']}  {topic['type_hash']}")
    for key, value in sorted(info["custom_data"].items()):
        lines.append(f"metadata {key}: {value}")
    for file in info["files"]:
        if not file["complete"]:
            lines.append(f"no index/footer: {file['path']} ({file['messages']} complete messages; "
                         f"stopped at {file['stopped_because']})")
    return "\n".join(lines)
