"""Commands for agents: ``mcp`` (the Model Context Protocol server over stdio) and ``skill``
(the agents' guide)."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from labeler_tui.cli.analysis_commands import overview_text
from labeler_tui.cli.context import CliContext
from labeler_tui.core.records import check_source
from labeler_tui.core.results.data import SkillJson


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "mcp",
        parents=[common],
        help="serve the labeling tools to agents over MCP (stdio)",
        description="A Model Context Protocol server on stdin/stdout for one workspace and "
        "model: tools next (with a claim), overview, examples, test, coverage, effects, "
        "similar, label, skip, add, status, history and undo, each returning the matching "
        "command's --json; resources feature://MODEL/ID (the overview as text) and "
        "labeler://skill. Each connection's claims are held for its own owner (--owner with the "
        "client's name and a session id) and given back when it disconnects.",
    )
    p.add_argument(
        "--owner",
        metavar="NAME",
        help="whose session it is (default: [labeler] owner, else your login name)",
    )
    p.add_argument(
        "--source",
        "-s",
        metavar="S",
        help="provenance of the labels (default: the client's name from the MCP handshake)",
    )
    p.set_defaults(handler=cmd_mcp)

    p = sub.add_parser(
        "skill",
        parents=[common],
        help="print the agents' guide (a SKILL.md)",
        description="Print the guide for agents labeling with labeler: the workflow and the "
        "label-quality rules, through the CLI and the MCP server.",
    )
    p.set_defaults(handler=cmd_skill)


def cmd_mcp(ctx: CliContext) -> int:
    from labeler_tui.mcp.server import build_server, serve_stdio

    args = ctx.args
    source = None if args.source is None else check_source(args.source)
    model = ctx.model  # a bad workspace or model fails here, before the protocol starts
    server = build_server(
        ctx.workspace, model, owner=args.owner, source=source, overview_text=overview_text
    )
    serve_stdio(server)
    return 0


def cmd_skill(ctx: CliContext) -> int:
    from labeler_tui.skill import skill_text

    text = skill_text()

    def human(_console: Console) -> None:
        sys.stdout.write(text)  # the Markdown as it is, byte for byte

    ctx.emit(SkillJson(text=text), human)
    return 0
