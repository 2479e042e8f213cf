"""One treadmill rig: its camera (a driver's topic, or `camera_replay` on a clip) and a pose node
publishing only the runner (`target:=longest`), every topic inside the rig's namespace.

    ros2 launch rhpnet treadmill.launch.py rig:=rig1 camera_topic:=/cam0/image_raw
    ros2 launch rhpnet treadmill.launch.py rig:=rig2 source:=trial.mp4 params_file:=rig2.yaml

Topics: /<rig>/keypoints, /<rig>/keypoints/info, /<rig>/overlay/{bones,joints}, /<rig>/debug_image.
The pose node reads `params_file` (default: the package's config/pose_node.yaml), then the
arguments below. `record:=true` adds pose_recorder (split MCAP bags of RECORDED_TOPICS under
<record_dir>/<rig>/<session>/, see docs/bags.md). `gait:=true` (default) adds gait_node:
/<rig>/gait_events and /<rig>/running_metrics from the runner's keypoints (docs/gait.md).
"""
import time

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

ARGUMENTS = {
    "rig": ("rig1", "namespace of this rig's nodes and topics"),
    "source": ("", "video / image folder replayed as the camera by camera_replay; empty: use camera_topic"),
    "camera_topic": ("camera/image_raw", "the rig camera's sensor_msgs/Image topic (relative: inside the rig)"),
    "input_transport": ("raw", "raw | compressed (then `<camera_topic>/compressed` is read)"),
    "rate": ("0.0", "camera_replay rate in Hz (0: the clip's own fps)"),
    "loop": ("true", "camera_replay: start the clip again when it ends"),
    "target": ("longest", "which persons to publish: the runner (longest-tracked) by default"),
    "params_file": (PathJoinSubstitution([FindPackageShare("rhpnet"), "config", "pose_node.yaml"]),
                    "pose node parameters (YAML, `/**: ros__parameters:`)"),
    "wait_for_subscribers": ("0", "camera_replay: hold the first frame until this many subscribers listen"),
    "max_frames": ("0", "camera_replay: stop after this many frames (0: no limit)"),
    "stamps": ("wall", "camera_replay: wall (publish time) | video (the clip's own timeline, for slow replays)"),
    "record": ("false", "record the rig's camera, keypoints, model info and diagnostics (pose_recorder)"),
    "record_dir": ("recordings", "recordings go to <record_dir>/<rig>/<session>/"),
    "session": (time.strftime("%Y%m%d-%H%M%S"), "session folder name (default: launch time)"),
    "record_split_duration": ("60.0", "seconds per split bag"),
    "subject": ("", "subject id stored in every split's metadata"),
    "trial": ("", "trial name stored in every split's metadata"),
    "belt_speed_mps": ("", "treadmill belt speed (m/s) stored in every split's metadata; also gait_node's "
                       "belt speed while no `belt_speed` topic publishes"),
    "gait": ("true", "run gait_node on the runner's keypoints (gait_events, running_metrics)"),
    "runner_height_m": ("0.0", "runner height in m for gait_node's scale (0: unknown)"),
    "gait_window_s": ("10.0", "gait_node's analysis window in s of message time"),
    "camera_fps": ("0.0", "camera frame rate in Hz, gait_node's resampling grid (0: from the stamps)"),
}
RECORDED_TOPICS = ["image", "camera_info", "keypoints", "keypoints/info", "gait_events", "running_metrics",
                   "/diagnostics"]


def generate_launch_description():
    declared = [DeclareLaunchArgument(name, default_value=default, description=text)
                for name, (default, text) in ARGUMENTS.items()]
    rig = LaunchConfiguration("rig")
    camera_topic = LaunchConfiguration("camera_topic")
    replaying = PythonExpression(["'", LaunchConfiguration("source"), "' != ''"])
    camera = Node(
        package="rhpnet", executable="camera_replay", name="camera_replay", namespace=rig, output="screen",
        condition=IfCondition(replaying),
        parameters=[{"source": LaunchConfiguration("source"), "rate": LaunchConfiguration("rate"),
                     "loop": LaunchConfiguration("loop"), "frame_id": [rig, "_camera"],
                     **{key: LaunchConfiguration(key) for key in ("wait_for_subscribers", "max_frames", "stamps")}}],
        remappings=[("image", camera_topic)],
    )
    pose = Node(
        package="rhpnet", executable="pose_node", name="pose_node", namespace=rig, output="screen",
        parameters=[LaunchConfiguration("params_file"),
                    {"target": LaunchConfiguration("target"),
                     "input_transport": LaunchConfiguration("input_transport")}],
        remappings=[("image", camera_topic)],
    )
    recorder = Node(
        package="rhpnet", executable="pose_recorder", name="pose_recorder", namespace=rig, output="screen",
        condition=IfCondition(LaunchConfiguration("record")),
        parameters=[{"output": PathJoinSubstitution([LaunchConfiguration("record_dir"), rig,
                                                     LaunchConfiguration("session")]),
                     "topics": RECORDED_TOPICS,
                     "split_duration": LaunchConfiguration("record_split_duration"),
                     **{key: LaunchConfiguration(key) for key in ("subject", "trial", "belt_speed_mps")}}],
        remappings=[("image", camera_topic)],
    )
    gait = Node(
        package="rhpnet", executable="gait_node", name="gait_node", namespace=rig, output="screen",
        condition=IfCondition(LaunchConfiguration("gait")),
        # Plain strings: gait_node reads numbers given as text, "" as unknown (play_launch does not
        # evaluate PythonExpression inside parameters).
        parameters=[{"belt_speed_mps": LaunchConfiguration("belt_speed_mps"),
                     "runner_height_m": LaunchConfiguration("runner_height_m"),
                     "window_s": LaunchConfiguration("gait_window_s"), "fps": LaunchConfiguration("camera_fps")}],
    )
    rig_nodes = [camera, pose, recorder, gait]  # RIG_NODES
    return LaunchDescription(declared + rig_nodes)
