"""The Model Context Protocol server (``labeler mcp``): the labeling service as tools for
agents, over stdio, built on the official ``mcp`` SDK.

``session.py`` is one client's session (owner, source, claim), ``tools.py`` the tools (typed
parameters, results as the CLI's JSON), ``server.py`` the server that ties them with the
feature pages and the agents' guide as resources.
"""
