"""Pose networks: `build_model(config["model"])` builds RHPNet or plain HRNet from a config section.

Schema (docs/model.md lists every switch and the paper row it reproduces):

    arch: rhpnet | hrnet
    width: 32                        # backbone width W (32, 48, or small for tests)
    num_joints: 17                   # K
    rfsp: {blocks: [rfb_s, rfb], simsppf: true}      # rhpnet only
    attention: {type: psa|ca|cbam|null, position: A|B|C|null}   # rhpnet only
"""
from __future__ import annotations

from typing import Any

from torch import nn

from rhpnet_core.model.attention import ATTENTION_TYPES, build_attention
from rhpnet_core.model.hrnet import PoseHRNet
from rhpnet_core.model.rfsp import RFB_BLOCK_TYPES
from rhpnet_core.model.rhpnet import RHPNet

ARCHS = ("rhpnet", "hrnet")
ATTENTION_POSITIONS = ("A", "B", "C")
DEFAULT_RFSP = {"blocks": ["rfb_s", "rfb"], "simsppf": True}

__all__ = ["ARCHS", "ATTENTION_POSITIONS", "DEFAULT_RFSP", "build_model", "model_name"]


def _check_keys(section: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; expected a subset of {sorted(allowed)}")


def _rhpnet_options(model_cfg: dict[str, Any]) -> dict[str, Any]:
    rfsp = {**DEFAULT_RFSP, **(model_cfg.get("rfsp") or {})}
    _check_keys(rfsp, {"blocks", "simsppf"}, "model.rfsp")
    blocks = list(rfsp["blocks"] or [])
    for kind in blocks:
        if kind not in RFB_BLOCK_TYPES:
            raise ValueError(f"model.rfsp.blocks entry {kind!r} not supported; expected one of "
                             f"{', '.join(RFB_BLOCK_TYPES)}")
    attention = model_cfg.get("attention") or {}
    _check_keys(attention, {"type", "position"}, "model.attention")
    kind, position = attention.get("type"), attention.get("position")
    if (kind is None) != (position is None):
        raise ValueError(f"model.attention: type {kind!r} and position {position!r} must both be set or both null")
    if position is not None and position not in ATTENTION_POSITIONS:
        raise ValueError(f"model.attention.position {position!r} not supported; expected one of "
                         f"{', '.join(ATTENTION_POSITIONS)} or null (types: {', '.join(ATTENTION_TYPES)})")
    return {"blocks": blocks, "simsppf": bool(rfsp["simsppf"]), "attention": build_attention(kind),
            "attention_position": position}


def build_model(model_cfg: dict[str, Any]) -> nn.Module:
    """Build the network of a config's `model` section.

    The result maps (N, 3, H, W) ImageNet-normalised RGB, H and W multiples of 32, to
    (N, num_joints, H/4, W/4) heatmaps.
    """
    arch = model_cfg.get("arch")
    if arch not in ARCHS:
        raise ValueError(f"model.arch {arch!r} not supported; expected one of {', '.join(ARCHS)}")
    width = int(model_cfg.get("width", 32))
    num_joints = int(model_cfg.get("num_joints", 17))
    if width < 8 or num_joints < 1:
        raise ValueError(f"model: width {width} must be >= 8 and num_joints {num_joints} >= 1")
    if arch == "hrnet":
        _check_keys(model_cfg, {"arch", "width", "num_joints"}, "model (arch hrnet)")
        return PoseHRNet(width, num_joints)
    _check_keys(model_cfg, {"arch", "width", "num_joints", "rfsp", "attention"}, "model (arch rhpnet)")
    return RHPNet(width, num_joints, **_rhpnet_options(model_cfg))


def model_name(model_cfg: dict[str, Any]) -> str:
    """Short display name, e.g. "rhpnet_w32"."""
    return f"{model_cfg.get('arch')}_w{int(model_cfg.get('width', 32))}"
