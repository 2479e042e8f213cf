"""Checkpoints: our own format (config embedded, versioned) and public HRNet backbone weights.

A checkpoint is untrusted input: everything is read with `torch.load(weights_only=True)`, and every
failure is a `CheckpointError` naming the file and what was wrong with it.

Our format: `{"format_version": 1, "config": dict, "state_dict": {name: tensor}, "extra": dict}`.
`extra` holds the trainer's optimizer / scheduler / epoch / RNG state (tensors, numbers, strings,
lists, dicts only, so it stays weights_only-loadable).
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

FORMAT_VERSION = 1
REQUIRED_KEYS = ("format_version", "config", "state_dict")
# Top-level module names of the official pose_hrnet.py backbone; our HRNet uses the same names under `backbone.`.
HRNET_BACKBONE_ROOTS = ("conv1", "bn1", "conv2", "bn2", "layer1", "transition1", "transition2", "transition3",
                        "stage2", "stage3", "stage4")
# Heatmap heads of the official code, mmpose 0.x (TopdownHeatmapSimpleHead) and mmpose 1.x (HeatmapHead).
HEAD_PREFIXES = ("final_layer.", "keypoint_head.final_layer.", "head.final_layer.")
MAX_KEYS_IN_MESSAGE = 5


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable, of another format, or does not fit the model."""


def save_checkpoint(path: str | Path, state_dict: Mapping[str, torch.Tensor], config: dict[str, Any],
                    extra: dict[str, Any] | None = None) -> None:
    """Write a checkpoint atomically (temp file in the same directory, then rename).

    A crash mid-write leaves the previous file intact instead of a truncated one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format_version": FORMAT_VERSION, "config": config,
               "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()}, "extra": extra or {}}
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _torch_load(path: Path) -> Any:
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: no such file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # zip/pickle/EOF errors all mean the same thing to the caller
        raise CheckpointError(f"checkpoint {path}: cannot be read (corrupt, truncated, or holds objects "
                              f"other than tensors and plain data): {type(exc).__name__}: {exc}") from exc


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read one of our checkpoints -> {"format_version", "config", "state_dict", "extra"} (tensors on CPU)."""
    path = Path(path)
    data = _torch_load(path)
    if not isinstance(data, dict) or any(key not in data for key in REQUIRED_KEYS):
        found = sorted(data)[:10] if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"checkpoint {path}: not an rhpnet checkpoint; expected keys "
                              f"{', '.join(REQUIRED_KEYS)}, found {found}")
    if data["format_version"] != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {path}: format_version {data['format_version']!r} not supported; "
                              f"this code reads version {FORMAT_VERSION}")
    state_dict = data["state_dict"]
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise CheckpointError(f"checkpoint {path}: state_dict must map names to tensors")
    if not isinstance(data["config"], dict):
        raise CheckpointError(f"checkpoint {path}: config must be a mapping, got {type(data['config']).__name__}")
    data.setdefault("extra", {})
    return data


def _first(keys: list[str]) -> str:
    shown = ", ".join(keys[:MAX_KEYS_IN_MESSAGE])
    return shown + (f" (+{len(keys) - MAX_KEYS_IN_MESSAGE} more)" if len(keys) > MAX_KEYS_IN_MESSAGE else "")


def load_model_weights(model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str = "state dict") -> None:
    """Strictly load `state_dict` into `model`; `source` (e.g. the file name) is named in errors."""
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    mismatched = [f"{k} {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}"
                  for k in own if k in state_dict and state_dict[k].shape != own[k].shape]
    problems = []
    if missing:
        problems.append(f"missing keys: {_first(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_first(unexpected)}")
    if mismatched:
        problems.append(f"shape mismatches: {_first(mismatched)}")
    if problems:
        raise CheckpointError(f"{source} does not fit the model ({type(model).__name__}): " + "; ".join(problems))
    model.load_state_dict(state_dict, strict=True)


