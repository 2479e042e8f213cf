"""Pose-network engines behind one interface: eager torch, ONNX + onnxruntime, OpenVINO.

A runtime is called on an ImageNet-normalised float32 batch (N, 3, H, W) and returns float32
heatmaps (N, K, H/4, W/4) as numpy arrays; `input_size` is (W, H). The pipeline, `rhpnet predict`,
the ROS node and bench/ all go through `create_runtime`. Precisions: fp32 everywhere, bf16 on
OpenVINO (CPUs with bf16 units), int8 on OpenVINO (NNCF) and onnxruntime (static QDQ), calibrated on
the rig's footage and checked against fp32 (`rhpnet_core.runtime.exports`).
"""
from rhpnet_core.runtime.base import Runtime, load_model, select_device
from rhpnet_core.runtime.factory import BACKENDS, PRECISIONS, create_runtime, resolve_backend, resolve_precision
from rhpnet_core.runtime.onnx_engine import ONNX_OPSET, OnnxRuntime, export_onnx
from rhpnet_core.runtime.openvino_engine import OpenVinoRuntime, openvino_available
from rhpnet_core.runtime.torch_engine import TorchRuntime

__all__ = ["BACKENDS", "ONNX_OPSET", "PRECISIONS", "OnnxRuntime", "OpenVinoRuntime", "Runtime", "TorchRuntime",
           "create_runtime", "export_onnx", "load_model", "openvino_available", "resolve_backend",
           "resolve_precision", "select_device"]
