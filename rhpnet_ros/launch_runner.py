"""Runs our ROS 2 launch files through `play_launch` (launch/launch_ros are not installable here).

`ros2 launch` is used instead where it exists (a real ROS 2 install). Node logs go to
`<log_dir>/latest/node/<name>/{out,err}`.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

VENV_PREFIX = Path(sys.prefix)


class LaunchRunner:
    """`with LaunchRunner("demo.launch.py", {"max_frames": "10"}, log_dir) as run:` starts and stops a launch."""

    def __init__(self, launch_file: str, arguments: dict[str, str], log_dir: str | Path,
                 package: str = "rhpnet") -> None:
        self.command = self._command(package, launch_file, arguments, Path(log_dir))
        self.log_dir = Path(log_dir)
        self.process: subprocess.Popen | None = None

    @staticmethod
    def _command(package: str, launch_file: str, arguments: dict[str, str], log_dir: Path) -> list[str]:
        launch_args = [f"{key}:={value}" for key, value in arguments.items()]
        ros2 = shutil.which("ros2")
        if ros2 and not os.environ.get("RHPNET_USE_PLAY_LAUNCH"):
            return [ros2, "launch", package, launch_file, *launch_args]
        play_launch = shutil.which("play_launch") or str(VENV_PREFIX / "bin" / "play_launch")
        if not Path(play_launch).exists():
            raise FileNotFoundError("neither `ros2` nor `play_launch` found; run `make setup`")
        return [play_launch, "launch", package, launch_file, *launch_args, "--disable-web-ui",
                "--disable-monitoring", "--disable-diagnostics", "--log-dir", str(log_dir)]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        prefixes = [p for p in env.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
        if str(VENV_PREFIX) not in prefixes:
            env["AMENT_PREFIX_PATH"] = os.pathsep.join([str(VENV_PREFIX), *prefixes])
        env["PATH"] = os.pathsep.join([str(VENV_PREFIX / "bin"), env.get("PATH", "")])
        return env

    def __enter__(self) -> "LaunchRunner":
        self.log_dir.mkdir(parents=True, exist_ok=True)
        output = open(self.log_dir / "launcher.txt", "w")
        self.process = subprocess.Popen(self.command, env=self.environment(), cwd=self.log_dir,
                                        stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        output.close()
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 20.0) -> int | None:
        """SIGINT the launch (nodes flush their outputs), escalating to SIGTERM then SIGKILL."""
        if self.process is None:
            return None
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if self.process.poll() is not None:
                break
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                continue
        return self.process.poll()

    def __exit__(self, *exc) -> None:
        self.stop()

    def node_log(self, node: str, stream: str = "err") -> str:
        """The captured stdout ('out') or stderr ('err') of a node started by play_launch."""
        path = self.log_dir / "latest" / "node" / node / stream
        return path.read_text(errors="replace") if path.exists() else ""
