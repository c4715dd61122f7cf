"""Export format: official keys, fp16, manifest fields the Rust side reads; config overrides;
the lr / temperature schedules."""
import json

import torch

from training import config as C
from training import nets
from training.export import main as export_main
from training.train import lr_at


def _ckpt(tmp_path, net, cfg_model):
    cfg = {"name": "tiny", "model": cfg_model,
           "data": {"train": ["x"], "batch": 2, "patch": 48},
           "train": {"iters": 10, "lr": 2e-4}, "codec": {"format": "jpeg", "quality": 75}}
    p = tmp_path / "final.pt"
    torch.save({"net": net.state_dict(), "iter": 10, "cfg": cfg, "cpu_s": 1.0, "wall_s": 2.0}, p)
    return p


def test_export_roundtrip(tmp_path):
    torch.manual_seed(0)
    net = nets.SAIN(2, e_blocks=1, v_blocks=1)
    with torch.no_grad():
        for p in net.parameters():
            if p.requires_grad:
                p.normal_(0, 0.02)
    ck = _ckpt(tmp_path, net, net.config())
    export_main(["--checkpoint", str(ck), "--name", "tiny", "--models-dir", str(tmp_path / "m")])
    man = json.loads((tmp_path / "m" / "tiny.json").read_text())
    for key in ("name", "arch", "scale", "codec", "data", "iterations", "provenance", "validation", "dtype"):
        assert key in man
    assert man["arch"] == "sain" and man["scale"] == 2 and man["codec"] == "jpeg"
    assert isinstance(man["provenance"], str) and man["iterations"] == 10 and man["dtype"] == "float16"
    state = nets.load_state(str(tmp_path / "m" / "tiny.safetensors"))
    assert set(state) == set(net.state_dict())
    assert all(v.dtype == torch.float16 for v in state.values())
    back = nets.from_state(state).eval()
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        a, la = net.eval()(x)
        b, lb = back(x)
    assert (a - b).abs().max() < 2e-3 and (la - lb).abs().max() < 2e-3


def test_overrides_and_schedule():
    cfg = {"train": {"iters": 100, "lr": 1.0, "lr_steps": [0.5, 0.75], "lr_gamma": 0.5}}
    cfg = C.apply_overrides(cfg, ["train.iters=200", "train.warmup=10", "data.patch=48", "val.sets=[\"Set5\"]"])
    assert cfg["train"]["iters"] == 200 and cfg["data"]["patch"] == 48 and cfg["val"]["sets"] == ["Set5"]
    t = cfg["train"]
    assert lr_at(0, t) == 0.1 and lr_at(50, t) == 1.0
    assert lr_at(100, t) == 0.5 and lr_at(150, t) == 0.25
    assert lr_at(20, t, progress=0.8) == 0.25
