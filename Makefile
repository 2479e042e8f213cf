# rhpnet: `make demo` (the ROS 2 pipeline on real footage) and `make test` (the whole suite).
# Both set the environment up first (tools/setup_env.sh is idempotent; a second run takes seconds).
VENV ?= .venv
PY := $(VENV)/bin/python
# ultralytics writes a settings file on import; keep it inside the venv, not in $HOME.
export YOLO_CONFIG_DIR ?= $(abspath $(VENV))/ultralytics-config
export YOLO_OFFLINE = 1
# DDS discovery stays on this machine unless the caller says otherwise.
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST

.PHONY: setup demo test bench clean

setup:
	bash tools/setup_env.sh

# `make demo` = the side-view walker through a treadmill rig; `make demo DEMO=synthetic` = a synthetic runner.
DEMO ?= sideview
demo: setup
	$(PY) -m rhpnet_ros.demo $(DEMO) $(DEMO_ARGS)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	$(PY) bench/bench_runtime.py

clean:
	rm -rf build output play_log
