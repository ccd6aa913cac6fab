"""A workspace: its config, its models' data and the paths of its stores.

Discovery order (docs/formats.md, "Workspace"): ``--workspace DIR``, then
``$LABELER_WORKSPACE``, then a ``labeler.toml`` in the current directory or a parent, then the
caller's ``fallback`` (the CLI, the app and the Python API pass the built-in demo workspace,
:func:`labeler_tui.demo.demo_config`; core knows nothing of it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from labeler_tui.core.config import CONFIG_NAME, WorkspaceConfig, load_config
from labeler_tui.core.data import ModelData, ProgressCallback
from labeler_tui.core.errors import ConfigError

ENV_WORKSPACE = "LABELER_WORKSPACE"

Fallback = Callable[[ProgressCallback | None], Path]
"""Gives the labeler.toml to open when discovery finds none (making it if needed)."""


def _config_in(path: Path, origin: str) -> Path:
    path = Path(os.path.expanduser(str(path)))
    if path.is_file():
        return path.resolve()
    candidate = path / CONFIG_NAME
    if candidate.is_file():
        return candidate.resolve()
    if not path.exists():
        raise ConfigError(f"{path}: workspace not found (from {origin})")
    raise ConfigError(
        f"{path}: no {CONFIG_NAME} in this workspace (from {origin}); run `labeler init {path}`"
    )


def find_config(
    workspace: str | Path | None = None,
    cwd: Path | None = None,
    progress: ProgressCallback | None = None,
    fallback: Fallback | None = None,
) -> Path:
    """The labeler.toml to use, following the discovery order; ``fallback`` (given the
    progress callback) answers when nothing else does."""
    if workspace:
        return _config_in(Path(workspace), "--workspace")
    env = os.environ.get(ENV_WORKSPACE)
    if env:
        return _config_in(Path(env), f"${ENV_WORKSPACE}")
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    if fallback is None:
        raise ConfigError(
            f"no {CONFIG_NAME} in {here} or its parents; give --workspace DIR, set "
            f"${ENV_WORKSPACE}, or run `labeler init DIR`"
        )
    return fallback(progress)


class Workspace:
    """The config plus lazily opened model data; store paths per model."""

    def __init__(self, config: WorkspaceConfig) -> None:
        self.config = config
        self._data: dict[str, ModelData] = {}
        # The app opens data from worker threads; one lock keeps two first opens from building
        # the same index at once in one process.
        self._data_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        workspace: str | Path | None = None,
        progress: ProgressCallback | None = None,
        *,
        fallback: Fallback | None = None,
    ) -> Workspace:
        """The workspace found by the discovery order (see :func:`find_config`)."""
        return cls(load_config(find_config(workspace, progress=progress, fallback=fallback)))

    @property
    def root(self) -> Path:
        return self.config.root

    def model_name(self, model: str | None = None) -> str:
        return self.config.model(model).name

    def data(
        self,
        model: str | None = None,
        progress: ProgressCallback | None = None,
        rebuild: bool = False,
        memory: int | None = None,
    ) -> ModelData:
        """The model's data, building or refreshing its index on first use (within ``memory``
        bytes, default ``[index] memory``)."""
        name = self.model_name(model)
        with self._data_lock:
            if rebuild or name not in self._data:
                self._data[name] = ModelData.open(
                    self.config.models[name],
                    self.cache_dir,
                    progress=progress,
                    rebuild=rebuild,
                    memory=memory or self.config.index.memory,
                )
            return self._data[name]

    # --- paths ---------------------------------------------------------------------------------
    @property
    def cache_dir(self) -> Path:
        return self.config.paths.cache

    @property
    def lock_path(self) -> Path:
        return self.config.paths.labels / ".labeler.lock"

    def labels_path(self, model: str | None = None) -> Path:
        return self.config.paths.labels / f"consolidated_{self.model_name(model)}.json"

    def queue_path(self, model: str | None = None) -> Path:
        return self.config.paths.labels / f"queue_{self.model_name(model)}.json"

    def history_path(self, model: str | None = None) -> Path:
        return self.config.paths.labels / f"history_{self.model_name(model)}.jsonl"

    def suggestions_path(self, model: str | None = None) -> Path:
        """Suggested labels imported from other tools (``labels/suggestions_{model}.jsonl``)."""
        return self.config.paths.labels / f"suggestions_{self.model_name(model)}.jsonl"

    def dashboard_path(self, model: str | None = None) -> Path:
        return self.config.paths.dashboard / f"feature_labels_{self.model_name(model)}.json"

    def state_dir(self, model: str | None = None) -> Path:
        return self.config.paths.state / self.model_name(model)

    def state_path(self, feature_id: int, model: str | None = None) -> Path:
        name = self.model_name(model)
        return self.config.paths.state / name / f"feature_{feature_id}_{name}.json"
