"""Renderers of the lifecycle trace (TRACE-*): a terminal timeline (text.py), a
self-contained HTML page (html.py) and ``python -m phprt trace`` (cli.py). The events
themselves are recorded by the engine (phprt/engine/trace.py); this package depends on
it, never the reverse."""
