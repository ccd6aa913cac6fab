"""Named methods, each registered once: similarity methods, queue builders, export formats.

The module that implements a method registers it here with its name, its help text, the callable
and what it needs from the model's data (e.g. a decoder). The CLI's choices, the app's pickers,
the config check, the help screen and the default similarity method all read these registries,
so a new method is one registration in its own module (see README.md, "Development").
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from labeler_tui.core.errors import ValidationError

if TYPE_CHECKING:
    from labeler_tui.core.analysis.queue_builders import BuildRequest, Candidate
    from labeler_tui.core.data import ModelData, ProgressCallback

DECODER = "decoder"
"""A capability: the model has a decoder matrix (``[models.NAME] decoder``)."""

CAPABILITY_HELP = {
    DECODER: ("a decoder", "no decoder", "set `decoder` in its [models.{model}] table")
}
"""capability -> (what a method needs, what a model lacking it has, how to add it)."""


def capabilities(data: ModelData) -> frozenset[str]:
    """What the model's data offers to the methods that need something."""
    return frozenset({DECODER} if data.has_decoder else ())


class Entry(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def help(self) -> str: ...
    @property
    def needs(self) -> tuple[str, ...]: ...


EntryT = TypeVar("EntryT", bound=Entry)


class Registry(Generic[EntryT]):
    """The methods of one kind, in registration order. Entries come from ``providers`` (module
    names), imported on the first lookup so that reading the registry needs no import order."""

    def __init__(self, kind: str, providers: tuple[str, ...]) -> None:
        self.kind = kind
        self._providers = providers
        self._entries: dict[str, EntryT] = {}
        self._loaded = False
        self._lock = threading.RLock()

    def add(self, entry: EntryT) -> EntryT:
        """Register ``entry`` (a second entry of the same name is a programming error)."""
        if entry.name in self._entries:
            raise ValueError(f"{self.kind} {entry.name!r} is registered twice")
        self._entries[entry.name] = entry
        return entry

    def _load(self) -> dict[str, EntryT]:
        if not self._loaded:
            with self._lock:
                for module in self._providers:
                    importlib.import_module(module)
                self._loaded = True
        return self._entries

    def entries(self) -> tuple[EntryT, ...]:
        return tuple(self._load().values())

    def names(self) -> tuple[str, ...]:
        return tuple(self._load())

    def get(self, name: str) -> EntryT:
        """The entry called ``name``; an unknown name is a ValidationError listing the choices."""
        entries = self._load()
        if name not in entries:
            raise ValidationError(
                f"unknown {self.kind} {name!r} (choose from {', '.join(entries)})"
            )
        return entries[name]

    def missing(self, entry: EntryT, has: Collection[str]) -> list[str]:
        """What ``entry`` needs that ``has`` lacks."""
        return [need for need in entry.needs if need not in has]

    def usable(self, has: Collection[str]) -> tuple[EntryT, ...]:
        """The entries whose needs ``has`` meets, in registration order."""
        return tuple(entry for entry in self.entries() if not self.missing(entry, has))

    def default(self, has: Collection[str]) -> EntryT:
        """The first usable entry (e.g. ``decoder`` similarity when there is a decoder, else
        ``tokens``)."""
        usable = self.usable(has)
        if not usable:
            raise ValidationError(f"no {self.kind} works with this model")
        return usable[0]

    def require(self, name: str, has: Collection[str], model: str) -> EntryT:
        """The entry called ``name``, checked to be usable with a model that has ``has``."""
        entry = self.get(name)
        for need in self.missing(entry, has):
            wanted, lacking, fix = CAPABILITY_HELP.get(need, (need, f"no {need}", ""))
            hints = [fix.format(model=model)] if fix else []
            hints.append(f"usable here: {', '.join(e.name for e in self.usable(has)) or 'none'}")
            raise ValidationError(
                f"{self.kind} {name!r} needs {wanted}: model {model!r} has {lacking} "
                f"({'; '.join(hints)})"
            )
        return entry


# --- similarity -------------------------------------------------------------------------------
Neighbours = Callable[["ModelData", int, int, "ProgressCallback | None"], list[tuple[int, float]]]


@dataclass(frozen=True)
class SimilarityMethod:
    """``neighbours(data, feature_id, top_k, progress)``: the most similar features, best
    first, itself excluded. A method with a one-time per-workspace table has ``prepare(data,
    progress)`` (builds it, with progress) and ``ready(data)`` (whether it is built)."""

    name: str
    help: str
    neighbours: Neighbours
    needs: tuple[str, ...] = ()
    prepare: Callable[[ModelData, ProgressCallback | None], object] | None = None
    ready: Callable[[ModelData], bool] | None = None

    def is_ready(self, data: ModelData) -> bool:
        """Whether a query answers at once (no one-time table still to build)."""
        return self.ready is None or self.ready(data)


SIMILARITY_METHODS: Registry[SimilarityMethod] = Registry(
    "similarity method", ("labeler_tui.core.analysis.similarity",)
)


# --- queue builders ---------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueMethod:
    """``candidates(request)``: features to queue, best first (priority descending, then
    feature id), each with a priority in 0..1 and a reason."""

    name: str
    help: str
    candidates: Callable[[BuildRequest], list[Candidate]]
    needs: tuple[str, ...] = ()
    takes_seed: bool = False
    """Needs a seed feature (``--seed``)."""
    relabels: bool = False
    """Proposes labeled features for relabeling (others propose only unlabeled ones)."""
    uses_suggestions: bool = False
    """Reads the model's imported suggestions (``BuildRequest.suggestions``)."""


QUEUE_METHODS: Registry[QueueMethod] = Registry(
    "queue method", ("labeler_tui.core.analysis.queue_builders",)
)


# --- export formats ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportFormat:
    """``render(rows)``: the file's text for rows of label-record JSON, columns in order."""

    name: str
    help: str
    extensions: tuple[str, ...]
    render: Callable[[Sequence[Mapping[str, Any]], list[str]], str]
    needs: tuple[str, ...] = ()


EXPORT_FORMATS: Registry[ExportFormat] = Registry("export format", ("labeler_tui.core.export",))
