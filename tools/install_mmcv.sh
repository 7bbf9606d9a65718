# Step 3 of tools/install.sh, which sources it (its settings and helpers):
# mmcv 2.1.0 with compiled ops, from our cache, $MMEXT_WHEELHOUSE or source.
# Run after the stack: `import mmcv` needs the deps its wheel comes without.

# What compiled ops depend on: mmcv, the exact torch build, the Python ABI
# and whether CUDA ops are in ('-cudaops').
mmcv_build_key() {
    local ops=
    if [ "$MMCV_OPS" = cuda ]; then ops=-cudaops; fi
    "$PY" -c 'import sys, torch
name = sys.implementation.name
impl = {"cpython": "cp", "pypy": "pp"}.get(name, name)
print(f"mmcv{sys.argv[1]}-torch{torch.__version__}-{impl}"
      f"{sys.version_info[0]}{sys.version_info[1]}{sys.argv[2]}")' \
        "$MMCV_VERSION" "$ops"
}

# The CUDA release ("13.0") of the nvcc torch's extension builder would use;
# empty without one.
nvcc_release() {
    local nvcc=${CUDA_HOME:-${CUDA_PATH:-}}
    if [ -n "$nvcc" ]; then
        nvcc=$nvcc/bin/nvcc
    else
        nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
    fi
    [ -x "$nvcc" ] || return 0
    "$nvcc" --version 2>/dev/null |
        sed -n 's/.*release \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' | head -n 1
}

# Sets MMCV_OPS to the ops a build here compiles: "cuda" where torch sees a
# GPU and an nvcc of its CUDA major is found (or --mmcv-cuda-ops), else "cpu".
choose_mmcv_ops() {
    local gpu torch_cuda nvcc
    read -r gpu torch_cuda < <("$PY" -c 'import torch
print(int(torch.cuda.is_available()), torch.version.cuda or "-")')
    MMCV_OPS=cpu
    if [ "$gpu" != 1 ]; then return; fi
    nvcc=$(nvcc_release)
    if [ "$MMCV_CUDA_OPS" = force ]; then
        MMCV_OPS=cuda
        log "mmcv: building CUDA ops (--mmcv-cuda-ops; torch's CUDA" \
            "$torch_cuda, nvcc ${nvcc:-not found})"
    elif [ -n "$nvcc" ] && [ "${nvcc%%.*}" = "${torch_cuda%%.*}" ]; then
        MMCV_OPS=cuda
        log "mmcv: building CUDA ops with nvcc $nvcc (torch's CUDA $torch_cuda)"
    else
        log "mmcv: no nvcc matching torch's CUDA $torch_cuda found" \
            "(${nvcc:+nvcc }${nvcc:-none}): its CPU ops only, built with" \
            "the GPU hidden; mmext_pixel calls no mmcv op. --mmcv-cuda-ops" \
            "forces the CUDA build"
    fi
}

# Succeeds if mmcv $MMCV_VERSION's ops (CUDA ones for MMCV_OPS=cuda) load;
# else sets MMCV_LOAD_ERROR to the error's last line.
mmcv_ops_load() {
    local out check="import mmcv, mmcv.ops
assert mmcv.__version__ == '$MMCV_VERSION', 'mmcv ' + mmcv.__version__
if '$MMCV_OPS' == 'cuda':
    from mmcv.ops import get_compiling_cuda_version
    assert get_compiling_cuda_version() != 'not available', \\
        'its ops were compiled without CUDA'"
    if out=$("$PY" -c "$check" 2>&1); then return 0; fi
    MMCV_LOAD_ERROR=$(printf '%s\n' "$out" | tail -n 1)
    return 1
}

# Installs the first mmcv wheel in folder $1 whose ops load with torch (build
# key $2); one that does not load is uninstalled, and deleted if $3 is "ours".
use_mmcv_wheel_from() {
    local whl
    for whl in "$1/mmcv-$MMCV_VERSION-"*.whl; do
        [ -e "$whl" ] || continue
        log "trying $whl"
        if ! pip_install --no-index --no-deps --force-reinstall "$whl"; then
            log "not using it: pip cannot install it here (another platform?)"
            continue
        fi
        if mmcv_ops_load; then
            log "using it: its ops load with $2"
            return 0
        fi
        log "not using it: its ops do not load with this torch" \
            "($MMCV_LOAD_ERROR)"
        "$PY" -m pip uninstall -y mmcv
        if [ "${3:-}" = ours ]; then rm -f "$whl"; fi
    done
    return 1
}

# Runs "${@:2}", logging the time elapsed under the name $1 every
# $PROGRESS_INTERVAL seconds: pip is silent during a long build.
with_progress() {
    local what=$1 start rc=0 ticker
    shift
    start=$(date +%s)
    (
        while sleep "$PROGRESS_INTERVAL"; do
            elapsed=$(($(date +%s) - start))
            log "$what: $((elapsed / 60)) min $((elapsed % 60)) s elapsed"
        done
    ) &
    ticker=$!
    "$@" || rc=$?
    kill "$ticker" 2>/dev/null || true
    wait "$ticker" 2>/dev/null || true
    return "$rc"
}

# Builds an mmcv wheel from PyPI's source archive into folder $1.
build_mmcv_wheel() {
    # setup.py imports pkg_resources (setuptools<70) and must see torch; pip's
    # cache key lacks torch, so it is bypassed; no visible GPU: CPU ops only.
    (
        if [ "$MMCV_OPS" = cpu ]; then export CUDA_VISIBLE_DEVICES=; fi
        MMCV_WITH_OPS=1 with_progress "building mmcv $MMCV_VERSION" \
            pip_with_build_tools "setuptools<70 wheel" \
            wheel --no-build-isolation --no-deps --no-binary mmcv \
            --no-cache-dir -w "$1" "mmcv==$MMCV_VERSION"
    )
}

install_mmcv() {
    choose_mmcv_ops
    if mmcv_ops_load; then
        log "keeping installed mmcv $MMCV_VERSION (its ops load)"
        return
    fi
    if "$PY" -c 'import mmcv' 2>/dev/null; then
        log "replacing the installed mmcv: $MMCV_LOAD_ERROR"
    fi
    local key
    key=$(mmcv_build_key)
    local dir=$CACHE/$key
    if use_mmcv_wheel_from "$dir" "$key" ours; then return; fi
    if [ -n "${MMEXT_WHEELHOUSE:-}" ] &&
        use_mmcv_wheel_from "$MMEXT_WHEELHOUSE" "$key"; then
        return
    fi
    log "building mmcv $MMCV_VERSION for $key from source" \
        "(about 10 minutes on 2 idle cores, 40+ on loaded ones)"
    mkdir -p "$dir"
    build_mmcv_wheel "$dir"
    MMCV_LOAD_ERROR=
    if ! use_mmcv_wheel_from "$dir" "$key" ours; then
        log "ERROR: no mmcv $MMCV_VERSION built into $dir loads its ops" \
            "(${MMCV_LOAD_ERROR:-no wheel})"
        exit 1
    fi
    log "built and cached in $dir"
}
