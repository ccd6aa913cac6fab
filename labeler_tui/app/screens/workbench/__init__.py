"""The workbench screen: queue, feature detail, label form, similar features.

``screen.py`` (layout, handlers, actions), ``workers.py`` (the jobs: every slow call),
``messages.py`` (what the jobs send back), ``queue_rows.py`` (the queue pane's rows).
"""

from labeler_tui.app.screens.workbench.screen import NARROW_WIDTH, WorkbenchScreen

__all__ = ["NARROW_WIDTH", "WorkbenchScreen"]
