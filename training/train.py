"""Training loop for IRN / SAIN recipes.

    python -m training.train --config training/configs/irn_x2.toml [--iters N] [--batch B]
        [--patch P] [--lr LR] [--out DIR] [--set section.key=value ...] [--resume]

Losses (sums over C,H,W, mean over the batch, as in the official code):
  IRN : lambda_fit_forw * L2(LR, bicubic ref) + lambda_rec_back * L1(HR_rec, HR)
        + lambda_ce_forw * sum(z^2)                     (z ~ N(0,1) in the inverse)
  SAIN: L1(HR_rec, HR) + ( fit1 + fit2 + reg + rel ) / 4 with, all x lambda_fit_forw L2:
        fit1 LR vs ref, fit2 simulated-compressed LR vs realcodec(ref),
        reg LR vs the LR recomputed by the inverse, rel simulated vs realcodec(LR);
        the inverse is fed DiffJPEG(LR) and z drawn from the learned mixture.
Adam, MultiStepLR (steps given as fractions of the run), optional linear warm-up, gradient
clipping; bf16 autocast + channels_last on CUDA. Logs JSONL to OUT/log.jsonl; checkpoints
OUT/last.pt (resumable) and OUT/final.pt.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from . import config as C
from . import nets
from .codecs import DiffJPEG, quantize8, real_compress
from .data import ROOT, TrainSet
from .evaluate import evaluate


def l2_sum(a, b):
    return ((a - b) ** 2).flatten(1).sum(1).mean()


def l1_sum(a, b, eps=1e-6):
    d = a - b
    return torch.sqrt(d * d + eps).flatten(1).sum(1).mean()


def lr_at(it: int, t: dict, progress: float | None = None) -> float:
    """Learning rate for iteration ``it`` (0-based); ``progress`` in [0, 1] is the fraction
    of the run done (iterations, or wall time when a time budget is set), default it/iters."""
    base = t["lr"]
    n = t["iters"]
    warm = int(t.get("warmup", 0))
    if warm and it < warm:
        return base * (it + 1) / warm
    if progress is None:
        progress = it / n
    k = sum(1 for f in t.get("lr_steps", []) if progress >= f)
    return base * (t.get("lr_gamma", 0.5) ** k)


class Trainer:
    def __init__(self, cfg: dict, out: Path, device: str, log=print):
        self.cfg, self.out, self.log = cfg, out, log
        self.device = torch.device(device)
        m, t, d = cfg["model"], cfg["train"], cfg["data"]
        torch.manual_seed(t.get("seed", 10))
        self.net = nets.build(m).to(self.device)
        hb = float(t.get("h_bias_init", 0.0))
        if hb:
            # start every coupling with a fixed scaling s = 2 sigmoid(hb) - 1 > 0: the forward
            # expands the detail channels and the inverse contracts z by exp(-sum s), so the
            # inverse is not swamped by z ~ N(0, 1) from the first iteration (official init: 0)
            # Only the blocks of the last Haar level (the ones z meets first in the inverse):
            # with IRN x4 also scaling the first level's blocks amplifies its details by
            # ~exp(10) in the forward pass, which diverged in practice.
            last = 0
            for i, op in enumerate(getattr(self.net, "operations", [])):
                if isinstance(op, nets.Haar):
                    last = i
            with torch.no_grad():
                for name, mod in self.net.named_modules():
                    if name.endswith(".H"):
                        if name.startswith("operations.") and int(name.split(".")[1]) < last:
                            continue
                        mod.conv5.bias.fill_(hb)
        self.cuda = self.device.type == "cuda"
        if self.cuda:
            self.net = self.net.to(memory_format=torch.channels_last)
            torch.backends.cudnn.benchmark = True  # fixed training shapes: pick the fastest kernels
        gmm = [p for n, p in self.net.named_parameters() if p.requires_grad and n.startswith("gmm.")]
        rest = [p for n, p in self.net.named_parameters() if p.requires_grad and not n.startswith("gmm.")]
        groups = [{"params": rest, "lr_mult": 1.0}]
        if gmm:  # the mixture may learn faster than the convs (short CPU schedules)
            groups.append({"params": gmm, "lr_mult": float(t.get("gmm_lr_mult", 1.0))})
        self.opt = torch.optim.Adam(groups, lr=t["lr"], betas=(t.get("beta1", 0.9), t.get("beta2", 0.999)),
                                    weight_decay=t.get("weight_decay", 0.0))
        self.arch = m["arch"]
        self.scale = m["scale"]
        cod = cfg.get("codec", {})
        self.codec_fmt = cod.get("format", "none")
        if self.arch == "sain":
            self.diffcomp = DiffJPEG(cod.get("diff_quality", 75), cod.get("rounding", "cubic")).to(self.device)
            self.use_diff = cod.get("use_diffcomp", True)
            self.use_real = cod.get("use_realcomp", True)
            self.real_q = cod.get("quality", 75)
        self.it = 0
        self.cpu_s = 0.0
        self.wall_s = 0.0
        self.rng = np.random.default_rng(t.get("seed", 10))
        self.best = None
        self.budget_s = float(t.get("budget_minutes", 0) or 0) * 60

    def progress(self) -> float:
        """Fraction of the run done: by iterations, or by wall time when ``train.budget_minutes``
        is set (whichever is further), so schedules still complete on a busy CPU."""
        p = self.it / self.cfg["train"]["iters"]
        if self.budget_s:
            p = max(p, self.wall_s / self.budget_s)
        return min(1.0, p)

    # ----------------------------------------------------------------- checkpoints
    def state(self) -> dict:
        return {"net": self.net.state_dict(), "opt": self.opt.state_dict(), "iter": self.it,
                "cfg": self.cfg, "cpu_s": self.cpu_s, "wall_s": self.wall_s,
                "rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state()}

    def save(self, name: str):
        tmp = self.out / (name + ".tmp")
        torch.save(self.state(), tmp)
        os.replace(tmp, self.out / name)

    def resume(self, path: Path):
        ck = torch.load(path, map_location="cpu", weights_only=False)
        self.net.load_state_dict(ck["net"])
        self.opt.load_state_dict(ck["opt"])
        self.it, self.cpu_s, self.wall_s = ck["iter"], ck.get("cpu_s", 0.0), ck.get("wall_s", 0.0)
        self.rng.bit_generator.state = ck["rng"]
        torch.set_rng_state(ck["torch_rng"])
        self.log(f"resumed from {path} at iteration {self.it}")

    def init_from(self, path: str):
        """Warm start from weights (e.g. a previous run); only matching keys are taken."""
        src = nets.load_state(path) if not path.endswith(".pt") else \
            torch.load(path, map_location="cpu", weights_only=False)["net"]
        own = self.net.state_dict()
        took = {k: v for k, v in src.items() if k in own and own[k].shape == v.shape}
        own.update(took)
        self.net.load_state_dict(own)
        self.log(f"initialised {len(took)}/{len(own)} tensors from {path}")

    def temperature(self) -> float:
        """z temperature of the training inverse: ``gaussian_scale`` (official option), or a
        linear ramp from ``gaussian_scale_start`` to it over the first ``gaussian_scale_ramp``
        fraction of the run (a curriculum for short schedules; 0 = off)."""
        t = self.cfg["train"]
        end = t.get("gaussian_scale", 1.0)
        ramp = t.get("gaussian_scale_ramp", 0.0)
        if not ramp:
            return end
        start = t.get("gaussian_scale_start", 0.0)
        f = min(1.0, self.progress() / ramp)
        return start + (end - start) * f

    # ----------------------------------------------------------------- one step
    def step(self, hr, lr_ref) -> dict:
        t = self.cfg["train"]
        for g in self.opt.param_groups:
            g["lr"] = lr_at(self.it, t, self.progress()) * g.get("lr_mult", 1.0)
        hr, lr_ref = hr.to(self.device), lr_ref.to(self.device)
        if self.cuda:
            hr = hr.contiguous(memory_format=torch.channels_last)
        lam_fit = t.get("lambda_fit_forw", 4.0)
        lam_rec = t.get("lambda_rec_back", 1.0)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.cuda):
            if self.arch == "irn":
                out = self.net(hr).float()
                lr, z = out[:, :3], out[:, 3:]
                l_fit = lam_fit * l2_sum(lr, lr_ref)
                l_ce = t.get("lambda_ce_forw", 1.0) * (z ** 2).flatten(1).sum(1).mean()
                y = torch.cat((quantize8(lr), self.temperature() * torch.randn_like(z)), 1)
                rec = self.net(y, rev=True)[:, :3].float()
                l_rec = lam_rec * l1_sum(rec, hr)
                loss = l_fit + l_ce + l_rec
                logs = {"l_fit": l_fit, "l_ce": l_ce, "l_rec": l_rec}
            else:
                out, lr = self.net(hr)
                out, lr = out.float(), lr.float()
                l_fit1 = lam_fit * l2_sum(lr, lr_ref)
                lrq = quantize8(lr)
                lr_c = self.diffcomp(lrq) if self.use_diff else lrq
                zshape = out[:, 3:].shape
                z = self.temperature() * self.net.gmm.sample(tuple(zshape))
                rec, lr_rec = self.net(torch.cat((lr_c, z), 1), rev=True)
                rec, lr_rec = rec[:, :3].float(), lr_rec.float()
                l_rec = lam_rec * l1_sum(rec, hr)
                sim = out[:, :3]
                if self.use_real:
                    ref_c = real_compress(lr_ref, self.codec_fmt, self.real_q)
                    lr_real = real_compress(lrq, self.codec_fmt, self.real_q)
                else:
                    ref_c, lr_real = lr_ref, lrq.detach()
                l_fit2 = lam_fit * l2_sum(sim, ref_c)
                l_reg = lam_fit * l2_sum(lrq, lr_rec)
                l_rel = lam_fit * l2_sum(sim, lr_real)
                loss = l_rec + (l_fit1 + l_fit2 + l_reg + l_rel) / 4
                logs = {"l_fit1": l_fit1, "l_fit2": l_fit2, "l_reg": l_reg, "l_rel": l_rel,
                        "l_rec": l_rec}
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if t.get("grad_clip"):
            logs["grad_norm"] = nn.utils.clip_grad_norm_(self.net.parameters(), t["grad_clip"])
        # On the CPU a non-finite loss stops before the step spoils the weights. On a GPU that
        # check would wait for the device every iteration; there the mean loss is checked at each
        # log line, and checkpoints are only written right after one.
        if not self.cuda and not math.isfinite(loss.item()):
            raise FloatingPointError(f"loss is {loss.item()} at iteration {self.it}")
        self.opt.step()
        logs["loss"] = loss
        if self.arch == "sain":
            pis, mus, logvars = self.net.gmm.gmm_para.detach()
            logs["gmm_std"] = (torch.softmax(pis, 0) * torch.exp(0.5 * logvars.clamp(-20, 20))).sum()
        logs = {k: v.detach().float() for k, v in logs.items()}
        logs["T"] = self.temperature()
        logs["lr"] = self.opt.param_groups[0]["lr"]
        return logs

    def weights_checkpoint(self, max_bytes: int = 15 << 20) -> dict:
        """The net alone (no optimiser state) with what `training.export` reads, in float32
        when it fits ``max_bytes`` (files brought back from the GPU machine are capped), else
        float16 (the shipped files' precision)."""
        state = {k: v.detach().cpu() for k, v in self.net.state_dict().items()}
        size = sum(v.numel() * 4 for v in state.values())
        if size > max_bytes:
            state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
        return {"net": state, "iter": self.it, "cfg": self.cfg, "cpu_s": self.cpu_s,
                "wall_s": self.wall_s, "device": device_name(self.device),
                "weights_dtype": "float32" if size <= max_bytes else "float16"}

    def validate(self) -> dict:
        v = self.cfg.get("val", {})
        sets = v.get("sets", ["Set5"])
        if self.arch == "irn" or self.codec_fmt == "none":
            qs, codec = [None], "none"
        else:
            qs, codec = v.get("qualities", [30, 50, 70, 90]), self.codec_fmt
        net = self.net
        res = evaluate(net, sets, codec, qs, seed=v.get("seed", 0), crop=v.get("crop", 0),
                       max_images=v.get("max_images", 0))
        net.train()
        return res


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    return "CPU (no GPU), " + (platform.processor() or platform.machine())


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--iters", type=int)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--patch", type=int)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--out", help="run directory (default training/runs/NAME)")
    ap.add_argument("--device", default=None, help="cpu / cuda (default: cuda if available)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--val-every", type=int)
    ap.add_argument("--ckpt-every", type=int)
    ap.add_argument("--log-every", type=int)
    ap.add_argument("--max-images", type=int, help="use only the first N training images")
    ap.add_argument("--init", help="warm-start weights (.pt/.pth/.safetensors), matching keys only")
    ap.add_argument("--no-resume", action="store_true", help="ignore OUT/last.pt")
    ap.add_argument("--max-minutes", type=float, help="stop (and save) after this wall time")
    ap.add_argument("--budget-minutes", type=float,
                    help="time budget of the whole run (train.budget_minutes): the lr steps and the "
                         "z-temperature ramp follow max(iter/iters, time/budget); stops at the budget")
    ap.add_argument("--export-dir", help="also write a weights-only checkpoint NAME.pt (with the run's "
                    "log) into this folder every --export-every-minutes, and at the end")
    ap.add_argument("--export-every-minutes", type=float, default=2.0)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override any config value, e.g. --set train.warmup=100")
    return ap.parse_args(argv)


