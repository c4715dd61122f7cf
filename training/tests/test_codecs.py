"""DiffJPEG against Pillow's real JPEG (shared/fixtures/codecs), and the real-codec wrapper."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from training.codecs import DiffJPEG, codec_roundtrip_uint8, real_compress
from training.metrics import psnr
from conftest import SHARED, need

DIR = SHARED / "fixtures" / "codecs"


def _src():
    return np.asarray(Image.open(need(DIR / "source.png")).convert("RGB"))


@pytest.mark.parametrize("fmt,ext", [("jpeg", "jpg"), ("webp", "webp")])
@pytest.mark.parametrize("q", [30, 90])
def test_real_codec_matches_fixture(fmt, ext, q):
    """Pillow here vs Pillow 13 of the fixtures: the decoded images agree closely (the
    libjpeg-turbo / libwebp builds may differ by a few LSB)."""
    src = _src()
    dec, n = codec_roundtrip_uint8(src, fmt, q)
    ref = np.asarray(Image.open(need(DIR / f"source_q{q}.{ext}.decoded.png")).convert("RGB"))
    meta = {(c["format"].lower(), c["quality"]): c for c in json.loads((DIR / "codecs.json").read_text())["cases"]}
    assert abs(n - meta[(fmt, q)]["bytes"]) / meta[(fmt, q)]["bytes"] < 0.05
    assert psnr(ref, dec) > 40


@pytest.mark.parametrize("q", [30, 75, 90])
def test_diffjpeg_close_to_real_jpeg(q):
    src = _src()
    x = torch.from_numpy(src.copy()).permute(2, 0, 1)[None].float() / 255
    sim = DiffJPEG(q, rounding="hard")(x)
    sim8 = (sim[0].permute(1, 2, 0).numpy() * 255).round()
    real, _ = codec_roundtrip_uint8(src, "jpeg", q)
    p_real = psnr(src, real)           # how much real JPEG distorts
    p_sim = psnr(src, sim8)            # how much the simulation distorts
    assert abs(p_real - p_sim) < 1.0, (p_real, p_sim)
    assert psnr(real, sim8) > p_real + 6  # the simulation is far closer to JPEG than JPEG to the source


def test_diffjpeg_gradient_and_odd_sizes():
    x = torch.rand(2, 3, 20, 36, requires_grad=True)
    y = DiffJPEG(75)(x)
    assert y.shape == x.shape
    y.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_real_compress_batch():
    x = torch.rand(2, 3, 16, 24)
    y = real_compress(x, "webp", 75)
    assert y.shape == x.shape and not y.requires_grad
