"""The ``labeler`` command: thin argument parsing over ``labeler_tui.core``."""

from labeler_tui.cli.main import main

__all__ = ["main"]
