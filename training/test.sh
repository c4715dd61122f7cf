#!/usr/bin/env bash
# CI entry for the Python side: unit/parity tests, then the smoke runs of every recipe.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -q training/tests
bash training/smoke.sh
