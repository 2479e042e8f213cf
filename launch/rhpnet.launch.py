"""The pose node alone: `ros2 launch rhpnet rhpnet.launch.py image_topic:=/camera/image_raw`."""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

ARGUMENTS = {
    "namespace": ("", "namespace of the pose node"),
    "image_topic": ("image", "sensor_msgs/Image topic to subscribe to"),
    "keypoints_topic": ("keypoints", "rhpnet/msg/Keypoints topic to publish"),
    "estimator": ("auto", "auto | rhpnet | yolo-pose (auto: rhpnet when a checkpoint is given)"),
    "checkpoint": ("", "RHPNet checkpoint from `rhpnet train`"),
    "backend": ("torch", "torch | onnxruntime"),
    "device": ("auto", "auto | cpu | cuda | cuda:N"),
    "detector_imgsz": ("640", "detector input size in px (larger finds smaller people, costs more)"),
    "queue_size": ("1", "frames waiting for inference; older ones are dropped and counted"),
    "qos_reliability": ("reliable", "reliable | best_effort (image subscription)"),
    "publish_debug_image": ("false", "publish annotated frames on debug_image"),
    "annotated_video": ("", "write annotated frames to this .mp4 file"),
}


def generate_launch_description():
    declared = [DeclareLaunchArgument(name, default_value=default, description=text)
                for name, (default, text) in ARGUMENTS.items()]
    pose_node = Node(
        package="rhpnet",
        executable="pose_node",
        name="pose_node",
        namespace=LaunchConfiguration("namespace"),
        output="screen",
        parameters=[{
            "estimator": LaunchConfiguration("estimator"),
            "checkpoint": LaunchConfiguration("checkpoint"),
            "backend": LaunchConfiguration("backend"),
            "device": LaunchConfiguration("device"),
            "detector_imgsz": LaunchConfiguration("detector_imgsz"),
            "queue_size": LaunchConfiguration("queue_size"),
            "qos_reliability": LaunchConfiguration("qos_reliability"),
            "publish_debug_image": LaunchConfiguration("publish_debug_image"),
            "annotated_video": LaunchConfiguration("annotated_video"),
        }],
        remappings=[("image", LaunchConfiguration("image_topic")),
                    ("keypoints", LaunchConfiguration("keypoints_topic"))],
    )
    return LaunchDescription(declared + [pose_node])
