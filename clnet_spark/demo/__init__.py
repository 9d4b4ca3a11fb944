"""Synthetic demo corpus: police records with planted county-lines groups and ground truth.

Everything here is generated; no real personal data exists in it. See ``docs/demo-corpus.md``.
"""

from __future__ import annotations

from clnet_spark.demo.generator import DemoSummary, write_demo_corpus
from clnet_spark.demo.knobs import DEFAULT_KNOBS, DemoKnobs

__all__ = ["DEFAULT_KNOBS", "DemoKnobs", "DemoSummary", "write_demo_corpus"]
