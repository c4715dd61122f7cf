"""Whole-model CPU speed: rescale-lab (candle + fast_conv) against PyTorch, same weights, same
input, same thread count, in one run.

    .venv/bin/python -m training.bench_cpu [--threads N] [--size 512] [--runs 5]

For every shipped model (``models/*.safetensors``) it times downscaling (HR → LR + latent) and
upscaling (latent draw + inverse) at SIZE×SIZE in PyTorch and through the Rust binary's
``speed --json --runs 1`` on the same file, alternating one run of each RUNS times, and prints
the medians and their ratio. The PyTorch model is
the training code's (`training/nets.py`, the one the fixtures check), run under
``torch.inference_mode()`` in float32, both in NCHW and channels_last; the faster of the two
is the reference, so the ratio is against PyTorch's best layout on this machine. The Rust
times come from ``rescale-lab speed`` (the app's own `Rescaler` calls: image ↔ tensor
conversions and tiling included, which PyTorch is spared). The release binary is built first
if it is missing or older than the sources.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from . import nets

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODELS = ["irn_x2", "irn_x4", "sain_x2_jpeg", "sain_x4_jpeg"]


def test_image(side: int) -> torch.Tensor:
    """The same pattern as `speed::test_image` in the Rust engine, (1, 3, side, side)."""
    i = torch.arange(side, dtype=torch.float32) / side
    u, v = i[None, :], i[:, None]  # u varies along x (columns), v along y (rows)
    r = 0.5 + 0.4 * torch.sin(9.0 * u + 3.0 * v)
    g = 0.5 + 0.4 * torch.cos(31.0 * u * v)
    b = 0.5 + 0.3 * torch.sin(57.0 * v) * torch.cos(13.0 * u)
    return torch.stack([r, g, b])[None]


def latent(net, lr: torch.Tensor) -> torch.Tensor:
    shape = nets.latent_shape(net, lr)
    return torch.randn(shape, device=lr.device) if net.arch == "irn" else net.gmm.sample(shape)


def torch_runner(net, side: int, channels_last: bool, device: str = "cpu"):
    """-> run(): one timed (downscale ms, upscale ms) pass, after one warm-up pass on a small
    image (as the Rust side does). On CUDA the clock stops after a synchronize."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = copy.deepcopy(net).to(device=device, memory_format=fmt)
    hr = test_image(side).to(device=device, memory_format=fmt)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    with torch.inference_mode():
        warm = test_image(16 * net.scale).to(device=device, memory_format=fmt)
        lr, _ = net.downscale_raw(warm)
        net.upscale(lr, latent(net, lr).to(memory_format=fmt))
        sync()

    def run() -> tuple[float, float]:
        with torch.inference_mode():
            sync()
            t = time.perf_counter()
            lr, _ = net.downscale_raw(hr)
            lr = lr.clamp(0, 1)
            sync()
            down = (time.perf_counter() - t) * 1e3
            t = time.perf_counter()
            z = latent(net, lr).contiguous(memory_format=fmt)
            net.upscale(lr.contiguous(memory_format=fmt), z).clamp(0, 1)
            sync()
            return down, (time.perf_counter() - t) * 1e3

    return run


def ensure_binary(binary: Path) -> None:
    sources = [ROOT / "Cargo.toml", *(ROOT / "src").rglob("*.rs")]
    newest = max(p.stat().st_mtime for p in sources)
    if binary.exists() and binary.stat().st_mtime >= newest:
        return
    print(f"building {binary} (cargo build --release) …", file=sys.stderr, flush=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)


