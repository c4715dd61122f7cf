"""Evaluation protocol of both papers: modcrop, 8-bit results, Y (BT.601 studio range, not
rounded), border = scale, PSNR in float64; SSIM with an 11x11 Gaussian window (sigma 1.5)."""
from __future__ import annotations

import numpy as np


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """img: H x W x 3 RGB in [0, 255] (any dtype) -> Y in [16, 235], float64."""
    img = np.asarray(img, dtype=np.float64)
    return 16.0 + (65.481 * img[..., 0] + 128.553 * img[..., 1] + 24.966 * img[..., 2]) / 255.0


def crop_border(img: np.ndarray, b: int) -> np.ndarray:
    return img[b:-b, b:-b] if b > 0 else img


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    mse = np.mean((a - b) ** 2)
    if mse == 0:
        return float("inf")
    return float(20 * np.log10(255.0 / np.sqrt(mse)))


def psnr_y(gt: np.ndarray, out: np.ndarray, border: int) -> float:
    """gt, out: H x W x 3 RGB uint8 (or values in [0, 255])."""
    return psnr(crop_border(rgb_to_y(gt), border), crop_border(rgb_to_y(out), border))


def _gauss_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    ax = np.arange(size) - (size - 1) / 2
    g = np.exp(-(ax ** 2) / (2 * sigma * sigma))
    g /= g.sum()
    return np.outer(g, g)


def _filter_valid(img: np.ndarray, win: np.ndarray) -> np.ndarray:
    k = win.shape[0]
    h, w = img.shape
    out = np.zeros((h - k + 1, w - k + 1))
    for i in range(k):
        for j in range(k):
            out += win[i, j] * img[i: i + h - k + 1, j: j + w - k + 1]
    return out


def ssim_channel(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    win = _gauss_window()
    mu1, mu2 = _filter_valid(a, win), _filter_valid(b, win)
    s11 = _filter_valid(a * a, win) - mu1 ** 2
    s22 = _filter_valid(b * b, win) - mu2 ** 2
    s12 = _filter_valid(a * b, win) - mu1 * mu2
    m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s11 + s22 + c2))
    return float(m.mean())


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    if a.ndim == 2:
        return ssim_channel(a, b)
    return float(np.mean([ssim_channel(a[..., c], b[..., c]) for c in range(a.shape[2])]))
