"""IRN (ECCV 2020) and SAIN (AAAI 2023) in PyTorch, following docs/rescaling-models.md.

Module and parameter names follow the official checkpoints, so a state_dict saved from these
modules (minus nothing) loads in the official code and in the Rust networks unchanged:
IRN  ``operations.{i}.{F,G,H}.conv{1..5}.{weight,bias}`` (+ ``operations.{i}.haar_weights``);
SAIN ``haar_operations.{i}.haar_weights``, ``down_operations.{i}.{E,F,G,H}...``,
``comp_operations.{i}.{F,G,H}...``, ``gmm.gmm_para``.
"""
from __future__ import annotations

import math
import re

import torch
import torch.nn as nn
import torch.nn.functional as F

GC = 32


def _init_subnet(block: "DenseBlock", hidden_scale: float = 0.1) -> None:
    """Initialisation used by both papers' code: xavier-normal x0.1 on the hidden convs,
    zero biases, and an all-zero last conv (each coupling starts as the identity)."""
    for conv in (block.conv1, block.conv2, block.conv3, block.conv4):
        nn.init.xavier_normal_(conv.weight)
        with torch.no_grad():
            conv.weight.mul_(hidden_scale)
        nn.init.zeros_(conv.bias)
    nn.init.zeros_(block.conv5.weight)
    nn.init.zeros_(block.conv5.bias)