@dataclass
class BackboneLoadReport:
    """What `load_pretrained_backbone` did: our keys loaded and left new, their keys skipped (with why)."""

    source: str
    loaded: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """One line per category; new keys grouped by top-level module."""
        groups: dict[str, int] = {}
        for key in self.new:
            root = key.split(".")[0]
            groups[root] = groups.get(root, 0) + 1
        new_text = ", ".join(f"{root}.* ({n})" for root, n in sorted(groups.items())) or "none"
        skipped_text = "; ".join(f"{k}: {why}" for k, why in list(self.skipped.items())[:MAX_KEYS_IN_MESSAGE])
        return (f"pretrained weights from {self.source}: loaded {len(self.loaded)} tensors\n"
                f"  new (kept at initialisation): {len(self.new)} tensors: {new_text}\n"
                f"  skipped from the file: {len(self.skipped)}" + (f": {skipped_text}" if skipped_text else ""))


def map_pretrained_key(key: str, head_prefix: str | None) -> str | None:
    """Our name for a key of an official-HRNet or mmpose checkpoint, None when it is neither.

    `head_prefix` is our heatmap layer's prefix ("final_layer." or "rfsp.final_layer."), None when
    the model has none.
    """
    if key.startswith("module."):  # saved from DataParallel
        key = key[len("module."):]
    for prefix in HEAD_PREFIXES:
        if key.startswith(prefix):
            return None if head_prefix is None else head_prefix + key[len(prefix):]
    if key.startswith("backbone."):  # mmpose
        key = key[len("backbone."):]
    if key.split(".")[0] in HRNET_BACKBONE_ROOTS:
        return "backbone." + key
    return None


def _pretrained_state_dict(path_or_state_dict: str | Path | Mapping[str, torch.Tensor]) -> tuple[dict, str]:
    if isinstance(path_or_state_dict, Mapping):
        return dict(path_or_state_dict), "state dict"
    path = Path(path_or_state_dict)
    data = _torch_load(path)
    # Official HRNet files are a bare state dict; mmpose and ours wrap it in "state_dict".
    if isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f"checkpoint {path}: not a state dict of tensors (nor a dict holding one)")
    return data, str(path)


def load_pretrained_backbone(model: nn.Module,
                             path_or_state_dict: str | Path | Mapping[str, torch.Tensor]) -> BackboneLoadReport:
    """Initialise `model` (RHPNet or plain HRNet) from a public HRNet pose checkpoint.

    Understands the official `pose_hrnet` key names (conv1, layer1, transition1, stage2, ...,
    final_layer) and mmpose's (`backbone.` prefix, `keypoint_head.final_layer` / `head.final_layer`).
    Tensors whose shape differs from ours (e.g. a 17-joint head into a 16-joint model) are skipped.
    """
    theirs, source = _pretrained_state_dict(path_or_state_dict)
    own = model.state_dict()
    head_keys = [k for k in own if k.endswith("final_layer.weight")]
    head_prefix = head_keys[0][: -len("weight")] if head_keys else None
    report = BackboneLoadReport(source=source)
    to_load: dict[str, torch.Tensor] = {}
    head_keys_loaded: dict[str, str] = {}
    head_misfit = None
    for key, tensor in theirs.items():
        ours = map_pretrained_key(key, head_prefix)
        if ours is None:
            report.skipped[key] = "not an HRNet backbone or heatmap-head key"
        elif ours not in own:
            report.skipped[key] = f"no {ours} in {type(model).__name__}"
        elif tuple(tensor.shape) != tuple(own[ours].shape):
            report.skipped[key] = f"shape {tuple(tensor.shape)} vs ours {tuple(own[ours].shape)}"
            if head_prefix and ours.startswith(head_prefix):
                head_misfit = key
        else:
            to_load[ours] = tensor
            if head_prefix and ours.startswith(head_prefix):
                head_keys_loaded[key] = ours
    if head_misfit:  # half a layer (a bias without its weight) is worse than a fresh layer
        for key, ours in head_keys_loaded.items():
            del to_load[ours]
            report.skipped[key] = f"{head_misfit} does not fit, so the rest of the head is not loaded"
    if not to_load:
        raise CheckpointError(f"{source}: no tensor matches the model; expected official HRNet or mmpose "
                              f"HRNet key names (e.g. conv1.weight or backbone.conv1.weight)")
    model.load_state_dict(to_load, strict=False)
    report.loaded = sorted(to_load)
    report.new = [k for k in own if k not in to_load]
    return report
