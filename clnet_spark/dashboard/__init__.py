"""The analyst dashboard (Flask) on the Delta outputs of one recorded run.

Start it with ``clnet dashboard --warehouse DIR``; see ``docs/dashboard.md``.
"""
