"""TOML recipes with command-line overrides."""
from __future__ import annotations

import copy
import tomllib
from pathlib import Path


def load(path: str | Path) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


def parse_value(text: str):
    """TOML value syntax (numbers, booleans, arrays, quoted strings); bare words are strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def set_dotted(cfg: dict, key: str, value) -> None:
    parts = key.split(".")
    d = cfg
    for p in parts[:-1]:
        d = d.setdefault(p, {})
    d[parts[-1]] = value


def get_dotted(cfg: dict, key: str, default=None):
    d = cfg
    for p in key.split("."):
        if not isinstance(d, dict) or p not in d:
            return default
        d = d[p]
    return d


def apply_overrides(cfg: dict, sets: list[str]) -> dict:
    cfg = copy.deepcopy(cfg)
    for item in sets:
        key, _, val = item.partition("=")
        if not _:
            raise ValueError(f"--set expects key=value, got {item!r}")
        set_dotted(cfg, key.strip(), parse_value(val.strip()))
    return cfg
