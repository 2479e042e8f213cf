"""Two treadmill rigs side by side from one launch (e.g. a lab with two treadmills):
treadmill.launch.py included once per rig, each in its own scope and namespace.

    ros2 launch rhpnet two_rigs.launch.py rig1_source:=a.mp4 rig2_camera_topic:=/cam1/image_raw
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, ThisLaunchFileDir

RIGS = ("rig1", "rig2")
PER_RIG = {
    "source": ("", "clip replayed as the rig's camera; empty: use the camera topic"),
    "camera_topic": ("camera/image_raw", "the rig camera's topic (relative: inside the rig)"),
    "input_transport": ("raw", "raw | compressed"),
    "rate": ("0.0", "replay rate in Hz (0: the clip's own fps)"),
}


def generate_launch_description():
    declared = [DeclareLaunchArgument(f"{rig}_{name}", default_value=default, description=f"{rig}: {text}")
                for rig in RIGS for name, (default, text) in PER_RIG.items()]
    rigs = [GroupAction([IncludeLaunchDescription(
        PythonLaunchDescriptionSource([ThisLaunchFileDir(), "/treadmill.launch.py"]),
        launch_arguments={"rig": rig, **{name: LaunchConfiguration(f"{rig}_{name}") for name in PER_RIG}}.items(),
    )], scoped=True) for rig in RIGS]
    return LaunchDescription(declared + rigs)
