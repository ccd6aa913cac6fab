"""The Python API for agents' scripts, with the names of SplatNLP's ``mechinterp`` labeler.

:mod:`labeler_tui.api.labeling` (queue, labels, builders, similar features; also importable as
``labeler_tui.labeling``) and :mod:`labeler_tui.api.context` (``load_context``, also
``from labeler_tui import load_context``). Both sit on the same service as the CLI and the app.
"""
