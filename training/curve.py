"""Learning curve at equal size: BD-PSNR / BD-rate against Bicubic & Bicubic for a series of
checkpoints of one run (the validation that decides what ships, `training/rd.py`).

    python -m training.curve --codec webp --sets Set5 Set14 training/runs/sain_x2_webp/snaps/*.pt

Checkpoints are ordered by their iteration, and Bicubic's points are computed once for the
whole series. One JSON line per checkpoint goes to stdout as soon as it is measured (so a
long curve can be read, or stopped, as it goes), then a Markdown table of the curve.
`--total` counts the iterations of the weights a run was fine-tuned from (the manifest's
`iterations_before`) as well as this run's.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from .evaluate import load_any
from .rd import QUALITIES, rd_report


def iteration_of(path: str, total: bool = False) -> int:
    """The iteration a training checkpoint was saved at (this run's, or with `total` the run's
    plus those of the weights it started from); 0 for weights files, which carry none."""
    if not str(path).endswith(".pt"):
        return 0
    ck = torch.load(path, map_location="cpu", weights_only=False)
    before = int(ck.get("cfg", {}).get("train", {}).get("init_iterations", 0)) if total else 0
    return int(ck.get("iter", 0)) + before


def curve(checkpoints, sets=("Set5", "Set14"), codec: str = "jpeg", qualities=QUALITIES,
          total: bool = False, out=sys.stdout, data_root=None) -> list[dict]:
    """[{"checkpoint", "iter", set: {"bd_psnr_db", "bd_rate_percent"}}] in iteration order."""
    order = sorted(((iteration_of(p, total), p) for p in checkpoints), key=lambda t: t[0])
    seen, rows, cache = set(), [], {}
    for it, path in order:
        if it in seen and it:  # the same checkpoint saved twice (a resumed run re-saves it)
            continue
        seen.add(it)
        net, _ = load_any(path)
        t0 = time.time()
        rd = rd_report(net, sets, codec, qualities, data_root=data_root, bicubic_cache=cache)
        row = {"checkpoint": str(path), "iter": it, "seconds": round(time.time() - t0, 1)}
        for name, r in rd.items():
            row[name] = {"bd_psnr_db": r["bd_psnr_db"], "bd_rate_percent": r["bd_rate_percent"]}
        rows.append(row)
        print(json.dumps(row), file=out, flush=True)
    return rows


def markdown(rows: list[dict], sets, codec: str) -> str:
    head = "| iterations | " + " | ".join(str(r["iter"]) for r in rows) + " |"
    lines = [head, "|---|" + "---|" * len(rows)]
    for name in sets:
        cells = [f"{r[name]['bd_psnr_db']:+.3f}" for r in rows]
        lines.append(f"| {name} BD-PSNR (dB, {codec}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+", help="training .pt files (or weights files, iteration 0)")
    ap.add_argument("--sets", nargs="+", default=["Set5", "Set14"])
    ap.add_argument("--codec", default="jpeg", choices=["jpeg", "webp"])
    ap.add_argument("--qualities", default=",".join(map(str, QUALITIES)))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--total", action="store_true", help="count the iterations of the init weights too")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = curve(args.checkpoints, args.sets, args.codec, [int(q) for q in args.qualities.split(",")], args.total)
    print(markdown(rows, args.sets, args.codec))


if __name__ == "__main__":
    main()
