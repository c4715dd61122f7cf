"""Bring what the GPU machine trained into `models/`, only where it is better.

    python -m training.device.import_runs DIR [--models-dir models] [--sets Set5 Set14] [--force]

DIR holds the weights-only checkpoints `NAME.pt` that `harvest.sh train` wrote to $OUT. Each is
compared with the shipped `models/NAME.safetensors` on the validation that counts:

* SAIN (trained for a codec): the mean over the sets of BD-PSNR against Bicubic & Bicubic over
  QF 30–90, i.e. at equal file size (`training.rd`), not PSNR at equal quality;
* IRN: the mean Y-PSNR over the sets without compression.

Only a better checkpoint is exported (`training.export --eval --rd`, fp16 like the shipped
files), replacing the old files; `--force` exports without comparing. A JSON summary is printed
(DIR may be read-only: the device tool's files_at).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from .. import export, nets
from ..evaluate import evaluate, load_any
from ..rd import rd_report


def score(net, codec: str, sets: list[str], cache: dict) -> tuple[float, dict]:
    if codec == "none":
        res = evaluate(net, sets, "none", [None])
        return float(np.mean([res[s]["none"] for s in res])), res
    rd = rd_report(net, sets, codec, bicubic_cache=cache)
    return float(np.mean([rd[s]["bd_psnr_db"] for s in rd])), rd


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--models-dir", default=str(export.ROOT / "models"))
    ap.add_argument("--sets", nargs="+", default=["Set5", "Set14"])
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    models_dir = Path(args.models_dir)
    cache: dict = {}
    summary = {}
    for ck_path in sorted(Path(args.dir).glob("*.pt")):
        net, cfg = load_any(str(ck_path))
        net = net.float()
        name = cfg["name"]
        codec = cfg.get("codec", {}).get("format", "none") if cfg["model"]["arch"] == "sain" else "none"
        metric = "BD-PSNR vs bicubic (dB)" if codec != "none" else "Y-PSNR (dB)"
        new, new_detail = score(net, codec, args.sets, cache)
        shipped = models_dir / f"{name}.safetensors"
        old = None
        if shipped.exists():
            old, _ = score(nets.from_state(nets.load_state(str(shipped))).eval(), codec, args.sets, cache)
        keep = args.force or old is None or new > old
        it = torch.load(ck_path, map_location="cpu", weights_only=False)["iter"]
        line = (f"{name}: {it} iterations, {metric} on {'+'.join(args.sets)}: new {new:+.3f}"
                + (f", shipped {old:+.3f}" if old is not None else ", nothing shipped")
                + (" -> export" if keep else " -> keep the shipped weights"))
        print(line, flush=True)
        summary[name] = {"iterations": it, "metric": metric, "new": new, "shipped": old,
                         "exported": keep, "detail": new_detail}
        if keep:
            export.main(["--checkpoint", str(ck_path), "--name", name, "--models-dir", str(models_dir),
                         "--eval", "--sets", *args.sets, "--threads", str(args.threads)]
                        + (["--rd"] if codec != "none" else []))
    if not summary:
        raise SystemExit(f"import: no NAME.pt checkpoints in {args.dir}")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
