"""The JSON shape of every result: what ``labeler COMMAND --json`` prints and the MCP server's
tools return.

One ``TypedDict`` per result (closed unless it holds a label record, whose unknown fields are
kept), beside the builders of the results that are plain values rather than a core object's
``to_json()``. The published JSON Schemas (``docs/schemas/``) are generated from these types, and
a test validates every command's real output against them, so a change of shape is a change
here, then ``python scripts/write_schemas.py``.
"""
