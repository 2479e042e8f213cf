"""Read any rosbag2 recording without rclpy: a bag folder (with or without metadata.yaml), a standalone
`.mcap` or `.db3`, a DIR of split bags (what `rhpnet record` writes), and MCAP files a crash left
without footer/index (streamed record by record up to the last complete chunk).

Messages stay raw CDR bytes (`BagMessage.data`) until `BagReader.decode` turns them into rosbags
dataclasses with the definitions embedded in the bag (falling back to `project_typestore()` for
legacy bags without definitions).
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from mcap.exceptions import McapError
from mcap.reader import make_reader
from mcap.records import Channel, Message, Metadata, Schema
from mcap.stream_reader import StreamReader
from rosbags.typesys import Stores, get_typestore

from rhpnet_core.bags.types import ensure_type, project_typestore, register_definition

log = logging.getLogger(__name__)

MCAP_MAGIC = b"\x89MCAP0\r\n"
STORAGE_SUFFIXES = {".mcap": "mcap", ".db3": "sqlite3"}


class BagError(ValueError):
    """A path that is no readable bag, or a bag that cannot be read; the message names it."""


@dataclass
class TopicInfo:
    """What a bag says about one topic. `type_hash` is RIHS01 ('' when the bag does not carry it)."""

    name: str
    msgtype: str
    type_hash: str = ""
    offered_qos: str = ""  # rosbag2's YAML of the publishers' offered QoS profiles
    definition: str = ""  # embedded message definition (ros2msg / ros2idl text)
    encoding: str = "ros2msg"
    count: int = 0


@dataclass(frozen=True)
class BagMessage:
    topic: str
    msgtype: str
    log_time_ns: int
    data: bytes  # serialized CDR, exactly as recorded


@dataclass
class BagPart:
    """One storage file. `complete` is False for a footer-less MCAP (a recorder that was killed)."""

    path: Path
    storage: str  # 'mcap' | 'sqlite3'
    complete: bool = True
    custom_data: dict[str, str] = field(default_factory=dict)
    topics: dict[str, TopicInfo] = field(default_factory=dict)
    start_ns: int | None = None
    end_ns: int | None = None
    truncated_reason: str = ""  # why streaming a footer-less file stopped
    origin: Path | None = None  # the source file when this part is a scratch copy (recovery)

    def messages(self, topics: set[str] | None = None) -> Iterator[BagMessage]:
        if self.storage == "sqlite3":
            yield from _sqlite3_messages(self, topics)
        elif self.complete:
            yield from _indexed_mcap_messages(self, topics)
        else:
            yield from _streamed_mcap_messages(self, topics)


def find_parts(path: str | Path) -> list[BagPart]:
    """The storage files of BAG, in recording order (by first message time)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"bag {path} does not exist")
    if path.is_file():
        if path.suffix not in STORAGE_SUFFIXES:
            raise BagError(f"{path} is no bag file; expected a .mcap or .db3 file, a bag folder or a "
                           f"folder of split bags")
        files, metadata = [path], _folder_metadata(path.parent) if path.parent != path else {}
        metadata = {} if path.name not in metadata.get("relative_file_paths", [path.name]) else metadata
    elif (path / "metadata.yaml").is_file():
        metadata = _folder_metadata(path)
        mode = (metadata.get("compression_mode") or "").lower()
        if mode not in ("", "none"):
            raise BagError(f"{path} uses rosbag2 '{mode}' compression (not indexable); decompress it with "
                           f"`ros2 bag convert` first, or record with MCAP chunk compression")
        files = [path / Path(name).name for name in metadata.get("relative_file_paths", [])]
        missing = [str(f) for f in files if not f.exists()]
        if missing:
            raise BagError(f"bag {path}: files named in metadata.yaml are missing: {', '.join(missing)}")
    else:
        files = sorted(f for f in path.iterdir() if f.is_file() and f.suffix in STORAGE_SUFFIXES)
        metadata = {}
        if not files:  # a DIR of split bags: every sub-folder that is a bag
            parts = [part for sub in sorted(path.iterdir()) if sub.is_dir() and _looks_like_bag(sub)
                     for part in find_parts(sub)]
            if not parts:
                raise BagError(f"{path} holds no bag: expected metadata.yaml, .mcap/.db3 files, or "
                               f"sub-folders that are bags")
            return _in_time_order(parts)
    custom = {str(k): str(v) for k, v in (metadata.get("custom_data") or {}).items()}
    hashes = {t["topic_metadata"]["name"]: t["topic_metadata"].get("type_description_hash", "")
              for t in metadata.get("topics_with_message_count", [])}
    parts = [_open_part(f, custom, hashes) for f in files]
    return _in_time_order(parts)


