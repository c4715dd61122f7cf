"""MATLAB-style bicubic vs the official imresize_np outputs (shared/fixtures/bicubic)."""
import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from training.bicubic import imresize_fast, imresize_np, imresize_torch
from conftest import SHARED, need


@pytest.fixture(scope="module")
def ref():
    return load_file(str(need(SHARED / "fixtures" / "bicubic" / "bicubic.safetensors")))


@pytest.mark.parametrize("src,scale,key", [
    ("hr_rgb", 0.5, "down_x2_rgb"), ("hr_rgb", 0.25, "down_x4_rgb"),
    ("down_x2_rgb", 2, "up_x2_rgb"), ("down_x4_rgb", 4, "up_x4_rgb"),
    ("odd_hr_rgb", 0.5, "odd_down_x2_rgb")])
def test_imresize_np(ref, src, scale, key):
    out = imresize_np(ref[src], scale)
    assert out.shape == ref[key].shape
    assert np.abs(out - ref[key]).max() <= 1e-5


@pytest.mark.parametrize("scale,key", [(0.5, "down_x2_rgb"), (0.25, "down_x4_rgb")])
def test_fast_and_torch(ref, scale, key):
    assert np.abs(imresize_fast(ref["hr_rgb"], scale) - ref[key]).max() <= 1e-5
    t = torch.from_numpy(ref["hr_rgb"]).permute(2, 0, 1).double()
    out = imresize_torch(t, scale).permute(1, 2, 0).numpy()
    assert np.abs(out - ref[key]).max() <= 1e-5
