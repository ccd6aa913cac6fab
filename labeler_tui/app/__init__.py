"""The Textual app (``labeler-tui``): one workbench screen over the core's labeling service.

Where things live: ``app.py`` (the App, keymap, ``perform``), ``actions.py`` (every user action,
declared once), ``screens/workbench.py`` (layout, handlers, actions), ``workers.py`` (every
slow call, in thread workers), ``messages.py`` (what workers post back), ``backend.py`` (the
one door to the core: service, data, analysis), ``queue_rows.py``, ``widgets/`` (queue list,
feature detail, histogram, label form, similar sidebar, status line), the progress, help and
modal screens (``screens/``) and the command palette (``commands.py``). Nothing here holds
store or analysis logic: it calls :mod:`labeler_tui.core`.
"""
