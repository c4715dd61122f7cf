"""MATLAB-style bicubic resize (imresize): cubic kernel a = -0.5, antialiased when shrinking,
symmetric edge padding, output size ceil(in * scale). Implemented as dense resampling matrices
(one per axis), in numpy float64 or torch."""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


@lru_cache(maxsize=64)
def resize_matrix(in_len: int, out_len: int, scale: float, antialias: bool = True) -> np.ndarray:
    """Dense (out_len x in_len) float64 matrix M with out = M @ in along one axis."""
    kernel_width = 4.0
    if scale < 1 and antialias:
        kernel_width /= scale
        h = lambda t: scale * _cubic(scale * t)  # noqa: E731
    else:
        h = _cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kernel_width / 2)
    p = int(math.ceil(kernel_width)) + 2
    idx = left[:, None] + np.arange(p)[None, :]  # 1-based source positions
    w = h(u[:, None] - idx)
    w = w / w.sum(1, keepdims=True)
    # symmetric padding: mirror indices that fall outside [1, in_len]
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])
    src = mirror[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]
    m = np.zeros((out_len, in_len), dtype=np.float64)
    for j in range(p):
        np.add.at(m, (np.arange(out_len), src[:, j]), w[:, j])
    return m


def out_size(n: int, scale: float) -> int:
    return int(math.ceil(n * scale))


def imresize_np(img: np.ndarray, scale: float, antialias: bool = True) -> np.ndarray:
    """img: H x W x C (or H x W) float array; returns float64, not rounded."""
    img = np.asarray(img, dtype=np.float64)
    h, w = img.shape[:2]
    mh = resize_matrix(h, out_size(h, scale), float(scale), antialias)
    mw = resize_matrix(w, out_size(w, scale), float(scale), antialias)
    out = np.tensordot(mh, img, axes=(1, 0))           # H' x W x C
    out = np.tensordot(mw, out, axes=(1, 1))           # W' x H' x C
    return np.swapaxes(out, 0, 1)


def imresize_uint8(img: np.ndarray, scale: float) -> np.ndarray:
    """The papers' 8-bit step: uint8 H x W x 3 in, imresize_np, rounded and clamped uint8 out."""
    return np.clip(np.round(imresize_np(img / 255.0, scale) * 255.0), 0, 255).astype(np.uint8)


@lru_cache(maxsize=64)
def _taps(in_len: int, out_len: int, scale: float, antialias: bool = True):
    """Banded form of resize_matrix: (indices, weights), both out_len x taps."""
    m = resize_matrix(in_len, out_len, scale, antialias)
    taps = int((m != 0).sum(1).max())
    idx = np.zeros((out_len, taps), dtype=np.int64)
    wts = np.zeros((out_len, taps), dtype=np.float64)
    for i in range(out_len):
        nz = np.nonzero(m[i])[0]
        idx[i, : len(nz)] = nz
        wts[i, : len(nz)] = m[i, nz]
    return idx, wts


def imresize_fast(img: np.ndarray, scale: float, dtype=np.float32) -> np.ndarray:
    """Same as imresize_np for big images (H x W x C), computed with the band only."""
    x = np.asarray(img, dtype=dtype)
    for axis in (0, 1):
        n = x.shape[axis]
        idx, wts = _taps(n, out_size(n, scale), float(scale), True)
        xs = np.moveaxis(x, axis, 0)
        out = np.zeros((idx.shape[0],) + xs.shape[1:], dtype=dtype)
        for j in range(idx.shape[1]):
            out += wts[:, j].astype(dtype).reshape(-1, *([1] * (xs.ndim - 1))) * xs[idx[:, j]]
        x = np.moveaxis(out, 0, axis)
    return x


def imresize_torch(x, scale: float, antialias: bool = True):
    """x: (..., H, W) torch tensor; returns same dtype."""
    import torch

    h, w = x.shape[-2:]
    mh = torch.from_numpy(resize_matrix(h, out_size(h, scale), float(scale), antialias)).to(x)
    mw = torch.from_numpy(resize_matrix(w, out_size(w, scale), float(scale), antialias)).to(x)
    return mh @ x @ mw.T
