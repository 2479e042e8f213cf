"""The pose node alone: `ros2 launch rhpnet rhpnet.launch.py image_topic:=/camera/image_raw`.

Every parameter of the node is an argument (same names and defaults as config/pose_node.yaml;
see the README for their meaning); `namespace`, `image_topic` and `keypoints_topic` place it.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

PLACEMENT = {
    "namespace": ("", "namespace of the pose node"),
    "image_topic": ("image", "sensor_msgs/Image topic (compressed: its /compressed sibling is read)"),
    "keypoints_topic": ("keypoints", "rhpnet/msg/Keypoints topic to publish (info on <topic>/info)"),
}
PARAMETERS = {
    "estimator": ("auto", "auto | rhpnet | yolo-pose (auto: rhpnet when a checkpoint is given)"),
    "checkpoint": ("", "RHPNet checkpoint from `rhpnet train`"),
    "backend": ("auto", "auto | torch | onnxruntime | openvino"),
    "precision": ("auto", "auto | fp32 | bf16 | int8"),
    "calibration": ("", "image folder or video for int8 calibration"),
    "device": ("auto", "auto | cpu | cuda | cuda:N"),
    "detector_weights": ("", "ultralytics weights (default: the shipped yolo11n-pose.pt)"),
    "detector_imgsz": ("640", "detector input size in px (larger finds smaller people, costs more)"),
    "detector_conf": ("0.25", "minimum person detector confidence (runtime)"),
    "max_persons": ("20", "at most this many persons per frame (runtime)"),
    "target": ("all", "all | largest | central | longest (runtime)"),
    "detect_every": ("1", "run the detector every N-th frame (runtime)"),
    "flip_test": ("auto", "RHPNet flip test: auto (on with a GPU) | always | never (runtime)"),
    "draw_min_score": ("0.3", "keypoints below this score are not drawn (runtime)"),
    "input_transport": ("raw", "raw | compressed"),
    "qos_reliability": ("reliable", "reliable | best_effort (image subscription)"),
    "qos_depth": ("2", "image subscription history depth"),
    "queue_size": ("1", "frames waiting for inference; older ones are dropped and counted"),
    "annotated_video": ("", "write annotated frames to this .mp4 file"),
    "annotated_fps": ("10.0", "frame rate of the annotated video"),
    "diagnostics_period_s": ("1.0", "period of /diagnostics"),
}


def generate_launch_description():
    declared = [DeclareLaunchArgument(name, default_value=default, description=text)
                for name, (default, text) in {**PLACEMENT, **PARAMETERS}.items()]
    pose_node = Node(
        package="rhpnet",
        executable="pose_node",
        name="pose_node",
        namespace=LaunchConfiguration("namespace"),
        output="screen",
        parameters=[{name: LaunchConfiguration(name) for name in PARAMETERS}],
        remappings=[("image", LaunchConfiguration("image_topic")),
                    ("keypoints", LaunchConfiguration("keypoints_topic"))],
    )
    return LaunchDescription(declared + [pose_node])
