"""``python -m labeler_tui`` opens the app."""

from labeler_tui.app.main import main

main()
