"""Where exported models are cached, and the keys that make a stale export impossible to reuse.

A key hashes everything the exported bytes depend on: model config, input size, ONNX opset, torch
version, checkpoint bytes and, for quantised models, the engine and quantiser versions, the
precision and the calibration source's bytes. Files are written under a temporary name and moved
into place, so a reader never sees a half-written export.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from rhpnet_core.model import model_name


def cache_root() -> Path:
    """`$XDG_CACHE_HOME/rhpnet` (default ~/.cache/rhpnet)."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rhpnet"


def _update_with_file(digest: "hashlib._Hash", path: Path) -> None:
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    _update_with_file(digest, Path(path))
    return digest.hexdigest()


def source_sha256(source: str | Path) -> str:
    """Hex sha256 of a calibration source: a file's bytes, or a folder's files (relative names + bytes)."""
    source = Path(source)
    digest = hashlib.sha256()
    if source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(source)).encode())
            _update_with_file(digest, path)
    else:
        _update_with_file(digest, source)
    return digest.hexdigest()


def model_digest(model_cfg: dict[str, Any], input_size: tuple[int, int], checkpoint: Path, opset: int) -> "hashlib._Hash":
    """Digest of the fp32 model: config, input size, opset, torch version and checkpoint bytes."""
    digest = hashlib.sha256()
    digest.update(json.dumps([model_cfg, list(input_size), opset, torch.__version__], sort_keys=True).encode())
    _update_with_file(digest, Path(checkpoint))
    return digest


def onnx_cache_path(model_cfg: dict[str, Any], input_size: tuple[int, int], checkpoint: Path, opset: int) -> Path:
    """Cached fp32 ONNX export of a checkpoint."""
    digest = model_digest(model_cfg, input_size, checkpoint, opset)
    return cache_root() / "onnx" / f"{model_name(model_cfg)}_{digest.hexdigest()[:16]}.onnx"


def quantized_cache_path(model_cfg: dict[str, Any], input_size: tuple[int, int], checkpoint: Path, opset: int,
                         engine: str, engine_versions: dict[str, str], calibration: str | Path) -> Path:
    """Cached int8 model: `<engine>/<model>_<key>.xml` (openvino) or `.int8.onnx` (onnxruntime)."""
    digest = model_digest(model_cfg, input_size, checkpoint, opset)
    digest.update(json.dumps([engine, "int8", engine_versions, source_sha256(calibration)], sort_keys=True).encode())
    suffix = ".xml" if engine == "openvino" else ".int8.onnx"
    return cache_root() / engine / f"{model_name(model_cfg)}_{digest.hexdigest()[:16]}{suffix}"


def report_path(model_path: str | Path) -> Path:
    """The agreement report beside a model: `model.xml` -> `model.json`, `m.int8.onnx` -> `m.int8.json`."""
    return Path(model_path).with_suffix(".json")


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
