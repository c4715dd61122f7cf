"""The learning-curve tool: checkpoints in iteration order, one row each, the same BD figures
as training.rd on each checkpoint alone."""
import io
import json

import numpy as np
import torch
from PIL import Image

from conftest import ROOT, SHARED, need

from training import nets
from training.curve import curve, iteration_of
from training.rd import rd_report


def _ckpt(path, net, it, init_iterations=0):
    cfg = {"name": "tiny", "model": net.config(), "train": {"init_iterations": init_iterations}}
    torch.save({"net": net.state_dict(), "iter": it, "cfg": cfg}, path)


def test_curve_orders_dedupes_and_matches_rd(tmp_path):
    (tmp_path / "eval" / "Tiny").mkdir(parents=True)
    crop = Image.open(need(SHARED / "data" / "eval" / "Set5" / "butterfly.png")).convert("RGB").crop((64, 64, 128, 128))
    crop.save(tmp_path / "eval" / "Tiny" / "a.png")
    shipped = nets.load_state(str(need(ROOT / "models" / "sain_x2_jpeg.safetensors")))
    paths = []
    for it in (30, 10):
        # the shipped weights, perturbed differently per "iteration": real, distinct curves
        net = nets.from_state(shipped)
        torch.manual_seed(it)
        with torch.no_grad():
            for p in net.parameters():
                if p.requires_grad:
                    p.mul_(1 + 0.05 * torch.randn_like(p))
        path = tmp_path / f"snap{it}.pt"
        _ckpt(path, net, it, init_iterations=100)
        paths.append(str(path))
    paths.append(paths[1].replace("snap10", "again10"))
    torch.save(torch.load(paths[1], weights_only=False), paths[2])

    assert iteration_of(paths[0]) == 30 and iteration_of(paths[0], total=True) == 130
    out = io.StringIO()
    rows = curve(paths, sets=["Tiny"], codec="jpeg", out=out, data_root=tmp_path / "eval")
    assert [r["iter"] for r in rows] == [10, 30]
    assert [json.loads(line)["iter"] for line in out.getvalue().splitlines()] == [10, 30]
    for row in rows:
        from training.evaluate import load_any
        net, _ = load_any(row["checkpoint"])
        direct = rd_report(net, ["Tiny"], "jpeg", data_root=tmp_path / "eval")["Tiny"]
        assert row["Tiny"]["bd_psnr_db"] == direct["bd_psnr_db"]
        assert row["Tiny"]["bd_rate_percent"] == direct["bd_rate_percent"]
        assert np.isfinite(row["Tiny"]["bd_psnr_db"])