def _looks_like_bag(folder: Path) -> bool:
    return (folder / "metadata.yaml").is_file() or any(
        f.suffix in STORAGE_SUFFIXES for f in folder.iterdir() if f.is_file())


def _in_time_order(parts: list[BagPart]) -> list[BagPart]:
    return sorted(parts, key=lambda p: (p.start_ns is None, p.start_ns or 0, str(p.path)))


def _folder_metadata(folder: Path) -> dict:
    meta_path = folder / "metadata.yaml"
    if not meta_path.is_file():
        return {}
    try:
        data = yaml.safe_load(meta_path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise BagError(f"{meta_path} is not valid YAML: {exc}") from None
    return data.get("rosbag2_bagfile_information", {})


def _open_part(path: Path, custom: dict[str, str], hashes: dict[str, str]) -> BagPart:
    storage = STORAGE_SUFFIXES[path.suffix]
    part = BagPart(path, storage, custom_data=dict(custom))
    if storage == "sqlite3":
        _scan_sqlite3(part)
    else:
        _scan_mcap(part)
    for name, digest in hashes.items():
        if name in part.topics and digest and not part.topics[name].type_hash:
            part.topics[name].type_hash = digest
    return part


# ---------------------------------------------------------------- MCAP

def _mcap_has_footer(path: Path) -> bool:
    size = path.stat().st_size
    if size < 2 * len(MCAP_MAGIC):
        return False
    with path.open("rb") as fh:
        fh.seek(size - len(MCAP_MAGIC))
        return fh.read() == MCAP_MAGIC


def _topic_from_channel(channel: Channel, schema: Schema | None) -> TopicInfo:
    meta = channel.metadata or {}
    return TopicInfo(channel.topic, schema.name if schema else "", meta.get("topic_type_hash", ""),
                     meta.get("offered_qos_profiles", ""),
                     schema.data.decode(errors="replace") if schema else "",
                     schema.encoding if schema else "")


def _rosbag2_custom_data(text: str) -> dict[str, str]:
    info = yaml.safe_load(text) or {}
    return {str(k): str(v) for k, v in (info.get("custom_data") or {}).items()}


def _scan_mcap(part: BagPart) -> None:
    """Topics, counts, time range: from the summary when the file is complete, else by streaming it."""
    if _mcap_has_footer(part.path):
        try:
            with part.path.open("rb") as fh:
                reader = make_reader(fh)
                summary = reader.get_summary()
                if summary is not None:
                    for channel in summary.channels.values():
                        topic = _topic_from_channel(channel, summary.schemas.get(channel.schema_id))
                        if summary.statistics:
                            topic.count = summary.statistics.channel_message_counts.get(channel.id, 0)
                        part.topics[channel.topic] = topic
                    if summary.statistics and summary.statistics.message_count:
                        part.start_ns = summary.statistics.message_start_time
                        part.end_ns = summary.statistics.message_end_time
                    for record in reader.iter_metadata():
                        if record.name == "rosbag2" and "serialized_metadata" in record.metadata:
                            part.custom_data = {**_rosbag2_custom_data(record.metadata["serialized_metadata"]),
                                                **part.custom_data}
                    return
        except (McapError, ValueError, OSError) as exc:
            log.warning("%s: index unreadable (%s); streaming it instead", part.path, exc)
    part.complete = False
    for message in _streamed_mcap_messages(part, None):
        topic = part.topics[message.topic]
        topic.count += 1
        part.start_ns = message.log_time_ns if part.start_ns is None else min(part.start_ns, message.log_time_ns)
        part.end_ns = message.log_time_ns if part.end_ns is None else max(part.end_ns, message.log_time_ns)


def _indexed_mcap_messages(part: BagPart, topics: set[str] | None) -> Iterator[BagMessage]:
    with part.path.open("rb") as fh:
        reader = make_reader(fh)
        for schema, channel, message in reader.iter_messages(topics=sorted(topics) if topics else None,
                                                             log_time_order=True):
            yield BagMessage(channel.topic, schema.name if schema else "", message.log_time, message.data)


def _streamed_mcap_messages(part: BagPart, topics: set[str] | None) -> Iterator[BagMessage]:
    """Every complete message of a damaged/footer-less MCAP, in file order; stops at the first
    truncated or corrupt record (a crash cuts the file inside the chunk being written)."""
    schemas: dict[int, Schema] = {}
    channels: dict[int, Channel] = {}
    with part.path.open("rb") as fh:
        records = StreamReader(fh, record_size_limit=1 << 32).records
        while True:
            try:
                record = next(records)
            except StopIteration:
                return
            except Exception as exc:  # EndOfFile, a half-written chunk (zstd/lz4/CRC), garbage after a crash
                part.truncated_reason = f"{type(exc).__name__}: {exc}"
                return
            if isinstance(record, Schema):
                schemas[record.id] = record
            elif isinstance(record, Channel):
                channels[record.id] = record
                if record.topic not in part.topics:
                    part.topics[record.topic] = _topic_from_channel(record, schemas.get(record.schema_id))
            elif isinstance(record, Metadata) and record.name == "rosbag2":
                part.custom_data = {**_rosbag2_custom_data(record.metadata.get("serialized_metadata", "")),
                                    **part.custom_data}
            elif isinstance(record, Message):
                channel = channels.get(record.channel_id)
                if channel is None or (topics and channel.topic not in topics):
                    continue
                schema = schemas.get(channel.schema_id)
                yield BagMessage(channel.topic, schema.name if schema else "", record.log_time, record.data)


# ---------------------------------------------------------------- sqlite3

SQLITE_JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")  # header of a rollback journal still in use


def has_hot_journal(path: Path) -> bool:
    """Whether a .db3 has a rollback journal of an unfinished transaction (a zeroed header = finished)."""
    journal = path.with_name(path.name + "-journal")
    if not journal.is_file():
        return False
    with journal.open("rb") as fh:
        return fh.read(len(SQLITE_JOURNAL_MAGIC)) == SQLITE_JOURNAL_MAGIC


def _connect_sqlite3(path: Path) -> sqlite3.Connection:
    if has_hot_journal(path):
        # A writer died mid-transaction: the file may hold uncommitted pages. Reading must not modify
        # it; `recover` rolls the journal back on a copy.
        raise BagError(f"{path} has a hot journal ({path.name}-journal): its writer did not close it; "
                       f"run `rhpnet bag recover` on it")
    return sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)


