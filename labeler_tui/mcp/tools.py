"""The MCP tools: typed parameters over :class:`~labeler_tui.mcp.session.AgentSession`.

Each tool's result is the JSON of the matching ``labeler COMMAND --json``: the same text as the
tool's content, and as its structured content (wrapped as ``{"result": ...}`` when it is a list,
may be null or has two shapes: MCP's structured content is an object). The output schema is the command's
result type (``labeler_tui/core/results``), so it is the published ``docs/schemas`` one too. A
:class:`~labeler_tui.core.errors.LabelerError` becomes a tool error with the CLI's one-line
message; the session goes on.

Annotations are evaluated when the SDK reads them (no ``from __future__ import annotations``):
the parameters' types, defaults and descriptions are the tools' input schemas.
"""

import json
from collections.abc import Callable
from typing import Annotated, Any, cast

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from labeler_tui.core.errors import LabelerError
from labeler_tui.core.evidence.examples import DEFAULT_K, REGION_CHOICES
from labeler_tui.core.records import edit_options
from labeler_tui.core.registry import SIMILARITY_METHODS
from labeler_tui.core.results.analysis import CoverageJson, NeighbourJson, OverviewJson
from labeler_tui.core.results.encoding import to_json_text
from labeler_tui.core.results.evidence import (
    ContextsJson,
    EffectsJson,
    ExamplesJson,
    HypothesisJson,
    SequenceActivationsJson,
)
from labeler_tui.core.results.history import EventJson, UndoJson
from labeler_tui.core.results.labels import LabelSavedJson, StatusJson, SuggestionsJson
from labeler_tui.core.results.queue import AddJson, NextJson, SkippedJson
from labeler_tui.mcp.session import EDIT_PARAMETERS, AgentSession

HISTORY_LIMIT = 20
"""Events the ``history`` tool returns unless given a ``limit``."""

_HELP = {EDIT_PARAMETERS.get(option.name, option.name): option.help for option in edit_options()}
"""The ``label`` tool's parameter descriptions: the CLI's ``label`` help, declared once."""

FeatureId = Annotated[int, Field(ge=0, description="feature id (0 <= id < the model's features)")]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Force = Annotated[
    bool, Field(description="write even if another owner holds a live claim on the feature")
]
Region = Annotated[
    str,
    Field(
        description="top (every nonzero example), or one of the six regions: read the core",
        json_schema_extra={"enum": list(REGION_CHOICES)},
    ),
]
Method = Annotated[
    str | None,
    Field(
        description="decoder, tokens or coactivation (default: decoder if the model has one)",
        json_schema_extra={"enum": [*SIMILARITY_METHODS.names(), None]},
    ),
]
Name = Annotated[str, Field(description=_HELP["name"])]
Category = Annotated[str | None, Field(description=_HELP["category"])]
Notes = Annotated[str | None, Field(description=_HELP["notes"])]
Source = Annotated[
    str | None,
    Field(description="provenance (default: this client's name, or the server's --source)"),
]
InterpretabilityConfidence = Annotated[
    Unit | None, Field(description=_HELP["interpretability_confidence"])
]
HypothesisConfidence = Annotated[Unit | None, Field(description=_HELP["hypothesis_confidence"])]
StabilityScore = Annotated[Unit | None, Field(description=_HELP["stability_score"])]
ResearchLabel = Annotated[str | None, Field(description=_HELP["research_label"])]
Hypothesis = Annotated[str | None, Field(description=_HELP["hypothesis"])]
IfUnchangedSince = Annotated[
    str | None,
    Field(
        description="save only if the stored label's last_updated is still this (none: there "
        "was no label); refused when someone changed it since"
    ),
]


# --- running a tool -------------------------------------------------------------------------------
def agent_session(ctx: Context) -> AgentSession:
    """The connection's session, named after the client on its first call."""
    request = ctx.request_context
    session = cast(AgentSession, request.lifespan_context)  # what the server's lifespan made
    params = request.session.client_params
    session.service_for(params.client_info.name if params is not None else None)
    return session


def run_tool(
    ctx: Context, produce: Callable[[AgentSession], Any], *, wrapped: bool = False
) -> CallToolResult:
    """The result of ``produce`` as the CLI's JSON, or a tool error with the CLI's message."""
    try:
        value = produce(agent_session(ctx))
    except LabelerError as exc:
        return CallToolResult(content=[TextContent(type="text", text=str(exc))], is_error=True)
    text = to_json_text(value)
    structured = json.loads(text)
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content={"result": structured} if wrapped else structured,
    )


