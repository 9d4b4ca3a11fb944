"""Recovery after an interrupted run: the run journal, resumption, and stale state.

The journal ``<warehouse>/_clnet/run_state.json`` is rewritten atomically after every stage
of a run completes (:func:`clnet_spark.io.write_text_atomic`). It holds the run's identity,
a fingerprint of its inputs and the report of every completed stage (the Delta versions it
wrote, its counts). From it the next run on the warehouse

- records a run that never recorded itself (killed, so no ``run_log`` row) in ``run_log``
  with outcome ``interrupted`` and the tables its completed stages wrote;
- with ``resume=True`` (``clnet run --resume``), skips the stages that run completed, when
  nothing it depended on has changed: the same input files (names, sizes, modification
  times), configuration, search catalogue, reference date, run day, pseudonym key, and every
  table those stages wrote still at the version they wrote. Otherwise it says why and runs
  every stage.

:func:`clean_stale_state` removes the checkpoint folders of earlier Spark sessions (a killed
run leaves its own behind); it must only be called while holding the warehouse lock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.locking import STATE_DIR
from clnet_spark.run import RunContext, StageReport

log = logging.getLogger(__name__)

JOURNAL_NAME: Final = "run_state.json"
REFERENCE_COUNT: Final = "reference date"
"""The ingest stage's count holding the run's reference date (ISO), kept for resumption."""
RESUMED_FROM: Final = "resumed from run"
KEY_SOURCES: Final = ("CLNET_PSEUDONYM_KEY", "CLNET_KEY_FILE")


def journal_path(warehouse: Path) -> Path:
    return warehouse / STATE_DIR / JOURNAL_NAME


def _key_material() -> bytes:
    """The pseudonym key as configured (hashed into the fingerprint, never stored)."""
    key = os.environ.get(KEY_SOURCES[0])
    if key:
        return key.encode()
    key_file = Path(os.environ.get(KEY_SOURCES[1], "~/.config/clnet/pseudonym.key")).expanduser()
    try:
        return key_file.read_bytes()
    except OSError:
        return b""


def fingerprint(ctx: RunContext, input_dir: Path, catalogue_hash: str) -> str:
    """SHA-256 of everything a completed stage's output depends on besides the code."""
    digest = hashlib.sha256(b"clnet-resume-v1\0")
    root = input_dir.resolve()
    digest.update(str(root).encode())
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        info = path.stat()
        digest.update(f"{path.relative_to(root)}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    for part in (
        ctx.config.config_hash(),
        catalogue_hash,
        ctx.kind,
        str(ctx.as_of_date),
        ctx.run_day.isoformat(),
    ):
        digest.update(f"{part}\0".encode())
    digest.update(hashlib.sha256(_key_material()).digest())
    return digest.hexdigest()


def latest_version_on_disk(table: Path) -> int | None:
    """The newest committed version of a Delta table, from its ``_delta_log`` file names."""
    log_dir = table / "_delta_log"
    versions = [int(p.stem) for p in log_dir.glob("*.json") if p.stem.isdigit()]
    return max(versions) if versions else None


def _report_to_json(report: StageReport) -> dict[str, Any]:
    return json.loads(json.dumps(dataclasses.asdict(report), default=str))


def _report_from_json(data: dict[str, Any]) -> StageReport:
    return StageReport(
        data["stage"], float(data["seconds"]), dict(data["tables"]), dict(data["counts"])
    )


class RunJournal:
    """The journal of the current run; decides which stages a resumed run skips.

    Use :meth:`begin` at the start of a run; then :meth:`pending` before each stage.
    """

    def __init__(
        self,
        ctx: RunContext,
        state: dict[str, Any],
        skipped: frozenset[str],
        reference_date: dt.date | None,
    ) -> None:
        self.ctx = ctx
        self.state = state
        self.skipped = skipped
        self.reference_date = reference_date
        """The reference date of the interrupted run, when its ingest stage is skipped."""

    @classmethod
    def begin(
        cls,
        spark: SparkSession,
        ctx: RunContext,
        input_dir: Path,
        catalogue_hash: str,
        stages: Sequence[str],
        *,
        resume: bool = False,
    ) -> RunJournal:
        """Read the previous journal, record an interrupted run, start this run's journal.

        With ``resume``, the stages the interrupted run completed are restored into
        ``ctx.reports`` (their counts gain ``resumed from run``) and skipped.
        """
        path = journal_path(ctx.warehouse)
        previous = _load(path)
        current = fingerprint(ctx, input_dir, catalogue_hash)
        if previous is not None:
            _record_if_interrupted(spark, ctx, previous, catalogue_hash)
        restored: list[StageReport] = []
        if resume:
            restored = _resumable(previous, current, stages, ctx.warehouse)
        reference: dt.date | None = None
        for report in restored:
            report.counts[RESUMED_FROM] = previous["run_id"] if previous else None
            ctx.reports.append(report)
        if restored and previous is not None and previous.get("reference_date"):
            reference = dt.date.fromisoformat(previous["reference_date"])
        state = {
            "run_id": ctx.run_id,
            "kind": ctx.kind,
            "user": ctx.user,
            "started_at": ctx.started_at.isoformat(),
            "input": str(input_dir.resolve()),
            "config_hash": ctx.config.config_hash(),
            "catalogue_hash": catalogue_hash,
            "fingerprint": current,
            "resumed_from": previous["run_id"] if restored and previous else None,
            "reference_date": reference.isoformat() if reference else None,
            "stages": [_report_to_json(r) for r in restored],
        }
        journal = cls(ctx, state, frozenset(r.stage for r in restored), reference)
        journal._write()
        ctx.on_stage_done.append(journal.stage_done)
        if restored:
            log.info(
                "resuming run %s: skipping %s",
                state["resumed_from"],
                ", ".join(r.stage for r in restored),
            )
        return journal

    def pending(self, stage: str) -> bool:
        """Whether ``stage`` must run (False: a resumed run restored it)."""
        return stage not in self.skipped

    def stage_done(self, report: StageReport) -> None:
        """Add a completed stage to the journal (called by :meth:`RunContext.stage`)."""
        self.state["stages"].append(_report_to_json(report))
        if REFERENCE_COUNT in report.counts and report.stage == "ingest":
            self.state["reference_date"] = str(report.counts[REFERENCE_COUNT])
        self._write()

    def _write(self) -> None:
        io.write_text_atomic(
            journal_path(self.ctx.warehouse), json.dumps(self.state, indent=1, sort_keys=True)
        )