def _scan_sqlite3(part: BagPart) -> None:
    try:
        with _connect_sqlite3(part.path) as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(topics)")}
            hash_col = "type_description_hash" if "type_description_hash" in columns else "''"
            qos_col = "offered_qos_profiles" if "offered_qos_profiles" in columns else "''"
            definitions = {}
            if db.execute("SELECT name FROM sqlite_master WHERE name='message_definitions'").fetchone():
                definitions = {row[0]: (row[1], row[2]) for row in db.execute(
                    "SELECT topic_type, encoding, encoded_message_definition FROM message_definitions")}
            for topic_id, name, msgtype, digest, qos in db.execute(
                    f"SELECT id, name, type, {hash_col}, {qos_col} FROM topics"):
                encoding, definition = definitions.get(msgtype, ("ros2msg", ""))
                count = db.execute("SELECT COUNT(*) FROM messages WHERE topic_id=?", (topic_id,)).fetchone()[0]
                part.topics[name] = TopicInfo(name, msgtype, digest or "", qos or "", definition or "",
                                              encoding or "ros2msg", count)
            # rosbag2/rosbags write the `metadata` row at close: without it the writer never closed.
            if db.execute("SELECT name FROM sqlite_master WHERE name='metadata'").fetchone():
                part.complete = db.execute("SELECT COUNT(*) FROM metadata").fetchone()[0] > 0
                part.truncated_reason = "" if part.complete else "writer never closed (no metadata row)"
            start, end = db.execute("SELECT MIN(timestamp), MAX(timestamp) FROM messages").fetchone()
            part.start_ns, part.end_ns = start, end
    except sqlite3.DatabaseError as exc:
        raise BagError(f"{part.path} is not a readable rosbag2 sqlite3 file: {exc}") from None


