"""Validation with the papers' protocol: modcrop, 8-bit LR (and codec), 8-bit result,
Y-PSNR with border = scale. ``python -m training.evaluate --checkpoint X [--sets Set5 Set14]``."""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from . import nets
from .codecs import codec_roundtrip_uint8, quantize8, to_uint8
from .data import DEFAULT_SHARED, load_eval_set
from .metrics import psnr_y


def _to_tensor(img: np.ndarray, device=None) -> torch.Tensor:
    t = torch.from_numpy(np.array(img, copy=True)).permute(2, 0, 1)[None].float() / 255.0
    return t if device is None else t.to(device)


def net_device(net) -> torch.device:
    return next(net.parameters()).device


@torch.no_grad()
def downscale(net, hr: torch.Tensor) -> torch.Tensor:
    lr, _ = net.downscale_raw(hr)
    return quantize8(lr)


@torch.no_grad()
def upscale(net, lr: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    zshape = nets.latent_shape(net, lr)
    if net.arch == "irn":
        z = torch.randn(zshape, generator=gen)
    else:
        torch.manual_seed(int(torch.randint(0, 2 ** 31 - 1, (1,), generator=gen)))
        z = net.gmm.sample(zshape)
    return net.upscale(lr, z.to(lr))


@torch.no_grad()
def evaluate(net, sets: list[str], codec: str = "none", qualities=(None,), seed: int = 0,
             data_root=None, crop: int = 0, max_images: int = 0) -> dict:
    """Returns {set: {label: mean Y-PSNR}} with labels 'none' or 'jpeg_q30' etc."""
    root = DEFAULT_SHARED / "data" / "eval" if data_root is None else data_root
    net.eval()
    s = net.scale
    dev = net_device(net)
    res = {}
    for name in sets:
        folder = name if "/" in name else str(root / name)
        images = load_eval_set(folder, s)
        if max_images:
            images = images[:max_images]
        if crop:  # centre crop (quick checks only; the protocol uses whole images)
            c = crop - crop % s
            images = [(n, im[(im.shape[0] - min(c, im.shape[0])) // (2 * s) * s:][:c,
                             (im.shape[1] - min(c, im.shape[1])) // (2 * s) * s:][:, :c])
                      for n, im in images]
        acc: dict[str, list[float]] = {}
        for _, gt in images:
            gen = torch.Generator().manual_seed(seed)
            lr = to_uint8(downscale(net, _to_tensor(gt, dev)))
            for q in qualities:
                if q is None or codec == "none":
                    label, lr_in = "none", lr
                else:
                    label = f"{codec}_q{q}"
                    lr_in, _ = codec_roundtrip_uint8(lr, codec, q)
                out = to_uint8(upscale(net, _to_tensor(lr_in, dev), gen))
                acc.setdefault(label, []).append(psnr_y(gt, out, s))
        res[name.rstrip("/").split("/")[-1]] = {
            k: float(np.mean(v)) for k, v in acc.items()}
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--checkpoint", required=True, help="training .pt, official .pth or .safetensors")
    ap.add_argument("--sets", nargs="+", default=["Set5", "Set14"])
    ap.add_argument("--codec", default=None, help="none / jpeg / webp (default: from checkpoint)")
    ap.add_argument("--qualities", default="30,50,70,80,90")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    net, cfg = load_any(args.checkpoint)
    codec = args.codec or cfg.get("codec", {}).get("format", "none")
    qs = [None] if codec == "none" else [int(q) for q in args.qualities.split(",")]
    t0 = time.time()
    res = evaluate(net, args.sets, codec, qs)
    print(json.dumps({"validation": res, "seconds": round(time.time() - t0, 1)}, indent=1))


def load_any(path: str):
    """-> (net, cfg). Training checkpoints carry their config; weights files do not."""
    if str(path).endswith(".pt"):
        ck = torch.load(path, map_location="cpu", weights_only=False)
        net = nets.build(ck["cfg"]["model"])
        net.load_state_dict(ck["net"])
        return net.eval(), ck["cfg"]
    net = nets.from_state(nets.load_state(path))
    return net.eval(), {}


if __name__ == "__main__":
    main()


def bicubic_baseline(sets: list[str], scale: int, codec: str = "none", qualities=(None,),
                     data_root=None) -> dict:
    """Bicubic & Bicubic through the same protocol (checks the pipeline against the official
    numbers in shared/docs/rescaling-models.md)."""
    from .bicubic import imresize_uint8

    root = DEFAULT_SHARED / "data" / "eval" if data_root is None else data_root
    res = {}
    for name in sets:
        acc: dict[str, list[float]] = {}
        for _, gt in load_eval_set(str(root / name), scale):
            lr = imresize_uint8(gt, 1.0 / scale)
            for q in qualities:
                if q is None or codec == "none":
                    label, lr_in = "none", lr
                else:
                    label = f"{codec}_q{q}"
                    lr_in, _ = codec_roundtrip_uint8(lr, codec, q)
                acc.setdefault(label, []).append(psnr_y(gt, imresize_uint8(lr_in, scale), scale))
        res[name] = {k: float(np.mean(v)) for k, v in acc.items()}
    return res
