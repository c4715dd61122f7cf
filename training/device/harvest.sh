#!/usr/bin/env bash
# The GPU-machine procedure: everything a lent H100/H200 is used for, prepared and tested here.
# See training/device/README.md for the 15-minute plan (which calls, in which order, timeouts).
#
#   bash training/device/harvest.sh prepare          # here: data pack (+ CUDA binary, fixtures)
#   bash training/device/harvest.sh train [opts]     # on the GPU machine: fine-tune, to $OUT
#   bash training/device/harvest.sh cuda             # on the GPU machine: CUDA build checks
#   bash training/device/harvest.sh import DIR       # here: keep what beats models/
#   bash training/device/harvest.sh --cpu-smoke      # here and in CI: the train phase on the CPU
#
# train options: --minutes M (training time per model, default 6), --models a,b,.. (default
#   sain_x2_jpeg,irn_x2,sain_x4_jpeg,irn_x4,sain_x2_webp, all at once on the one GPU),
#   --device cuda|cpu, --pack FILE, and for tiny runs --batch B --patch P --val-crop C.
# import options: --models-dir DIR (default models/), --force (export without comparing),
#   --sets "Set5 Set14".
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
DEV="$REPO/.device"  # git-ignored; what travels with `carry`
ALL_MODELS=sain_x2_jpeg,irn_x2,sain_x4_jpeg,irn_x4,sain_x2_webp

log() { echo "harvest: $*" >&2; }
python_bin() {
    if [ -x "$REPO/.venv/bin/python" ]; then echo "$REPO/.venv/bin/python"; else echo python3; fi
}
PY="$(python_bin)"