# --- the queue ------------------------------------------------------------------------------------
def next_feature(
    ctx: Context,
    claim: Annotated[
        bool, Field(description="lease the feature to this session (the previous claim ends)")
    ] = True,
    build: Annotated[
        bool, Field(description="fill an empty queue first (50 features by activation count)")
    ] = True,
    ttl: Annotated[
        float | None,
        Field(gt=0, description="claim length in seconds (default: the workspace's, 1800)"),
    ] = None,
) -> Annotated[CallToolResult, NextJson]:
    """The next feature to label: the queue's top pending feature no one else holds (the same
    one again until you label or skip it). By default it is claimed for this session, which holds
    one claim at a time, until you label or skip it or disconnect, so no other labeler gets it.
    All values are null when the queue has nothing to serve."""
    return run_tool(ctx, lambda s: s.next(claim=claim, build=build, ttl=ttl))


def skip(
    ctx: Context,
    feature_id: Annotated[
        int | None,
        Field(ge=0, description="the feature (default: the one this session holds, else the next)"),
    ] = None,
    reason: Annotated[str | None, Field(description="why it is skipped")] = None,
    force: Force = False,
) -> Annotated[CallToolResult, SkippedJson]:
    """Skip a feature you cannot label, keeping the reason; its claim ends."""
    return run_tool(ctx, lambda s: s.skip(feature_id, reason, force=force))


def add(
    ctx: Context,
    feature_ids: Annotated[list[Annotated[int, Field(ge=0)]], Field(description="feature ids")],
    priority: Annotated[Unit, Field(description="0..1, higher is served first")] = 0.5,
    reason: Annotated[str | None, Field(description="why they are queued")] = None,
) -> Annotated[CallToolResult, AddJson]:
    """Queue features (e.g. interesting similar ones). A skipped or labeled feature is queued
    again; a pending one changes only when the new priority is higher."""
    return run_tool(ctx, lambda s: s.add(feature_ids, priority, reason))


# --- labels ---------------------------------------------------------------------------------------
def label(
    ctx: Context,
    feature_id: FeatureId,
    name: Name,
    category: Category = None,
    notes: Notes = None,
    source: Source = None,
    interpretability_confidence: InterpretabilityConfidence = None,
    hypothesis_confidence: HypothesisConfidence = None,
    stability_score: StabilityScore = None,
    research_label: ResearchLabel = None,
    hypothesis: Hypothesis = None,
    if_unchanged_since: IfUnchangedSince = None,
    force: Force = False,
) -> Annotated[CallToolResult, LabelSavedJson]:
    """Save a feature's label: the record plus the label lint's warnings (never blocking; read
    them). Unset values keep the stored ones. The feature leaves the queue and its claim ends."""
    values = {
        "name": name,
        "category": category,
        "notes": notes,
        "source": source,
        "interpretability_confidence": interpretability_confidence,
        "hypothesis_confidence": hypothesis_confidence,
        "stability_score": stability_score,
        "research_label": research_label,
        "hypothesis_expression": hypothesis,
    }
    return run_tool(
        ctx,
        lambda s: s.label(feature_id, values, force=force, if_unchanged_since=if_unchanged_since),
    )


def status(ctx: Context) -> Annotated[CallToolResult, StatusJson]:
    """Labels by source and category, and the queue's counts."""
    return run_tool(ctx, lambda s: s.status())


def history(
    ctx: Context,
    feature_id: Annotated[int | None, Field(ge=0, description="only this feature")] = None,
    limit: Annotated[
        int, Field(ge=0, description=f"the newest LIMIT events (default {HISTORY_LIMIT})")
    ] = HISTORY_LIMIT,
) -> Annotated[CallToolResult, list[EventJson]]:
    """Change events, oldest first: who did what to which feature, before and after."""
    return run_tool(ctx, lambda s: s.history(feature_id, limit), wrapped=True)


def undo(ctx: Context) -> Annotated[CallToolResult, UndoJson | None]:
    """Revert this session's newest change (a label, skip or add) with a compensating event;
    null when there is nothing to undo."""
    return run_tool(ctx, lambda s: s.undo(), wrapped=True)


# --- reading a feature ----------------------------------------------------------------------------
def overview(ctx: Context, feature_id: FeatureId) -> Annotated[CallToolResult, OverviewJson]:
    """Everything to read before naming a feature: effective max, the six activation regions
    with their top tokens, families and metadata values, red flags, the values present in every
    region, what the decoder promotes and suppresses, importance, stability, and its label."""
    return run_tool(ctx, lambda s: s.overview(feature_id))


def examples(
    ctx: Context,
    feature_id: FeatureId,
    region: Region = "top",
    k: Annotated[int, Field(ge=1, description="how many examples")] = DEFAULT_K,
    sample: Annotated[bool, Field(description="a seeded uniform sample, not the top")] = False,
    seed: Annotated[int, Field(ge=0, description="the sample's seed")] = 0,
    where: Annotated[
        str | None,
        Field(description='only examples matching a hypothesis expression ("NOT X": without X)'),
    ] = None,
) -> Annotated[CallToolResult, ExamplesJson]:
    """Read a feature's examples: the top k of a region, or a seeded sample of it (read the
    core, 25-75% of the effective max, not only the top), with tokens by family and metadata."""
    return run_tool(ctx, lambda s: s.examples(feature_id, region, k, sample, seed, where))


