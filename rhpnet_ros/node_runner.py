"""Process entry of our nodes: init, spin until shutdown (or the node says it is done), clean exit.

Configuration errors (bad parameters, missing files or checkpoints) end the process with exit code
2 and one clear line instead of a traceback.
"""
from __future__ import annotations

import sys
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

CONFIGURATION_ERRORS = (ValueError, FileNotFoundError, RuntimeError)


def run_node(factory: Callable[[], Node], name: str, args: list[str] | None = None) -> int:
    """Spin the node from `factory`; a node with a true `done` attribute ends the loop itself.
    Its `close()` (if any) runs before the node is destroyed, so outputs are flushed."""
    rclpy.init(args=args)
    node = None
    try:
        node = factory()
        while rclpy.ok() and not getattr(node, "done", False):
            rclpy.spin_once(node, timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except CONFIGURATION_ERRORS as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    finally:
        if node is not None:
            if hasattr(node, "close"):
                node.close()
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
