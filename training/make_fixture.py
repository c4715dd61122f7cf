"""Tiny cross-language fixture for tests/training_export.rs: a 1-block IRN x2 and a 1-E-block
SAIN x2 (no V-block), with random non-zero weights, exported exactly like the shipped models
(training.export.export_state: official keys, fp16), plus the PyTorch forward/inverse results
computed with those fp16 weights in float32.

    python -m training.make_fixture [--out tests/fixtures]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

from . import nets
from .data import DEFAULT_SHARED, ROOT
from .export import export_state


def randomise(net: torch.nn.Module, gen: torch.Generator) -> None:
    """Every conv weight/bias N(0, 0.03^2) (so no subnet is zero); a non-trivial mixture."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            if not p.requires_grad:
                continue
            if name == "gmm.gmm_para":
                p.copy_(torch.tensor([[0.5, -0.3, 0.1, 0.0, -0.8],
                                      [0.2, -0.1, 0.05, 0.3, -0.25],
                                      [-1.0, -2.0, -0.5, -3.0, -1.5]]))
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.03)


def hr_crop() -> torch.Tensor:
    path = DEFAULT_SHARED / "data" / "eval" / "Set5" / "butterfly.png"
    if path.exists():
        img = np.asarray(Image.open(path).convert("RGB"))[104:120, 104:120]
        return torch.from_numpy(img.copy()).permute(2, 0, 1)[None].float() / 255.0
    g = torch.Generator().manual_seed(1)
    return torch.rand(1, 3, 16, 16, generator=g)


@torch.no_grad()
def make(net: torch.nn.Module, name: str, out: Path, gen: torch.Generator) -> dict:
    randomise(net, gen)
    state = export_state(net, "fp16")
    save_file(state, str(out / f"{name}.safetensors"), metadata={"format": "pt"})
    # the network as the Rust side will see it: fp16 weights, computed in f32
    net = nets.from_state({k: v.float() for k, v in state.items()}).eval()
    hr = hr_crop()
    if net.arch == "irn":
        fwd = net(hr)
        lr = fwd[:, :3]
    else:
        fwd, lr = net(hr)
    lr8 = (lr.clamp(0, 1) * 255).round() / 255
    z = torch.randn(nets.latent_shape(net, lr), generator=gen)
    inv_in = torch.cat((lr8, z), 1)
    io = {"hr": hr, "forward_out": fwd, "lr": lr, "inverse_in": inv_in}
    if net.arch == "irn":
        io["inverse_out"] = net(inv_in, rev=True)[:, :3]
    else:
        inv, inv_lr = net(inv_in, rev=True)
        io["inverse_out"], io["inverse_lr"] = inv[:, :3], inv_lr
    save_file({k: v.float().clone().contiguous() for k, v in io.items()}, str(out / f"{name}_io.safetensors"))
    return {k: tuple(v.shape) for k, v in io.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(ROOT / "tests" / "fixtures"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(20260101)
    print(make(nets.IRN(2, [1]), "training_irn_x2_tiny", out, gen))
    print(make(nets.SAIN(2, e_blocks=1, v_blocks=0), "training_sain_x2_tiny", out, gen))
    total = sum(f.stat().st_size for f in out.glob("training_*"))
    print(f"fixture: {total} bytes in {out}")


if __name__ == "__main__":
    main()