def test(
    ctx: Context,
    feature_id: FeatureId,
    expression: Annotated[
        str,
        Field(
            description="a hypothesis expression: token and family names, column=value, "
            'family>=LEVEL, AND, OR, NOT, parentheses, e.g. "special_charge_up>=29 AND NOT '
            'weapon=bloblobber"'
        ),
    ],
) -> Annotated[CallToolResult, HypothesisJson]:
    """Test a hypothesis on a feature before naming it: its coverage of each region, the
    core-coverage verdict (> 50% headline, 30-50% mention, < 30% tail_marker), the off rate
    where the feature is zero, lift and score (balanced accuracy; 0.5 is chance)."""
    return run_tool(ctx, lambda s: s.test(feature_id, expression))


def coverage(
    ctx: Context,
    feature_id: FeatureId,
    token: Annotated[str, Field(description="a token name, a token family name, or COLUMN=VALUE")],
) -> Annotated[CallToolResult, CoverageJson]:
    """Core coverage of one token, family or metadata value and its verdict: check it before
    headlining anything in a label."""
    return run_tool(ctx, lambda s: s.coverage(feature_id, token))


def effects(
    ctx: Context,
    feature_id: FeatureId,
    k: Annotated[int, Field(ge=1, description="how many of each")] = 10,
) -> Annotated[CallToolResult, EffectsJson]:
    """The outputs a feature's decoder row promotes and suppresses most (needs an output
    matrix): evidence for the notes."""
    return run_tool(ctx, lambda s: s.effects(feature_id, k))


def similar(
    ctx: Context,
    feature_id: FeatureId,
    method: Method = None,
    top_k: Annotated[int, Field(ge=1, description="how many neighbours")] = 10,
) -> Annotated[CallToolResult, list[NeighbourJson]]:
    """The features most similar to one feature, best first, with their labels (or, unlabeled,
    their top core families) and queue state: candidates to add to the queue."""
    return run_tool(ctx, lambda s: s.similar(feature_id, method, top_k), wrapped=True)


def contexts(
    ctx: Context,
    feature_id: FeatureId,
    region: Region = "top",
    k: Annotated[int, Field(ge=1, description="how many contexts")] = DEFAULT_K,
    before: Annotated[
        int | None, Field(ge=0, le=512, description="tokens before (default: the model's)")
    ] = None,
    after: Annotated[
        int | None, Field(ge=0, le=512, description="tokens after (default: the model's)")
    ] = None,
    seed: Annotated[int, Field(ge=0, description="the sample's seed (core and below)")] = 0,
    where: Annotated[
        str | None,
        Field(
            description='only contexts matching a hypothesis expression ("context:w AND token:,")'
        ),
    ] = None,
    seq: Annotated[
        int | None,
        Field(ge=0, description="instead, this whole sequence (a context's seq), every token"),
    ] = None,
) -> Annotated[CallToolResult, ContextsJson | SequenceActivationsJson]:
    """A sequence model's feature in context: per example, the window's tokens, this feature's
    activation at each, and ``center`` (the activating token's index); the top k of a region, a
    seeded sample for the core and below. Read the core's contexts before naming the feature.
    With ``seq``: that whole sequence with the feature's activation at every token."""
    if seq is not None:
        return run_tool(ctx, lambda s: s.sequence(feature_id, seq), wrapped=True)
    return run_tool(
        ctx, lambda s: s.contexts(feature_id, region, k, before, after, seed, where), wrapped=True
    )


def suggestions(ctx: Context, feature_id: FeatureId) -> Annotated[CallToolResult, SuggestionsJson]:
    """Suggested labels other tools wrote (Delphi, Neuronpedia), best scored first, with their
    scores: hints to test, not labels (saving a label is still your call)."""
    return run_tool(ctx, lambda s: s.suggestions(feature_id))


READ_ONLY = ToolAnnotations(read_only_hint=True)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False)

TOOLS: tuple[tuple[str, Callable[..., CallToolResult], ToolAnnotations], ...] = (
    ("next", next_feature, WRITES),
    ("overview", overview, READ_ONLY),
    ("examples", examples, READ_ONLY),
    ("test", test, READ_ONLY),
    ("coverage", coverage, READ_ONLY),
    ("effects", effects, READ_ONLY),
    ("contexts", contexts, READ_ONLY),
    ("suggestions", suggestions, READ_ONLY),
    ("similar", similar, READ_ONLY),
    ("label", label, WRITES),
    ("skip", skip, WRITES),
    ("add", add, WRITES),
    ("status", status, READ_ONLY),
    ("history", history, READ_ONLY),
    ("undo", undo, WRITES),
)
"""Name, function and annotations of every tool, in the order of the labeling loop."""
