import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("RESCALE_SHARED", ROOT.parent / "shared"))


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"missing reference file {path}")
    return path
