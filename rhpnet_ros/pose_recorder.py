"""pose_recorder: records an explicit list of topics into crash-bounded split bags (rhpnet_core.bags).

Subscriptions are raw (the CDR bytes are written as received, never re-serialised) with a QoS
compatible with the topic's publishers (best effort if any publisher is, transient local if all
are; overridable per topic); topics that appear later are picked up by a discovery timer. Each
topic's type, RIHS01 hash and offered QoS go into the bag; lost messages (middleware `message_lost`
events, camera header-stamp gaps) into every split's custom_data. Services `~/start`, `~/stop`,
`~/split` (std_srvs/Trigger). SIGINT/SIGTERM close the open split (well within launch's 5 s).
"""
from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import yaml
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from std_srvs.srv import Trigger

import rhpnet_core
from rhpnet_core.bags.images import IMAGE_TYPES
from rhpnet_core.bags.keypoints import KEYPOINTS_TYPE
from rhpnet_core.bags.recording import RecordingError, SplitRecorder, StampGapCounter, cdr_header_stamp_ns
from rhpnet_core.bags.scoring import file_sha256
from rhpnet_core.bags.types import UnknownTypeError, ensure_type, project_typestore
from rhpnet_ros.node_runner import run_node

DISCOVERY_PERIOD_S = 0.5
TICK_PERIOD_S = 0.1
DEFAULT_DEPTH = 10
METADATA_PARAMETERS = ("subject", "trial", "belt_speed_mps", "model")
QOS_CHOICES = {
    "reliability": {"reliable": ReliabilityPolicy.RELIABLE, "best_effort": ReliabilityPolicy.BEST_EFFORT},
    "durability": {"volatile": DurabilityPolicy.VOLATILE, "transient_local": DurabilityPolicy.TRANSIENT_LOCAL},
}


def project_version() -> str:
    """rhpnet's version plus the checkout's git revision when there is one."""
    try:
        rev = subprocess.run(["git", "-C", str(Path(rhpnet_core.__file__).parent), "describe", "--always",
                              "--dirty"], capture_output=True, text=True, timeout=2.0).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        rev = ""
    return f"{rhpnet_core.__version__}+{rev}" if rev else rhpnet_core.__version__


def message_class(msgtype: str):
    package, _, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{package}.msg"), name)


def _qos_time(duration) -> QosTime:
    ns = int(duration.nanoseconds)
    return QosTime(ns // 1_000_000_000, ns % 1_000_000_000)


def offered_qos(profile: QoSProfile) -> Qos:
    """A publisher's rclpy QoS as rosbags stores it in the bag."""
    return Qos(QosHistory(int(profile.history)), int(profile.depth), QosReliability(int(profile.reliability)),
               QosDurability(int(profile.durability)), _qos_time(profile.deadline), _qos_time(profile.lifespan),
               QosLiveliness(int(profile.liveliness)), _qos_time(profile.liveliness_lease_duration),
               bool(profile.avoid_ros_namespace_conventions))


def subscription_qos(publishers: list, override: dict | None) -> QoSProfile:
    """Compatible with every publisher: reliable unless one is best effort; transient local only if
    all are (late-joining gets their latched messages). `override` keys: reliability, durability, depth."""
    reliable = all(p.qos_profile.reliability == ReliabilityPolicy.RELIABLE for p in publishers)
    latched = bool(publishers) and all(p.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL
                                       for p in publishers)
    qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=DEFAULT_DEPTH,
                     reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)
    for key, value in (override or {}).items():
        if key == "depth":
            qos.depth = int(value)
        elif key in QOS_CHOICES:
            if value not in QOS_CHOICES[key]:
                raise ValueError(f"QoS override {key}: '{value}' not understood; expected one of "
                                 f"{', '.join(QOS_CHOICES[key])}")
            setattr(qos, key, QOS_CHOICES[key][value])
        else:
            raise ValueError(f"QoS override key '{key}' not understood; expected reliability, durability, depth")
    return qos


