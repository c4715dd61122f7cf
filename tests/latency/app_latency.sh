#!/usr/bin/env bash
# The app's latency after a quality-slider move, against the raw passes, in one run (issue 29).
#   bash tests/latency/app_latency.sh [ROUNDS] [IMAGE]
# Each round, interleaved: `speed --round-trip --whole` (Bicubic, IRN, SAIN one after the other
# on the whole image, five moves), then the real app under Xvfb with `gui --replay` (the same
# five moves, JPEG ×2, default settings: perceptual metrics on, work ahead on), as it is and with
# the network preview at the old 0.4 MP threshold. Medians over all moves of all rounds.
# Needs a release build and Xvfb (xvfb-run); a software-rendered window is part of what is timed.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS="${1:-2}"
IMAGE="${2:-}"
BIN=target/release/rescale-lab
[ -x "$BIN" ] || cargo build --release --quiet
OUT="$(mktemp -d)"
MOVES=70,65,60,55,50
image_args=()
[ -n "$IMAGE" ] && image_args=("$IMAGE")
app() {  # $1: output file; the environment says which variant
  xvfb-run -a -s "-screen 0 1500x950x24" timeout 600 "$BIN" gui "${image_args[@]}" --fresh --size 1500x920 \
    --codec jpeg --quality 75 --scale 2 --replay "$MOVES" >> "$1" 2>/dev/null
}
for r in $(seq "$ROUNDS"); do
  echo "round $r/$ROUNDS" >&2
  if [ -n "$IMAGE" ]; then
    "$BIN" speed --round-trip --whole --json --image "$IMAGE" >> "$OUT/raw.jsonl"
  else
    "$BIN" speed --round-trip --whole --json >> "$OUT/raw.jsonl"
  fi
  app "$OUT/app.jsonl"
  RESCALE_LAB_NETWORK_PREVIEW_ABOVE=400000 app "$OUT/app_preview.jsonl"
done
python3 - "$OUT" <<'PY'
import json, statistics, sys, os
out = sys.argv[1]
rows = lambda name: [json.loads(l) for l in open(os.path.join(out, name)) if l.strip()]
raw = rows("raw.jsonl")
raw_total = statistics.median(r["total_ms"] / 1e3 for r in raw)
per = {}
for r in raw:
    for label, ms in r["per_method_ms"]:
        per.setdefault(label, []).append(ms / 1e3)
print(f"raw passes, one after the other ({raw[0]['width']}x{raw[0]['height']}, {len(raw)} runs of 5 moves):")
for label, v in per.items():
    print(f"  {label:<40} {statistics.median(v):6.2f} s")
print(f"  {'sum':<40} {raw_total:6.2f} s")
for name, what in [("app.jsonl", "app (no preview below 1 MP)"), ("app_preview.jsonl", "app with previews above 0.4 MP (before)")]:
    moves = rows(name)
    cur = statistics.median(m["all_current_s"] for m in moves)
    idle = statistics.median(m["idle_s"] for m in moves)
    print(f"{what}, {len(moves)} moves:")
    keys = sorted({k for m in moves for k in m["method_s"]})
    for k in keys:
        print(f"  {k.split('/')[-1]:<40} {statistics.median(m['method_s'][k] for m in moves if k in m['method_s']):6.2f} s")
    print(f"  {'every panel current':<40} {cur:6.2f} s  = {cur / raw_total:.2f}x the raw passes")
    print(f"  {'idle (perceptual metrics done)':<40} {idle:6.2f} s  = {idle / raw_total:.2f}x")
PY
