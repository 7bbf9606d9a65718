#!/usr/bin/env bash
# Installs mmext_pixel and the exact OpenMMLab stack it is tested with into the
# Python environment of $PYTHON (default: python3).
#
#   bash tools/install.sh                      # fresh machine, CPU or CUDA
#   bash tools/install.sh --cpu                # CPU-only machine, no torch yet
#   bash tools/install.sh --no-pose            # segmentation only
#   MMEXT_WHEELHOUSE=/path/to/wheels bash tools/install.sh
#
# Options:
#   --cpu             take torch and torchvision as a pair from PyTorch's CPU
#                     wheel index ($TORCH_CPU_INDEX) instead of PyPI's CUDA
#                     build (about 3 GB of CUDA packages a CPU never uses).
#                     An installed '+cpu' torch gets its torchvision from
#                     that index with or without this option.
#   --no-pose         leave out the pose stack (mmpose, mmdet, xtcocotools,
#                     and torchvision, which only mmpose imports; see
#                     requirements/pose.txt). Every segmentation component
#                     and config works without it; the pose configs need it.
#   --no-deploy       leave out the deployment packages (onnx, onnxruntime,
#                     the HTTP service's; requirements/deploy.txt) and the
#                     torch-free runtime (runtime/). The ONNX export, the
#                     runtime and the server need them; the test suite then
#                     skips their tests, naming this option.
#   --mmcv-cuda-ops   build mmcv's CUDA ops even where no nvcc matching
#                     torch's CUDA version is found (see step 3; only mmseg
#                     models that call mmcv's CUDA ops need them, none of
#                     mmext_pixel's do).
#
# Environment:
#   PYTHON            interpreter whose environment receives the packages.
#   MMEXT_WHEELHOUSE  folder with prebuilt wheels (e.g. mmcv-2.1.0-*.whl); an
#                     mmcv wheel from there is kept only if its compiled ops
#                     load with the installed torch.
#   MMEXT_WHEEL_CACHE where mmcv wheels built here are kept for the next
#                     install (default: ~/.cache/mmext_pixel/wheels), one
#                     folder per build key mmcv<version>-torch<torch version
#                     with its CUDA tag>-<python tag>, e.g.
#                     mmcv2.1.0-torch2.13.0+cu130-cp311: compiled ops only
#                     load with the torch they were built against.
#   TORCH_SPEC / TORCHVISION_SPEC  what to install when no torch is present
#                     (default: torch==2.13.0 torchvision==0.28.0).
#   TORCH_CPU_INDEX   PyTorch's CPU wheel index for --cpu (default:
#                     https://download.pytorch.org/whl/cpu).
#   MMEXT_PROGRESS_INTERVAL  seconds between the progress lines of the mmcv
#                     build (default: 60).
#
# A torch that is already installed (e.g. a CUDA build of your choice) is kept
# as long as it is in the supported range; only a matching torchvision is added
# (not with --no-pose). So is an installed mmcv 2.1.0 whose ops load.
#
# Each step is a function and `main` runs them in order; sourcing this file
# only defines them (tests run one step with another replaced).
set -euo pipefail

PY=${PYTHON:-python3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${MMEXT_WHEEL_CACHE:-$HOME/.cache/mmext_pixel/wheels}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
TORCHVISION_SPEC=${TORCHVISION_SPEC:-torchvision==0.28.0}
TORCH_CPU_INDEX=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
PROGRESS_INTERVAL=${MMEXT_PROGRESS_INTERVAL:-60}
MMCV_VERSION=2.1.0 MMPOSE_VERSION=1.3.2
WITH_POSE=1 WITH_DEPLOY=1 CPU_TORCH=0 MMCV_CUDA_OPS=auto MMCV_OPS=cpu

pip_install() { "$PY" -m pip install "$@"; }
log() { printf '[install] %s\n' "$*"; }
usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; }

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
        --no-pose) WITH_POSE=0 ;;
        --no-deploy) WITH_DEPLOY=0 ;;
        --cpu) CPU_TORCH=1 ;;
        --mmcv-cuda-ops) MMCV_CUDA_OPS=force ;;
        -h | --help) usage && exit 0 ;;
        *)
            log "ERROR: unknown argument '$1' (options: --cpu, --no-pose," \
                "--no-deploy, --mmcv-cuda-ops, --help)"
            exit 2
            ;;
        esac
        shift
    done
}

# Runs pip with build tools ($1) importable from a side folder: a build without
# isolation sees torch/numpy but leaves the environment's own tools alone.
pip_with_build_tools() {
    local tools=$1 side
    shift
    side=$(mktemp -d)
    # shellcheck disable=SC2086
    pip_install --target "$side" $tools
    PYTHONPATH="$side${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m pip "$@"
    rm -rf "$side"
}

# --- 1. torch (+ torchvision for the pose stack) ----------------------------
torch_version() { "$PY" -c 'import torch; print(torch.__version__)'; }

# pip from PyTorch's CPU wheel index; a failure there names the index.
pip_install_from_cpu_index() {
    if ! pip_install --index-url "$TORCH_CPU_INDEX" "$@"; then
        log "ERROR: could not install $* from PyTorch's CPU wheel index" \
            "$TORCH_CPU_INDEX (is it reachable from here?)."
        log "Set TORCH_CPU_INDEX to a mirror of it, or leave out --cpu to" \
            "install PyPI's CUDA build of torch (it runs on the CPU too)."
        exit 1
    fi
}

