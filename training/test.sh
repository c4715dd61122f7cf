#!/usr/bin/env bash
# CI entry for the Python side: unit/parity tests, the smoke runs of every recipe, and the GPU
# procedure's training phase on the CPU (training/device/harvest.sh --cpu-smoke).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -q training/tests
bash training/smoke.sh
bash training/device/harvest.sh --cpu-smoke
