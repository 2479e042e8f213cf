"""YAML experiment configs: loading with `_base_` inheritance and deep merging.

A config is a plain dict with the sections `model`, `codec`, `data`, `train`, `test`.
A file may name `_base_: other.yaml` (relative to itself); its keys are deep-merged over the base,
so each published ablation row is a few lines over the full model's config.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A config file is missing, unreadable or malformed."""


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Return `base` updated recursively with `override` (neither argument is modified)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Load a YAML config with `yaml.safe_load`, resolving `_base_` chains."""
    path = Path(path).resolve()
    if path in _seen:
        raise ConfigError(f"config {path}: circular _base_ chain {[str(p) for p in _seen]}")
    if not path.is_file():
        raise ConfigError(f"config {path}: no such file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {path}: invalid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config {path}: expected a mapping at top level, got {type(data).__name__}")
    base_name = data.pop("_base_", None)
    if base_name is None:
        return data
    base = load_config(path.parent / base_name, _seen + (path,))
    return deep_merge(base, data)
