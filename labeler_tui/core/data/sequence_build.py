"""The sequence part of a model's index: its token stream, words, slots and sequence tables.

The builder (``index_build``) calls :func:`write_sequence_inputs` instead of reading an
examples file: it writes the stream as the examples' tokens (one token per position), the
analysis vocabulary (the slot tokens ``token:w``, ``prev:w``, ``next:w``, ``context:w`` of every
word ``w``, whose family is ``w``), the pieces and words of the tokenizer, the sequence ids,
offsets and metadata codes, and returns the activation input the builder scatters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from labeler_tui.core.config import ModelConfig
from labeler_tui.core.data import index_layout as L
from labeler_tui.core.data import sequence_layout as S
from labeler_tui.core.data.activation_inputs import ActivationInput
from labeler_tui.core.data.delphi_cache import DelphiCache
from labeler_tui.core.data.readers import ExampleTable
from labeler_tui.core.data.sequence_inputs import (
    DelphiActivations,
    SequenceParquetActivations,
    TokenStream,
    check_token_ids,
    read_sequence_metadata,
    read_token_stream,
)
from labeler_tui.core.data.tokenizer import read_tokenizer, word_of

Progress = Any


def words_of(pieces: list[str]) -> tuple[list[str], np.ndarray]:
    """(distinct words in order of their first token id, int32 word id of every token id)."""
    ids: dict[str, int] = {}
    token_word = np.empty(len(pieces), dtype=np.int32)
    for token_id, piece in enumerate(pieces):
        token_word[token_id] = ids.setdefault(word_of(piece), len(ids))
    return list(ids), token_word


def write_sequence_inputs(
    config: ModelConfig, out: Path, progress: Progress
) -> tuple[ExampleTable, ActivationInput, dict[str, Any]]:
    """Write the sequence tables into the index folder ``out``; returns the examples table
    (one example per position, its token), the activation input and the manifest's extra keys."""
    sequence = config.sequence
    assert sequence is not None
    stage = f"{config.name}: reading tokens and tokenizer"
    progress(stage, 0, 1)
    delphi = DelphiCache(sequence.delphi) if sequence.delphi is not None else None
    pieces: list[str] = []
    spaced = True
    if sequence.tokenizer is not None:
        info = read_tokenizer(sequence.tokenizer)
        pieces, spaced = info.pieces, info.spaced
    stream = read_token_stream(config, delphi)
    if sequence.tokenizer is not None:
        check_token_ids(stream, len(pieces), sequence.tokenizer)
    words, token_word = words_of(pieces)
    n_words = len(words)
    slot_names = [f"{slot}:{word}" for slot in S.SLOTS for word in words]
    token_family = np.tile(np.arange(n_words, dtype=np.int32), len(S.SLOTS))
    np.save(out / L.TOKEN_FAMILY, token_family)
    L.write_json(out / L.VOCAB, {"token_names": slot_names, "family_names": words})
    L.write_json(out / S.PIECES, {"pieces": pieces, "spaced": spaced})
    np.save(out / S.TOKEN_WORD, token_word)
    np.save(out / S.SEQ_IDS, stream.seq_ids)
    np.save(out / S.SEQ_OFFSETS, stream.offsets)
    metadata = (
        read_sequence_metadata(sequence.metadata, stream) if sequence.metadata is not None else {}
    )
    for i, column in enumerate(metadata.values()):
        np.save(out / S.seq_metadata_file(i), column.codes)
    n = stream.n_positions
    examples = ExampleTable(
        example_ids=np.arange(n, dtype=np.int64),
        token_offsets=np.arange(n + 1, dtype=np.int64),
        token_ids=stream.tokens,
    )
    source: ActivationInput
    if delphi is not None:
        source = DelphiActivations(delphi, stream, sequence.n_features)
    else:
        source = SequenceParquetActivations(config.activations, stream, sequence.n_features)
    progress(stage, 1, 1)
    extra = {
        "kind": "sequence",
        "sequence": {
            "n_sequences": stream.n_sequences,
            "ctx_len": stream.ctx_len,
            "window": list(sequence.window),
            "n_vocab": len(pieces),
            "n_words": n_words,
            "spaced": spaced,
            "source": "delphi" if delphi is not None else "parquet",
            "metadata": [
                {"column": name, "values": column.values} for name, column in metadata.items()
            ],
        },
    }
    return examples, source, extra


def sequence_activations_input(config: ModelConfig, base: Path) -> ActivationInput:
    """The activation input of a sequence model whose index base (token stream, sequence ids
    and offsets) is in ``base`` (a shard build reads it from there)."""
    sequence = config.sequence
    assert sequence is not None
    stream = TokenStream(
        seq_ids=np.load(base / S.SEQ_IDS),
        offsets=np.load(base / S.SEQ_OFFSETS),
        tokens=np.zeros(0, dtype=np.int32),  # the scatter needs positions, not tokens
        source=sequence.tokens,
    )
    if sequence.delphi is not None:
        return DelphiActivations(DelphiCache(sequence.delphi), stream, sequence.n_features)
    return SequenceParquetActivations(config.activations, stream, sequence.n_features)
