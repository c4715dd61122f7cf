"""Y-PSNR / SSIM vs the official metric code (shared/fixtures/metrics/metrics.json)."""
import json

import numpy as np
import pytest
from PIL import Image

from training.metrics import crop_border, psnr, psnr_y, rgb_to_y, ssim
from conftest import SHARED, need

DIR = SHARED / "fixtures" / "metrics"


def cases():
    p = DIR / "metrics.json"
    if not p.exists():
        return []
    return json.loads(p.read_text())["cases"]


@pytest.mark.parametrize("case", cases(), ids=lambda c: c["distorted"])
def test_metrics_match_official(case):
    gt = np.asarray(Image.open(need(DIR / case["gt"])).convert("RGB"))
    out = np.asarray(Image.open(need(DIR / case["distorted"])).convert("RGB"))
    b = case["crop_border"]
    assert abs(psnr_y(gt, out, b) - case["psnr_y"]) < 1e-6
    assert abs(psnr(crop_border(gt, b), crop_border(out, b)) - case["psnr_rgb"]) < 1e-6
    assert abs(psnr(gt, out) - case["psnr_rgb_nocrop"]) < 1e-6
    assert abs(ssim(crop_border(rgb_to_y(gt), b), crop_border(rgb_to_y(out), b)) - case["ssim_y"]) < 1e-6
    assert abs(ssim(crop_border(gt, b), crop_border(out, b)) - case["ssim_rgb"]) < 1e-6
