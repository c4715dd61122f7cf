"""Rate–distortion validation: Bjøntegaard deltas of a model against Bicubic & Bicubic.

Comparing at equal codec quality flatters a learned downscaler (its LR holds more detail and
costs more bytes), so the validation that decides whether a SAIN checkpoint is better is made
at equal *size*: (bits per HR pixel, Y-PSNR) points at JPEG/WebP QF 30–90, then

* BD-PSNR — mean vertical gap (dB) between cubic fits of PSNR over log10(rate), integrated
  over the overlapping rate interval (VCEG-M33, Bjøntegaard 2001);
* BD-rate — mean horizontal gap of cubic fits of log10(rate) over PSNR, over the overlapping
  PSNR interval, as a percentage of bits ((10^gap − 1) · 100; negative = fewer bits).

    python -m training.rd --checkpoint models/sain_x2_jpeg.safetensors [--sets Set5 Set14]

The points follow the app's bench (`rescale-lab bench`): per image, bpp = compressed LR bytes
· 8 / modcropped HR pixels and Y-PSNR with border = scale; both averaged over the set.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from .bicubic import imresize_uint8
from .codecs import codec_roundtrip_uint8, to_uint8
from .data import DEFAULT_SHARED, load_eval_set
from .evaluate import _to_tensor, downscale, load_any, net_device, upscale
from .metrics import psnr_y

QUALITIES = (30, 50, 70, 80, 90)


def _poly_integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> float:
    p = np.polyint(np.polyfit(x, y, 3))
    return float(np.polyval(p, hi) - np.polyval(p, lo))


def _check(rate: np.ndarray, dist: np.ndarray, what: str) -> None:
    if len(rate) != len(dist) or len(rate) < 4:
        raise ValueError(f"{what}: need at least four (rate, quality) points, got {len(rate)}")
    if not (np.all(np.isfinite(rate)) and np.all(np.isfinite(dist)) and np.all(rate > 0)):
        raise ValueError(f"{what}: rates must be positive and every value finite")


def _curves(rate_ref, psnr_ref, rate_test, psnr_test):
    """-> (log10 rates, PSNRs) of the reference and of the test, checked."""
    r1, p1, r2, p2 = (np.asarray(a, dtype=np.float64) for a in (rate_ref, psnr_ref, rate_test, psnr_test))
    _check(r1, p1, "reference")
    _check(r2, p2, "test")
    return np.log10(r1), p1, np.log10(r2), p2


def _average_gap(x1, y1, x2, y2, what: str) -> float:
    """Mean of (fit of y2 over x2) − (fit of y1 over x1) over the x interval both cover."""
    lo, hi = max(x1.min(), x2.min()), min(x1.max(), x2.max())
    if hi <= lo:
        raise ValueError(f"the two curves' {what} do not overlap")
    return (_poly_integral(x2, y2, lo, hi) - _poly_integral(x1, y1, lo, hi)) / (hi - lo)


def bd_psnr(rate_ref, psnr_ref, rate_test, psnr_test) -> float:
    """dB the test curve is above the reference at equal rate (VCEG-M33)."""
    l1, p1, l2, p2 = _curves(rate_ref, psnr_ref, rate_test, psnr_test)
    return _average_gap(l1, p1, l2, p2, "rates")


def bd_rate(rate_ref, psnr_ref, rate_test, psnr_test) -> float:
    """% bits the test needs relative to the reference at equal PSNR (negative = saves bits)."""
    l1, p1, l2, p2 = _curves(rate_ref, psnr_ref, rate_test, psnr_test)
    return (10.0 ** _average_gap(p1, l1, p2, l2, "PSNR ranges") - 1.0) * 100.0


def _points(images, scale: int, codec: str, qualities, lr_of, up_of) -> dict:
    """{q: (mean bpp, mean Y-PSNR)} over ``images`` [(name, HR uint8)]."""
    bpp = {q: [] for q in qualities}
    ps = {q: [] for q in qualities}
    for _, gt in images:
        lr = lr_of(gt)
        for q in qualities:
            dec, nbytes = codec_roundtrip_uint8(lr, codec, q)
            out = up_of(dec, gt)
            bpp[q].append(nbytes * 8.0 / (gt.shape[0] * gt.shape[1]))
            ps[q].append(psnr_y(gt, out, scale))
    return {q: (float(np.mean(bpp[q])), float(np.mean(ps[q]))) for q in qualities}


def bicubic_points(images, scale: int, codec: str, qualities=QUALITIES) -> dict:
    return _points(images, scale, codec, qualities, lambda gt: imresize_uint8(gt, 1.0 / scale),
                   lambda dec, gt: imresize_uint8(dec, scale))


@torch.no_grad()
def net_points(net, images, codec: str, qualities=QUALITIES, seed: int = 0) -> dict:
    net.eval()
    dev = net_device(net)
    gens = {}

    def lr_of(gt):
        # one z stream per image, as training.evaluate: reseeded at every image
        gens["g"] = torch.Generator().manual_seed(seed)
        return to_uint8(downscale(net, _to_tensor(gt, dev)))

    def up_of(dec, gt):
        return to_uint8(upscale(net, _to_tensor(dec, dev), gens["g"]))

    return _points(images, net.scale, codec, qualities, lr_of, up_of)


def rd_report(net, sets=("Set5", "Set14"), codec: str = "jpeg", qualities=QUALITIES,
              data_root=None, bicubic_cache: dict | None = None) -> dict:
    """{set: {"points": {q: [bpp, psnr]}, "bicubic": {...}, "bd_psnr_db", "bd_rate_percent"}}."""
    root = DEFAULT_SHARED / "data" / "eval" if data_root is None else data_root
    res = {}
    for name in sets:
        images = load_eval_set(str(root / name), net.scale)
        key = (name, net.scale, codec, tuple(qualities))
        if bicubic_cache is not None and key in bicubic_cache:
            bic = bicubic_cache[key]
        else:
            bic = bicubic_points(images, net.scale, codec, qualities)
            if bicubic_cache is not None:
                bicubic_cache[key] = bic
        pts = net_points(net, images, codec, qualities)
        r0, p0 = zip(*(bic[q] for q in qualities))
        r1, p1 = zip(*(pts[q] for q in qualities))
        res[name] = {
            "points": {str(q): [round(v, 5) for v in pts[q]] for q in qualities},
            "bicubic": {str(q): [round(v, 5) for v in bic[q]] for q in qualities},
            "bd_psnr_db": round(bd_psnr(r0, p0, r1, p1), 4),
            "bd_rate_percent": round(bd_rate(r0, p0, r1, p1), 3),
            "equal_quality_gain_db": round(float(np.mean(np.subtract(p1, p0))), 4),
        }
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="training .pt, official .pth or .safetensors")
    ap.add_argument("--sets", nargs="+", default=["Set5", "Set14"])
    ap.add_argument("--codec", default="jpeg", choices=["jpeg", "webp"])
    ap.add_argument("--qualities", default=",".join(map(str, QUALITIES)))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    net, _ = load_any(args.checkpoint)
    t0 = time.time()
    res = rd_report(net, args.sets, args.codec, [int(q) for q in args.qualities.split(",")])
    print(json.dumps({"checkpoint": args.checkpoint, "rd": res, "seconds": round(time.time() - t0, 1)}, indent=1))


if __name__ == "__main__":
    main()
