#!/usr/bin/env bash
# Creates .venv/ (git-ignored) at the repository root with the pinned training requirements.
# Idempotent: does nothing when the venv already satisfies training/requirements.txt.
#   PYTHON=python3.11 bash training/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
REQ=training/requirements.txt
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.training-req.sha
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && .venv/bin/python -c "import torch, numpy, PIL, safetensors, pytest" 2>/dev/null; then
  echo "training/setup.sh: .venv up to date"
  exit 0
fi
.venv/bin/python -m pip install --disable-pip-version-check -q -r "$REQ"
.venv/bin/python - <<'PY'
import torch
torch.set_num_threads(2)
c = torch.nn.Conv2d(3, 4, 3, padding=1)
x = torch.rand(1, 3, 8, 8, requires_grad=True)
c(x).sum().backward()
print("training/setup.sh: torch", torch.__version__, "ok, cuda available:", torch.cuda.is_available())
PY
echo "$want" > "$stamp"
