"""Imports point down: core <- api, demo, skill <- mcp <- cli; core <- app. A test fails when a
layer is crossed.

Every import statement of every module is read (top-level, inside functions and under
TYPE_CHECKING alike), so a lazy import cannot hide a crossing.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "labeler_tui"

UI = ("textual", "textual_plotext", "rich")
MCP = ("labeler_tui.mcp", "mcp", "mcp_types")
"""The MCP server and the SDK: only the CLI (``labeler mcp``) starts it."""
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # layer (a subpackage of labeler_tui): modules it must never import
    "core": (
        "labeler_tui.api",
        "labeler_tui.app",
        "labeler_tui.cli",
        "labeler_tui.demo",
        "labeler_tui.labeling",
        "labeler_tui.skill",
        *MCP,
        *UI,
    ),
    "api": ("labeler_tui.app", "labeler_tui.cli", *MCP, *UI),
    "demo": ("labeler_tui.api", "labeler_tui.app", "labeler_tui.cli", *MCP, *UI),
    "cli": ("labeler_tui.app", "labeler_tui.api", "textual", "textual_plotext"),
    "app": ("labeler_tui.cli", "labeler_tui.api", *MCP),
    # the MCP server is a front end over core: the CLI hands it what it needs of its own
    "mcp": (
        "labeler_tui.api",
        "labeler_tui.app",
        "labeler_tui.cli",
        "labeler_tui.demo",
        "labeler_tui.labeling",
        *UI,
    ),
    "skill": ("labeler_tui.core", "labeler_tui.cli", "labeler_tui.mcp", "labeler_tui.app", *UI),
}


def imported_modules(path: Path, package: str) -> set[str]:
    """Every module an import statement of ``path`` (a module of ``package``) names, relative
    imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def crossings(layer: str) -> list[str]:
    bad = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        package = ".".join(path.relative_to(PACKAGE.parent).parts[:-1])
        for module in sorted(imported_modules(path, package)):
            for forbidden in FORBIDDEN[layer]:
                if module == forbidden or module.startswith(forbidden + "."):
                    bad.append(f"{path.relative_to(PACKAGE.parent)} imports {module}")
    return bad


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_nothing_above_it(layer: str) -> None:
    assert crossings(layer) == []


def test_the_checker_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    """What the layer test relies on: imports inside functions and relative ones are seen."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from textual.app import App\n    from ..app import screens\n")
    found = imported_modules(module, "labeler_tui.core")
    assert {"textual.app", "textual.app.App", "labeler_tui.app.screens"} <= found
    assert "labeler_tui.app" in found


@pytest.mark.parametrize("packages", [("textual", "textual_plotext"), ("mcp", "mcp_types")])
def test_running_a_cli_command_loads_no_textual_nor_mcp(
    tmp_path: Path, packages: tuple[str, ...]
) -> None:
    """Not only the CLI's own modules: nothing it pulls in at run time imports Textual, nor the
    MCP SDK (only `labeler mcp` needs it)."""
    code = (
        "import sys\n"
        "from labeler_tui.cli.main import main\n"
        "try:\n"
        "    main(['--workspace', sys.argv[1], 'status', '--json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {packages!r})\n"
        "print('loaded:' + ','.join(loaded))\n"
    )
    from conftest import write_tiny_workspace

    write_tiny_workspace(tmp_path / "ws")
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "ws")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"labels"' in out.stdout  # the command ran
    assert out.stdout.strip().splitlines()[-1] == "loaded:"
