"""`labeler mcp`: the SDK's own client drives the server in-process (and once over stdio)."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import pytest
from mcp import Client, Implementation, StdioServerParameters
from mcp.server import MCPServer
from mcp_types import CallToolResult
from test_schemas import add_output_matrix

from labeler_tui.cli.analysis_commands import overview_text
from labeler_tui.cli.main import main
from labeler_tui.cli.schemas import command_schema
from labeler_tui.core.records import LabelEdit
from labeler_tui.core.service import LabelingService
from labeler_tui.core.workspace import Workspace
from labeler_tui.mcp.server import build_server
from labeler_tui.mcp.session import AgentSession
from labeler_tui.mcp.tools import TOOLS
from labeler_tui.skill import skill_text

TOOL_NAMES = [
    "next",
    "overview",
    "examples",
    "test",
    "coverage",
    "effects",
    "contexts",
    "suggestions",
    "similar",
    "label",
    "skip",
    "add",
    "status",
    "history",
    "undo",
]
WRAPPED = {"similar", "history", "undo", "contexts"}
"""Tools whose result is a list, may be null or is one of two shapes: structured content is
``{"result": ...}``."""


@pytest.fixture
def ws(tiny_workspace: Path) -> Path:
    add_output_matrix(tiny_workspace)
    return tiny_workspace


def server_for(ws: Path, **options: Any) -> MCPServer[AgentSession]:
    return build_server(Workspace.open(ws), overview_text=overview_text, **options)


@asynccontextmanager
async def connect(server: MCPServer[Any], client: str = "claude-code") -> AsyncIterator[Client]:
    async with Client(server, client_info=Implementation(name=client, version="1.0")) as session:
        yield session


def text_of(result: CallToolResult) -> str:
    assert len(result.content) == 1
    block = result.content[0]
    assert block.type == "text"
    return block.text


async def call(client: Client, tool: str, **arguments: Any) -> Any:
    """A tool's result: the CLI's JSON as text, the same as structured content, valid against
    the command's published schema."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    value = json.loads(text_of(result))
    assert result.structured_content == ({"result": value} if tool in WRAPPED else value)
    jsonschema.validate(value, command_schema(tool), cls=jsonschema.Draft202012Validator)
    return value


