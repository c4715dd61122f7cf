"""Training data for the GPU machine, as one tar small enough to travel with the checkout.

    python -m training.device.pack --out .device/train/pack.tar [--max-mib 20] [--tiny]

The GPU machine receives at most 64 MiB per command, checkout included, so the pack holds a
subset of `shared/data/train`: whole files, byte for byte (no re-encoding, which would add a
second JPEG generation to the HR targets), drawn in a fixed random order across all five parts
until the size budget is reached, plus the Set5 images for validation during training.
Layout: `train/NAME`, `eval/Set5/NAME`, `manifest.json` (files, bytes, megapixels, seed).
"""
from __future__ import annotations

import argparse
import io
import json
import random
import tarfile
from pathlib import Path

from PIL import Image

from ..data import DEFAULT_SHARED, list_images

SEED = 2026


def choose(files: list[Path], budget: int, seed: int = SEED) -> list[Path]:
    order = sorted(files)
    random.Random(seed).shuffle(order)
    chosen, used = [], 0
    for f in order:
        n = f.stat().st_size
        if used + n <= budget:
            chosen.append(f)
            used += n
    return sorted(chosen)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-mib", type=float, default=20.0, help="size budget of the training photos")
    ap.add_argument("--shared", default=str(DEFAULT_SHARED))
    ap.add_argument("--tiny", action="store_true",
                    help="4 small photos and one Set5 image (the --cpu-smoke run)")
    args = ap.parse_args(argv)
    shared = Path(args.shared)
    train = list_images([str(shared / "data" / "train" / "part*")])
    evals = list_images([str(shared / "data" / "eval" / "Set5")])
    if not train or not evals:
        raise SystemExit(f"pack: no training or Set5 images under {shared}/data")
    if args.tiny:
        chosen = sorted(train, key=lambda f: f.stat().st_size)[:4]
        evals = sorted(evals, key=lambda f: f.stat().st_size)[:1]
    else:
        chosen = choose(train, int(args.max_mib * (1 << 20)))
    mp = 0.0
    for f in chosen:
        with Image.open(f) as im:
            mp += im.width * im.height / 1e6
    manifest = {
        "seed": SEED, "source": "shared/data/train/part1-5 (whole files, unchanged)",
        "train_files": [f"{f.parent.name}/{f.name}" for f in chosen],
        "train_bytes": sum(f.stat().st_size for f in chosen), "train_megapixels": round(mp, 2),
        "of_total": {"files": len(train), "bytes": sum(f.stat().st_size for f in train)},
        "eval": [f"Set5/{f.name}" for f in evals],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tarfile.open(tmp, "w") as tar:
        for f in chosen:
            tar.add(f, arcname=f"train/{f.parent.name}_{f.name}")
        for f in evals:
            tar.add(f, arcname=f"eval/Set5/{f.name}")
        blob = json.dumps(manifest, indent=1).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    tmp.replace(out)
    print(f"pack: {len(chosen)} of {len(train)} training photos ({manifest['train_bytes'] / 2**20:.1f} MiB, "
          f"{mp:.1f} MP) + {len(evals)} Set5 images -> {out} ({out.stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
