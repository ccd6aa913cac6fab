"""Direct computations from a workspace's input files (polars + numpy + plain Python), the
reference the evidence tests compare the core against (docs/analysis.md's definitions)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

FAMILY_RE = re.compile(r"^(.*?)_\d+$")
REGIONS = {
    "floor": (0.0, 0.01),
    "low": (0.01, 0.10),
    "below_core": (0.10, 0.25),
    "core": (0.25, 0.75),
    "high": (0.75, 0.90),
    "flanderization": (0.90, np.inf),
}


def family(token: str) -> str:
    m = FAMILY_RE.match(token)
    return m.group(1) if m and m.group(1) else token


def level(token: str) -> int | None:
    m = FAMILY_RE.match(token)
    return int(token[m.end(1) + 1 :]) if m and m.group(1) else None


@dataclass
class Workspace:
    vocab: list[str]
    example_ids: list[int]  # ascending
    tokens: dict[int, set[str]]  # example id -> its token names
    metadata: dict[str, dict[int, object]]  # column -> example id -> value
    acts: dict[int, dict[int, float]]  # feature -> example id -> activation (> 0 only)

    def families_of(self, example_id: int) -> set[str]:
        return {family(t) for t in self.tokens[example_id]}

    def ranked(self, feature: int) -> list[tuple[int, float]]:
        """The feature's nonzero (example id, activation), highest first, ties by id."""
        return sorted(self.acts.get(feature, {}).items(), key=lambda ea: (-ea[1], ea[0]))

    def effective_max(self, feature: int) -> float:
        values = np.array(list(self.acts[feature].values()), dtype=np.float64)
        return float(np.percentile(values, 99.5))

    def regions(self, feature: int) -> dict[str, list[int]]:
        """Region -> example ids (highest activation first)."""
        eff = self.effective_max(feature)
        out: dict[str, list[int]] = {r: [] for r in REGIONS}
        for e, a in self.ranked(feature):
            f = a / eff
            for name, (lo, hi) in REGIONS.items():
                if lo < f <= hi:
                    out[name].append(e)
        return out


def read_workspace(root: Path, activations: str = "data/activations") -> Workspace:
    raw = json.loads((root / "data" / "vocab.json").read_text())
    if isinstance(raw, dict):
        vocab = [""] * (max(raw.values()) + 1)
        for name, i in raw.items():
            vocab[i] = name
    else:
        vocab = list(raw)
    examples = pl.read_parquet(root / "data" / "examples.parquet").sort("example_id")
    ids = examples["example_id"].to_list()
    tokens = {
        e: {vocab[t] for t in toks}
        for e, toks in zip(ids, examples["tokens"].to_list(), strict=True)
    }
    columns = [c for c in examples.columns if c not in ("example_id", "tokens")]
    metadata = {c: dict(zip(ids, examples[c].to_list(), strict=True)) for c in columns}
    frame = pl.read_parquet(root / activations / "*.parquet").filter(pl.col("activation") > 0)
    acts: dict[int, dict[int, float]] = {}
    for f, e, a in frame.iter_rows():
        acts.setdefault(int(f), {})[int(e)] = float(a)
    return Workspace(vocab, ids, tokens, metadata, acts)
