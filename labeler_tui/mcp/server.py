"""The ``labeler mcp`` server: one workspace and model, its tools, a feature page per feature and
the agents' guide as resources, one :class:`~labeler_tui.mcp.session.AgentSession` per connection.

The session lives as long as the connection (the SDK's lifespan runs once per connection: a
stdio server has exactly one); when it ends, the session's claim is given back. Annotations are
evaluated at definition time here too (the SDK reads them to find the context parameter).
"""

import inspect
import os
import signal
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from labeler_tui.core.errors import LabelerError
from labeler_tui.core.workspace import Workspace
from labeler_tui.mcp.session import AgentSession
from labeler_tui.mcp.tools import TOOLS, agent_session
from labeler_tui.skill import skill_text

OverviewText = Callable[[Mapping[str, Any]], str]
"""Renders an overview (``labeler overview --json``) as the text a person reads."""

SERVER_NAME = "labeler"
FEATURE_PAGE = "feature://{model}/{feature_id}"
SKILL_PAGE = "labeler://skill"


def instructions(model: str) -> str:
    """What a client tells its model about this server."""
    return (
        f"Label the features of the sparse autoencoder model {model!r}. The loop: next (claims a "
        "feature for this session), overview, examples of the core region (25-75% of the "
        "effective max, not only the top), test a hypothesis expression before naming "
        "(core coverage > 50% may headline a label), label (name, category, notes with the "
        "evidence, interpretability_confidence; read its lint warnings), similar, add the "
        f"interesting neighbours. The full guide is the resource {SKILL_PAGE}; a feature's "
        f"overview as text is {FEATURE_PAGE.replace('{model}', model)}."
    )


def package_version() -> str:
    try:
        return version("labeler-tui")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return ""


class LabelerServer(MCPServer[AgentSession]):
    """The SDK's server, knowing the sessions of its open connections (to end them when the
    process is told to stop)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: set[AgentSession] = set()


def build_server(
    workspace: Workspace,
    model: str | None = None,
    *,
    owner: str | None = None,
    source: str | None = None,
    overview_text: OverviewText,
) -> LabelerServer:
    """The server for ``workspace``'s ``model``. Each connection gets a session whose owner is
    ``owner`` (default: the workspace's) with the client's name and a session id; labels get
    ``source``, else the client's name. ``overview_text`` renders the feature pages."""
    served = workspace.model_name(model)
    sessions: set[AgentSession] = set()

    @asynccontextmanager
    async def connection(_server: MCPServer[AgentSession]) -> AsyncIterator[AgentSession]:
        session = AgentSession(workspace, served, owner=owner, source=source)
        sessions.add(session)
        try:
            yield session
        finally:
            sessions.discard(session)
            session.close()  # quick (one locked write): done even while the server stops

    server = LabelerServer(
        SERVER_NAME,
        title="labeler-tui",
        version=package_version(),
        instructions=instructions(served),
        lifespan=connection,
        log_level="WARNING",
    )
    server.sessions = sessions
    for name, tool, annotations in TOOLS:
        description = inspect.getdoc(tool)  # the docstring without its indentation
        server.add_tool(tool, name=name, description=description, annotations=annotations)

    def feature_page(model: str, feature_id: str, ctx: Context) -> str:
        if model != served:
            raise ResourceNotFoundError(f"model {model!r} is not served here (this is {served!r})")
        if not feature_id.isdigit():
            raise ResourceNotFoundError(f"{feature_id!r} is not a feature id")
        try:
            return overview_text(agent_session(ctx).overview(int(feature_id)))
        except LabelerError as exc:
            raise ResourceError(str(exc)) from None

    server.resource(
        FEATURE_PAGE,
        name="feature",
        title="Feature overview",
        description="A feature's overview as the text `labeler overview` prints: statistics, "
        "activation histogram, regions, red flags, decoder effects, label.",
        mime_type="text/plain",
    )(feature_page)

    def skill() -> str:
        return skill_text()

    server.resource(
        SKILL_PAGE,
        name="skill",
        title="Labeling guide",
        description="How to label features well with these tools (the `labeler skill` text).",
        mime_type="text/markdown",
    )(skill)
    return server


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""What a client sends a server that does not exit when its stdin closes."""


def serve_stdio(server: LabelerServer) -> None:
    """Serve one client over stdin/stdout until it closes stdin (the session ends, its claim is
    given back), or the process gets a stop signal: then the open sessions are ended the same
    way and the process dies of that signal (the SDK's stdin reader cannot be interrupted)."""

    async def serve() -> None:
        async with anyio.create_task_group() as group:

            async def stop_on_signal() -> None:
                with anyio.open_signal_receiver(*STOP_SIGNALS) as signals:
                    async for signum in signals:
                        die_of(server, signum)

            group.start_soon(stop_on_signal)
            await server.run_stdio_async()
            group.cancel_scope.cancel()

    anyio.run(serve)


def die_of(server: LabelerServer, signum: int) -> None:
    """End every open session (their claims are given back), then die of ``signum``."""
    for session in list(server.sessions):
        session.close()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
