"""Export a training checkpoint to the app's model format.

    python -m training.export --checkpoint training/runs/irn_x2/final.pt --name irn_x2
        [--dtype fp16|fp32] [--eval] [--sets Set5 Set14] [--qualities 30,50,70,80,90]
        [--models-dir models] [--note "..."]

Writes models/NAME.safetensors (official key names, Haar filters included so the file also
loads in the official code) and models/NAME.json (name, arch, scale, codec, data, iterations,
provenance, validation, dtype, ...). With --eval the validation numbers are computed on the
exported weights (after the fp16 round trip), on whole Set5/Set14 images.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from . import nets
from .data import ROOT
from .evaluate import evaluate


# Bicubic & Bicubic on these files (official code), from shared/docs/rescaling-models.md
BICUBIC = {
    (2, "none"): {"Set5": {"none": 33.682}, "Set14": {"none": 30.327}},
    (4, "none"): {"Set5": {"none": 28.431}, "Set14": {"none": 26.092}},
    (2, "jpeg"): {"Set5": {"jpeg_q30": 29.777, "jpeg_q50": 30.768, "jpeg_q70": 31.644, "jpeg_q80": 32.230, "jpeg_q90": 32.995},
                  "Set14": {"jpeg_q30": 27.571, "jpeg_q50": 28.323, "jpeg_q70": 29.005, "jpeg_q80": 29.443, "jpeg_q90": 29.953}},
    (4, "jpeg"): {"Set5": {"jpeg_q30": 25.936, "jpeg_q50": 26.640, "jpeg_q70": 27.281, "jpeg_q80": 27.671, "jpeg_q90": 28.131},
                  "Set14": {"jpeg_q30": 24.404, "jpeg_q50": 24.914, "jpeg_q70": 25.345, "jpeg_q80": 25.617, "jpeg_q90": 25.918}},
    (2, "webp"): {"Set5": {"webp_q30": 30.314, "webp_q50": 31.280, "webp_q70": 31.898, "webp_q80": 32.483, "webp_q90": 33.176},
                  "Set14": {"webp_q30": 28.192, "webp_q50": 28.921, "webp_q70": 29.328, "webp_q80": 29.691, "webp_q90": 30.054}},
}


def git_rev() -> str:
    try:
        return subprocess.check_output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                       text=True, stderr=subprocess.DEVNULL).strip()
    except Exception:
        return "unknown"


def export_state(net: torch.nn.Module, dtype: str) -> dict:
    dt = {"fp16": torch.float16, "fp32": torch.float32}[dtype]
    return {k: v.detach().to(dt).contiguous() for k, v in net.state_dict().items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--dtype", default="fp16", choices=["fp16", "fp32"])
    ap.add_argument("--models-dir", default=str(ROOT / "models"))
    ap.add_argument("--eval", action="store_true", help="compute validation PSNR now")
    ap.add_argument("--sets", nargs="+", default=["Set5", "Set14"])
    ap.add_argument("--qualities", default="30,50,70,80,90")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--note", default="")
    ap.add_argument("--no-fp16-check", action="store_true")
    ap.add_argument("--rd", action="store_true",
                    help="with --eval, SAIN: also the rate-distortion points and BD-PSNR / BD-rate "
                         "against Bicubic & Bicubic on --sets (training.rd), into validation.rd")
    ap.add_argument("--merge", action="store_true",
                    help="keep the validation numbers already in models/NAME.json (other sets)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    cfg = ck["cfg"]
    net = nets.build(cfg["model"])
    net.load_state_dict(ck["net"])
    net.eval()
    state = export_state(net, args.dtype)
    out_dir = Path(args.models_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    st_path = out_dir / f"{args.name}.safetensors"
    save_file(state, str(st_path), metadata={"format": "pt", "arch": cfg["model"]["arch"],
                                               "scale": str(cfg["model"]["scale"])})

    # reload what was written (fp16 round trip) and check it is the same network
    net2 = nets.from_state(nets.load_state(str(st_path))).eval()
    codec = cfg.get("codec", {}).get("format", "none") if net.arch == "sain" else "none"
    validation = {}
    rd = None
    if args.eval:
        qs = [None] if codec == "none" else [int(q) for q in args.qualities.split(",")]
        t0 = time.time()
        if args.rd and codec != "none":
            # the rate–distortion points are the same protocol and z draws as `evaluate`, with
            # the bytes counted: one pass gives both
            from .rd import rd_report
            rd = rd_report(net2, args.sets, codec, qs)
            validation = {s: {f"{codec}_q{q}": p for q, (_, p) in ((int(q), v) for q, v in r["points"].items())}
                          for s, r in rd.items()}
        else:
            validation = evaluate(net2, args.sets, codec, qs, seed=0)
        if args.dtype != "fp32" and "Set5" in validation and not args.no_fp16_check:
            # the fp16 cost, measured once on Set5 (first quality only, same z)
            ref = evaluate(net, ["Set5"], codec, qs[:1], seed=0)
            validation["fp32_minus_fp16_Set5_dB"] = {k: round(ref["Set5"][k] - validation["Set5"][k], 4)
                                                     for k in ref["Set5"]}
        validation["seconds"] = round(time.time() - t0, 1)

    if args.merge and (out_dir / f"{args.name}.json").exists():
        old = json.loads((out_dir / f"{args.name}.json").read_text())["validation"].get("psnr_y", {})
        old.pop("seconds", None)
        validation = {**old, **validation}
    d, t = cfg["data"], cfg["train"]
    vals = []
    log = Path(args.checkpoint).with_name("log.jsonl")
    if "log" in ck:  # weights-only checkpoints from --export-dir carry their run's log
        records = ck["log"]
    elif log.exists():
        records = [json.loads(line) for line in log.read_text().splitlines()]
    else:
        records = []
    for r in records:
        if r.get("kind") == "val":
            vals.append({"iter": r["iter"], "psnr_y": r["psnr_y"]})
    device = ck.get("device", "CPU (no GPU), " + (platform.processor() or platform.machine()))
    init = t.get("init")
    start = f"fine-tuned from {Path(init).name}" if init else "trained from scratch"
    manifest = {
        "name": args.name,
        "arch": cfg["model"]["arch"],
        "scale": cfg["model"]["scale"],
        "codec": codec,
        "network": cfg["model"],
        "data": {
            "train": d["train"],
            "description": d.get("description") or "343 JPEG photos (shared/data/train part1-5: elementary/deepin wallpapers, "
                           "Wikipedia photos, BSDS200), random aligned crops, flips, 90-degree rotations; "
                           "LR reference = MATLAB-style bicubic of the whole image",
            "patch": d["patch"], "batch": d["batch"],
        },
        "iterations": ck["iter"] + int(t.get("init_iterations", 0)),
        "training": {
            "iterations_this_run": ck["iter"], "iterations_before": int(t.get("init_iterations", 0)),
            "cpu_seconds_before": int(t.get("init_cpu_seconds", 0)),
            "iterations_planned": t["iters"], "lr": t["lr"], "lr_steps": t.get("lr_steps"),
            "warmup": t.get("warmup", 0), "lambda_fit_forw": t.get("lambda_fit_forw"),
            "lambda_rec_back": t.get("lambda_rec_back"), "lambda_ce_forw": t.get("lambda_ce_forw"),
            "grad_clip": t.get("grad_clip"), "codec": cfg.get("codec"),
            "gaussian_scale_ramp": t.get("gaussian_scale_ramp", 0.0),
            "gmm_lr_mult": t.get("gmm_lr_mult", 1.0), "budget_minutes": t.get("budget_minutes"),
            "init": t.get("init"),
            "cpu_seconds": round(ck.get("cpu_s", 0.0)), "wall_seconds": round(ck.get("wall_s", 0.0)),
        },
        "provenance": (
            f"{start} by rescale-lab training/ (own PyTorch code, recipe "
            f"training/configs/{Path(cfg.get('name', args.name)).name}.toml with the overrides in "
            f"'training'), {ck['iter']} iterations of batch {d['batch']} x {d['patch']} px on "
            f"{device} ({round(ck.get('cpu_s', 0.0))} CPU s, {round(ck.get('wall_s', 0.0))} wall s), "
            f"data {', '.join(d['train'])}; "
            f"torch {torch.__version__}, git {git_rev()}" + (f"; {args.note}" if args.note else "")),
        "run": {
            "device": device,
            "checkpoint": str(Path(args.checkpoint)),
            "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        "validation": {
            "protocol": "modcrop, LR clamped+rounded to 8 bits (then the codec, Pillow quality=q), "
                        "result rounded to 8 bits, Y-PSNR (BT.601) with border = scale, mean over "
                        "the set; z: one draw, seed 0",
            "psnr_y": validation,
            **({"rd": rd, "rd_note": "bits per HR pixel and Y-PSNR per quality (means over the set), "
                "BD-PSNR (dB at equal rate) and BD-rate (% bits at equal PSNR) against Bicubic & "
                "Bicubic, VCEG-M33 cubic fits over log10 rate (training/rd.py)"} if rd else {}),
            "during_training": vals[-10:],
            "during_training_note": "Set5 128-px centre crops (val.crop), a cheap proxy",
            "bicubic_reference_psnr_y": BICUBIC.get((cfg["model"]["scale"], codec), {}),
        },
        "dtype": "float16" if args.dtype == "fp16" else "float32",
        "files": {"weights": st_path.name},
    }
    (out_dir / f"{args.name}.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(json.dumps(manifest["validation"]["psnr_y"], indent=1))
    print(f"wrote {st_path} ({st_path.stat().st_size / 1e6:.1f} MB) and {args.name}.json")


if __name__ == "__main__":
    main()
