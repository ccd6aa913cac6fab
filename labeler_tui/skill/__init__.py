"""The agents' guide (``SKILL.md``, a Claude Code skill file), shipped with the package: the
labeling workflow and the label-quality guidance, through the CLI and the MCP server. ``labeler
skill`` prints it; the MCP server serves it as a resource."""

from __future__ import annotations

from importlib.resources import files

SKILL_FILE = "SKILL.md"


def skill_text() -> str:
    """The guide's Markdown, as shipped."""
    return files(__name__).joinpath(SKILL_FILE).read_text(encoding="utf-8")
