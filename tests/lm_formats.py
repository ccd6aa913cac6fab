"""Small files in the layouts the language-model ecosystem writes, for the importer tests.

Each writer follows the layout of the tool's own saver (numpy + safetensors, no torch):
SAELens ``SAE.save_model``, sparsify ``SparseCoder.save_to_disk``, Delphi
``LatentCache.save_splits`` + its explainer/scorer outputs, Neuronpedia's exporter, and a
Hugging Face ``tokenizer.json`` (byte-level BPE, trained here with the ``tokenizers`` library).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

CORPUS = [
    "Copyright 2021 Acme Inc. All rights reserved.",
    "def f(x): return g(x) + 1",
    "THE SOFTWARE IS PROVIDED AS IS, WITHOUT WARRANTY OF ANY KIND.",
    "The cat sat on the mat; the dog ate the food.",
    "Caf\u00e9 au lait \u2014 d\u00e9j\u00e0 vu \U0001f600 in\ttabs\nand newlines.",
]


def write_tokenizer(path: Path) -> object:
    """A byte-level BPE tokenizer.json trained on CORPUS; returns the Tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS * 4, trainer=trainer)
    path.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(path))
    return tokenizer


def token_matrix(tokenizer: object, n_seq: int, ctx_len: int, seed: int = 0) -> np.ndarray:
    """[n_seq, ctx_len] token ids: the corpus's texts encoded and cycled."""
    rng = np.random.default_rng(seed)
    stream: list[int] = []
    while len(stream) < n_seq * ctx_len:
        text = CORPUS[int(rng.integers(len(CORPUS)))]
        stream += tokenizer.encode(text + " ").ids  # type: ignore[attr-defined]
    return np.asarray(stream[: n_seq * ctx_len], dtype=np.int64).reshape(n_seq, ctx_len)


def write_saelens(folder: Path, d_sae: int = 48, d_in: int = 16, seed: int = 0) -> np.ndarray:
    """cfg.json (v6: metadata with model and hook names) + sae_weights.safetensors; returns
    W_dec. Rows 1 and 2 are near-duplicates."""
    rng = np.random.default_rng(seed)
    w_dec = rng.normal(size=(d_sae, d_in)).astype(np.float32)
    w_dec[2] = w_dec[1] + 0.05 * rng.normal(size=d_in).astype(np.float32)
    folder.mkdir(parents=True)
    save_file(
        {
            "W_enc": np.ascontiguousarray(w_dec.T),
            "W_dec": w_dec,
            "b_enc": np.zeros(d_sae, np.float32),
            "b_dec": np.zeros(d_in, np.float32),
            "threshold": np.full(d_sae, 0.1, np.float32),
        },
        str(folder / "sae_weights.safetensors"),
    )
    cfg = {
        "architecture": "jumprelu",
        "d_in": d_in,
        "d_sae": d_sae,
        "dtype": "float32",
        "device": "cpu",
        "apply_b_dec_to_input": True,
        "normalize_activations": "none",
        "metadata": {"model_name": "gpt2", "hook_name": "blocks.3.hook_resid_post"},
    }
    (folder / "cfg.json").write_text(json.dumps(cfg))
    return w_dec


def write_sparsify(root: Path, hookpoints: list[str], d_in: int = 16, factor: int = 4) -> dict:
    """One folder per hookpoint: cfg.json + sae.safetensors with unit-norm decoder rows;
    returns hookpoint -> W_dec."""
    out = {}
    for i, hook in enumerate(hookpoints):
        rng = np.random.default_rng(10 + i)
        n = d_in * factor
        w_dec = rng.normal(size=(n, d_in)).astype(np.float32)
        w_dec[5] = w_dec[4] + 0.01 * rng.normal(size=d_in).astype(np.float32)
        w_dec /= np.linalg.norm(w_dec, axis=1, keepdims=True)
        folder = root / hook
        folder.mkdir(parents=True)
        save_file(
            {
                "encoder.weight": w_dec.copy(),
                "encoder.bias": np.zeros(n, np.float32),
                "W_dec": w_dec,
                "b_dec": np.zeros(d_in, np.float32),
            },
            str(folder / "sae.safetensors"),
        )
        cfg = {
            "expansion_factor": factor,
            "normalize_decoder": True,
            "num_latents": 0,
            "k": 8,
            "multi_topk": False,
            "d_in": d_in,
        }
        (folder / "cfg.json").write_text(json.dumps(cfg))
        out[hook] = w_dec
    return out