def _load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # written atomically, so only a foreign edit
        log.warning("run journal %s unreadable (%s): ignored", path, type(exc).__name__)
        return None


def _resumable(
    previous: dict[str, Any] | None, current: str, stages: Sequence[str], warehouse: Path
) -> list[StageReport]:
    """The reports of the interrupted run's completed stages, if it can be resumed."""
    if previous is None:
        log.info("resume: no earlier run on this warehouse; running every stage")
        return []
    done = [_report_from_json(s) for s in previous.get("stages", [])]
    names = [r.stage for r in done]
    if previous.get("fingerprint") != current:
        log.info(
            "resume: run %s had other inputs, settings or run day; running every stage",
            previous.get("run_id"),
        )
        return []
    if len(names) >= len(stages) or names != list(stages[: len(names)]):
        log.info(
            "resume: run %s completed %s, not a prefix of the stages; running every stage",
            previous.get("run_id"),
            names or "no stage",
        )
        return []
    # A table several stages write (network, then groups, write cl_nominals) must be at the
    # version the last completed stage writing it left; if anything wrote it since (the
    # killed stage, or another run), that stage and every later one run again.
    last_write: dict[str, tuple[int, int]] = {}
    for index, report in enumerate(done):
        for table, version in report.tables.items():
            last_write[table] = (index, version)
    keep = len(done)
    for table, (index, version) in sorted(last_write.items()):
        found = latest_version_on_disk(io.table_path(warehouse, table))
        if found != version:
            log.info(
                "resume: %s is at version %s, run %s left version %s; rerunning from stage %s",
                table,
                found,
                previous.get("run_id"),
                version,
                done[index].stage,
            )
            keep = min(keep, index)
    return done[:keep]


def _record_if_interrupted(
    spark: SparkSession, ctx: RunContext, previous: dict[str, Any], catalogue_hash: str
) -> None:
    """Add the run_log row a killed run could not write (outcome ``interrupted``)."""
    from clnet_spark.pipeline import record_run  # the pipeline imports this module

    run_id = previous.get("run_id")
    if io.table_exists(spark, ctx.warehouse, Tables.RUN_LOG):
        logged = (
            io.read_table(spark, ctx.warehouse, Tables.RUN_LOG)
            .where(F.col("run_id") == F.lit(run_id))
            .limit(1)
            .count()
        )
        if logged:
            return
    reports = [_report_from_json(s) for s in previous.get("stages", [])]
    if not any(r.tables for r in reports):
        return  # wrote nothing that a completed stage vouches for: nothing to record
    if previous.get("config_hash") != ctx.config.config_hash():
        log.warning(
            "run %s was interrupted (no run_log row) and had other settings: not recorded",
            run_id,
        )
        return
    interrupted = RunContext(
        ctx.warehouse,
        ctx.config,
        kind=previous.get("kind", "full"),
        run_id=run_id,
        started_at=dt.datetime.fromisoformat(previous["started_at"]),
        user=previous.get("user", ""),
        reports=reports,
    )
    reference = previous.get("reference_date")
    record_run(
        spark,
        interrupted,
        input_dir=Path(previous["input"]) if previous.get("input") else None,
        reference=dt.date.fromisoformat(reference) if reference else None,
        catalogue_hash=previous.get("catalogue_hash", catalogue_hash),
        outcome="interrupted",
    )
    log.warning("run %s was interrupted: recorded in run_log as interrupted", run_id)


def clean_stale_state(spark: SparkSession, warehouse: Path) -> list[Path]:
    """Remove checkpoint folders of earlier Spark sessions under ``<warehouse>/_checkpoints``.

    Call only while holding the warehouse lock (no other run is using them). Returns the
    folders removed.
    """
    checkpoints = warehouse / "_checkpoints"
    current_dir = spark.sparkContext.getCheckpointDir()
    current = Path(current_dir.removeprefix("file:")).resolve() if current_dir else None
    removed: list[Path] = []
    if not checkpoints.is_dir():
        return removed
    for folder in checkpoints.iterdir():
        if folder.resolve() != current:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    if removed:
        log.info("removed %d stale checkpoint folders under %s", len(removed), checkpoints)
    return removed
