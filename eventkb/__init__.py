"""The `eventkb` command: ingest an event, then search, quote, ask, audit, evaluate and serve it.

It sits at the end of the flow (ingest -> store -> kb -> webapp and this CLI) and holds no logic of its own.
"""
