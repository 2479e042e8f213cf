"""Message types for bags without rclpy: a rosbags typestore with ROS 2 Kilted's standard types, the
project's own `msg/*.msg`, and any other type whose `.msg` file an installed ROS package ships.

The recorder embeds definitions from this store; readers prefer the definitions embedded in a bag
and fall back to this store for bags that carry none (legacy sqlite3).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from rosbags.interfaces import Nodetype
from rosbags.typesys import Stores, get_typestore, get_types_from_msg
from rosbags.typesys.store import Typestore

PACKAGE = "rhpnet"
REPO_MSG_DIR = Path(__file__).resolve().parents[2] / "msg"


class UnknownTypeError(LookupError):
    """A message type whose definition is neither embedded, standard, nor installed as a .msg file."""


def share_dirs() -> list[Path]:
    """`<prefix>/share` of the venv and of every AMENT_PREFIX_PATH entry (where ROS packages keep .msg files)."""
    prefixes = [Path(sys.prefix), *(Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p)]
    return [prefix / "share" for prefix in prefixes]


def find_msg_file(msgtype: str) -> Path | None:
    """The `.msg` file of `pkg/msg/Name`: the checkout's msg/ for our package, else an installed share/."""
    package, _, name = msgtype.split("/")
    candidates = [REPO_MSG_DIR / f"{name}.msg"] if package == PACKAGE else []
    candidates += [share / package / "msg" / f"{name}.msg" for share in share_dirs()]
    return next((path for path in candidates if path.is_file()), None)


def ensure_type(store: Typestore, msgtype: str) -> None:
    """Register `msgtype` and the types it references in `store` (from installed .msg files)."""
    if msgtype in store.fielddefs:
        return
    if msgtype.count("/") != 2:
        raise UnknownTypeError(f"message type '{msgtype}' not understood; expected 'package/msg/Name'")
    path = find_msg_file(msgtype)
    if path is None:
        raise UnknownTypeError(f"no definition of '{msgtype}': not a ROS 2 Kilted standard type and no "
                               f"{msgtype.split('/')[0]}/msg/{msgtype.split('/')[-1]}.msg under {REPO_MSG_DIR} "
                               f"or any share/ of AMENT_PREFIX_PATH")
    types = get_types_from_msg(path.read_text(), msgtype)
    for _, fields in types.values():
        for _, field in fields:
            referenced = _referenced_name(field)
            if referenced:
                ensure_type(store, referenced)
    store.register(types)


def _referenced_name(field: tuple) -> str | None:
    """The message type a rosbags field spec `(kind, spec)` refers to (plain, array or sequence), if any."""
    kind, spec = field
    if kind == Nodetype.NAME:
        return spec
    if kind in (Nodetype.ARRAY, Nodetype.SEQUENCE):
        return _referenced_name(spec[0])
    return None


def project_typestore() -> Typestore:
    """ROS 2 Kilted's standard types plus `rhpnet/msg/Keypoints`; other types of ours (and of any
    installed package) are added on demand by `ensure_type`."""
    store = get_typestore(Stores.ROS2_KILTED)
    ensure_type(store, "rhpnet/msg/Keypoints")
    return store


def register_definition(store: Typestore, msgtype: str, encoding: str, definition: str) -> bool:
    """Register a definition embedded in a bag (`ros2msg` or `ros2idl`); False when it is empty
    (legacy bags) or clashes with a different definition already in `store`."""
    if not definition.strip():
        return False
    from rosbags.typesys import get_types_from_idl
    from rosbags.typesys.base import TypesysError

    try:
        types = get_types_from_idl(definition) if encoding == "ros2idl" else get_types_from_msg(definition, msgtype)
        store.register(types)
    except TypesysError:
        return False
    return True
