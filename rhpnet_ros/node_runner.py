"""Process entry of our nodes: init, spin until shutdown (or the node says it is done), clean exit.

Configuration errors (bad parameters, missing files or checkpoints) end the process with exit code
2 and one clear line instead of a traceback.
"""
from __future__ import annotations

import sys
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node

CONFIGURATION_ERRORS = (ValueError, FileNotFoundError, RuntimeError)


def run_node(factory: Callable[[], Node], name: str, args: list[str] | None = None) -> int:
    """Spin the node from `factory`; a node with a true `done` attribute ends the loop itself.
    Its `close()` (if any) runs before the node is destroyed, so outputs are flushed. SIGINT and
    SIGTERM (rclpy's handlers) end the loop the same way."""
    rclpy.init(args=args)
    node = None
    try:
        node = factory()
        # One executor for the node's life: rclpy.spin_once(node) would add and remove the node
        # (rebuilding the wait set) on every call, time the subscription needs to keep up.
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        while rclpy.ok() and not getattr(node, "done", False):
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except CONFIGURATION_ERRORS as exc:
        if node is not None and not rclpy.ok():
            # A signal shut the context down while spin_once built its wait set: rclpy raises
            # RuntimeError ("context is not valid") then. That is a normal stop, not a bad config.
            return 0
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        print(f"{name}: {lines[0]}", file=sys.stderr)
        return 2
    finally:
        if node is not None:
            if hasattr(node, "close"):
                node.close()
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
