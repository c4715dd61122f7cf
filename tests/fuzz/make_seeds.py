"""Writes the fuzzers' starting inputs into tests/fuzz/seeds/{image,pth,safetensors}/: small,
valid files of every layout the loaders accept, so that mutations start deep inside them.

Run from the repository root with the training venv: .venv/bin/python tests/fuzz/make_seeds.py
"""
import io
import pathlib
import struct

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).parent / "seeds"


def images(out: pathlib.Path) -> None:
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8))
    rgba = Image.fromarray(rng.integers(0, 256, (9, 7, 4), dtype=np.uint8))
    gray16 = Image.fromarray(rng.integers(0, 65536, (8, 6), dtype=np.uint16))
    rgb.save(out / "rgb.png")
    rgba.save(out / "rgba.png")
    gray16.save(out / "gray16.png")
    rgb.convert("P").save(out / "palette.png")
    rgb.save(out / "baseline.jpg", quality=80)
    rgb.save(out / "progressive.jpg", quality=60, progressive=True)
    rgb.convert("L").save(out / "gray.jpg", quality=90)
    rgb.convert("CMYK").save(out / "cmyk.jpg", quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6
    rgb.save(out / "exif_rotated.jpg", quality=70, exif=exif.tobytes())
    rgb.save(out / "lossy.webp", quality=50)
    rgba.save(out / "lossless.webp", lossless=True)
    rgb.save(out / "animated.webp", save_all=True, append_images=[rgb.rotate(90)], duration=100)
    rgb.save(out / "animated.gif", save_all=True, append_images=[rgb.rotate(180)], duration=100)
    rgb.save(out / "rgb.bmp")
    rgb.save(out / "pages.tif", save_all=True, append_images=[rgb])
    rgba.save(out / "deflate.tif", compression="tiff_adobe_deflate")


def state_dicts() -> dict:
    """Tiny tensors under the official key names: too small to build a network, so the
    fuzzer explores the readers and the key/shape checks rather than the convolutions."""
    g = torch.Generator().manual_seed(0)

    def t(*shape, dtype=torch.float32):
        return torch.randn(*shape, generator=g).to(dtype)

    irn = {
        "operations.0.haar_weights": t(12, 1, 2, 2),
        "operations.1.F.conv1.weight": t(2, 3, 3, 3),
        "operations.1.F.conv1.bias": t(2),
        "operations.1.G.conv5.weight": t(9, 2, 3, 3),
        "operations.1.H.conv5.bias": t(9),
    }
    sain = {
        "haar_operations.0.haar_weights": t(12, 1, 2, 2),
        "down_operations.0.F.conv1.weight": t(2, 9, 3, 3),
        "comp_operations.0.F.conv1.weight": t(2, 3, 3, 3, dtype=torch.float16),
        "gmm.gmm_para": t(3, 5),
    }
    return {"irn": irn, "sain": sain}


def pth(out: pathlib.Path) -> None:
    sds = state_dicts()
    torch.save(sds["irn"], out / "irn.pth")
    torch.save({"state_dict": sds["sain"]}, out / "sain_wrapped.pth")
    torch.save({f"module.{k}": v for k, v in sds["irn"].items()}, out / "irn_module.pth")
    torch.save({k: v.to(torch.bfloat16) for k, v in sds["irn"].items()}, out / "irn_bf16.pth")


def safetensors(out: pathlib.Path) -> None:
    sds = state_dicts()
    save_file(sds["irn"], str(out / "irn.safetensors"))
    save_file({k: v.contiguous() for k, v in sds["sain"].items()}, str(out / "sain.safetensors"))
    save_file({k: v.to(torch.float16) for k, v in sds["irn"].items()}, str(out / "irn_f16.safetensors"))
    # The smallest well-formed file: an 8-byte header length and an empty JSON object.
    (out / "empty.safetensors").write_bytes(struct.pack("<Q", 2) + b"{}")


for name, make in [("image", images), ("pth", pth), ("safetensors", safetensors)]:
    folder = ROOT / name
    folder.mkdir(parents=True, exist_ok=True)
    make(folder)
    print(name, sorted(p.name for p in folder.iterdir()))
