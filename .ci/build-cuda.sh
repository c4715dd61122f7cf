#!/usr/bin/env bash
# Build rescale-lab with candle's CUDA backend on a Linux x86_64 machine that has NO system
# CUDA toolkit (and no GPU): the CUDA 13.0 compiler and libraries come from PyPI wheels,
# installed under target/cuda-toolkit/ (git-ignored), and the build goes to its own target
# dir (target/cuda) so it never disturbs the default target/release build.
#
#   .ci/build-cuda.sh                      # cargo build --release --features cuda
#   .ci/build-cuda.sh --features cudnn     # same, but also fetches cuDNN and builds with it
#   .ci/build-cuda.sh --env                # only set up the toolkit; print `export` lines
#   eval "$(.ci/build-cuda.sh --env)"      # ... to run other cargo commands with it
#   .ci/build-cuda.sh -- --bin rescale-lab # extra arguments after -- go to cargo build
#
# Product: target/cuda/release/rescale-lab. It links (DT_NEEDED, not dlopen) libcuda.so.1
# (the NVIDIA driver), libcudart.so.13, libcublas.so.13, libcublasLt.so.13, libcurand.so.10
# and libnvrtc.so.13 (+ libcudnn.so.9 with cudnn); the binary gets an RPATH to the toolkit's
# lib dir here and to $ORIGIN/cuda-lib, see docs/gpu.md for running it elsewhere.
#
# Environment knobs (all optional):
#   CUDA_COMPUTE_CAP  GPU compute capability the kernels are compiled for (default: the
#                     first GPU's per nvidia-smi, else 90 = H100/H200, i.e. sm_90a)
#   CARGO_TARGET_DIR  default <repo>/target/cuda
#   CUDA_TOOLKIT_DIR  default <repo>/target/cuda-toolkit
#   NICE              niceness of the build (default 19: only idle CPU is used)
#   CARGO_BUILD_JOBS  cargo's -j (default: cargo's own)
#   CUDAFORGE_THREADS parallel nvcc jobs in candle-kernels' build script (default 1)
#   PYTHON            python with pip (default python3)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FEATURES=cuda
ENV_ONLY=0
CARGO_EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
        --features) FEATURES="$2"; shift 2 ;;
        --features=*) FEATURES="${1#--features=}"; shift ;;
        --env) ENV_ONLY=1; shift ;;
        --) shift; CARGO_EXTRA=("$@"); break ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "build-cuda.sh: unknown argument '$1' (cargo arguments go after --)" >&2; exit 2 ;;
    esac
done

log() { echo "build-cuda.sh: $*" >&2; }

case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *) log "only Linux x86_64 is supported by this script (the PyPI wheels pinned here are x86_64)"; exit 1 ;;
esac

# ---- pinned CUDA 13.0 Update 2 wheels (the set PyPI's cuda-toolkit==13.0.2 meta-package pins).
# 13.0 rather than the newest 13.x: cudarc 0.19.10 (candle 0.11) knows CUDA <= 13.4 only, and
# PTX from an older nvcc JIT-compiles on every driver that supports CUDA 13 (R580 or newer);
# PTX from a newer nvcc needs a newer driver.
PINS=(
    nvidia-cuda-nvcc==13.0.88
    nvidia-cuda-crt==13.0.88
    nvidia-nvvm==13.0.88
    nvidia-cuda-runtime==13.0.96
    nvidia-cuda-cccl==13.0.85
    nvidia-cuda-nvrtc==13.0.88
    nvidia-cublas==13.1.0.3
    nvidia-curand==10.4.0.35
)
CUDNN_PINS=(nvidia-cudnn-cu13==9.21.0.82) # cudarc's `cudnn` feature = cuDNN 9.21 bindings
WITH_CUDNN=0
case ",$FEATURES," in *,cudnn,*) WITH_CUDNN=1 ;; esac

TOOLKIT_DIR="${CUDA_TOOLKIT_DIR:-$REPO/target/cuda-toolkit}"
SITE="$TOOLKIT_DIR/site"
CUDA="$SITE/nvidia/cu13"
PYTHON="${PYTHON:-python3}"
NICE="${NICE:-19}"