install_torch() {
    local modules=torch specs=("$TORCH_SPEC") version tv
    # mmpose's visualizer imports torchvision, so every pose runner needs it.
    if [ "$WITH_POSE" = 1 ]; then
        modules='torch, torchvision'
        specs+=("$TORCHVISION_SPEC")
    fi
    if "$PY" - <<EOF 2>/dev/null; then
import $modules
major_minor = tuple(int(x) for x in torch.__version__.split('.')[:2])
assert (2, 0) <= major_minor < (2, 14), torch.__version__
EOF
        log "keeping installed torch $(torch_version)"
        return
    fi
    if "$PY" -c 'import torch' 2>/dev/null; then
        version=$(torch_version)
        if [ "$WITH_POSE" = 0 ]; then
            log "keeping installed torch $version (outside the tested 2.0-2.13)"
            return
        fi
        # torchvision 0.(minor+15) pairs with torch 2.minor
        tv=$("$PY" -c 'import torch; v=torch.__version__.split("+")[0].split("."); print(f"torchvision==0.{int(v[1])+15}.*")')
        if [[ $version == *+cpu ]]; then
            # PyPI's torchvision does not load with a '+cpu' torch; the one
            # built with it is on the same index. --no-deps keeps the torch.
            log "torch $version is a CPU build: adding $tv from PyTorch's" \
                "CPU index $TORCH_CPU_INDEX"
            pip_install_from_cpu_index --no-deps --force-reinstall "$tv"
        else
            log "torch present, adding $tv"
            pip_install "$tv"
        fi
    elif [ "$CPU_TORCH" = 1 ]; then
        log "installing ${specs[*]} from PyTorch's CPU index" \
            "$TORCH_CPU_INDEX (--cpu)"
        pip_install_from_cpu_index "${specs[@]}"
    else
        log "installing ${specs[*]}"
        pip_install "${specs[@]}"
    fi
    if [ "$WITH_POSE" = 0 ] || "$PY" -c 'import torchvision'; then return; fi
    log "ERROR: torchvision does not import with the installed torch" \
        "$(torch_version)."
    log "torch and torchvision must come from the same build. On a" \
        "CPU-only machine:"
    log "  $PY -m pip uninstall -y torch torchvision &&" \
        "bash tools/install.sh --cpu"
    log "(both from PyTorch's CPU index); for CUDA, install both from the" \
        "same PyTorch index, then run this script again."
    log "(Segmentation alone does not need torchvision: --no-pose.)"
    exit 1
}

# --- 2. the OpenMMLab stack and the runtime deps ----------------------------
install_openmmlab() {
    pip_install -r "$ROOT/requirements/runtime.txt"
    if [ "$WITH_POSE" = 1 ]; then
        pip_install -r "$ROOT/requirements/pose.txt"
        # without its declared chumpy (no build on Python 3.11, never imported)
        pip_install --no-deps "mmpose==$MMPOSE_VERSION"
        # xtcocotools' wheels fail under numpy 2: built here against the
        # installed numpy, with the cython its setup.py imports undeclared
        if ! "$PY" -c "import xtcocotools.coco" 2>/dev/null; then
            pip_install cython
            pip_install --no-build-isolation --no-binary xtcocotools \
                --force-reinstall --no-deps xtcocotools
        fi
    fi
    pip_install -r "$ROOT/requirements/tests.txt"
}

# --- 3. mmcv 2.1.0 with compiled ops: tools/install_mmcv.sh ---------------
# shellcheck source=install_mmcv.sh
source "$(dirname "${BASH_SOURCE[0]}")/install_mmcv.sh"

# --- 4. the deployment packages (not with --no-deploy) ---------------------
install_deploy() {
    if [ "$WITH_DEPLOY" = 0 ]; then return; fi
    pip_install -r "$ROOT/requirements/deploy.txt"
    # editable: the deployment tools of this checkout run its runtime
    pip_install -e "$ROOT/runtime[serve,quantize]"
}

# --- 5. mmext_pixel itself --------------------------------------------------
install_self() { pip_install --no-deps --no-build-isolation -e "$ROOT"; }

# Everything imports; with the pose stack, its components are registered.
check_install() {
    "$PY" - "$WITH_POSE" "$WITH_DEPLOY" <<'EOF'
import sys

with_pose, with_deploy = (arg == '1' for arg in sys.argv[1:3])
pose = ['mmdet', 'mmpose', 'torchvision', 'xtcocotools.coco'] * with_pose
deploy = ['onnx', 'onnxruntime', 'mmext_pixel_runtime'] * with_deploy
core = ['mmcv.ops', 'mmengine', 'mmseg', 'torch', 'mmext_pixel']
for module in pose + deploy + core:  # the pose stack first: it fails fast
    __import__(module)
mmext_pixel = sys.modules['mmext_pixel']
versions = {
    name: sys.modules[name].__version__
    for name in ['torch', 'mmcv', 'mmengine', 'mmseg'] +
    ['onnx', 'onnxruntime'] * with_deploy + ['mmpose', 'mmdet'] * with_pose +
    ['mmext_pixel']
}
if with_pose and not mmext_pixel.WITH_MMPOSE:
    sys.exit('[install] ERROR: mmext_pixel did not register its pose '
             'components')
print('[install] ok:', ' | '.join(f'{k} {v}' for k, v in versions.items()),
      '| pose components:', 'yes' if mmext_pixel.WITH_MMPOSE else 'no')
EOF
}

main() {
    parse_args "$@"
    if [ "$WITH_POSE" = 0 ]; then log "segmentation only (--no-pose)"; fi
    if [ "$WITH_DEPLOY" = 0 ]; then log "no deployment packages (--no-deploy)"; fi
    install_torch
    install_openmmlab
    install_mmcv
    install_deploy
    install_self
    check_install
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
