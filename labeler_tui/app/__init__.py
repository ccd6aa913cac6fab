"""The Textual app (``labeler-tui``): one workbench screen over the core's labeling service.

Where things live: ``app.py`` (the App: backends, keymap, ``perform``), ``actions.py`` (every
user action, declared once), ``backend.py`` (the one door to the core for one model: service,
lease, data, analysis), ``jobs.py`` (thread jobs returning messages, and failure reporting),
``screens/workbench/`` (the main screen, its jobs, their messages, the queue rows),
``widgets/`` (queue list, feature detail, histogram, label form, similar sidebar, status line),
the progress, help and modal screens (``screens/``) and the command palette (``commands.py``).
Nothing here holds store or analysis logic: it calls :mod:`labeler_tui.core`.
"""
