"""RunContext: stage reports, including those of a stage that fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from clnet_spark.config import load_config
from clnet_spark.run import RunContext


def test_a_failed_stage_keeps_what_it_wrote(tmp_path: Path) -> None:
    ctx = RunContext(tmp_path, load_config())
    with ctx.stage("ingest") as report:
        report.tables["nominals"] = 0
    with pytest.raises(KeyError), ctx.stage("search") as report:
        report.tables["record_matches"] = 3
        raise KeyError("boom")
    assert [(r.stage, r.tables, r.counts.get("failed")) for r in ctx.reports] == [
        ("ingest", {"nominals": 0}, None),
        ("search", {"record_matches": 3}, "KeyError"),
    ]
    assert all(r.seconds >= 0 for r in ctx.reports)
