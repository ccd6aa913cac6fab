"""The label, queue, history, dashboard and research-state stores (docs/formats.md, "Stores").

Each module reads and writes one kind of file; :mod:`labeler_tui.core.service` combines them
under the workspace lock so that every change is atomic and recorded in the history.
"""
