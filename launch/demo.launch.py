"""Demo: camera_replay on a clip -> pose_node, annotated video written to `annotated_video`.

`ros2 launch rhpnet demo.launch.py source:=/usr/share/doc/opencv-doc/examples/data/vtest.avi`
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

ARGUMENTS = {
    "source": ("/usr/share/doc/opencv-doc/examples/data/vtest.avi", "video file, image folder or image"),
    "rate": ("0.0", "replay rate in Hz (0: the source's own fps)"),
    "loop": ("false", "replay the source again when it ends"),
    "max_frames": ("0", "stop after this many frames (0: the whole source)"),
    "wait_for_subscribers": ("1", "hold the first frame until this many subscribers listen"),
    "estimator": ("auto", "auto | rhpnet | yolo-pose"),
    "checkpoint": ("", "RHPNet checkpoint from `rhpnet train`"),
    "backend": ("torch", "torch | onnxruntime"),
    "device": ("auto", "auto | cpu | cuda | cuda:N"),
    "detector_imgsz": ("960", "detector input size in px (vtest.avi pedestrians are small: 640 misses most)"),
    "queue_size": ("1", "frames waiting for inference (1: always the newest frame)"),
    "annotated_video": ("", "write annotated frames to this .mp4 file"),
}


def generate_launch_description():
    declared = [DeclareLaunchArgument(name, default_value=default, description=text)
                for name, (default, text) in ARGUMENTS.items()]
    camera = Node(
        package="rhpnet",
        executable="camera_replay",
        name="camera_replay",
        output="screen",
        parameters=[{
            "source": LaunchConfiguration("source"),
            "rate": LaunchConfiguration("rate"),
            "loop": LaunchConfiguration("loop"),
            "max_frames": LaunchConfiguration("max_frames"),
            "wait_for_subscribers": LaunchConfiguration("wait_for_subscribers"),
        }],
    )
    pose = Node(
        package="rhpnet",
        executable="pose_node",
        name="pose_node",
        output="screen",
        parameters=[{
            "estimator": LaunchConfiguration("estimator"),
            "checkpoint": LaunchConfiguration("checkpoint"),
            "backend": LaunchConfiguration("backend"),
            "device": LaunchConfiguration("device"),
            "detector_imgsz": LaunchConfiguration("detector_imgsz"),
            "queue_size": LaunchConfiguration("queue_size"),
            "annotated_video": LaunchConfiguration("annotated_video"),
        }],
    )
    return LaunchDescription(declared + [camera, pose])
