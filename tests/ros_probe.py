"""Shared helpers of the multi-process ROS tests: a private DDS domain per test module, a probe node
in this test process (subscribes/publishes like any other node), and waiting on a running launch.

    from ros_probe import Probe, ros_node  # noqa: F401  (the fixture is used by name)

    def test_x(tmp_path, ros_node):
        with LaunchRunner("rhpnet.launch.py", {...}, tmp_path / "logs") as launch:
            ros_node.spin_until(lambda: ..., 60.0, launch)

Module-scoped launches (one launched node serving many assertions) use `Probe` directly in a
module-scoped fixture: `with Probe(request.module.__name__) as probe: ...`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402

from rhpnet_ros.launch_runner import LaunchRunner  # noqa: E402


def private_domain(key: str) -> int:
    """Put this process (and the launches it starts) on a DDS domain of its own for `key`
    (a test module), discovery on loopback only: parallel runs and other graphs stay apart."""
    domain = 1 + zlib.crc32(f"{os.getpid()}:{key}".encode()) % 200
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    return domain


class Probe:
    """A node of the test process on the domain of `key`, with its own context and executor."""

    def __init__(self, key: str, name: str = "rhpnet_test_probe") -> None:
        self.domain = private_domain(key)
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def __enter__(self) -> "Probe":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)

    def spin(self, duration_s: float) -> None:
        """Process callbacks for `duration_s` (e.g. to let surplus messages arrive)."""
        deadline = time.monotonic() + duration_s
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=min(0.1, max(deadline - time.monotonic(), 0.0)))

    def spin_until(self, condition: Callable[[], bool], timeout_s: float, launch: LaunchRunner | None = None,
                   node: str = "pose_node") -> None:
        """Spin until `condition()`; fail with `node`'s stderr when it times out or the launch exits."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not condition():
            self.executor.spin_once(timeout_sec=0.1)
            if launch is not None:
                assert launch.running(), f"launch exited early:\n{launch_logs(launch, node)}"
        assert condition(), f"timed out after {timeout_s} s; {node} log:\n{launch_logs(launch, node)}"


def launch_logs(launch: LaunchRunner | None, node: str, tail_chars: int = 3000) -> str:
    """The end of `node`'s stderr and stdout in a launch (for assertion messages)."""
    if launch is None:
        return "(no launch)"
    return (launch.node_log(node, "err")[-tail_chars:] + launch.node_log(node, "out")[-tail_chars:]
            or (launch.log_dir / "launcher.txt").read_text(errors="replace")[-tail_chars:])


def start_node(executable: str, parameters: dict[str, str], log_path: Path) -> subprocess.Popen:
    """One installed node of the package as a process of its own (no launch), on this process's
    domain: `parameters` as `-p name:=value`, stdout and stderr into `log_path`."""
    command = [str(Path(sys.prefix) / "lib" / "rhpnet" / executable), "--ros-args"]
    for name, value in parameters.items():
        command += ["-p", f"{name}:={value}"]
    env = dict(os.environ, YOLO_OFFLINE="1", YOLO_AUTOINSTALL="False")
    env["AMENT_PREFIX_PATH"] = os.pathsep.join(p for p in (sys.prefix, env.get("AMENT_PREFIX_PATH")) if p)
    with open(log_path, "w") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def namespaced_log(launch: LaunchRunner, namespace: str, name: str = "pose_node") -> str:
    """stderr + stdout of node `name` in `namespace` (play_launch numbers same-named nodes:
    pose_node, pose_node_2, ...; its metadata.json says which namespace each one has)."""
    for folder in sorted((launch.log_dir / "latest" / "node").glob(f"{name}*")):
        meta = folder / "metadata.json"
        if meta.exists() and json.loads(meta.read_text()).get("namespace") == namespace:
            return "".join((folder / s).read_text(errors="replace") for s in ("err", "out") if (folder / s).exists())
    return ""


def stamp_key(header) -> tuple[int, int, str]:
    """(sec, nanosec, frame_id): how an output message is matched to its source image."""
    return header.stamp.sec, header.stamp.nanosec, header.frame_id


def diagnostic_values(arrays, name_part: str = "pose_node") -> list[dict[str, str]]:
    """The key/value dicts of every /diagnostics status whose name contains `name_part`, oldest first."""
    return [{kv.key: kv.value for kv in status.values}
            for array in arrays for status in array.status if name_part in status.name]


@pytest.fixture
def ros_node(request):
    """A Probe for one test, on the test module's private domain."""
    with Probe(request.module.__name__) as probe:
        yield probe
