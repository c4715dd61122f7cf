#!/usr/bin/env bash
# 2-iteration CPU smoke run of every recipe (tiny batch/patch, 4 training images, validation
# on a 48 px centre crop of one Set5 image), then an export of the last one to a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
OUT="${SMOKE_OUT:-training/runs/smoke}"
rm -rf "$OUT"
for cfg in training/configs/*.toml; do
  name="$(basename "$cfg" .toml)"
  echo "== smoke: $name"
  "$PY" -m training.train --config "$cfg" --iters 2 --batch 2 --patch 48 --max-images 4 \
    --threads 2 --out "$OUT/$name" --log-every 1 \
    --set val.crop=48 --set val.max_images=1 --set 'val.qualities=[50]'
  test -f "$OUT/$name/final.pt"
  grep -q '"kind": "val"' "$OUT/$name/log.jsonl"
done
# resume: a second call continues from last.pt to iteration 3
"$PY" -m training.train --config training/configs/irn_x2.toml --iters 3 --batch 2 --patch 48 \
  --max-images 4 --threads 2 --out "$OUT/irn_x2" --set val.crop=48 --set val.max_images=1 \
  --set train.snapshot_every=1 > "$OUT/resume.log"
grep -q "resumed from" "$OUT/resume.log"
grep -q '"iter": 3' "$OUT/irn_x2/log.jsonl"
# the learning curve's weights-only snapshot of iteration 3, which training.curve reads
"$PY" -c "from training.curve import iteration_of; assert iteration_of('$OUT/irn_x2/snaps/it000003.pt') == 3"
"$PY" -m training.export --checkpoint "$OUT/sain_x2_jpeg/final.pt" --name smoke_sain \
  --models-dir "$OUT/models" > /dev/null
test -f "$OUT/models/smoke_sain.safetensors" && test -f "$OUT/models/smoke_sain.json"
echo "smoke: all recipes ran"
