"""``labeler-tui [--workspace DIR] [--model NAME]``: open the labeling app.

The workspace is found as the CLI finds it (the demo is created on first use); a bad workspace
or model is one line on stderr and exit 1, before the terminal is taken over."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from labeler_tui.core.data import ProgressCallback
from labeler_tui.core.errors import LabelerError


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="labeler-tui", description="Keyboard-driven SAE feature labeling app."
    )
    parser.add_argument("--workspace", metavar="DIR", help="workspace folder (or its labeler.toml)")
    parser.add_argument(
        "--model", metavar="NAME", help="model to open (default: the workspace's default_model)"
    )
    return parser.parse_args(argv)


def _stage_printer() -> ProgressCallback:
    """Say once per stage what first use is doing (writing the demo takes a few seconds)."""
    seen: set[str] = set()

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in seen:
            seen.add(stage)
            print(f"labeler-tui: {stage}…", file=sys.stderr, flush=True)

    return progress


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    from labeler_tui.core.sanitize import visible
    from labeler_tui.core.workspace import Workspace
    from labeler_tui.demo import demo_config

    try:
        workspace = Workspace.open(args.workspace, progress=_stage_printer(), fallback=demo_config)
        model = workspace.model_name(args.model)
        from labeler_tui.app.app import LabelerApp

        app = LabelerApp(workspace, model)
    except LabelerError as exc:
        print(visible(f"labeler-tui: error: {exc}"), file=sys.stderr)
        sys.exit(1)
    try:
        app.run()
    finally:
        app.release_claim()  # however the app ended (a crash included), give the lease back
    sys.exit(app.return_code or 0)
