"""Lossy codecs for SAIN training.

* ``DiffJPEG``: a differentiable JPEG simulation (baseline JPEG, JFIF YCbCr, 4:2:0 chroma,
  IJG quality-scaled tables, 8x8 DCT, libjpeg-style "fancy" chroma upsampling). Quantisation
  uses the cubic rounding approximation round(x) + (x - round(x))^3 (Shin & Song 2017), whose
  gradient is 3 (x - round(x))^2 -- or straight-through if ``rounding="ste"``.
* ``real_compress``: real JPEG / WebP through Pillow (``save(format, quality=q)``, defaults),
  as the papers do; not differentiable (used on detached tensors).
"""
from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

_Y_TABLE = np.array([
    [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56], [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99]], np.float64)
_C_TABLE = np.full((8, 8), 99.0)
_C_TABLE[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]


def ijg_table(base: np.ndarray, quality: int) -> np.ndarray:
    """libjpeg's jpeg_quality_scaling + baseline clamp to [1, 255]."""
    q = min(max(int(quality), 1), 100)
    s = 5000 // q if q < 50 else 200 - 2 * q
    return np.clip(np.floor((base * s + 50) / 100), 1, 255)


def _dct_matrix() -> np.ndarray:
    m = np.zeros((8, 8))
    for k in range(8):
        a = math.sqrt(1 / 8) if k == 0 else math.sqrt(2 / 8)
        for n in range(8):
            m[k, n] = a * math.cos((2 * n + 1) * k * math.pi / 16)
    return m


def cubic_round(x: torch.Tensor) -> torch.Tensor:
    r = torch.round(x)
    return r + (x - r) ** 3


class _STERound(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, g):
        return g


class DiffJPEG(nn.Module):
    def __init__(self, quality: int = 75, rounding: str = "cubic"):
        super().__init__()
        self.quality = quality
        self.rounding = rounding
        self.register_buffer("qy", torch.tensor(ijg_table(_Y_TABLE, quality), dtype=torch.float32))
        self.register_buffer("qc", torch.tensor(ijg_table(_C_TABLE, quality), dtype=torch.float32))
        self.register_buffer("dct", torch.tensor(_dct_matrix(), dtype=torch.float32))
        rgb2ycc = [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
        self.register_buffer("rgb2ycc", torch.tensor(rgb2ycc, dtype=torch.float32))
        ycc2rgb = [[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]]
        self.register_buffer("ycc2rgb", torch.tensor(ycc2rgb, dtype=torch.float32))
        # libjpeg h2v2 "fancy" upsampling = separable [1/4, 3/4] triangle filter
        self.register_buffer("fancy", torch.tensor([[0.25, 0.75], [0.75, 0.25]]))

    def _round(self, x):
        if self.rounding == "ste":
            return _STERound.apply(x)
        if self.rounding == "hard":
            return torch.round(x)
        return cubic_round(x)

    def _blocks_codec(self, plane: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """plane: N x H x W (H, W multiples of 8), level-shifted; DCT, quantise, back."""
        n, h, w = plane.shape
        b = plane.reshape(n, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4)
        d = self.dct
        coef = d @ b @ d.T
        coef = self._round(coef / table) * table
        rec = d.T @ coef @ d
        return rec.permute(0, 1, 3, 2, 4).reshape(n, h, w)

    def _upsample(self, c: torch.Tensor) -> torch.Tensor:
        """N x h x w -> N x 2h x 2w with the triangle filter (edge replicated)."""
        def up1d(x, dim):
            pad = [0, 0, 0, 0]
            # pad one sample each side along dim
            if dim == 2:
                xp = F.pad(x.unsqueeze(1), (1, 1, 0, 0), mode="replicate").squeeze(1)
                left, mid, right = xp[..., :-2], xp[..., 1:-1], xp[..., 2:]
                even = 0.25 * left + 0.75 * mid
                odd = 0.75 * mid + 0.25 * right
                return torch.stack((even, odd), -1).reshape(*x.shape[:-1], x.shape[-1] * 2)
            xp = F.pad(x.unsqueeze(1), (0, 0, 1, 1), mode="replicate").squeeze(1)
            up, mid, down = xp[:, :-2], xp[:, 1:-1], xp[:, 2:]
            even = 0.25 * up + 0.75 * mid
            odd = 0.75 * mid + 0.25 * down
            return torch.stack((even, odd), 2).reshape(x.shape[0], x.shape[1] * 2, x.shape[2])
        return up1d(up1d(c, 1), 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: N x 3 x H x W RGB in [0, 1] -> simulated decoded image, same shape.
        Always float32: under bf16 autocast the DCT matmuls would round 8-bit sample values."""
        with torch.autocast(x.device.type, enabled=False):
            return self._forward(x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.float()
        n, _, h, w = x.shape
        ph, pw = (-h) % 16, (-w) % 16
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        H, W = x.shape[-2:]
        ycc = torch.einsum("ij,njhw->nihw", self.rgb2ycc, x * 255.0)
        y = ycc[:, 0] - 128.0
        cb = F.avg_pool2d(ycc[:, 1:2], 2).squeeze(1)   # Cb, Cr centred on 0 already
        cr = F.avg_pool2d(ycc[:, 2:3], 2).squeeze(1)
        y = self._blocks_codec(y, self.qy) + 128.0
        cb = self._upsample(self._blocks_codec(cb, self.qc))
        cr = self._upsample(self._blocks_codec(cr, self.qc))
        rgb = torch.einsum("ij,njhw->nihw", self.ycc2rgb, torch.stack((y, cb, cr), 1))
        rgb = rgb.clamp(0, 255) / 255.0
        return rgb[:, :, :h, :w].to(dtype)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """1 x 3 x H x W or 3 x H x W in [0, 1] -> H x W x 3 uint8 (clamp, round)."""
    if x.dim() == 4:
        x = x[0]
    return (x.detach().float().clamp(0, 1) * 255.0).round().byte().permute(1, 2, 0).cpu().numpy()


def codec_roundtrip_uint8(img: np.ndarray, fmt: str, quality: int) -> tuple[np.ndarray, int]:
    """Pillow encode + decode of an H x W x 3 uint8 image; returns (decoded, n_bytes)."""
    fmt = {"jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}[fmt.lower()]
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format=fmt, quality=int(quality))
    n = buf.tell()
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB")), n


def real_compress(x: torch.Tensor, fmt: str, quality: int) -> torch.Tensor:
    """Batch N x 3 x H x W in [0, 1] -> Pillow-decoded batch (8-bit), detached, same device."""
    out = []
    for img in x.detach():
        dec, _ = codec_roundtrip_uint8(to_uint8(img), fmt, quality)
        out.append(torch.from_numpy(dec.copy()).permute(2, 0, 1).float() / 255.0)
    return torch.stack(out).to(device=x.device, dtype=x.dtype)


class Quantize8(torch.autograd.Function):
    """clamp to [0, 1] and round to 1/255, straight-through gradient (as both papers)."""

    @staticmethod
    def forward(ctx, x):
        return (x.clamp(0, 1) * 255.0).round() / 255.0

    @staticmethod
    def backward(ctx, g):
        return g


def quantize8(x: torch.Tensor) -> torch.Tensor:
    return Quantize8.apply(x)
