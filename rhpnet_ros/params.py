"""The pose node's parameters: one table with default, description, range and whether it can change
at run time. Runtime parameters (thresholds, target, drawing) are applied on the next frame;
the others (model, backend, device, topics, QoS) are read-only after start-up.

config/pose_node.yaml and launch/rhpnet.launch.py list the same names (a test keeps them in step).
"""
from __future__ import annotations

from dataclasses import dataclass

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter

from rhpnet_core.pipeline import ESTIMATORS
from rhpnet_core.runtime import BACKENDS, PRECISIONS
from rhpnet_core.tracking import TARGETS
from rhpnet_ros.qos import RELIABILITIES

INPUT_TRANSPORTS = ("raw", "compressed")
# flip_test parameter -> build_pipeline's flip_test (None: the library decides by device). Words, not
# on/off: launch files read on/off/true/false as booleans.
FLIP_TEST = {"auto": None, "always": True, "never": False}


@dataclass(frozen=True)
class Spec:
    default: object
    description: str
    runtime: bool = False  # changeable while running (applied on the next frame)
    range: tuple[float, float] | None = None  # inclusive numeric range
    choices: tuple[str, ...] | None = None


PARAMETERS: dict[str, Spec] = {
    # model (read-only: a different model is a different node start)
    "estimator": Spec("auto", "auto | rhpnet | yolo-pose (auto: rhpnet when a checkpoint is given, else "
                      "the detector's own keypoints)", choices=ESTIMATORS),
    "checkpoint": Spec("", "RHPNet checkpoint from `rhpnet train` (config embedded)"),
    "backend": Spec("auto", "inference engine of the keypoint network (auto: torch on CUDA, else openvino "
                    "when installed, else onnxruntime)", choices=("auto", *BACKENDS)),
    "precision": Spec("auto", "engine precision (auto: int8 with a calibration source, else bf16 on "
                      "OpenVINO where the CPU has it, else fp32)", choices=("auto", *PRECISIONS)),
    "calibration": Spec("", "image folder or video for int8 calibration (OpenVINO/NNCF)"),
    "device": Spec("auto", "auto | cpu | cuda | cuda:N"),
    "detector_weights": Spec("", "ultralytics person/pose weights (default: the shipped yolo11n-pose.pt)"),
    "detector_imgsz": Spec(640, "detector input size in px (larger finds smaller people, costs more)",
                           range=(32, 4096)),
    # runtime thresholds (applied through PosePipeline.update_options on the next frame)
    "detector_conf": Spec(0.25, "minimum person detector confidence", runtime=True, range=(0.0, 1.0)),
    "max_persons": Spec(20, "at most this many persons per frame (highest scores kept)", runtime=True,
                        range=(1, 100)),
    "target": Spec("all", "which persons to publish: all | largest | central | longest (the treadmill "
                   "runner: the longest-tracked person)", runtime=True, choices=TARGETS),
    "detect_every": Spec(1, "run the person detector every N-th frame; in between, boxes follow the "
                         "tracked keypoints", runtime=True, range=(1, 30)),
    "flip_test": Spec("auto", "RHPNet flip test (average with the mirrored crop): auto = on with a GPU, off on "
                      "a CPU where it doubles the keypoint stage; always; never", runtime=True,
                      choices=tuple(FLIP_TEST)),
    "draw_min_score": Spec(0.3, "keypoints below this score are left out of overlays and debug images",
                           runtime=True, range=(0.0, 1.0)),
    # input
    "input_transport": Spec("raw", "raw: sensor_msgs/Image on `image`; compressed: "
                            "sensor_msgs/CompressedImage on `<image>/compressed`", choices=INPUT_TRANSPORTS),
    "qos_reliability": Spec("reliable", "image subscription reliability (best_effort for cameras that "
                            "publish best effort)", choices=tuple(RELIABILITIES)),
    "qos_depth": Spec(2, "image subscription history depth", range=(1, 100)),
    "queue_size": Spec(1, "frames waiting for inference; a newer frame replaces the oldest, which is "
                       "counted as dropped", range=(1, 100)),
    # outputs
    "annotated_video": Spec("", "also write annotated frames to this .mp4 (finalised on shutdown)"),
    "annotated_fps": Spec(10.0, "frame rate written into the annotated video", range=(0.1, 240.0)),
    "diagnostics_period_s": Spec(1.0, "period of /diagnostics and of the one-line log summary",
                                 range=(0.1, 60.0)),
}
RUNTIME = tuple(name for name, spec in PARAMETERS.items() if spec.runtime)
# Runtime parameters that are PosePipeline options (the rest are the node's own).
PIPELINE_OPTIONS = ("detector_conf", "max_persons", "target", "detect_every", "flip_test")


def descriptor(name: str, spec: Spec) -> ParameterDescriptor:
    text = spec.description + ("" if spec.runtime else " (read-only)")
    if spec.choices:
        text += f"; one of {', '.join(spec.choices)}"
    d = ParameterDescriptor(name=name, description=text, read_only=not spec.runtime)
    if spec.choices:
        d.additional_constraints = f"one of {', '.join(spec.choices)}"
    if spec.range is not None:
        if isinstance(spec.default, float):
            d.floating_point_range = [FloatingPointRange(from_value=float(spec.range[0]),
                                                         to_value=float(spec.range[1]), step=0.0)]
        else:
            d.integer_range = [IntegerRange(from_value=int(spec.range[0]), to_value=int(spec.range[1]), step=1)]
    return d


def check_choice(name: str, value: object) -> str | None:
    """Why `value` is not allowed for `name`, or None when it is (rclpy checks ranges, not choices)."""
    spec = PARAMETERS.get(name)
    if spec is not None and spec.choices and value not in spec.choices:
        return f"{name} '{value}' not understood; expected one of {', '.join(spec.choices)}"
    return None


def declare_parameters(node: Node) -> dict[str, object]:
    """Declare every parameter of the table on `node`; their start-up values by name.
    A value out of range or of a wrong choice raises ValueError naming it."""
    values = {}
    for name, spec in PARAMETERS.items():
        try:
            value = node.declare_parameter(name, spec.default, descriptor(name, spec)).value
        except Exception as exc:  # rclpy's range/type exceptions: one line naming the parameter
            raise ValueError(f"parameter {name}: {exc}") from None
        problem = check_choice(name, value)
        if problem:
            raise ValueError(problem)
        values[name] = value
    return values


def validate_update(parameters: list[Parameter]) -> SetParametersResult:
    """on-set callback: rejects unknown choices; rclpy itself rejects read-only and out-of-range sets."""
    for parameter in parameters:
        problem = check_choice(parameter.name, parameter.value)
        if problem:
            return SetParametersResult(successful=False, reason=problem)
    return SetParametersResult(successful=True)
