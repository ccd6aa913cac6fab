"""The demo workspace: deterministic Splatoon-3-like data with known planted structure.

It is the embedded default (created in the user's data dir when no workspace is configured)
and the ground truth the analysis tests recover: see ``truth.json`` in a written demo.
"""

from labeler_tui.demo.writer import MIN_SCALE, TRUTH_NAME, write_demo

__all__ = ["MIN_SCALE", "TRUTH_NAME", "write_demo"]
