"""``from labeler_tui.labeling import ...``: the Python API (see :mod:`labeler_tui.api.labeling`)."""

from labeler_tui.api.labeling import *  # noqa: F403 - this module is the API's import path
from labeler_tui.api.labeling import __all__ as __all__
