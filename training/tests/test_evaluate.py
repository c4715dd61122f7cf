"""The evaluation pipeline (modcrop, 8-bit LR, Pillow codec, 8-bit result, Y-PSNR, border)
reproduces the official Bicubic & Bicubic numbers of shared/docs/rescaling-models.md."""
import pytest

from training.evaluate import bicubic_baseline
from conftest import SHARED, need


@pytest.mark.parametrize("scale,codec,q,want", [
    (2, "none", None, 33.682), (4, "none", None, 28.431),
    (2, "jpeg", 30, 29.777), (2, "webp", 90, 33.176)])
def test_bicubic_baseline_set5(scale, codec, q, want):
    need(SHARED / "data" / "eval" / "Set5")
    res = bicubic_baseline(["Set5"], scale, codec, [q])["Set5"]
    got = list(res.values())[0]
    # codec builds may differ from the reference Pillow by a little
    tol = 0.002 if codec == "none" else 0.03
    assert abs(got - want) < tol, (got, want)
