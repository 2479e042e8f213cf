"""Rebuild complete, indexed bags from a killed recording (`rhpnet bag recover`).

A footer-less MCAP is streamed record by record (schemas, channels, every message of every complete
chunk) and rewritten with rosbags into a closed bag with index and metadata.yaml: the same message
bytes and log times, the same types with their embedded definitions and RIHS01 hashes, the offered
QoS. A sqlite3 file with a hot journal is rolled back to its last commit on a copy and rewritten.
Complete parts are hard-linked (or copied) unchanged. The source is never modified.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from rosbags.rosbag2 import Writer
from rosbags.rosbag2.metadata import parse_qos

from rhpnet_core.bags.reader import BagPart, BagReader, find_parts, has_hot_journal
from rhpnet_core.bags.recording import STORAGES


@dataclass
class RecoveredPart:
    source: Path
    output: Path
    rebuilt: bool  # False: the part was complete and is linked/copied unchanged
    messages: int
    stopped_because: str = ""  # where streaming the damaged file ended


def default_output(bag: Path) -> Path:
    bag = Path(bag)
    name = bag.stem if bag.is_file() else bag.name
    return bag.parent / f"{name}.recovered"


def recover(bag: str | Path, output: str | Path | None = None) -> list[RecoveredPart]:
    """Write a complete copy of BAG to `output` (default `<BAG>.recovered`): damaged parts rebuilt,
    complete ones linked. A DIR of splits gives a DIR of splits with the same names."""
    bag = Path(bag)
    output = Path(output) if output is not None else default_output(bag)
    if output.exists():
        raise ValueError(f"recovery output {output} exists already; choose another --output")
    with tempfile.TemporaryDirectory(prefix="rhpnet-recover-") as scratch:
        parts = _parts_with_journals_rolled_back(bag, Path(scratch))
        folders = {part.path.parent for part in parts}
        single = len(folders) == 1
        results = []
        for part in parts:
            target = output if single else output / _folder_name(part)
            if single and len(parts) > 1:  # several files of one bag folder
                target = output / part.path.stem
            results.append(_recover_part(part, target))
    return results


def _folder_name(part: BagPart) -> str:
    source = part.origin or part.path
    return source.parent.name if source.parent.name else source.stem


def _parts_with_journals_rolled_back(bag: Path, scratch: Path) -> list[BagPart]:
    """The parts of BAG; a .db3 with a hot journal is copied to `scratch` and rolled back there first."""
    hot = [db for db in ([bag] if bag.is_file() else bag.rglob("*.db3")) if db.suffix == ".db3" and has_hot_journal(db)]
    if not hot:
        return find_parts(bag)
    copy_root = scratch / "bag"
    if bag.is_file():
        copy_root.mkdir()
        shutil.copy2(bag, copy_root / bag.name)
        shutil.copy2(bag.with_name(bag.name + "-journal"), copy_root / (bag.name + "-journal"))
        copied = copy_root / bag.name
    else:
        shutil.copytree(bag, copy_root)
        copied = copy_root
    for db in copy_root.rglob("*.db3"):
        if has_hot_journal(db):
            with closing(sqlite3.connect(db)) as connection:  # the first read rolls the journal back
                connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    parts = find_parts(copied)
    for part in parts:  # name outputs after the source, not the scratch copy
        part.origin = bag / part.path.relative_to(copy_root) if bag.is_dir() else bag
    return parts


def _recover_part(part: BagPart, target: Path) -> RecoveredPart:
    source = part.origin or part.path
    if part.complete and part.origin is None:
        return RecoveredPart(source, _link_complete(part, target), False, sum(t.count for t in part.topics.values()))
    reader = BagReader(part.path, [part])
    count = 0
    writer = Writer(target, version=Writer.VERSION_LATEST, storage_plugin=STORAGES[part.storage])
    for key, value in part.custom_data.items():
        writer.set_custom_data(key, value)
    writer.set_custom_data("recovered_from", str(source))
    with writer:
        connections = {}
        for name, topic in part.topics.items():
            definition = topic.definition or reader.typestore_for(topic.msgtype).generate_msgdef(
                topic.msgtype, ros_version=2)[0]
            connections[name] = writer.add_connection(
                name, topic.msgtype, msgdef=definition, rihs01=reader.type_hash(name),
                offered_qos_profiles=parse_qos(topic.offered_qos))
        for message in part.messages():
            writer.write(connections[message.topic], message.log_time_ns, message.data)
            count += 1
    return RecoveredPart(source, target, True, count, part.truncated_reason)


def _link_complete(part: BagPart, target: Path) -> Path:
    """A complete part keeps its bytes: hard links where possible (no copy of GBs), else a copy."""
    folder = part.path.parent
    target.mkdir(parents=True, exist_ok=True)
    companions = [folder / "metadata.yaml"] if (folder / "metadata.yaml").is_file() else []
    for file in [part.path, *companions]:
        destination = target / file.name
        if destination.exists():
            continue
        try:
            os.link(file, destination)
        except OSError:
            shutil.copy2(file, destination)
    return target

