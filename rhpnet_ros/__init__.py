"""rhpnet_ros: thin ROS 2 nodes over rhpnet_core (image conversion, messages, pose and replay nodes)."""