class DenseBlock(nn.Module):
    """The subnet: five 3x3 convs with dense connections, LeakyReLU(0.2) after the first four."""

    def __init__(self, cin: int, cout: int, gc: int = GC):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, gc, 3, 1, 1)
        self.conv2 = nn.Conv2d(cin + gc, gc, 3, 1, 1)
        self.conv3 = nn.Conv2d(cin + 2 * gc, gc, 3, 1, 1)
        self.conv4 = nn.Conv2d(cin + 3 * gc, gc, 3, 1, 1)
        self.conv5 = nn.Conv2d(cin + 4 * gc, cout, 3, 1, 1)
        _init_subnet(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = 0.2
        x1 = F.leaky_relu(self.conv1(x), a)
        x2 = F.leaky_relu(self.conv2(torch.cat((x, x1), 1)), a)
        x3 = F.leaky_relu(self.conv3(torch.cat((x, x1, x2), 1)), a)
        x4 = F.leaky_relu(self.conv4(torch.cat((x, x1, x2, x3), 1)), a)
        return self.conv5(torch.cat((x, x1, x2, x3, x4), 1))


class Haar(nn.Module):
    """One level of Haar downsampling; output channels are sub-band major (band * C + c).

    ``haar_weights`` is kept as a non-trainable parameter only so that state_dicts carry the
    same keys as the official checkpoints; the transform itself is computed directly."""

    def __init__(self, cin: int):
        super().__init__()
        self.cin = cin
        w = torch.ones(4, 1, 2, 2)
        w[1, 0, 0, 1] = -1
        w[1, 0, 1, 1] = -1
        w[2, 0, 1, 0] = -1
        w[2, 0, 1, 1] = -1
        w[3, 0, 1, 0] = -1
        w[3, 0, 0, 1] = -1
        self.haar_weights = nn.Parameter(torch.cat([w] * cin, 0), requires_grad=False)

    def forward(self, x: torch.Tensor, rev: bool = False) -> torch.Tensor:
        if not rev:
            a = x[:, :, 0::2, 0::2]
            b = x[:, :, 0::2, 1::2]
            c = x[:, :, 1::2, 0::2]
            d = x[:, :, 1::2, 1::2]
            low = (a + b + c + d) / 4
            hor = (a - b + c - d) / 4
            ver = (a + b - c - d) / 4
            dia = (a - b - c + d) / 4
            return torch.cat((low, hor, ver, dia), 1)
        n, ch, h, w = x.shape
        c0 = ch // 4
        low, hor, ver, dia = x[:, :c0], x[:, c0:2 * c0], x[:, 2 * c0:3 * c0], x[:, 3 * c0:]
        a = low + hor + ver + dia
        b = low - hor + ver - dia
        c = low + hor - ver - dia
        d = low - hor - ver + dia
        top = torch.stack((a, b), -1).reshape(n, c0, h, 2 * w)
        bot = torch.stack((c, d), -1).reshape(n, c0, h, 2 * w)
        return torch.stack((top, bot), 3).reshape(n, c0, 2 * h, 2 * w)


def _sigma(h: torch.Tensor, clamp: float = 1.0) -> torch.Tensor:
    return clamp * (torch.sigmoid(h) * 2 - 1)


class InvBlock(nn.Module):
    """IRN's InvBlockExp / SAIN's VanillaInvBlock."""

    def __init__(self, channels: int, split: int = 3):
        super().__init__()
        self.split = split
        self.F = DenseBlock(channels - split, split)
        self.G = DenseBlock(split, channels - split)
        self.H = DenseBlock(split, channels - split)

    def forward(self, x: torch.Tensor, rev: bool = False) -> torch.Tensor:
        x1, x2 = x[:, : self.split], x[:, self.split:]
        if not rev:
            y1 = x1 + self.F(x2)
            y2 = x2 * torch.exp(_sigma(self.H(y1))) + self.G(y1)
        else:
            y2 = (x2 - self.G(x1)) / torch.exp(_sigma(self.H(x1)))
            y1 = x1 - self.F(y2)
        return torch.cat((y1, y2), 1)


class EInvBlock(nn.Module):
    """SAIN's EnhancedInvBlock; ``self.lr`` holds the block's LR after each call."""

    def __init__(self, channels: int, split: int = 3):
        super().__init__()
        self.split = split
        self.E = DenseBlock(channels - split, split)
        self.F = DenseBlock(channels - split, split)
        self.G = DenseBlock(split, channels - split)
        self.H = DenseBlock(split, channels - split)
        self.lr = None

    def forward(self, x: torch.Tensor, rev: bool = False) -> torch.Tensor:
        x1, x2 = x[:, : self.split], x[:, self.split:]
        if not rev:
            lr = x1 + self.E(x2)
            y1 = lr - self.F(x2)
            y2 = x2 * torch.exp(_sigma(self.H(y1))) + self.G(y1)
        else:
            y2 = (x2 - self.G(x1)) / torch.exp(_sigma(self.H(x1)))
            lr = x1 + self.F(y2)
            y1 = lr - self.E(y2)
        self.lr = lr
        return torch.cat((y1, y2), 1)


class IRN(nn.Module):
    arch = "irn"

    def __init__(self, scale: int = 2, block_num: list[int] | None = None):
        super().__init__()
        levels = int(round(math.log2(scale)))
        assert 2 ** levels == scale and levels >= 1
        if block_num is None:
            block_num = [8] * levels
        assert len(block_num) == levels
        self.scale = scale
        self.block_num = list(block_num)
        ops = []
        ch = 3
        for lvl in range(levels):
            ops.append(Haar(ch))
            ch *= 4
            for _ in range(block_num[lvl]):
                ops.append(InvBlock(ch))
        self.operations = nn.ModuleList(ops)
        self.channels = ch

    def forward(self, x: torch.Tensor, rev: bool = False) -> torch.Tensor:
        ops = self.operations if not rev else reversed(self.operations)
        for op in ops:
            x = op(x, rev)
        return x

    # convenience
    def downscale_raw(self, hr: torch.Tensor):
        out = self.forward(hr)
        return out[:, :3], out

    def upscale(self, lr: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.forward(torch.cat((lr, z), 1), rev=True)[:, :3]

    def config(self) -> dict:
        return {"arch": "irn", "scale": self.scale, "block_num": self.block_num}


class GaussianMixture(nn.Module):
    """``gmm_para`` rows: mixture logits, means, log-variances (K components)."""

    def __init__(self, k: int = 5):
        super().__init__()
        self.gmm_para = nn.Parameter(1e-4 * torch.randn(3, k))

    def sample(self, shape, hard: bool = True) -> torch.Tensor:
        """Reparameterised draw (straight-through Gumbel-softmax over components, Gaussian
        reparameterisation within), so gradients reach all three rows."""
        logits, mu, logvar = self.gmm_para
        std = torch.exp(0.5 * torch.clamp(logvar, -20, 20))
        k = logits.shape[0]
        logp = torch.log_softmax(logits, 0).expand(*shape, k)
        onehot = F.gumbel_softmax(logp, tau=1.0, hard=hard)
        eps = torch.randn(*shape, k, device=mu.device, dtype=mu.dtype)
        comps = mu + std * eps
        return (onehot * comps).sum(-1)


class SAIN(nn.Module):
    arch = "sain"

    def __init__(self, scale: int = 2, e_blocks: int = 5, v_blocks: int = 3, gmm_k: int = 5):
        super().__init__()
        levels = int(round(math.log2(scale)))
        assert 2 ** levels == scale and levels >= 1
        self.scale = scale
        self.e_blocks, self.v_blocks, self.gmm_k = e_blocks, v_blocks, gmm_k
        ch = 3
        haar = []
        for _ in range(levels):
            haar.append(Haar(ch))
            ch *= 4
        self.haar_operations = nn.ModuleList(haar)
        self.down_operations = nn.ModuleList([EInvBlock(ch) for _ in range(e_blocks)])
        self.comp_operations = nn.ModuleList([InvBlock(ch) for _ in range(v_blocks)])
        self.gmm = GaussianMixture(gmm_k)
        self.channels = ch

    def forward(self, x: torch.Tensor, rev: bool = False):
        """Returns (out, LR) like the official code: LR is the last E-block's ``lr``."""
        if not rev:
            for op in self.haar_operations:
                x = op(x)
            for op in self.down_operations:
                x = op(x)
            lr = self.down_operations[-1].lr
            for op in self.comp_operations:
                x = op(x)
            return x, lr
        for op in reversed(self.comp_operations):
            x = op(x, True)
        for op in reversed(self.down_operations):
            x = op(x, True)
        lr = self.down_operations[-1].lr
        for op in reversed(self.haar_operations):
            x = op(x, True)
        return x, lr

    def downscale_raw(self, hr: torch.Tensor):
        out, lr = self.forward(hr)
        return lr, out

    def upscale(self, lr: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.forward(torch.cat((lr, z), 1), rev=True)[0][:, :3]

    def config(self) -> dict:
        return {"arch": "sain", "scale": self.scale, "e_blocks": self.e_blocks,
                "v_blocks": self.v_blocks, "gmm_components": self.gmm_k}


def build(cfg: dict) -> nn.Module:
    arch = cfg["arch"]
    if arch == "irn":
        return IRN(cfg["scale"], cfg.get("block_num"))
    if arch == "sain":
        return SAIN(cfg["scale"], cfg.get("e_blocks", 5), cfg.get("v_blocks", 3),
                    cfg.get("gmm_components", 5))
    raise ValueError(f"unknown arch {arch!r}")


def infer_config(state: dict) -> dict:
    """Reads the architecture from the key pattern of an official-layout state_dict."""
    keys = list(state.keys())
    if any(k.startswith("operations.") for k in keys):
        haar = sorted({int(m.group(1)) for k in keys
                       if (m := re.match(r"operations\.(\d+)\.haar_weights$", k))})
        blocks = sorted({int(m.group(1)) for k in keys
                         if (m := re.match(r"operations\.(\d+)\.F\.conv1\.weight$", k))})
        if not haar:  # haar weights dropped: infer levels from the first block's width
            raise ValueError("IRN state_dict without haar_weights is not supported")
        block_num = []
        for i, h in enumerate(haar):
            nxt = haar[i + 1] if i + 1 < len(haar) else 10 ** 9
            block_num.append(sum(1 for b in blocks if h < b < nxt))
        return {"arch": "irn", "scale": 2 ** len(haar), "block_num": block_num}
    levels = len({k for k in keys if re.match(r"haar_operations\.\d+\.haar_weights$", k)})
    if levels == 0:
        # width of the first E-block tells the level count (3 * 4^levels channels)
        cin = state["down_operations.0.F.conv1.weight"].shape[1] + 3
        levels = int(round(math.log(cin / 3, 4)))
    e = len({m.group(1) for k in keys if (m := re.match(r"down_operations\.(\d+)\.", k))})
    v = len({m.group(1) for k in keys if (m := re.match(r"comp_operations\.(\d+)\.", k))})
    return {"arch": "sain", "scale": 2 ** levels, "e_blocks": e, "v_blocks": v,
            "gmm_components": state["gmm.gmm_para"].shape[1]}


def load_state(path: str) -> dict:
    if str(path).endswith(".safetensors"):
        from safetensors.torch import load_file
        return load_file(str(path))
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    return {k.removeprefix("module."): v for k, v in state.items()}


def latent_shape(net: nn.Module, lr: torch.Tensor) -> tuple[int, int, int, int]:
    """Shape of z for an LR batch: the high-frequency channels, 3·s² − 3 at the LR size."""
    s = net.scale
    return (lr.shape[0], 3 * s * s - 3, lr.shape[2], lr.shape[3])


def from_state(state: dict) -> nn.Module:
    cfg = infer_config(state)
    net = build(cfg)
    state = {k: v.float() for k, v in state.items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("haar_weights")]
    if missing or unexpected:
        raise ValueError(f"state_dict mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return net
