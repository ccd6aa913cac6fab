"""The files a sequence model's index holds beyond a bag model's (see ``index_layout``).

The examples' tokens (``token_ids.npy``) are the token stream itself, one token per position;
these add the tokenizer's pieces, each token's word, and the sequences' ids, offsets and
metadata codes. The analysis vocabulary in ``vocab.json`` is the slot tokens: ``SLOTS[s]:word``
has id ``s * n_words + word`` and family ``word``.
"""

from __future__ import annotations

SLOTS = ("token", "prev", "next", "context")
"""A position's slots: its own token, the one before, the one after, and every token of its
context window (before, itself, after)."""
TOKEN, PREV, NEXT, CONTEXT = range(len(SLOTS))

PIECES = "pieces.json"  # {"pieces": [text of each token id], "spaced": bool}
TOKEN_WORD = "token_word.npy"  # int32[n_vocab]: word id of each token id
SEQ_IDS = "seq_ids.npy"  # int64[n_seq]: the users' sequence ids, ascending
SEQ_OFFSETS = "seq_offsets.npy"  # int64[n_seq + 1]: sequence row i is positions [o[i], o[i+1])


def seq_metadata_file(index: int) -> str:
    return f"seq_metadata_{index}.npy"
