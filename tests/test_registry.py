"""The registries of named methods: one registration reaches the CLI, the config check, the
app's pickers and help, and the default similarity method."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from labeler_tui.app.screens.help import methods_markdown
from labeler_tui.cli.main import build_parser, main
from labeler_tui.core.analysis.similarity import default_method, similar_features
from labeler_tui.core.config import load_config
from labeler_tui.core.errors import ValidationError
from labeler_tui.core.registry import (
    EXPORT_FORMATS,
    QUEUE_METHODS,
    SIMILARITY_METHODS,
    SimilarityMethod,
)
from labeler_tui.core.workspace import Workspace


def choices(command: str) -> tuple[str, ...]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    method = next(a for a in sub.choices[command]._actions if a.dest == "method")
    return tuple(method.choices)


def test_cli_choices_come_from_the_registries() -> None:
    assert choices("similar") == SIMILARITY_METHODS.names() == ("decoder", "tokens", "coactivation")
    assert choices("build-queue") == QUEUE_METHODS.names()
    assert QUEUE_METHODS.names() == (
        "activation_count",
        "cluster",
        "importance",
        "mysterious",
        "weak_suggestions",
    )
    assert [f.name for f in EXPORT_FORMATS.entries()] == ["csv", "jsonl", "json"]


def test_the_default_method_follows_the_decoder(make_tiny_workspace: Any) -> None:
    with_decoder = Workspace.open(make_tiny_workspace("a")).data()
    without = Workspace.open(make_tiny_workspace("b", with_decoder=False)).data()
    assert default_method(with_decoder) == "decoder"
    assert default_method(without) == "tokens"
    with pytest.raises(ValidationError, match="needs a decoder: model 'tiny' has no decoder"):
        SIMILARITY_METHODS.require("decoder", set(), "tiny")
    with pytest.raises(ValidationError, match=r"unknown queue method 'x' \(choose from"):
        QUEUE_METHODS.get("x")


@pytest.fixture
def mirror_method() -> Iterator[str]:
    """A new similarity method, registered as a module of ours would register one."""

    def neighbours(
        data: Any, feature_id: int, top_k: int, progress: Any
    ) -> list[tuple[int, float]]:
        others = [(f, 1.0 / (1 + abs(f - feature_id))) for f in range(data.n_features)]
        ranked = sorted((p for p in others if p[0] != feature_id), key=lambda p: (-p[1], p[0]))
        return ranked[:top_k]

    SIMILARITY_METHODS.add(SimilarityMethod("mirror", "nearest ids first", neighbours))
    yield "mirror"
    SIMILARITY_METHODS._entries.pop("mirror")


def test_a_new_method_reaches_every_front_end(
    mirror_method: str, tiny_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mirror_method in choices("similar")
    assert "| mirror | nearest ids first |" in methods_markdown()
    config = tiny_workspace / "labeler.toml"
    raw = load_config(config)  # the config accepts it as [app] similar_method
    text = config.read_text() + tomli_w.dumps({"app": {"similar_method": "mirror"}})
    config.write_text(text)
    assert load_config(config).app.similar_method == "mirror" != raw.app.similar_method
    data = Workspace.open(tiny_workspace).data()
    assert similar_features(data, 3, "mirror", top_k=2) == [(2, 0.5), (4, 0.5)]
    code = main(
        [
            "--workspace",
            str(tiny_workspace),
            "similar",
            "-f",
            "3",
            "-k",
            "2",
            "--method",
            "mirror",
            "--json",
        ]
    )
    assert code == 0
    assert [row["feature_id"] for row in json.loads(capsys.readouterr().out)] == [2, 4]