# install_wheels DIR PIN... : pip-install the pinned wheels into DIR (a --target folder of its
# own: a second `pip install --target` into the same folder would replace its nvidia/ tree),
# unless DIR/installed.txt already lists exactly these pins.
install_wheels() {
    local dir="$1"; shift
    local want; want="$(printf '%s\n' "$@")"
    if [ -f "$dir/installed.txt" ] && [ "$(cat "$dir/installed.txt")" = "$want" ]; then
        return 0
    fi
    if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            log "installing python3-pip with apt-get"
            apt-get update -qq && apt-get install -y -qq python3-pip >/dev/null
        else
            log "need '$PYTHON -m pip' (install python3-pip)"; exit 1
        fi
    fi
    log "installing $* into $dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    # --target: nothing goes into the system or user site-packages (so PEP 668 does not apply).
    nice -n "$NICE" "$PYTHON" -m pip install --quiet --disable-pip-version-check \
        --root-user-action=ignore --no-deps --only-binary=:all: --target "$dir" "$@"
    printf '%s\n' "$@" > "$dir/installed.txt"
}
install_wheels "$SITE" "${PINS[@]}"
if [ "$WITH_CUDNN" = 1 ]; then install_wheels "$TOOLKIT_DIR/cudnn-site" "${CUDNN_PINS[@]}"; fi
[ -x "$CUDA/bin/nvcc" ] || { log "no nvcc in $CUDA/bin after install"; exit 1; }

# ---- make the wheel tree look like a CUDA toolkit root for cudarc / cudaforge / the linker.
# Wheel layout: $CUDA/{bin/nvcc,nvvm/bin/cicc,include,lib/lib*.so.N}. nvcc finds its headers
# and cicc relative to itself (nvcc.profile), so only the link step needs help:
#  * unversioned lib*.so names for `-lcudart -lcublas ...` (wheels ship only lib*.so.N);
#  * lib64 -> lib for tools that look there;
#  * a link-time stub libcuda.so (SONAME libcuda.so.1): libcuda is the driver, not part of the
#    toolkit wheels, and candle links cudarc with `dynamic-linking`, so `-lcuda` must resolve.
#    The stub is never loaded at run time (it lives in lib/stubs, which no RUNPATH names);
#    the real driver's libcuda.so.1 is.
link_so() { # link_so libcudart.so.13 -> libcudart.so
    local dir="$1" versioned="$2"
    [ -e "$dir/$versioned" ] || { log "missing $dir/$versioned"; exit 1; }
    ln -sfn "$versioned" "$dir/${versioned%%.so.*}.so"
}
link_so "$CUDA/lib" libcudart.so.13
link_so "$CUDA/lib" libcublas.so.13
link_so "$CUDA/lib" libcublasLt.so.13
link_so "$CUDA/lib" libcurand.so.10
link_so "$CUDA/lib" libnvrtc.so.13
[ -e "$CUDA/lib64" ] || ln -sfn lib "$CUDA/lib64"
CUDNN_ROOT=""
if [ "$WITH_CUDNN" = 1 ]; then
    # cuDNN comes in its own wheel tree; link its libraries into the toolkit's lib dir too, so
    # the link search path and the binary's RUNPATH stay the same with and without cudnn
    # (a different RUSTFLAGS would make cargo rebuild every crate in target/cuda).
    CUDNN_ROOT="$TOOLKIT_DIR/cudnn-site/nvidia/cudnn"
    for so in "$CUDNN_ROOT"/lib/libcudnn*.so.*; do
        ln -sfn "../../../../cudnn-site/nvidia/cudnn/lib/${so##*/}" "$CUDA/lib/${so##*/}"
    done
    link_so "$CUDA/lib" libcudnn.so.9
fi

mkdir -p "$CUDA/lib/stubs"
CC_BIN="${CC:-cc}"
# Every driver entry point named in cuda.h, both as written and after its
# `#define cuFoo cuFoo_v2` renames (what bindgen, hence cudarc, references), plus the
# cuProfiler* ones (the wheels ship only cudaProfilerTypedefs.h, not cudaProfiler.h).
{ "$CC_BIN" -E -P -I"$CUDA/include" "$CUDA/include/cuda.h"; cat "$CUDA/include/cuda.h"
  grep -oE 'PFN_cu[A-Za-z0-9]+_v[0-9]+' "$CUDA/include/cudaProfilerTypedefs.h" \
    | sed -E 's/^PFN_//; s/_v[0-9]+$/(/'; } \
    | grep -oE '\bcu[A-Z][A-Za-z0-9_]*[[:space:]]*\(' | tr -d '( \t' | sort -u \
    | awk '{ printf "int %s(void) { return 999; /* CUDA_ERROR_UNKNOWN */ }\n", $1 }' \
    > "$CUDA/lib/stubs/libcuda_stub.c.new"
