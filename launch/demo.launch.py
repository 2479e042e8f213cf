"""Demo: camera_replay on a clip -> rhpnet.launch.py's pose node (annotated video via `annotated_video`).

`ros2 launch rhpnet demo.launch.py source:=/usr/share/doc/opencv-doc/examples/data/vtest.avi`
Every argument of rhpnet.launch.py (estimator, checkpoint, device, annotated_video, ...) applies too.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, ThisLaunchFileDir
from launch_ros.actions import Node

ARGUMENTS = {
    "source": ("/usr/share/doc/opencv-doc/examples/data/vtest.avi", "video file, image folder or image"),
    "rate": ("0.0", "replay rate in Hz (0: the source's own fps)"),
    "loop": ("false", "replay the source again when it ends"),
    "max_frames": ("0", "stop after this many frames (0: the whole source)"),
    "wait_for_subscribers": ("1", "hold the first frame until this many subscribers listen"),
    "detector_imgsz": ("960", "detector input size in px (vtest.avi pedestrians are small: 640 misses most)"),
}


def generate_launch_description():
    declared = [DeclareLaunchArgument(name, default_value=default, description=text)
                for name, (default, text) in ARGUMENTS.items()]
    camera = Node(
        package="rhpnet",
        executable="camera_replay",
        name="camera_replay",
        output="screen",
        parameters=[{name: LaunchConfiguration(name)
                     for name in ("source", "rate", "loop", "max_frames", "wait_for_subscribers")}],
    )
    pose = IncludeLaunchDescription(
        PythonLaunchDescriptionSource([ThisLaunchFileDir(), "/rhpnet.launch.py"]),
        launch_arguments={"detector_imgsz": LaunchConfiguration("detector_imgsz")}.items(),
    )
    return LaunchDescription(declared + [camera, pose])