async def error(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error
    return text_of(result)


def cli_json(ws: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code = main([*argv, "--workspace", str(ws), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def cli_error(ws: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main([*argv, "--workspace", str(ws)])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    prefix = "labeler: error: "
    assert err.startswith(prefix)
    return err[len(prefix) :].strip()


def stored(ws: Path, name: str) -> Any:
    return json.loads((ws / name).read_text())


def claims(ws: Path) -> dict[int, str]:
    queue = stored(ws, "labels/queue_tiny.json")
    return {int(fid): claim["owner"] for fid, claim in queue.get("claims", {}).items()}


# --- the whole loop --------------------------------------------------------------------------------
async def test_a_whole_labeling_loop(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with connect(server_for(ws)) as client:
        tools = (await client.list_tools()).tools
        assert [tool.name for tool in tools] == TOOL_NAMES
        assert all(tool.description and tool.output_schema for tool in tools)
        assert not any("\n " in (tool.description or "") for tool in tools)  # no indentation
        label_params = next(t for t in tools if t.name == "label").input_schema["properties"]
        assert label_params["interpretability_confidence"]["anyOf"][0]["maximum"] == 1.0
        assert "if_unchanged_since" in label_params and label_params["source"]["default"] is None

        entry = await call(client, "next")
        fid = entry["feature_id"]
        owner = entry["claimed_by"]
        assert owner.startswith("tester/claude-code#")
        assert claims(ws) == {fid: owner}

        overview = await call(client, "overview", feature_id=fid)
        assert overview["feature_id"] == fid and overview["label"] is None
        assert [region["name"] for region in overview["regions"]][3] == "core"
        core = await call(client, "examples", feature_id=fid, region="core", k=3, sample=True)
        assert core["region"] == "core" and len(core["examples"]) == 3
        assert all(0.25 < example["fraction"] <= 0.75 for example in core["examples"])
        hypothesis = await call(client, "test", feature_id=fid, expression="swim_speed_up")
        assert hypothesis["verdict"] in ("headline", "mention", "tail_marker")
        coverage = await call(client, "coverage", feature_id=fid, token="swim_speed_up")
        assert coverage["core_coverage"] == pytest.approx(hypothesis["coverage"]["core"])
        effects = await call(client, "effects", feature_id=fid, k=3)
        assert len(effects["promoted"]) == len(effects["suppressed"]) == 3

        saved = await call(
            client,
            "label",
            feature_id=fid,
            name="Swim Mobility",
            category="tactical",
            notes="core: swim_speed_up",
            interpretability_confidence=0.7,
            hypothesis_confidence=0.6,
            hypothesis="swim_speed_up",
        )
        assert saved["source"] == "claude-code"
        assert saved["hypothesis_score"] == pytest.approx(hypothesis["score"], abs=1e-4)
        assert isinstance(saved["warnings"], list)
        assert claims(ws) == {}  # labeling ended the claim
        assert stored(ws, "labels/consolidated_tiny.json")[str(fid)]["display_name"] == (
            "Swim Mobility"
        )
        dashboard = stored(ws, "dashboard/feature_labels_tiny.json")[str(fid)]
        assert dashboard["name"] == "Swim Mobility" and dashboard["category"] == "tactical"

        neighbours = await call(client, "similar", feature_id=fid, top_k=3)
        assert len(neighbours) == 3 and fid not in [n["feature_id"] for n in neighbours]
        added = await call(
            client, "add", feature_ids=[n["feature_id"] for n in neighbours], priority=0.9
        )
        assert sorted(added["added"] + added["already_pending"]) == sorted(
            n["feature_id"] for n in neighbours
        )
        status = await call(client, "status")
        assert status["labels"]["total"] == 1
        assert status["labels"]["by_source"] == {"claude-code": 1}
        assert status["queue"]["completed"] == 1 and status["queue"]["claimed"] == 0

        events = await call(client, "history", feature_id=fid)
        assert [e["action"] for e in events] == ["add", "claim", "label"]
        assert {e["owner"] for e in events[1:]} == {owner}

        # the same JSON as the CLI's
        for tool, args, argv in [
            ("overview", {"feature_id": fid}, ["overview", "-f", str(fid)]),
            (
                "test",
                {"feature_id": fid, "expression": "comeback"},
                ["test", "-f", str(fid), "comeback"],
            ),
            ("similar", {"feature_id": fid, "top_k": 3}, ["similar", "-f", str(fid), "-k", "3"]),
            ("status", {}, ["status"]),
        ]:
            assert await call(client, tool, **args) == cli_json(ws, capsys, *argv)


async def test_two_concurrent_sessions_never_get_the_same_feature(ws: Path) -> None:
    """Two servers (two `labeler mcp` processes of the same user and client) label side by side:
    each labels only what it claimed, and no feature is served to both."""
    taken: dict[str, list[int]] = {"a": [], "b": []}

    async def work(name: str) -> None:
        async with connect(server_for(ws)) as client:
            for _ in range(4):
                entry = await call(client, "next")
                taken[name].append(entry["feature_id"])
                await anyio.sleep(0)
                await call(client, "label", feature_id=entry["feature_id"], name=f"by {name}")

    async with anyio.create_task_group() as group:
        group.start_soon(work, "a")
        group.start_soon(work, "b")

    a, b = taken["a"], taken["b"]
    assert len(set(a)) == 4 and len(set(b)) == 4 and not set(a) & set(b)
    labels = stored(ws, "labels/consolidated_tiny.json")
    assert {int(fid) for fid in labels} == set(a) | set(b)
    assert all(labels[str(fid)]["display_name"] == "by a" for fid in a)


async def test_two_open_sessions_hold_different_claims(ws: Path) -> None:
    server = server_for(ws)
    async with connect(server) as first, connect(server) as second:
        one = await call(first, "next")
        two = await call(second, "next")
        assert one["feature_id"] != two["feature_id"]
        assert one["claimed_by"] != two["claimed_by"]
        assert claims(ws) == {
            one["feature_id"]: one["claimed_by"],
            two["feature_id"]: two["claimed_by"],
        }
        # one session cannot label the other's feature
        message = await error(second, "label", feature_id=one["feature_id"], name="Mine")
        assert message.startswith(f"feature {one['feature_id']} is claimed by {one['claimed_by']}")


async def test_a_client_named_session_labels_under_its_name(ws: Path) -> None:
    async with connect(server_for(ws), client="codex") as client:
        saved = await call(client, "label", feature_id=3, name="Ink Economy")
        assert saved["source"] == "codex"
        manual = await call(client, "label", feature_id=4, name="Other", source="manual")
        assert manual["source"] == "manual"
        events = await call(client, "history", feature_id=3)
        assert events[-1]["source"] == "codex" and events[-1]["owner"].startswith("tester/codex#")
    async with connect(server_for(ws, source="claude code", owner="alice")) as client:
        saved = await call(client, "label", feature_id=5, name="Given Source")
        assert saved["source"] == "claude code"
        events = await call(client, "history", feature_id=5)
        assert events[-1]["owner"].startswith("alice/claude-code#")
    sources = {fid: r["source"] for fid, r in stored(ws, "labels/consolidated_tiny.json").items()}
    assert sources == {"3": "codex", "4": "manual", "5": "claude code"}


async def test_bad_arguments_are_tool_errors_and_the_server_goes_on(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with connect(server_for(ws)) as client:
        assert "feature_id" in await error(client, "overview", feature_id="abc")
        assert "feature_id" in await error(client, "overview")
        assert "priority" in await error(client, "add", feature_ids=[1], priority=2)
        assert "relabel" in await error(client, "relabel", feature_id=1)
        # the CLI's one-line messages
        for tool, args, argv in [
            ("overview", {"feature_id": 999}, ["overview", "-f", "999"]),
            (
                "test",
                {"feature_id": 1, "expression": "swim_sped_up"},
                ["test", "-f", "1", "swim_sped_up"],
            ),
            (
                "examples",
                {"feature_id": 1, "region": "tail"},
                ["examples", "-f", "1", "--region", "tail"],
            ),
            (
                "label",
                {"feature_id": 1, "name": "X", "category": "weird"},
                ["label", "-f", "1", "-n", "X", "--category", "weird"],
            ),
            (
                "label",
                {"feature_id": 1, "name": "X", "if_unchanged_since": "2020-01-01T00:00:00+00:00"},
                [
                    "label",
                    "-f",
                    "1",
                    "-n",
                    "X",
                    "--if-unchanged-since",
                    "2020-01-01T00:00:00+00:00",
                ],
            ),
        ]:
            message = await error(client, tool, **args)
            assert "\n" not in message
            if tool == "label" and "category" in args:
                # the CLI names its flag, the tool its parameter
                assert cli_error(ws, capsys, *argv) == message.replace(
                    "category:", "--category:", 1
                )
            else:
                assert cli_error(ws, capsys, *argv) == message
        assert "hypothesis: unknown name" in await error(
            client, "label", feature_id=1, name="X", hypothesis="nonsense_token"
        )
        # the session still serves, and nothing was written by the failures
        assert (await call(client, "status"))["labels"]["total"] == 0
        assert (await call(client, "next"))["feature_id"] is not None
    assert (
        not (ws / "labels" / "consolidated_tiny.json").exists()
        or stored(ws, "labels/consolidated_tiny.json") == {}
    )


async def test_the_claim_is_given_back_when_the_session_ends(ws: Path) -> None:
    async with connect(server_for(ws)) as client:
        first = await call(client, "next")
        second = await call(client, "next")  # the top again: one claim, renewed
        assert second["feature_id"] == first["feature_id"]
        assert claims(ws) == {second["feature_id"]: second["claimed_by"]}
        await call(client, "label", feature_id=second["feature_id"], name="Undone Soon")
        await call(client, "undo")  # the label's undo brings the claim back with the entry
        assert claims(ws) == {second["feature_id"]: second["claimed_by"]}
    assert claims(ws) == {}
    releases = [
        e for e in LabelingService(Workspace.open(ws)).history() if e["action"] == "release"
    ]
    assert releases and releases[-1]["owner"] == second["claimed_by"]


async def test_undo_reverts_only_the_sessions_own_changes(ws: Path) -> None:
    alice = LabelingService(Workspace.open(ws), owner="alice")
    alice.set_label(2, LabelEdit(name="Alice's"))
    async with connect(server_for(ws, owner="alice")) as client:
        assert await call(client, "undo") is None  # the same user, another session
        await call(client, "label", feature_id=6, name="Mine")
        undone = await call(client, "undo")
        assert undone["undone_feature_ids"] == [6] and undone["undone_action"] == "label"
        assert await call(client, "undo") is None
    labels = stored(ws, "labels/consolidated_tiny.json")
    assert set(labels) == {"2"}


async def test_skip_defaults_to_the_held_feature(ws: Path) -> None:
    async with connect(server_for(ws)) as client:
        entry = await call(client, "next")
        skipped = await call(client, "skip", reason="no core")
        assert skipped == {"feature_id": entry["feature_id"], "reason": "no core"}
        assert claims(ws) == {}
    queue = stored(ws, "labels/queue_tiny.json")
    assert entry["feature_id"] in queue["skipped"]


async def test_resources_feature_page_and_skill(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    LabelingService(Workspace.open(ws)).set_label(4, LabelEdit(name="[bold]Not markup[/]"))
    async with connect(server_for(ws)) as client:
        templates = (await client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["feature://{model}/{feature_id}"]
        page = (await client.read_resource("feature://tiny/4")).contents[0]
        assert page.mime_type == "text/plain"
        assert page.text == overview_text(cli_json(ws, capsys, "overview", "-f", "4"))
        assert page.text.startswith("Feature 4 (tiny)  [bold]Not markup[/]")
        assert "Activation regions" in page.text and "\x1b" not in page.text
        resources = (await client.list_resources()).resources
        assert [str(r.uri) for r in resources] == ["labeler://skill"]
        assert (await client.read_resource("labeler://skill")).contents[0].text == skill_text()
        for uri in ("feature://other/4", "feature://tiny/x", "feature://tiny/999"):
            with pytest.raises(Exception, match="not served|not a feature id|out of range"):
                await client.read_resource(uri)
        assert (await call(client, "status"))["model"] == "tiny"  # still serving


async def test_output_schemas_are_the_published_ones(ws: Path) -> None:
    async with connect(server_for(ws)) as client:
        for tool in (await client.list_tools()).tools:
            if tool.name in WRAPPED:
                assert tool.output_schema is not None
                assert tool.output_schema["required"] == ["result"]
                continue
            published = command_schema(tool.name)
            assert {k: v for k, v in tool.output_schema.items() if k != "title"} == {
                k: v for k, v in published.items() if k not in ("$schema", "title")
            }


def test_every_label_edit_field_is_a_label_parameter() -> None:
    import inspect

    from labeler_tui.core.records import edit_options
    from labeler_tui.mcp.session import EDIT_PARAMETERS

    label_tool = dict((name, fn) for name, fn, _ in TOOLS)["label"]
    parameters = set(inspect.signature(label_tool).parameters)
    assert {EDIT_PARAMETERS.get(o.name, o.name) for o in edit_options()} <= parameters


# --- a real process over stdio ---------------------------------------------------------------------
async def test_labeler_mcp_over_stdio(ws: Path) -> None:
    command = StdioServerParameters(
        command=sys.executable,
        args=["-c", "from labeler_tui.cli.main import run; run()", "mcp", "--workspace", str(ws)],
    )
    async with Client(command, client_info=Implementation(name="smoke", version="0")) as client:
        assert [tool.name for tool in (await client.list_tools()).tools] == TOOL_NAMES
        entry = await call(client, "next")
        assert entry["claimed_by"].startswith("tester/smoke#")
        assert claims(ws) == {entry["feature_id"]: entry["claimed_by"]}
        await call(client, "label", feature_id=entry["feature_id"], name="Over Stdio")
        await call(client, "next")
    with anyio.fail_after(30):  # the process saw its stdin close and gave the claim back
        while claims(ws):
            await anyio.sleep(0.05)
    labels = stored(ws, "labels/consolidated_tiny.json")
    assert labels[str(entry["feature_id"])]["source"] == "smoke"


def test_a_bad_model_fails_before_serving(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "model" in cli_error(ws, capsys, "mcp", "--model", "nope")
    assert cli_error(ws, capsys, "mcp", "--source", " ") == "source: must not be empty"


def test_a_stop_signal_ends_the_session_and_gives_the_claim_back(ws: Path) -> None:
    """A client that kills the server (SIGTERM) still leaves no claim behind."""
    process = subprocess.Popen(
        [sys.executable, "-c", "from labeler_tui.cli.main import run; run()", "mcp"],
        cwd=ws,  # found as the labeler.toml of the working folder
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout or ()], daemon=True
    ).start()

    def request(message: dict[str, Any]) -> dict[str, Any]:
        assert process.stdin is not None
        process.stdin.write(json.dumps(message) + "\n")
        process.stdin.flush()
        return json.loads(lines.get(timeout=60)) if "id" in message else {}

    try:
        hello = request(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "killer", "version": "0"},
                },
            }
        )
        assert hello["result"]["serverInfo"]["name"] == "labeler"
        request({"jsonrpc": "2.0", "method": "notifications/initialized"})
        called = request(
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "next", "arguments": {}},
            }
        )
        entry = called["result"]["structuredContent"]
        assert claims(ws) == {entry["feature_id"]: entry["claimed_by"]}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == -signal.SIGTERM
    finally:
        if process.poll() is None:
            process.kill()
    assert claims(ws) == {}


# --- a sequence model: contexts and suggestions ------------------------------------------------
async def test_contexts_and_suggestions_of_a_sequence_model(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lm_formats import token_matrix, write_delphi, write_tokenizer

    tokenizer = write_tokenizer(tmp_path / "hf" / "tokenizer.json")
    cache = write_delphi(
        tmp_path / "delphi", token_matrix(tokenizer, 8, 16), explanations={1: "commas"}
    )
    cli_json(
        ws,
        capsys,
        "import",
        "delphi",
        str(cache.root),
        "--tokenizer",
        str(tmp_path / "hf" / "tokenizer.json"),
    )
    async with connect(
        build_server(Workspace.open(ws), "layers.3", overview_text=overview_text)
    ) as client:
        got = await call(client, "contexts", feature_id=1, k=3, before=2)
        assert got == cli_json(
            ws, capsys, "contexts", "-f", "1", "-k", "3", "--window", "2,4", "--model", "layers.3"
        )
        seq = got["contexts"][0]["seq"]
        whole = await call(client, "contexts", feature_id=1, seq=seq)
        assert whole["activations"][got["contexts"][0]["pos"]] == got["contexts"][0]["activation"]
        suggestions = await call(client, "suggestions", feature_id=1)
        assert [s["text"] for s in suggestions["suggestions"]] == ["commas"]
    async with connect(server_for(ws)) as client:  # the tiny bag model: a tool error, not a crash
        assert "bag-of-tokens" in await error(client, "contexts", feature_id=1)
