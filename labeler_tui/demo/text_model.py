"""The demo's sequence model ``text``: generated documents with features planted in them.

Deterministic and small (no network, no model weights): sequences of 64 words drawn from four
kinds of documents (prose, code, licence texts with an all-caps disclaimer, news), a word-level
``tokenizer.json``, per-sequence metadata (``source``), a unit-norm decoder (so its importance
is not ranked: the norms are flat, as in sparsify's SAEs) and an output matrix. Planted, with
their truths in ``truth.json`` (``models.text``):

- ``copyright`` (17): fires on the token after ``Copyright`` (a year); its near-duplicate (18)
  fires on the same positions, with a decoder row at cosine > 0.9; 17 promotes year tokens;
- ``bracket`` (42): the closing bracket ``)`` in code, not in prose;
- ``legal`` (77): every word inside the all-caps disclaimer, strongest on ``A`` after ``FOR``
  (``FOR A PARTICULAR PURPOSE``): the top zone says ``token:A`` (a tail marker) while the core
  is the disclaimer (``context:WARRANTY``);
- ``first_token`` (5): position 0 of every sequence; ``single_token`` (123): every ``the``;
  ``dense`` (200): a fifth of all positions; ``single_document`` (300): two documents;
- every position also holds a few background features.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

N_SEQUENCES = 1600
CTX_LEN = 64
N_FEATURES = 512
D_MODEL = 64
BACKGROUND_PER_POSITION = 3
WINDOW = (24, 4)

COPYRIGHT, COPYRIGHT_TWIN, BRACKET, LEGAL = 17, 18, 42, 77
FIRST_TOKEN, SINGLE_TOKEN, DENSE, SINGLE_DOCUMENT = 5, 123, 200, 300
PLANTED = (
    COPYRIGHT,
    COPYRIGHT_TWIN,
    BRACKET,
    LEGAL,
    FIRST_TOKEN,
    SINGLE_TOKEN,
    DENSE,
    SINGLE_DOCUMENT,
)

PROSE = [
    "the",
    "a",
    "an",
    "of",
    "to",
    "in",
    "and",
    "is",
    "was",
    "for",
    "on",
    "with",
    "as",
    "by",
    "at",
    "from",
    "that",
    "this",
    "it",
    "he",
    "she",
    "they",
    "we",
    "you",
    "people",
    "time",
    "year",
    "day",
    "way",
    "man",
    "world",
    "life",
    "hand",
    "part",
    "child",
    "eye",
    "woman",
    "place",
    "work",
    "week",
    "case",
    "point",
    "government",
    "company",
    "number",
    "group",
    "problem",
    "fact",
    "city",
    "river",
    "house",
    "story",
    "music",
    "garden",
    "letter",
    "morning",
    "evening",
    "small",
    "large",
    "old",
    "new",
    "good",
    "great",
    "little",
    "long",
    "young",
    "early",
    "important",
    "public",
    "different",
    "free",
    "local",
    "said",
    "made",
    "found",
    "went",
    "came",
    "took",
    "saw",
    "knew",
    "gave",
    "told",
    "asked",
    "left",
    "felt",
    "became",
    "began",
    "kept",
    "brought",
    "thought",
    "walked",
    "spoke",
    "read",
    "wrote",
]
NEWS = [
    "minister",
    "report",
    "market",
    "shares",
    "price",
    "council",
    "election",
    "police",
    "court",
    "budget",
    "vote",
    "announced",
    "percent",
    "million",
    "official",
    "statement",
    "today",
    "yesterday",
    "capital",
    "region",
]
CODE = [
    "def",
    "return",
    "if",
    "else",
    "for",
    "while",
    "import",
    "from",
    "class",
    "self",
    "x",
    "y",
    "i",
    "n",
    "value",
    "result",
    "data",
    "items",
    "key",
    "len",
    "print",
    "range",
    "list",
    "dict",
    "str",
    "int",
    "None",
    "True",
    "False",
]
NAMES = [
    "Acme",
    "Initech",
    "Globex",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
]
YEARS = [str(y) for y in range(1995, 2025)]
DISCLAIMER = [
    "THE",
    "SOFTWARE",
    "IS",
    "PROVIDED",
    "AS",
    "IS",
    "WITHOUT",
    "WARRANTY",
    "OF",
    "ANY",
    "KIND",
    "EXPRESS",
    "OR",
    "IMPLIED",
    "INCLUDING",
    "BUT",
    "NOT",
    "LIMITED",
    "TO",
    "THE",
    "WARRANTIES",
    "OF",
    "MERCHANTABILITY",
    "FITNESS",
    "FOR",
    "A",
    "PARTICULAR",
    "PURPOSE",
    "AND",
    "NONINFRINGEMENT",
]
PUNCT = [
    ",",
    ".",
    "(",
    ")",
    ":",
    "=",
    "+",
    "[",
    "]",
    "\n",
    "Copyright",
    "All",
    "rights",
    "reserved",
]
SOURCES = ("prose", "code", "license", "news")
SOURCE_SHARES = (0.4, 0.2, 0.12, 0.28)


def vocabulary() -> list[str]:
    words: list[str] = ["[UNK]"]
    for group in (PROSE, NEWS, CODE, NAMES, YEARS, DISCLAIMER, PUNCT, ["A", "The", "In"]):
        for word in group:
            if word not in words:
                words.append(word)
    return words


def tokenizer_json(words: list[str]) -> dict[str, Any]:
    """A Hugging Face word-level tokenizer (read with the ``tokenizers`` library)."""
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": None,
        "decoder": None,
        "model": {
            "type": "WordLevel",
            "vocab": {w: i for i, w in enumerate(words)},
            "unk_token": "[UNK]",
        },
    }


@dataclass
class Documents:
    tokens: np.ndarray  # int32 [n_seq, CTX_LEN]
    source: list[str]
    roles: np.ndarray  # int8 [n_seq, CTX_LEN]: what each position is (ROLE_*)


ROLE_NONE, ROLE_AFTER_COPYRIGHT, ROLE_CODE_CLOSE, ROLE_DISCLAIMER, ROLE_A_AFTER_FOR = range(5)


def _documents(rng: np.random.Generator, n_seq: int, ids: dict[str, int]) -> Documents:
    tokens = np.zeros((n_seq, CTX_LEN), dtype=np.int32)
    roles = np.zeros((n_seq, CTX_LEN), dtype=np.int8)
    source = []
    for s in range(n_seq):
        kind = SOURCES[int(rng.choice(len(SOURCES), p=SOURCE_SHARES))]
        source.append(kind)
        words: list[tuple[str, int]] = []
        while len(words) < CTX_LEN:
            words += _segment(rng, kind)
        for p, (word, role) in enumerate(words[:CTX_LEN]):
            tokens[s, p] = ids[word]
            roles[s, p] = role
    return Documents(tokens, source, roles)


def _pick(rng: np.random.Generator, words: list[str]) -> str:
    return words[int(rng.integers(len(words)))]


def _prose(rng: np.random.Generator, n: int, pool: list[str]) -> list[tuple[str, int]]:
    out = [(_pick(rng, ["The", "A", "In"]), ROLE_NONE)]
    for _ in range(n):
        out.append((_pick(rng, pool), ROLE_NONE))
        if rng.random() < 0.08:
            out.append((",", ROLE_NONE))
    if rng.random() < 0.15:  # a bracket in prose: the bracket feature stays silent
        out += [("(", ROLE_NONE), (_pick(rng, pool), ROLE_NONE), (")", ROLE_NONE)]
    return out + [(".", ROLE_NONE)]


def _segment(rng: np.random.Generator, kind: str) -> list[tuple[str, int]]:
    if kind == "code":
        name, arg = _pick(rng, CODE), _pick(rng, CODE)
        return [
            ("def", ROLE_NONE),
            (name, ROLE_NONE),
            ("(", ROLE_NONE),
            (arg, ROLE_NONE),
            (",", ROLE_NONE),
            (_pick(rng, CODE), ROLE_NONE),
            (")", ROLE_CODE_CLOSE),
            (":", ROLE_NONE),
            ("\n", ROLE_NONE),
            ("return", ROLE_NONE),
            (_pick(rng, CODE), ROLE_NONE),
            ("[", ROLE_NONE),
            ("i", ROLE_NONE),
            ("]", ROLE_NONE),
            ("\n", ROLE_NONE),
        ]
    if kind == "license":
        if rng.random() < 0.5:
            return [
                ("Copyright", ROLE_NONE),
                (_pick(rng, YEARS), ROLE_AFTER_COPYRIGHT),
                (_pick(rng, NAMES), ROLE_NONE),
                (".", ROLE_NONE),
                ("All", ROLE_NONE),
                ("rights", ROLE_NONE),
                ("reserved", ROLE_NONE),
                ("\n", ROLE_NONE),
            ]
        out = []
        for i, word in enumerate(DISCLAIMER):
            after_for = word == "A" and DISCLAIMER[i - 1] == "FOR"
            out.append((word, ROLE_A_AFTER_FOR if after_for else ROLE_DISCLAIMER))
        return out + [("\n", ROLE_NONE)]
    if kind == "news":
        if rng.random() < 0.1:
            return [
                ("Copyright", ROLE_NONE),
                (_pick(rng, YEARS), ROLE_AFTER_COPYRIGHT),
                (_pick(rng, NAMES), ROLE_NONE),
            ]
        return _prose(rng, int(rng.integers(6, 14)), NEWS + PROSE)
    return _prose(rng, int(rng.integers(6, 16)), PROSE)


@dataclass
class TextModel:
    words: list[str]
    documents: Documents
    feature: np.ndarray
    seq: np.ndarray
    pos: np.ndarray
    activation: np.ndarray
    decoder: np.ndarray
    output: np.ndarray
    truth: dict[str, Any]


def _planted(
    rng: np.random.Generator, docs: Documents, ids: dict[str, int]
) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """(feature, seq, pos, activation) of every planted feature."""
    n_seq = len(docs.tokens)
    out = []

    def add(feature: int, where: np.ndarray, act: np.ndarray) -> None:
        seq, pos = np.nonzero(where)
        out.append((feature, seq, pos, act if act.shape == seq.shape else act[seq, pos]))

    shape = docs.tokens.shape
    noise = rng.gamma(6.0, 1.0, size=shape)
    add(COPYRIGHT, docs.roles == ROLE_AFTER_COPYRIGHT, 2.0 * noise)
    add(COPYRIGHT_TWIN, docs.roles == ROLE_AFTER_COPYRIGHT, 1.5 * rng.gamma(6.0, 1.0, size=shape))
    add(BRACKET, docs.roles == ROLE_CODE_CLOSE, noise * 1.2)
    legal = (docs.roles == ROLE_DISCLAIMER) | (docs.roles == ROLE_A_AFTER_FOR)
    strength = np.where(docs.roles == ROLE_A_AFTER_FOR, 30.0, rng.uniform(6.0, 16.0, size=shape))
    add(LEGAL, legal, strength)
    first = np.zeros(shape, dtype=bool)
    first[:, 0] = True
    first |= rng.random(shape) < 0.01
    first_act = np.where(
        np.arange(CTX_LEN)[None, :] == 0,
        rng.uniform(8.0, 12.0, size=shape),
        rng.uniform(0.1, 1.0, size=shape),
    )
    add(FIRST_TOKEN, first, first_act)
    add(SINGLE_TOKEN, docs.tokens == ids["the"], rng.uniform(3.0, 6.0, size=shape))
    add(DENSE, rng.random(shape) < 0.2, rng.uniform(0.2, 2.0, size=shape))
    chosen = np.zeros(shape, dtype=bool)
    doc_seqs = [int(s) for s in rng.choice(n_seq, size=2, replace=False)]
    chosen[doc_seqs, :] = True
    chosen |= rng.random(shape) < 0.002
    doc_act = np.where(
        chosen & np.isin(np.arange(n_seq), doc_seqs)[:, None],
        rng.uniform(5.0, 9.0, size=shape),
        rng.uniform(0.1, 1.0, size=shape),
    )
    add(SINGLE_DOCUMENT, chosen, doc_act)
    return out


def build_text_model(rng: np.random.Generator, scale: float = 1.0) -> TextModel:
    words = vocabulary()
    ids = {w: i for i, w in enumerate(words)}
    n_seq = max(200, int(N_SEQUENCES * scale))
    docs = _documents(rng, n_seq, ids)
    parts = _planted(rng, docs, ids)
    # background: a few features per position, never the planted ones
    background = np.setdiff1d(np.arange(N_FEATURES), np.asarray(PLANTED))
    n_pos = n_seq * CTX_LEN
    bg_seq = np.repeat(np.arange(n_seq), CTX_LEN * BACKGROUND_PER_POSITION)
    bg_pos = np.tile(np.repeat(np.arange(CTX_LEN), BACKGROUND_PER_POSITION), n_seq)
    bg_feature = background[rng.integers(len(background), size=n_pos * BACKGROUND_PER_POSITION)]
    bg_act = rng.gamma(2.0, 1.0, size=len(bg_feature))
    frame = pl.DataFrame(
        {"feature_id": bg_feature, "seq_id": bg_seq, "pos": bg_pos, "activation": bg_act}
    ).unique(["feature_id", "seq_id", "pos"], keep="first")
    feature = [frame["feature_id"].to_numpy()]
    seq = [frame["seq_id"].to_numpy()]
    pos = [frame["pos"].to_numpy()]
    act = [frame["activation"].to_numpy()]
    for f, s, p, a in parts:
        feature.append(np.full(len(s), f))
        seq.append(s)
        pos.append(p)
        act.append(a)
    decoder = rng.normal(size=(N_FEATURES, D_MODEL))
    decoder[COPYRIGHT_TWIN] = decoder[COPYRIGHT] + 0.25 * rng.normal(size=D_MODEL)
    decoder /= np.linalg.norm(decoder, axis=1, keepdims=True)
    output = 0.1 * rng.normal(size=(D_MODEL, len(words)))
    year_ids = [ids[y] for y in YEARS]
    output[:, year_ids] += 3.0 * decoder[COPYRIGHT][:, None]
    truth = {
        "kind": "sequence",
        "n_features": N_FEATURES,
        "n_sequences": n_seq,
        "ctx_len": CTX_LEN,
        "window": list(WINDOW),
        "flat_decoder_norms": True,
        "features": {
            "copyright": {
                "feature_id": COPYRIGHT,
                "headline": "prev:Copyright",
                "twin": COPYRIGHT_TWIN,
                "promotes": YEARS,
            },
            "bracket": {
                "feature_id": BRACKET,
                "headline": "token:)",
                "hypothesis": "token:) AND source=code",
            },
            "legal": {
                "feature_id": LEGAL,
                "headline": "context:WARRANTY",
                "tail_marker": "token:A",
                "top_zone": "prev:FOR",
            },
            "first_token": {"feature_id": FIRST_TOKEN, "flag": "first_token"},
            "single_token": {
                "feature_id": SINGLE_TOKEN,
                "flag": "single_token",
                "subject": "token:the",
            },
            "dense": {"feature_id": DENSE, "flag": "dense"},
            "single_document": {
                "feature_id": SINGLE_DOCUMENT,
                "flag": "single_document",
                "sequences": sorted(doc_seqs_of(parts)),
            },
        },
    }
    return TextModel(
        words,
        docs,
        np.concatenate(feature).astype(np.int32),
        np.concatenate(seq).astype(np.int64),
        np.concatenate(pos).astype(np.int32),
        np.concatenate(act).astype(np.float32),
        decoder.astype(np.float32),
        output.astype(np.float32),
        truth,
    )


def doc_seqs_of(parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]) -> list[int]:
    """The sequences the single-document feature fills (those where it is active everywhere)."""
    for f, s, _p, _a in parts:
        if f == SINGLE_DOCUMENT:
            counts = np.bincount(s)
            return [int(x) for x in np.flatnonzero(counts == CTX_LEN)]
    return []


def write_text_model(folder: Path, rng: np.random.Generator, scale: float = 1.0) -> dict[str, Any]:
    """Write the text model's files into ``folder``; returns its truth."""
    model = build_text_model(rng, scale)
    folder.mkdir(parents=True)
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer_json(model.words), indent=1) + "\n")
    np.save(folder / "tokens.npy", model.documents.tokens)
    pl.DataFrame(
        {"seq_id": np.arange(len(model.documents.tokens)), "source": model.documents.source},
        schema={"seq_id": pl.Int64, "source": pl.Utf8},
    ).write_parquet(folder / "sequences.parquet")
    order = np.lexsort((model.feature, model.pos, model.seq))
    pl.DataFrame(
        {
            "feature_id": model.feature[order],
            "seq_id": model.seq[order],
            "pos": model.pos[order],
            "activation": model.activation[order],
        },
        schema={
            "feature_id": pl.Int32,
            "seq_id": pl.Int64,
            "pos": pl.Int32,
            "activation": pl.Float32,
        },
    ).write_parquet(folder / "activations.parquet", compression="zstd")
    np.save(folder / "decoder.npy", model.decoder)
    np.save(folder / "output.npy", model.output)
    return model.truth


def config_table(prefix: str) -> dict[str, Any]:
    """The ``[models.text]`` table, paths under ``prefix``."""
    return {
        "kind": "sequence",
        "activations": f"{prefix}/activations.parquet",
        "tokens": f"{prefix}/tokens.npy",
        "tokenizer": f"{prefix}/tokenizer.json",
        "metadata": f"{prefix}/sequences.parquet",
        "window": list(WINDOW),
        "decoder": f"{prefix}/decoder.npy",
        "output": f"{prefix}/output.npy",
    }
