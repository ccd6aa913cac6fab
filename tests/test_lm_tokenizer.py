"""Tokenizers of sequence models: an HF tokenizer.json, vocab files, and pieces shown as text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lm_formats import write_tokenizer

from labeler_tui.core.data.tokenizer import read_tokenizer, visible_piece, word_of
from labeler_tui.core.errors import DataError


def test_hf_byte_level_pieces_decode_like_the_library(tmp_path: Path) -> None:
    tokenizer = write_tokenizer(tmp_path / "tokenizer.json")
    info = read_tokenizer(tmp_path / "tokenizer.json")
    assert info.kind == "tokenizer.json" and not info.spaced and info.separator == ""
    size = tokenizer.get_vocab_size(with_added_tokens=True)
    assert len(info.pieces) == size
    # a whole text decodes to the join of its pieces
    ids = tokenizer.encode("The cat sat on the mat;").ids
    assert "".join(info.pieces[i] for i in ids) == "The cat sat on the mat;"
    # single bytes that are not whole UTF-8 characters show as <0xNN>
    vocab = tokenizer.get_vocab()
    assert info.pieces[vocab["ð"]] == "<0xF0>"  # the first byte of an emoji
    assert info.pieces[vocab["â"]] == "<0xE2>"  # the first byte of an em dash
    assert info.pieces[vocab["Ġ"]] == " "


def test_pieces_are_shown_visibly_and_never_obeyed() -> None:
    assert visible_piece("\n") == "↵" and visible_piece("\t") == "⇥"
    assert visible_piece("  ") == "··"
    assert visible_piece(" the") == " the"
    assert visible_piece("\x1b[31mred") == "\\x1b[31mred"
    assert visible_piece("a\u202eb") == "a\\u202eb"
    assert word_of(" the") == "the" and word_of("\n") == "↵" and word_of("") == "∅"


def test_vocab_files(tmp_path: Path) -> None:
    (tmp_path / "words.txt").write_text("hello\nworld\n")
    words = read_tokenizer(tmp_path / "words.txt")
    assert words.pieces == ["hello", "world"] and words.separator == " "
    (tmp_path / "bpe.json").write_text(json.dumps({"Ġthe": 0, "cat": 1, "Ġsat": 2}))
    bpe = read_tokenizer(tmp_path / "bpe.json")
    assert bpe.pieces == [" the", "cat", " sat"] and bpe.separator == ""
    (tmp_path / "twice.json").write_text(json.dumps({"a": 0, "b": 0}))
    with pytest.raises(DataError, match="twice.json: vocab id 0 is used twice"):
        read_tokenizer(tmp_path / "twice.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(DataError, match="bad.json: tokenizer is not valid JSON"):
        read_tokenizer(tmp_path / "bad.json")
