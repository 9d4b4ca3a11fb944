"""What every stage of one run shares: its identity, warehouse, configuration and reports."""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clnet_spark import guard
from clnet_spark.config import ClnetConfig

log = logging.getLogger(__name__)

DRIVER_MEMORY = "driver memory peak (MB)"
"""Each stage's count of the driver's memory high-water marks so far (see ``guard``)."""


@dataclass
class StageReport:
    """What a stage read and wrote, for the log and the run summary."""

    stage: str
    seconds: float = 0.0
    tables: dict[str, int] = field(default_factory=dict)
    """Delta table name -> version written."""
    counts: dict[str, Any] = field(default_factory=dict)
    """Named row counts (and small tables of counts) worth showing to an analyst."""


def current_user() -> str:
    """Who runs clnet: env ``CLNET_USER`` when set (a scheduler names the person or service
    account behind it), else the operating-system user."""
    return os.environ.get("CLNET_USER") or getpass.getuser()


@dataclass
class RunContext:
    """Identity and settings of one run, passed to every stage."""

    warehouse: Path
    config: ClnetConfig
    kind: str = "full"
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    as_of_date: dt.date | None = None
    user: str = field(default_factory=current_user)
    host: str = field(default_factory=socket.gethostname)
    reports: list[StageReport] = field(default_factory=list)
    on_stage_done: list[Callable[[StageReport], None]] = field(default_factory=list)
    """Called with each stage's report when the stage completes (the run journal)."""
    input_versions: dict[str, int] = field(default_factory=dict)
    """Every table's Delta version when the analysis stages started (see the run log)."""

    @property
    def run_day(self) -> dt.date:
        """The day the run started (UTC): records dated after it are future-dated."""
        return self.started_at.date()

    def commit_metadata(self, stage: str) -> dict[str, str]:
        return {"run_id": self.run_id, "stage": stage, "kind": self.kind, "user": self.user}

    @contextmanager
    def stage(self, name: str) -> Iterator[StageReport]:
        """Time a stage and keep its report."""
        report = StageReport(name)
        log.info("stage %s: started (run %s)", name, self.run_id)
        guard.stage_started(name)
        start = time.perf_counter()
        try:
            yield report
        except BaseException as exc:
            report.seconds = time.perf_counter() - start
            report.counts["failed"] = type(exc).__name__
            self.reports.append(report)  # kept so the run log records what was written
            log.error(
                "stage %s: failed after %.1f s (%s)", name, report.seconds, type(exc).__name__
            )
            raise
        report.seconds = time.perf_counter() - start
        report.counts[DRIVER_MEMORY] = guard.driver_memory()
        self.reports.append(report)
        log.info("stage %s: done in %.1f s, wrote %s", name, report.seconds, report.tables)
        for listener in self.on_stage_done:
            listener(report)