# ------------------------------------------------------------------ prepare (here)
prepare() {
    mkdir -p "$DEV/train" "$DEV/cuda"
    "$PY" -m training.device.pack --out "$DEV/train/pack.tar" --max-mib "${PACK_MIB:-20}"
    mkdir -p "$DEV/cuda/fixtures" "$DEV/cuda/Set5"
    # the two small x4 fixtures cover every code path (two Haar levels, E/V blocks, mixture)
    for f in irn_x4_small sain_x4_small; do
        cp "$REPO/../shared/fixtures/nets/$f.pth" "$REPO/../shared/fixtures/nets/${f}_io.safetensors" "$DEV/cuda/fixtures/"
    done
    cp "$REPO"/../shared/data/eval/Set5/* "$DEV/cuda/Set5/"
    local bin="$REPO/target/cuda/release/rescale-lab"
    if [ -x "$bin" ]; then
        log "compressing $bin"
        xz -T2 -6 -c "$bin" > "$DEV/cuda/rescale-lab.xz.tmp" && mv "$DEV/cuda/rescale-lab.xz.tmp" "$DEV/cuda/rescale-lab.xz"
    else
        rm -f "$DEV/cuda/rescale-lab.xz"
        log "no CUDA binary at $bin: build it with 'bash .ci/build-cuda.sh', then run prepare again (the train call does not need it)"
    fi
    local tree
    tree=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
    for part in train cuda; do
        local carried
        carried=$(du -sb "$DEV/$part" | cut -f1)
        printf 'harvest: call "%s": checkout %.1f MiB + .device/%s %.1f MiB = %.1f MiB (limit 64)\n' "$part" \
            "$(echo "$tree / 1048576" | bc -l)" "$part" "$(echo "$carried / 1048576" | bc -l)" \
            "$(echo "($tree + $carried) / 1048576" | bc -l)" >&2
    done
}

# ------------------------------------------------------------------ train (GPU machine)
train() {
    local minutes=6 models=$ALL_MODELS device="" pack="$DEV/train/pack.tar" extra=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --minutes) minutes="$2"; shift 2 ;;
            --models) models="$2"; shift 2 ;;
            --device) device="$2"; shift 2 ;;
            --pack) pack="$2"; shift 2 ;;
            --batch) extra+=(--batch "$2"); shift 2 ;;
            --patch) extra+=(--patch "$2"); shift 2 ;;
            --val-crop) extra+=(--set "val.crop=$2" --set val.max_images=1 --set 'val.qualities=[50]'); shift 2 ;;
            *) log "train: unknown option $1"; exit 2 ;;
        esac
    done
    local out="${OUT:?train writes its results to \$OUT (set by the device tool; set it yourself elsewhere)}"
    [ -f "$pack" ] || { log "no data pack at $pack: run 'harvest.sh prepare' here and carry .device/train"; exit 1; }
    mkdir -p "$out"
    local work; work="$(mktemp -d)"
    mkdir -p "$work/shared/data" "$work/runs"
    tar -xf "$pack" -C "$work/shared/data"
    export RESCALE_SHARED="$work/shared" PYTHONUNBUFFERED=1
    if [ -z "$device" ]; then
        device=$("$PY" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
    fi
    { nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"; "$PY" -c 'import torch, PIL, numpy; print("torch", torch.__version__, "Pillow", PIL.__version__, "numpy", numpy.__version__)'; } | tee "$work/header.txt"
    local threads=2
    [ "$device" = cpu ] && threads=1
    local pids=() names=()
    IFS=, read -r -a names <<< "$models"
    local about
    about="the GPU pack: $(tar -xOf "$pack" manifest.json | "$PY" -c 'import json,sys; m=json.load(sys.stdin); print(len(m["train_files"]), "of", m["of_total"]["files"], "photos of shared/data/train,", m["train_megapixels"], "MP")')"
    local start; start=$(date +%s)
    for m in "${names[@]}"; do
        local cfg="training/configs/$m.toml" init=()
        [ -f "$cfg" ] || { log "no recipe $cfg"; exit 2; }
        [ -f "models/$m.safetensors" ] && init=(--init "models/$m.safetensors")
        local knobs=(--set train.log_every=50 --set train.val_every=2000 --set train.ckpt_every=1000)
        case "$m" in
            irn_*) knobs+=(--set train.lambda_ce_forw=0.001) ;;  # as the shipped IRN runs
        esac
        "$PY" -m training.train --config "$cfg" "${init[@]}" --device "$device" --threads "$threads" \
            --iters 1000000 --budget-minutes "$minutes" --set 'train.lr_steps=[0.7,0.9]' \
            --set "data.train=[\"$work/shared/data/train\"]" \
            --set "data.description=\"$about\"" \
            "${knobs[@]}" "${extra[@]}" --out "$work/runs/$m" --export-dir "$out" --export-every-minutes 2 \
            > "$work/runs/$m.stdout" 2>&1 &
        pids+=($!)
        log "started $m (pid $!) on $device for $minutes min"
    done
    # Progress every 30 s (the device tool returns the tail of stdout), and a hard stop: SIGTERM
    # makes each run validate, save and export at its next iteration.
    local deadline=$(( start + ${HARVEST_DEADLINE_S:-$("$PY" -c "print(int($minutes * 60 + 90))")} ))
    while :; do
        local alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
        [ "$alive" = 0 ] && break
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "deadline: stopping $alive run(s)"
            for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
            deadline=$(( $(date +%s) + 3600 ))
        fi
        sleep 10
        if [ $(( ($(date +%s) - start) % 30 )) -lt 10 ]; then
            for m in "${names[@]}"; do echo "[$m] $(grep -E '^(it|val|rate)' "$work/runs/$m.stdout" | tail -n1)"; done
            # the logs so far, in case the command is stopped at its limit
            for m in "${names[@]}"; do echo "===== $m"; cat "$work/runs/$m.stdout"; done > "$out/.train-log.tmp"
            mv "$out/.train-log.tmp" "$out/train-log.txt"
        fi
    done
    local failed=0
    for i in "${!pids[@]}"; do
        if ! wait "${pids[$i]}"; then failed=1; log "${names[$i]} failed:"; tail -n 20 "$work/runs/${names[$i]}.stdout" >&2; fi
    done
    { cat "$work/header.txt"; for m in "${names[@]}"; do echo "===== $m"; cat "$work/runs/$m.stdout"; done; } > "$out/train-log.txt"
    for m in "${names[@]}"; do
        echo "[$m] $(grep -E '^done' "$work/runs/$m.stdout" | tail -n1)"
        grep -E '^(rate|val)' "$work/runs/$m.stdout" | sed "s/^/[$m] /" | tail -n 3 || true
    done
    ls -la "$out"
    rm -rf "$work"
    return $failed
}

# ------------------------------------------------------------------ cuda (GPU machine)
cuda() {
    # --device cpu with HARVEST_BIN=target/release/rescale-lab is the dry run of this phase here
    local device=cuda
    while [ $# -gt 0 ]; do
        case "$1" in
            --device) device="$2"; shift 2 ;;
            *) log "cuda: unknown option $1"; exit 2 ;;
        esac
    done
    local out="${OUT:?cuda writes its results to \$OUT}"
    mkdir -p "$out"
    local work; work="$(mktemp -d)"
    if [ -n "${HARVEST_BIN:-}" ]; then
        cp "$HARVEST_BIN" "$work/rescale-lab"
    else
        local src="$DEV/cuda/rescale-lab.xz"
        [ -f "$src" ] || { log "no $src: build with .ci/build-cuda.sh, run 'harvest.sh prepare', carry .device/cuda"; exit 1; }
        xz -dc "$src" > "$work/rescale-lab" && chmod +x "$work/rescale-lab"
    fi
    # The binary's RPATH names $ORIGIN/cuda-lib first: link the CUDA 13 libraries of the
    # machine's Python wheels there (no toolkit is installed system-wide).
    mkdir -p "$work/cuda-lib"
    local site; site=$("$PY" -c 'import site; print(" ".join(site.getsitepackages()))')
    for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libnvrtc.so.13 'libnvrtc-builtins.so.13*'; do
        local found; found=$(find $site -path '*nvidia*' -name "$lib" 2>/dev/null | head -n1)
        if [ -n "$found" ]; then ln -sf "$found" "$work/cuda-lib/"; else log "not found in the Python wheels: $lib"; fi
    done
    local bin="$work/rescale-lab"
    export RESCALE_LAB_MODELS="$REPO/models"
    local status=0
    # 1. the official fixtures on the GPU (the CPU path passes them at 1e-4 in CI)
    "$bin" parity "$DEV/cuda/fixtures" --device "$device" --tolerance 1e-3 --json > "$out/parity-$device.json" || status=1
    cat "$out/parity-$device.json"
    # 2. Set5 x2 JPEG with the shipped weights: the same numbers on the GPU as on the CPU
    for d in "$device" cpu; do
        "$bin" bench --data "$DEV/cuda/Set5" --scale 2 --codec jpeg --quality 30,50,70,80,90 \
            --methods bicubic,irn,sain --device "$d" --format json --quiet > "$out/bench-set5-$d.json" || status=1
    done
    "$PY" - "$out" "$device" <<'PY' || status=1
import json, sys
out, device = sys.argv[1], sys.argv[2]
a, b = ({(r["method"], r["quality"]): r["psnr_y"] for r in json.load(open(f"{out}/bench-set5-{d}.json"))}
        for d in (device, "cpu"))
diff = max(abs(a[k] - b[k]) for k in a)
print(f"bench Set5 x2 JPEG, shipped weights: max |PSNR-Y {device} - cpu| = {diff:.5f} dB over {len(a)} settings")
sys.exit(0 if diff <= 0.01 else 1)
PY
    # 3. speed beside PyTorch CUDA, same weights and input, fp32 (TF32 off), alternating runs
    "$PY" -m training.bench_cpu --device "$device" --no-build --binary "$bin" --size "${HARVEST_SPEED_SIZE:-512}" \
        --runs "${HARVEST_SPEED_RUNS:-5}" --json "$out/speed-$device.json" 2>&1 | tee "$out/speed-$device.txt" || status=1
    rm -rf "$work"
    return $status
}

# ------------------------------------------------------------------ import (here)
import_runs() {
    local dir="" models_dir="$REPO/models" force=0 sets="Set5 Set14"
    while [ $# -gt 0 ]; do
        case "$1" in
            --models-dir) models_dir="$2"; shift 2 ;;
            --force) force=1; shift ;;
            --sets) sets="$2"; shift 2 ;;
            -*) log "import: unknown option $1"; exit 2 ;;
            *) dir="$1"; shift ;;
        esac
    done
    [ -d "$dir" ] || { log "import: give the folder the device tool brought back (files_at)"; exit 2; }
    local args=(--models-dir "$models_dir" --sets $sets)
    [ "$force" = 1 ] && args+=(--force)
    "$PY" -m training.device.import_runs "$dir" "${args[@]}"
}

# ------------------------------------------------------------------ --cpu-smoke (here, CI)
cpu_smoke() {
    local tmp; tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' RETURN
    "$PY" -m training.device.pack --tiny --out "$tmp/pack.tar"
    OUT="$tmp/out" HARVEST_DEADLINE_S=100 train --device cpu --minutes 0.4 --models sain_x2_jpeg,irn_x2 \
        --pack "$tmp/pack.tar" --batch 2 --patch 48 --val-crop 48
    test -s "$tmp/out/sain_x2_jpeg.pt" && test -s "$tmp/out/irn_x2.pt" && test -s "$tmp/out/train-log.txt"
    grep -q '"it_per_s"\|^rate:' "$tmp/out/train-log.txt"
    # import the way the real harvest is imported, on one Set5 image, into a temporary models/
    mkdir -p "$tmp/evalroot/data"
    tar -xf "$tmp/pack.tar" -C "$tmp/evalroot/data" eval  # a Set5 of one image
    # beside copies of the shipped files, so the comparison runs too (--force: export anyway)
    mkdir -p "$tmp/models" && cp models/sain_x2_jpeg.* models/irn_x2.* "$tmp/models/"
    RESCALE_SHARED="$tmp/evalroot" "$PY" -m training.device.import_runs "$tmp/out" --models-dir "$tmp/models" --sets Set5 --force \
        | tee "$tmp/import.log"
    grep -q "shipped" "$tmp/import.log"
    "$PY" - "$tmp/models/sain_x2_jpeg.json" models/sain_x2_jpeg.json <<'PY'
import json, sys
new, old = (json.load(open(p)) for p in sys.argv[1:])
assert new["iterations"] > old["iterations"], (new["iterations"], old["iterations"])
assert new["training"]["init"].endswith("sain_x2_jpeg.safetensors") and "fine-tuned" in new["provenance"], new
assert "bd_psnr_db" in new["validation"]["rd"]["Set5"], new["validation"]
PY
    log "cpu smoke: trained, exported and imported $(ls "$tmp/models" | tr '\n' ' ')"
}

case "${1:-}" in
    prepare) shift; prepare "$@" ;;
    train) shift; train "$@" ;;
    cuda) shift; cuda "$@" ;;
    import) shift; import_runs "$@" ;;
    --cpu-smoke) shift; cpu_smoke "$@" ;;
    -h|--help|"") sed -n '2,17p' "$0" ;;
    *) log "unknown command '$1' (prepare, train, cuda, import, --cpu-smoke)"; exit 2 ;;
esac