def time_rust(binary: Path, weights: Path, side: int, runs: int, threads: int, device: str = "cpu",
              extra_env: dict | None = None) -> dict:
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), **(extra_env or {}))
    out = subprocess.run(
        [str(binary), "speed", "--weights", str(weights), "--sizes", str(side), "--runs", str(runs), "--json",
         "--device", device],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if len(rows) != 1:
        raise RuntimeError(f"unexpected output of rescale-lab speed: {out!r}")
    return rows[0]


def gflop(net, side: int) -> float:
    """Convolution GFLOP of one pass (2 × multiply-adds; the Haar steps are negligible)."""
    total = 0
    hooks = []

    def hook(mod, inp, out):
        nonlocal total
        total += 2 * mod.weight.numel() * out.shape[-2] * out.shape[-1]

    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d) and m.weight.shape[-1] == 3:
            hooks.append(m.register_forward_hook(hook))
    with torch.inference_mode():
        net.downscale_raw(test_image(side))
    for h in hooks:
        h.remove()
    return total / 1e9


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="threads for both (torch.set_num_threads, RAYON_NUM_THREADS); default: all cores")
    ap.add_argument("--size", type=int, default=512, help="side of the square HR test image")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per measurement (median)")
    ap.add_argument("--models", nargs="+", default=DEFAULT_MODELS, help="names in models/")
    ap.add_argument("--binary", type=Path, default=ROOT / "target" / "release" / "rescale-lab")
    ap.add_argument("--layouts", choices=["best", "nchw", "nhwc"], default="best",
                    help="PyTorch memory format(s) to time; 'best' times both and keeps the faster")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    ap.add_argument("--device", default="cpu",
                    help="cpu or cuda: both sides run there (PyTorch in strict fp32: TF32 off)")
    ap.add_argument("--no-build", action="store_true", help="use --binary as it is (no cargo here)")
    ap.add_argument("--baseline-env", metavar="KEY=VALUE", action="append", default=[],
                    help="also time the binary with these environment variables (e.g. "
                         "RESCALE_LAB_WINOGRAD=off: the direct convolutions), interleaved, as a 'before' column")
    ap.add_argument("--baseline-binary", type=Path,
                    help="time this binary as the 'before' column (e.g. a build of an earlier commit), "
                         "interleaved; with --baseline-env, that binary with those variables")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if not args.no_build:
        ensure_binary(args.binary)
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    if args.device.startswith("cuda"):
        cpu = f"{torch.cuda.get_device_name()} (fp32, TF32 off) with {cpu}"
    print(f"# {cpu}, {os.cpu_count()} logical CPUs, {args.threads} threads each; torch {torch.__version__}; "
          f"{args.size}×{args.size}, median of {args.runs}; load average before: {os.getloadavg()[0]:.2f}")
    baseline_env = dict(kv.split("=", 1) for kv in args.baseline_env)
    baseline = args.baseline_binary or (args.binary if baseline_env else None)
    header = (f"{'model':<14} {'pass':<9} {'GFLOP':>6} {'PyTorch ms':>11} {'layout':>6} "
              f"{'candle ms':>10} {'candle/PyTorch':>15} {'candle GFLOP/s':>15}")
    if baseline:
        header += f" {'before ms':>10} {'before/PyTorch':>15}"
        print(f"# before: {baseline if args.baseline_binary else 'the same binary'}"
              f"{' with ' + ' '.join(args.baseline_env) if baseline_env else ''}")
    print(header)
    print("-" * len(header))
    rows = []
    for name in args.models:
        weights = ROOT / "models" / f"{name}.safetensors"
        net = nets.from_state(nets.load_state(str(weights))).eval()
        flops = gflop(net, args.size)
        layouts = {"best": [False, True], "nchw": [False], "nhwc": [True]}[args.layouts]
        runners = {cl: torch_runner(net, args.size, cl, args.device) for cl in layouts}
        # Interleaved, one run of each at a time, so that a change in the machine's speed
        # during the measurement (shared CPUs) hits both sides alike.
        torch_runs = {cl: [] for cl in layouts}
        rust_runs = []
        base_runs = []
        for _ in range(args.runs):
            for cl, run in runners.items():
                torch_runs[cl].append(run())
            rust_runs.append(time_rust(args.binary, weights, args.size, 1, args.threads, args.device))
            if baseline:
                base_runs.append(time_rust(baseline, weights, args.size, 1, args.threads, args.device, baseline_env))
        torch_times = {cl: (statistics.median(d for d, _ in r), statistics.median(u for _, u in r))
                       for cl, r in torch_runs.items()}
        rust = {k: statistics.median(r[k] for r in rust_runs) for k in ("downscale_ms", "upscale_ms")}
        base = {k: statistics.median(r[k] for r in base_runs) for k in ("downscale_ms", "upscale_ms")} if base_runs else {}
        for i, (pass_name, rust_ms) in enumerate([("downscale", rust["downscale_ms"]), ("upscale", rust["upscale_ms"])]):
            cl, torch_ms = min(((cl, t[i]) for cl, t in torch_times.items()), key=lambda p: p[1])
            row = {"model": name, "pass": pass_name, "gflop": flops, "pytorch_ms": torch_ms,
                   "pytorch_layout": "nhwc" if cl else "nchw", "candle_ms": rust_ms,
                   "ratio": rust_ms / torch_ms, "size": args.size, "threads": args.threads,
                   "device": args.device,
                   "runs": args.runs}
            rows.append(row)
            line = (f"{name:<14} {pass_name:<9} {flops:>6.0f} {torch_ms:>11.0f} {row['pytorch_layout']:>6} "
                    f"{rust_ms:>10.0f} {row['ratio']:>14.2f}× {flops / rust_ms * 1e3:>15.1f}")
            if base:
                row["baseline_ms"] = base[f"{pass_name}_ms"]
                line += f" {row['baseline_ms']:>10.0f} {row['baseline_ms'] / torch_ms:>14.2f}×"
            print(line, flush=True)
    worst = max(r["ratio"] for r in rows)
    geo = math.exp(sum(math.log(r["ratio"]) for r in rows) / len(rows))
    print(f"# candle/PyTorch: worst {worst:.2f}×, geometric mean {geo:.2f}× "
          f"({'candle at least as fast everywhere' if worst <= 1.0 else 'PyTorch faster somewhere'}); "
          f"load average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