def make_config(args) -> dict:
    cfg = C.load(args.config)
    sets = list(args.set)
    for flag, key in (("iters", "train.iters"), ("batch", "data.batch"), ("patch", "data.patch"),
                      ("lr", "train.lr"), ("val_every", "train.val_every"),
                      ("ckpt_every", "train.ckpt_every"), ("log_every", "train.log_every"),
                      ("max_images", "data.max_images"), ("budget_minutes", "train.budget_minutes")):
        v = getattr(args, flag)
        if v is not None:
            sets.append(f"{key}={v}")
    return C.apply_overrides(cfg, sets)


def main(argv=None):
    args = parse_args(argv)
    cfg = make_config(args)
    torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(args.out) if args.out else ROOT / "training" / "runs" / cfg["name"]
    out.mkdir(parents=True, exist_ok=True)
    logf = open(out / "log.jsonl", "a")
    records: list[dict] = []  # this process's log, also embedded in --export-dir checkpoints

    def log(msg):
        print(msg, flush=True)

    def record(kind, **kw):
        rec = {"kind": kind, "time": time.time(), **kw}
        records.append(rec)
        logf.write(json.dumps(rec) + "\n")
        logf.flush()

    # SIGTERM ends the run cleanly (validation, checkpoints, export) at the next iteration:
    # harvest.sh stops every model this way before the GPU machine's time runs out.
    terminated = []
    signal.signal(signal.SIGTERM, lambda *_: terminated.append(True))
    tr = Trainer(cfg, out, device, log)
    if args.init:
        tr.init_from(args.init)
        cfg["train"]["init"] = args.init  # provenance: fine-tuned, not from scratch
        manifest = Path(args.init).with_suffix(".json")
        if manifest.exists():  # a shipped model: its iterations and CPU time count towards the total
            shipped = json.loads(manifest.read_text())
            cfg["train"]["init_iterations"] = int(shipped.get("iterations") or 0)
            cfg["train"]["init_cpu_seconds"] = int(shipped.get("training", {}).get("cpu_seconds") or 0)
    if not args.no_resume and (out / "last.pt").exists():
        tr.resume(out / "last.pt")
    t, d = cfg["train"], cfg["data"]
    (out / "config.json").write_text(json.dumps(cfg, indent=1))
    record("start", cfg=cfg, iter=tr.it, device=device_name(tr.device), threads=args.threads,
           host=platform.node(), torch=torch.__version__)
    data = TrainSet(d["train"], cfg["model"]["scale"], d["patch"], d.get("max_images", 0), log)
    if tr.cuda:
        data.to(tr.device)
    n_params = sum(p.numel() for p in tr.net.parameters() if p.requires_grad)
    log(f"{cfg['name']}: {cfg['model']}, {n_params:,} params, batch {d['batch']} patch {d['patch']}, "
        f"{t['iters']} iterations, device {device}, {args.threads} threads")
    iters = t["iters"]
    log_every = t.get("log_every", 100)
    val_every = t.get("val_every", 0)
    ckpt_every = t.get("ckpt_every", 1000)
    snapshot_every = t.get("snapshot_every", 0)
    export_dir = Path(args.export_dir) if args.export_dir else None
    if export_dir:
        export_dir.mkdir(parents=True, exist_ok=True)

    def export_weights():
        ck = tr.weights_checkpoint()
        ck["log"] = records
        tmp = export_dir / f".{cfg['name']}.pt.tmp"
        torch.save(ck, tmp)
        os.replace(tmp, export_dir / f"{cfg['name']}.pt")

    t_start = time.time()
    last_export = t_start
    rate_logged = False
    it_start = tr.it
    acc: dict = {}
    n_acc = 0
    c0, w0 = time.process_time(), time.time()
    stop = False
    while tr.it < iters and not stop:
        hr, lr_ref = data.batch(tr.rng, d["batch"], d["patch"], d.get("flip", True), d.get("rot", True))
        logs = tr.step(hr, lr_ref)
        tr.it += 1
        for k, v in logs.items():  # tensors stay on the device until the log line
            acc[k] = acc[k] + v if k in acc else v
        n_acc += 1
        now_c, now_w = time.process_time(), time.time()
        tr.cpu_s += now_c - c0
        tr.wall_s += now_w - w0
        c0, w0 = now_c, now_w
        if args.max_minutes and now_w - t_start > 60 * args.max_minutes:
            stop = True
        if (tr.budget_s and tr.wall_s >= tr.budget_s) or terminated:
            stop = True
        if not rate_logged and (now_w - t_start >= 30 or stop):
            if tr.cuda:
                torch.cuda.synchronize()
            rate = (tr.it - it_start) / (time.time() - t_start)
            record("rate", iter=tr.it, it_per_s=round(rate, 3), seconds=round(time.time() - t_start, 1))
            log(f"rate: {rate:.2f} it/s over the first {time.time() - t_start:.0f} s of training")
            rate_logged = True
        if tr.it % log_every == 0 or tr.it == iters or stop:
            mean = {k: float(v) / n_acc for k, v in acc.items()}
            if not math.isfinite(mean["loss"]):
                raise FloatingPointError(f"mean loss is {mean['loss']} over iterations up to {tr.it}")
            record("train", iter=tr.it, cpu_s=round(tr.cpu_s, 1), wall_s=round(tr.wall_s, 1), **mean)
            log(f"it {tr.it:6d} " + " ".join(f"{k} {v:.4g}" for k, v in mean.items())
                + f" | {tr.wall_s / max(tr.it, 1):.2f} s/it wall")
            acc, n_acc = {}, 0
        if (val_every and tr.it % val_every == 0) or tr.it == iters or stop:
            tv = time.time()
            res = tr.validate()
            record("val", iter=tr.it, psnr_y=res, seconds=round(time.time() - tv, 1))
            log(f"val it {tr.it}: {json.dumps(res)} ({time.time() - tv:.0f}s)")
            c0, w0 = time.process_time(), time.time()
        checked = not tr.cuda or n_acc == 0  # the losses since the last log line are finite
        if (tr.it % ckpt_every == 0 or tr.it == iters or stop) and checked:
            tr.save("last.pt")
        if snapshot_every and tr.it % snapshot_every == 0 and checked:
            # weights only, kept: the points of the learning curve (training.curve)
            snaps = out / "snaps"
            snaps.mkdir(exist_ok=True)
            torch.save(tr.weights_checkpoint(), snaps / f"it{tr.it:06d}.pt")
        if export_dir and time.time() - last_export >= 60 * args.export_every_minutes and checked:
            export_weights()
            last_export = time.time()
    tr.save("final.pt")
    record("end", iter=tr.it, cpu_s=tr.cpu_s, wall_s=tr.wall_s)
    if export_dir:
        export_weights()
    log(f"done: {tr.it} iterations, {tr.cpu_s:.0f} CPU s, {tr.wall_s:.0f} wall s -> {out / 'final.pt'}")


if __name__ == "__main__":
    main()
