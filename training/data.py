"""Training data held in memory, random aligned HR/LR crops, and validation sets."""
from __future__ import annotations

import glob
import os
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .bicubic import imresize_fast
from .metrics import modcrop

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = Path(os.environ.get("RESCALE_SHARED", ROOT.parent / "shared"))


def resolve(p: str) -> Path:
    """Paths in configs are relative to the repository root."""
    q = Path(p)
    return q if q.is_absolute() else (ROOT / q)


def list_images(dirs: list[str]) -> list[Path]:
    files = []
    for d in dirs:
        for pat in sorted(glob.glob(str(resolve(d)))):
            pp = Path(pat)
            if pp.is_dir():
                files += sorted(f for f in pp.iterdir()
                                if f.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".webp"))
            elif pp.is_file():
                files.append(pp)
    return files


def load_rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


class TrainSet:
    """Every training image decoded once (uint8 HR) with its MATLAB-bicubic LR reference
    (float16, computed on the whole image, not per crop). Crops are aligned so that the LR
    crop is exactly the bicubic reference of the HR crop's area."""

    def __init__(self, dirs: list[str], scale: int, min_size: int, max_images: int = 0,
                 log=print):
        t0 = time.time()
        files = list_images(dirs)
        if max_images:
            files = files[:max_images]
        if not files:
            raise FileNotFoundError(f"no training images under {dirs}")
        self.scale = scale
        self.hr, self.lr = [], []
        for f in files:
            img = modcrop(load_rgb(f), scale)
            if min(img.shape[:2]) < min_size:
                continue
            lr = imresize_fast(img.astype(np.float32) / 255.0, 1.0 / scale)
            self.hr.append(img)
            self.lr.append(lr.astype(np.float16))
        self.files = [str(f) for f in files]
        areas = np.array([h.shape[0] * h.shape[1] for h in self.hr], dtype=np.float64)
        self.p = areas / areas.sum()
        self.device = torch.device("cpu")
        self.on_torch = False  # numpy arrays (the CPU path) until .to()
        log(f"train set: {len(self.hr)} images, {areas.sum() / 1e6:.1f} MP, "
            f"x{scale} LR precomputed in {time.time() - t0:.1f}s")

    def to(self, device) -> "TrainSet":
        """Holds the images on ``device`` (uint8 HR, float16 LR), so that on a GPU every crop,
        flip and rotation of a batch is made there and nothing crosses the bus per iteration.
        The crops are the same as on the CPU: the random draws stay on the host generator."""
        self.device = torch.device(device)
        if not self.on_torch:
            self.hr = [torch.from_numpy(np.array(h)).to(self.device) for h in self.hr]
            self.lr = [torch.from_numpy(l).to(self.device) for l in self.lr]
            self.on_torch = True
        else:
            self.hr = [h.to(self.device) for h in self.hr]
            self.lr = [l.to(self.device) for l in self.lr]
        return self

    def batch(self, rng: np.random.Generator, n: int, patch: int, flip=True, rot=True):
        s = self.scale
        lp = patch // s
        hrs, lrs = [], []
        for k in rng.choice(len(self.hr), size=n, p=self.p):
            hr, lr = self.hr[k], self.lr[k]
            lh, lw = lr.shape[:2]
            y = int(rng.integers(0, lh - lp + 1))
            x = int(rng.integers(0, lw - lp + 1))
            h = hr[y * s:(y + lp) * s, x * s:(x + lp) * s]
            l = lr[y:y + lp, x:x + lp]
            fx = flip and rng.random() < 0.5
            fy = flip and rng.random() < 0.5
            tr = rot and rng.random() < 0.5
            if not self.on_torch:
                if fx:
                    h, l = h[:, ::-1], l[:, ::-1]
                if fy:
                    h, l = h[::-1], l[::-1]
                if tr:
                    h, l = h.transpose(1, 0, 2), l.transpose(1, 0, 2)
                hrs.append(np.ascontiguousarray(h))
                lrs.append(np.ascontiguousarray(l))
            else:
                dims = [d for d, on in ((1, fx), (0, fy)) if on]
                if dims:
                    h, l = h.flip(dims), l.flip(dims)
                if tr:
                    h, l = h.transpose(0, 1), l.transpose(0, 1)
                hrs.append(h)
                lrs.append(l)
        if not self.on_torch:
            hr_t = torch.from_numpy(np.stack(hrs)).permute(0, 3, 1, 2).float() / 255.0
            lr_t = torch.from_numpy(np.stack(lrs).astype(np.float32)).permute(0, 3, 1, 2)
        else:
            hr_t = torch.stack(hrs).permute(0, 3, 1, 2).float() / 255.0
            lr_t = torch.stack(lrs).permute(0, 3, 1, 2).float()
        return hr_t.contiguous(), lr_t.contiguous()


def load_eval_set(folder: str, scale: int) -> list[tuple[str, np.ndarray]]:
    files = list_images([folder])
    return [(f.stem, modcrop(load_rgb(f), scale)) for f in files]
