"""tools/setup_env.sh refuses unsupported interpreters with a message that says what it needs;
the README's first two commands are the ones CI and users run."""
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_setup_names_the_python_it_needs(tmp_path):
    fake = tmp_path / "python3.9"
    fake.write_text("#!/bin/sh\necho 3.9\n")
    fake.chmod(0o755)
    run = subprocess.run(["bash", str(ROOT / "tools" / "setup_env.sh")], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHON": str(fake), "RHPNET_VENV": str(tmp_path / "venv")})
    assert run.returncode == 1
    assert "Python 3.9 found; the ROS 2 Kilted wheels need 3.11 or 3.12" in run.stderr
    assert not (tmp_path / "venv").exists()


def test_readme_starts_with_the_two_commands_ci_runs():
    lines = [line for line in (ROOT / "README.md").read_text().splitlines() if line.strip()]
    assert lines[0] == "```bash"
    assert lines[1].startswith("make demo") and lines[2].startswith("make test") and lines[3] == "```"
    assert "make test" in (ROOT / ".ci" / "run").read_text()
