"""The pose node's parameter table, its YAML file and rhpnet.launch.py agree; descriptors carry
descriptions, ranges and read-only flags; choices are validated."""
import ast
from pathlib import Path

import pytest
import yaml

pytest.importorskip("rclpy")
from rclpy.parameter import Parameter  # noqa: E402

from rhpnet_ros.params import PARAMETERS, PIPELINE_OPTIONS, RUNTIME, descriptor, validate_update  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def launch_dict(path: Path, name: str) -> dict:
    """A literal module-level dict of a launch file (launch files cannot be imported here)."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in {path}")


def test_yaml_file_lists_every_parameter_with_its_default():
    values = yaml.safe_load((ROOT / "config/pose_node.yaml").read_text())["/**"]["ros__parameters"]
    assert values == {name: spec.default for name, spec in PARAMETERS.items()}


def test_launch_file_exposes_every_parameter_with_its_default():
    arguments = launch_dict(ROOT / "launch/rhpnet.launch.py", "PARAMETERS")
    assert set(arguments) == set(PARAMETERS)
    for name, (default, description) in arguments.items():
        assert yaml.safe_load(default or "''") == PARAMETERS[name].default, name
        assert description


def test_runtime_parameters_are_the_thresholds_and_drawing():
    assert set(RUNTIME) == {"detector_conf", "max_persons", "target", "detect_every", "flip_test", "draw_min_score"}
    assert set(PIPELINE_OPTIONS) <= set(RUNTIME)
    for name in ("estimator", "checkpoint", "backend", "precision", "device", "input_transport"):
        assert descriptor(name, PARAMETERS[name]).read_only, name


def test_descriptors_carry_ranges_and_choices():
    conf = descriptor("detector_conf", PARAMETERS["detector_conf"])
    assert not conf.read_only and conf.description
    assert (conf.floating_point_range[0].from_value, conf.floating_point_range[0].to_value) == (0.0, 1.0)
    persons = descriptor("max_persons", PARAMETERS["max_persons"])
    assert (persons.integer_range[0].from_value, persons.integer_range[0].to_value) == (1, 100)
    assert "longest" in descriptor("target", PARAMETERS["target"]).additional_constraints


def test_unknown_choices_are_rejected_with_the_allowed_ones():
    result = validate_update([Parameter("target", value="fastest")])
    assert not result.successful and "expected one of all, largest, central, longest" in result.reason
    assert validate_update([Parameter("target", value="longest"), Parameter("detector_conf", value=0.5)]).successful