def _sqlite3_messages(part: BagPart, topics: set[str] | None) -> Iterator[BagMessage]:
    with _connect_sqlite3(part.path) as db:
        names = {row[0]: (row[1], row[2]) for row in db.execute("SELECT id, name, type FROM topics")}
        for topic_id, timestamp, data in db.execute(
                "SELECT topic_id, timestamp, data FROM messages ORDER BY timestamp, id"):
            name, msgtype = names[topic_id]
            if topics and name not in topics:
                continue
            yield BagMessage(name, msgtype, timestamp, bytes(data))


# ---------------------------------------------------------------- the reader

class BagReader:
    """`BagReader(BAG)`: topics, counts, metadata and time-ordered raw messages of every part of BAG."""

    def __init__(self, path: str | Path, parts: list[BagPart] | None = None) -> None:
        self.path = Path(path)
        self.parts = find_parts(self.path) if parts is None else parts
        self._embedded = get_typestore(Stores.EMPTY)
        self._fallback = None
        for part in self.parts:
            for topic in part.topics.values():
                register_definition(self._embedded, topic.msgtype, topic.encoding, topic.definition)

    @property
    def complete(self) -> bool:
        return all(part.complete for part in self.parts)

    @property
    def topics(self) -> dict[str, TopicInfo]:
        """Topics over all parts; counts summed, the first part's type/hash/QoS kept."""
        merged: dict[str, TopicInfo] = {}
        for part in self.parts:
            for name, topic in part.topics.items():
                if name in merged:
                    merged[name].count += topic.count
                    merged[name].type_hash = merged[name].type_hash or topic.type_hash
                else:
                    merged[name] = TopicInfo(**vars(topic))
        return merged

    @property
    def custom_data(self) -> dict[str, str]:
        """custom_data of every part (later parts win on equal keys)."""
        merged: dict[str, str] = {}
        for part in self.parts:
            merged.update(part.custom_data)
        return merged

    @property
    def start_ns(self) -> int | None:
        starts = [p.start_ns for p in self.parts if p.start_ns is not None]
        return min(starts) if starts else None

    @property
    def end_ns(self) -> int | None:
        ends = [p.end_ns for p in self.parts if p.end_ns is not None]
        return max(ends) if ends else None

    def topics_of_type(self, *msgtypes: str) -> list[str]:
        return sorted(name for name, topic in self.topics.items() if topic.msgtype in msgtypes)

    def messages(self, topics: Iterable[str] | None = None) -> Iterator[BagMessage]:
        """Raw messages of `topics` (all when None), part after part in recording order."""
        wanted = set(topics) if topics is not None else None
        if wanted:
            unknown = wanted - set(self.topics)
            if unknown:
                raise BagError(f"bag {self.path} has no topic {', '.join(sorted(unknown))}; topics: "
                               f"{', '.join(sorted(self.topics)) or 'none'}")
        for part in self.parts:
            yield from part.messages(wanted)

    def typestore_for(self, msgtype: str):
        """The typestore that decodes `msgtype`: the bag's own definition, else the project's."""
        if msgtype in self._embedded.fielddefs:
            return self._embedded
        if self._fallback is None:
            self._fallback = project_typestore()
        ensure_type(self._fallback, msgtype)
        return self._fallback

    def decode(self, message: BagMessage):
        """The message as a rosbags dataclass (attribute names as in the .msg)."""
        return self.typestore_for(message.msgtype).deserialize_cdr(message.data, message.msgtype)

    def type_hash(self, topic: str) -> str:
        """RIHS01 of `topic`'s type: as recorded, else computed from its definition."""
        info = self.topics[topic]
        return info.type_hash or self.typestore_for(info.msgtype).hash_rihs01(info.msgtype)
