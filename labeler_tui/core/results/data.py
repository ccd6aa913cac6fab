"""Results of the data and agent commands: ``info``, ``activations``, ``index``, ``demo``,
``init``, ``skill`` and ``import``."""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict


class ModelInfoJson(TypedDict, closed=True):
    n_features: int
    n_examples: int
    n_nonzero: int
    has_decoder: bool


class InfoJson(TypedDict, closed=True):
    """The workspace folder and each model's size."""

    workspace: str
    models: dict[str, ModelInfoJson]


class ActivationsJson(TypedDict, closed=True):
    """One feature's nonzero activations with their example ids, highest first."""

    model: str
    feature_id: int
    n_nonzero: int
    example_ids: list[int]
    activations: list[float]


class IndexBuildJson(TypedDict, closed=True):
    """A model's index folder, whether this run built it (false: it was current), its size and
    the number of feature-range shards it is stored in; with ``--all`` the analysis tables
    built ahead of time and their seconds."""

    index: str
    built: bool
    seconds: float
    n_features: int
    n_examples: int
    n_nonzero: int
    shards: int
    tables: NotRequired[list[str]]
    tables_seconds: NotRequired[float]


class ShardBuildJson(TypedDict, closed=True):
    """``--shard I/N``: the shard (``"I/N"``), whether this run built it (false: it was there),
    whether every shard is now there, its features ``[first, end)`` and nonzeros."""

    index: str
    shard: str
    built: bool
    complete: bool
    seconds: float
    features: list[int]
    n_nonzero: int
    n_features: int


class IndexJson(TypedDict, closed=True):
    models: dict[str, IndexBuildJson | ShardBuildJson]


class DemoJson(TypedDict, closed=True):
    """The demo workspace written: its folder, its labeler.toml and the time it took."""

    workspace: str
    config: str
    seconds: float


class InitJson(TypedDict, closed=True):
    """The workspace started: its folder, its labeler.toml and the model's name."""

    workspace: str
    config: str
    model: str


class SkillJson(TypedDict, closed=True):
    """The agents' guide (``labeler skill``), as Markdown."""

    text: str


class ImportedModelJson(TypedDict, closed=True):
    """A model an import created or updated: the keys it wrote and the model's size."""

    name: str
    created: bool
    set: dict[str, Any]
    n_features: int
    n_examples: int
    n_nonzero: int
    has_decoder: bool


class SuggestionsAddedJson(TypedDict, closed=True):
    added: int
    replaced: int
    total: int


class ImportJson(TypedDict, closed=True):
    """What ``labeler import`` did: the labeler.toml written, the models, the suggestions."""

    kind: str
    source: str
    workspace: str
    models: list[ImportedModelJson]
    suggestions: dict[str, SuggestionsAddedJson]
    notes: list[str]
