#!/usr/bin/env bash
# Installs mmext_pixel and the exact OpenMMLab stack it is tested with into the
# Python environment of $PYTHON (default: python3).
#
#   bash tools/install.sh                      # fresh machine, CPU or CUDA
#   MMEXT_WHEELHOUSE=/path/to/wheels bash tools/install.sh
#
# Environment:
#   PYTHON            interpreter whose environment receives the packages.
#   MMEXT_WHEELHOUSE  folder with prebuilt wheels (e.g. mmcv-2.1.0-*.whl); used
#                     before building anything from source.
#   MMEXT_WHEEL_CACHE where a locally built mmcv wheel is kept so that the next
#                     install on this machine is fast
#                     (default: ~/.cache/mmext_pixel/wheels).
#   TORCH_SPEC / TORCHVISION_SPEC  what to install when no torch is present
#                     (default: torch==2.13.0 torchvision==0.28.0).
#
# A torch that is already installed (e.g. a CUDA build of your choice) is kept
# as long as it is in the supported range; only a matching torchvision is added.
set -euo pipefail

PY=${PYTHON:-python3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${MMEXT_WHEEL_CACHE:-$HOME/.cache/mmext_pixel/wheels}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
TORCHVISION_SPEC=${TORCHVISION_SPEC:-torchvision==0.28.0}
MMCV_VERSION=2.1.0

pip_install() { "$PY" -m pip install "$@"; }
log() { printf '[install] %s\n' "$*"; }

# Runs pip with build tools ($1, a requirement list) importable from a side
# folder, so that building a source archive without build isolation (it must see
# the installed torch/numpy) leaves the environment's own tools untouched.
pip_with_build_tools() {
    local tools=$1; shift
    local side; side=$(mktemp -d)
    # shellcheck disable=SC2086
    pip_install --target "$side" $tools
    PYTHONPATH="$side${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m pip "$@"
    rm -rf "$side"
}

# --- 1. torch + torchvision -------------------------------------------------
# mmpose's visualizer imports torchvision, so every pose runner needs it.
if "$PY" - <<'EOF' 2>/dev/null
import torch, torchvision
from packaging.version import Version
v = Version(torch.__version__.split('+')[0])
assert Version('2.0') <= v < Version('2.14'), v
EOF
then
    log "keeping installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
else
    if "$PY" -c 'import torch' 2>/dev/null; then
        # torchvision 0.(minor+15) pairs with torch 2.minor
        TV=$("$PY" -c 'import torch; v=torch.__version__.split("+")[0].split("."); print(f"torchvision==0.{int(v[1])+15}.*")')
        log "torch present, adding $TV"
        pip_install "$TV"
    else
        log "installing $TORCH_SPEC $TORCHVISION_SPEC"
        pip_install "$TORCH_SPEC" "$TORCHVISION_SPEC"
    fi
    if ! "$PY" -c 'import torchvision' 2>/dev/null; then
        "$PY" -c 'import torchvision' || true
        log "ERROR: torchvision does not import with the installed torch."
        log "Install a torch/torchvision pair built together (e.g. both from PyPI:"
        log "  pip install --force-reinstall $TORCH_SPEC $TORCHVISION_SPEC)"
        log "or both from the same PyTorch index), then run this script again."
        exit 1
    fi
fi

# --- 2. mmcv 2.1.0 with compiled ops ----------------------------------------
if "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
    log "keeping installed mmcv $MMCV_VERSION (with ops)"
else
    mkdir -p "$CACHE"
    links=(--find-links "$CACHE")
    if [ -n "${MMEXT_WHEELHOUSE:-}" ]; then links+=(--find-links "$MMEXT_WHEELHOUSE"); fi
    if ! pip_install --no-index --no-deps "${links[@]}" "mmcv==$MMCV_VERSION" 2>/dev/null; then
        # mmcv 2.1.0 ships only as a source archive; its setup.py imports
        # pkg_resources (setuptools<70) and must see the installed torch.
        log "building mmcv $MMCV_VERSION from source (about 10 minutes on 2 cores)"
        MMCV_WITH_OPS=1 pip_with_build_tools "setuptools<70 wheel" \
            wheel --no-build-isolation --no-deps --no-binary mmcv \
            -w "$CACHE" "mmcv==$MMCV_VERSION"
        pip_install --no-index --no-deps --find-links "$CACHE" "mmcv==$MMCV_VERSION"
    fi
fi

# --- 3. the OpenMMLab stack and the runtime deps ----------------------------
pip_install -r "$ROOT/requirements/runtime.txt"
# mmpose declares chumpy (does not build on Python 3.11, never imported):
# install mmpose alone and its real runtime deps from requirements/runtime.txt.
pip_install --no-deps "mmpose==1.3.2"
# xtcocotools' published wheels are compiled against numpy 1.x and fail to
# import under numpy 2; building it here against the installed numpy fixes that.
if ! "$PY" -c "import xtcocotools.coco" 2>/dev/null; then
    # its source archive imports numpy and cython in setup.py without declaring
    # them as build requirements (cython is also a declared runtime dep)
    pip_install cython
    pip_install --no-build-isolation --no-binary xtcocotools --force-reinstall \
        --no-deps xtcocotools
fi
pip_install -r "$ROOT/requirements/tests.txt"

# --- 4. mmext_pixel itself --------------------------------------------------
pip_install --no-deps --no-build-isolation -e "$ROOT"

"$PY" - <<'EOF'
import mmcv, mmcv.ops, mmengine, mmseg, mmdet, mmpose, torch, torchvision  # noqa
import xtcocotools.coco  # noqa
import mmext_pixel
print('[install] ok: torch', torch.__version__, '| mmcv', mmcv.__version__,
      '| mmengine', mmengine.__version__, '| mmseg', mmseg.__version__,
      '| mmpose', mmpose.__version__, '| mmdet', mmdet.__version__,
      '| mmext_pixel', mmext_pixel.__version__)
EOF