if [ ! -f "$CUDA/lib/stubs/libcuda.so" ] \
    || ! cmp -s "$CUDA/lib/stubs/libcuda_stub.c.new" "$CUDA/lib/stubs/libcuda_stub.c"; then
    log "generating link-time stub $CUDA/lib/stubs/libcuda.so"
    mv "$CUDA/lib/stubs/libcuda_stub.c.new" "$CUDA/lib/stubs/libcuda_stub.c"
    "$CC_BIN" -shared -fPIC -O0 -w -Wl,-soname,libcuda.so.1 \
        -o "$CUDA/lib/stubs/libcuda.so" "$CUDA/lib/stubs/libcuda_stub.c"
else
    rm -f "$CUDA/lib/stubs/libcuda_stub.c.new"
fi

# Compute capability: CUDA_COMPUTE_CAP if set, else the first GPU's (nvidia-smi), else 90.
if [ -z "${CUDA_COMPUTE_CAP:-}" ]; then
    CUDA_COMPUTE_CAP="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null \
        | head -n1 | tr -d ' .' || true)"
    case "$CUDA_COMPUTE_CAP" in ''|*[!0-9]*) CUDA_COMPUTE_CAP=90 ;; esac
fi

NVCC_VERSION="$("$CUDA/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\),.*/\1/p')"
[ -n "$NVCC_VERSION" ] || { log "nvcc does not run: $CUDA/bin/nvcc"; exit 1; }

# DT_RPATH (--disable-new-dtags), not DT_RUNPATH: libnvrtc dlopens libnvrtc-builtins.so.13.0
# at run time, and a dlopen from a library searches the executable's DT_RPATH but never its
# DT_RUNPATH (checked: with RUNPATH, NVRTC fails with NVRTC_ERROR_BUILTIN_OPERATION_FAILURE).
RUNPATH="-C link-arg=-Wl,--disable-new-dtags -C link-arg=-Wl,-rpath,\$ORIGIN/cuda-lib:$CUDA/lib"
ENV_LINES=(
    "export CUDA_ROOT='$CUDA'"
    "export CUDA_PATH='$CUDA'"
    "export CUDA_HOME='$CUDA'"
    "export CUDA_TOOLKIT_ROOT_DIR='$CUDA'"
    "export PATH='$CUDA/bin':\"\$PATH\""
    "export LIBRARY_PATH='$CUDA/lib:$CUDA/lib/stubs'\${LIBRARY_PATH:+:\$LIBRARY_PATH}"
    "export CUDA_COMPUTE_CAP='$CUDA_COMPUTE_CAP'"
    "export CUDAFORGE_THREADS='${CUDAFORGE_THREADS:-1}'"
    "export CARGO_TARGET_DIR='${CARGO_TARGET_DIR:-$REPO/target/cuda}'"
    "export RUSTFLAGS='$RUNPATH'\${RUSTFLAGS:+\" \$RUSTFLAGS\"}"
)
[ -n "$CUDNN_ROOT" ] && ENV_LINES+=("export CUDNN_LIB='$CUDNN_ROOT'")
if [ "$ENV_ONLY" = 1 ]; then
    printf '%s\n' "${ENV_LINES[@]}"
    exit 0
fi
for line in "${ENV_LINES[@]}"; do eval "$line"; done

log "CUDA $NVCC_VERSION at $CUDA; compute cap $CUDA_COMPUTE_CAP; target dir $CARGO_TARGET_DIR"
cd "$REPO"
set -x
nice -n "$NICE" cargo build --release --features "$FEATURES" "${CARGO_EXTRA[@]}"
{ set +x; } 2>/dev/null
BIN="$CARGO_TARGET_DIR/release/rescale-lab"
log "built $BIN ($(du -h "$BIN" | cut -f1))"