class PoseRecorder(Node):
    def __init__(self, overrides: dict[str, object] | None = None) -> None:
        super().__init__("pose_recorder", parameter_overrides=[
            Parameter(key, value=value) for key, value in (overrides or {}).items()])
        p = self.declare_parameter
        output = p("output", "").value
        topics = p("topics", Parameter.Type.STRING_ARRAY).value or []
        storage = p("storage", "mcap").value
        split_duration = float(p("split_duration", 60.0).value)  # s; 0 = no duration limit
        split_size = float(p("split_size", 0.0).value)  # MB; 0 = no size limit
        flush_period = float(p("flush_period", 1.0).value)  # s: the crash-loss bound
        compression = p("compression", "auto").value
        start_paused = bool(p("start_paused", False).value)
        qos_overrides_path = p("qos_overrides", "").value
        min_free_mb = float(p("min_free_mb", 64.0).value)
        checkpoint = p("checkpoint", "").value
        # Any type: launch arguments arrive as YAML ('2.8' a double, '01' an int), all stored as text.
        metadata = {key: p(key, "", ParameterDescriptor(dynamic_typing=True)).value for key in METADATA_PARAMETERS}
        metadata = {key: str(value) for key, value in metadata.items() if value not in ("", None)}
        if not output:
            raise ValueError("parameter 'output' is required: the folder the splits go to")
        if not topics:
            raise ValueError("parameter 'topics' is required: the topics to record")
        self.qos_overrides = yaml.safe_load(Path(qos_overrides_path).read_text()) if qos_overrides_path else {}
        metadata["project_version"] = project_version()
        if checkpoint:
            metadata["checkpoint_sha256"] = file_sha256(checkpoint)
        if storage == "sqlite3":
            self.get_logger().warning("storage sqlite3: commits every flush_period; prefer mcap for live recording "
                                      "(chunk compression, readable by every MCAP tool)")
        try:
            self.recorder = SplitRecorder(output, storage, split_duration, split_size, flush_period, compression,
                                          metadata, min_free_mb)
        except RecordingError as exc:
            raise RuntimeError(str(exc)) from None
        self.recorder.paused = start_paused
        self.store = project_typestore()
        self.pending = [self.resolve_topic_name(t) for t in topics]
        self.subscriptions_by_topic = {}
        self.gap_counters: dict[str, StampGapCounter] = {}
        self.received: dict[str, int] = {}
        self.done = False
        self.create_timer(DISCOVERY_PERIOD_S, self.discover)
        self.create_timer(TICK_PERIOD_S, self.tick)
        self.create_service(Trigger, "~/start", self.on_start)
        self.create_service(Trigger, "~/stop", self.on_stop)
        self.create_service(Trigger, "~/split", self.on_split)
        self.discover()
        self.get_logger().info(f"recording {', '.join(self.pending)} into {output} ({storage}, split "
                               f"{split_duration or '-'} s / {split_size or '-'} MB, flush {flush_period} s)"
                               f"{' - paused until ~/start' if start_paused else ''}")

    def discover(self) -> None:
        """Subscribe to every listed topic that has a publisher by now."""
        if not self.context.ok():  # a SIGTERM shut the context down while this timer was due
            return
        for topic in list(self.pending):
            publishers = self.get_publishers_info_by_topic(topic)
            if not publishers:
                continue
            msgtype = publishers[0].topic_type
            try:
                ensure_type(self.store, msgtype)
                cls = message_class(msgtype)
            except (UnknownTypeError, ImportError, AttributeError) as exc:
                self.get_logger().error(f"cannot record {topic}: {exc}", throttle_duration_sec=30.0)
                continue
            self.pending.remove(topic)
            type_hash = str(publishers[0].topic_type_hash)
            computed = self.store.hash_rihs01(msgtype)
            if type_hash != computed:
                self.get_logger().warning(f"{topic}: publisher's type hash {type_hash} differs from the definition "
                                          f"embedded ({computed}); the publisher's is recorded")
            definition = self.store.generate_msgdef(msgtype, ros_version=2)[0]
            self.recorder.add_topic(topic, msgtype, definition, type_hash,
                                    [offered_qos(pub.qos_profile) for pub in publishers])
            qos = subscription_qos(publishers, self.qos_overrides.get(topic))
            events = SubscriptionEventCallbacks(
                message_lost=lambda info, t=topic: self.recorder.count_lost(t, middleware=info.total_count_change))
            if msgtype in IMAGE_TYPES:
                self.gap_counters[topic] = StampGapCounter()
            self.received[topic] = 0
            self.subscriptions_by_topic[topic] = self.create_subscription(
                cls, topic, lambda data, t=topic: self.on_message(t, data), qos, raw=True, event_callbacks=events)
            self.get_logger().info(f"recording {topic} ({msgtype}, {qos.reliability.name.lower()}, "
                                   f"{qos.durability.name.lower()})")

    def on_message(self, topic: str, data: bytes) -> None:
        self.received[topic] += 1
        if topic in self.gap_counters:
            lost = self.gap_counters[topic].update(cdr_header_stamp_ns(data))
            if lost:
                self.recorder.count_lost(topic, stamp_gaps=lost)
        if "model" not in self.recorder.custom_data and self.recorder.topics[topic].msgtype == KEYPOINTS_TYPE:
            self.recorder.custom_data["model"] = self.store.deserialize_cdr(data, KEYPOINTS_TYPE).model
        self.recorder.write(topic, self.get_clock().now().nanoseconds, data)
        self.check_failed()

    def tick(self) -> None:
        if not self.context.ok():
            return
        self.recorder.tick(self.get_clock().now().nanoseconds)
        self.check_failed()

    def check_failed(self) -> None:
        if self.recorder.failed and not self.done:
            self.get_logger().error(self.recorder.failed)
            self.done = True

    def on_start(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self.recorder.resume()
        response.success, response.message = True, "recording"
        return response

    def on_stop(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self.recorder.pause()
        response.success, response.message = True, f"paused; closed {self.recorder.split_paths[-1:]}"
        return response

    def on_split(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        self.recorder.split()
        response.success, response.message = True, "split closed; the next message opens a new one"
        return response

    def close(self) -> None:
        self.recorder.close()
        counts = ", ".join(f"{t} {n}" for t, n in self.received.items())
        self.get_logger().info(f"closed; received {counts or 'nothing'}; splits: "
                               f"{', '.join(p.name for p in self.recorder.split_paths) or 'none'}")


def main(args: list[str] | None = None, overrides: dict[str, object] | None = None) -> int:
    """Exit code 0, 2 for a configuration error, 1 when recording stopped on a write error (disk full)."""
    nodes: list[PoseRecorder] = []

    def factory() -> PoseRecorder:
        nodes.append(PoseRecorder(overrides))
        return nodes[-1]

    code = run_node(factory, "pose_recorder", args)
    return 1 if code == 0 and nodes and nodes[0].recorder.failed else code


if __name__ == "__main__":
    sys.exit(main())