@dataclass
class DelphiRun:
    root: Path
    hookpoint: str
    tokens: np.ndarray
    locations: np.ndarray
    """int64 [N, 3]: (seq, pos, latent) of every stored activation."""
    activations: np.ndarray
    """float16 [N]."""
    width: int

    def raw(self, seq: int, pos: int, latent: int) -> float:
        hit = (
            (self.locations[:, 0] == seq)
            & (self.locations[:, 1] == pos)
            & (self.locations[:, 2] == latent)
        )
        return float(self.activations[hit][0]) if hit.any() else 0.0


def write_delphi(
    root: Path,
    tokens: np.ndarray,
    hookpoint: str = "layers.3",
    width: int = 32,
    split: int = 16,
    seed: int = 0,
    explanations: dict[int, str] | None = None,
    scores: dict[int, list[dict]] | None = None,
) -> DelphiRun:
    """results/latents/{hookpoint}/{start}_{end}.safetensors (locations uint16 (seq, pos,
    latent - start), activations float16, tokens), its config.json, run_config.json,
    explanations/ and scores/detection/."""
    rng = np.random.default_rng(seed)
    n_seq, ctx_len = tokens.shape
    rows = []
    for latent in range(width):
        if latent == width - 1:
            continue  # a dead latent
        n = int(rng.integers(10, 60))
        flat = rng.choice(n_seq * ctx_len, size=n, replace=False)
        seq, pos = np.divmod(flat, ctx_len)
        acts = rng.gamma(2.0, 2.0, size=n).astype(np.float16) + np.float16(0.01)
        rows.append((seq, pos, np.full(n, latent), acts))
    seq = np.concatenate([r[0] for r in rows])
    pos = np.concatenate([r[1] for r in rows])
    lat = np.concatenate([r[2] for r in rows])
    acts = np.concatenate([r[3] for r in rows])
    folder = root / "latents" / hookpoint
    folder.mkdir(parents=True)
    for start in range(0, width, split):
        end = min(start + split, width) - 1
        keep = (lat >= start) & (lat <= end)
        locations = np.stack([seq[keep], pos[keep], lat[keep] - start], axis=1).astype(np.uint16)
        save_file(
            {
                "locations": locations,
                "activations": acts[keep].astype(np.float16),
                "tokens": tokens.astype(np.int64),
            },
            str(folder / f"{start}_{end}.safetensors"),
        )
    (folder / "config.json").write_text(
        json.dumps(
            {
                "dataset_repo": "EleutherAI/SmolLM2-135M-10B",
                "cache_ctx_len": ctx_len,
                "n_tokens": int(tokens.size),
                "batch_size": 8,
                "n_splits": (width + split - 1) // split,
                "model_name": "EleutherAI/pythia-70m",
            }
        )
    )
    (root / "run_config.json").write_text(
        json.dumps({"explainer_model": "hugging-quants/Meta-Llama-3.1-70B", "explainer": "default"})
    )
    for latent, text in (explanations or {}).items():
        path = root / "explanations" / f"{hookpoint}_latent{latent}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(text))
    for latent, verdicts in (scores or {}).items():
        path = root / "scores" / "detection" / f"{hookpoint}_latent{latent}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(verdicts))
    locations = np.stack([seq, pos, lat], axis=1).astype(np.int64)
    return DelphiRun(root, hookpoint, tokens, locations, acts.astype(np.float16), width)


def write_neuronpedia(source: Path, n_features: int = 40) -> None:
    """A source folder of the Neuronpedia exporter: features/ and explanations/ batches."""
    (source / "features").mkdir(parents=True)
    (source / "explanations").mkdir(parents=True)
    features = [
        {
            "modelId": "gpt2-small",
            "layer": source.name,
            "index": str(i),
            "pos_str": [" the", "\n", f" w{i}"],
            "pos_values": [0.5, 0.9, 0.1],
            "neg_str": [" a"],
            "neg_values": [-0.7],
        }
        for i in range(n_features)
    ]
    explanations = [
        {
            "modelId": "gpt2-small",
            "layer": source.name,
            "index": "3",
            "description": " years after Copyright",
            "explanationModelName": "gpt-4o-mini",
            "typeName": "oai_token-act-pair",
        },
        {
            "modelId": "gpt2-small",
            "layer": source.name,
            "index": "7",
            "description": "[bold]closing[/bold] brackets in code",
            "explanationModelName": "claude",
            "typeName": "np_max-act-logits",
            "scores": {"recall": 0.8},
        },
    ]
    with open(source / "features" / "batch-0.jsonl", "w") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in features)
    with open(source / "explanations" / "batch-0.jsonl", "w") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in explanations)
