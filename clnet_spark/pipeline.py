"""Run the stages in order and record the run in the ``run_log`` table."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import SparkSession

from clnet_spark import io
from clnet_spark.analysis.dismantling_stage import run_dismantling
from clnet_spark.analysis.stage import run_centrality, run_priority
from clnet_spark.columns import Tables
from clnet_spark.groups.stage import run_groups
from clnet_spark.harm.stage import run_harm
from clnet_spark.ingest.stage import run_ingest
from clnet_spark.lines.stage import run_group_lines, run_lines
from clnet_spark.network.stage import run_network
from clnet_spark.recovery import RunJournal
from clnet_spark.report.exports import write_exports
from clnet_spark.run import RunContext
from clnet_spark.safeguarding.stage import run_safeguarding
from clnet_spark.search.catalogue import load_catalogue
from clnet_spark.search.stage import run_search

log = logging.getLogger(__name__)

STAGES = (
    "ingest",
    "search",
    "lines",
    "network",
    "groups",
    "group lines",
    "harm",
    "safeguarding",
    "centrality",
    "priority",
    "dismantling",
    "report",
)

RUN_LOG_SCHEMA = (
    "run_id string, kind string, user string, started_at timestamp, ended_at timestamp, "
    "input string, reference_date date, catalogue_hash string, config_hash string, "
    "tables string, counts string, outcome string"
)


def record_run(
    spark: SparkSession,
    ctx: RunContext,
    *,
    input_dir: Path | None,
    reference: dt.date | None,
    catalogue_hash: str | None,
    outcome: str,
) -> None:
    """Append one row describing this run to ``run_log`` (counts only, no personal data)."""
    tables = {name: v for report in ctx.reports for name, v in report.tables.items()}
    counts = {report.stage: report.counts for report in ctx.reports}
    row = (
        ctx.run_id,
        ctx.kind,
        ctx.user,
        ctx.started_at.replace(tzinfo=None),
        dt.datetime.now(dt.UTC).replace(tzinfo=None),
        str(input_dir) if input_dir else None,
        reference,
        catalogue_hash,
        ctx.config.config_hash(),
        json.dumps(tables, sort_keys=True),
        json.dumps(counts, sort_keys=True, default=str),
        outcome,
    )
    frame = spark.createDataFrame([row], RUN_LOG_SCHEMA)
    frame.write.format("delta").mode("append").save(
        str(io.table_path(ctx.warehouse, Tables.RUN_LOG))
    )


def run_all(
    spark: SparkSession,
    input_dir: Path,
    ctx: RunContext,
    on_stage: Callable[[str], None] | None = None,
    *,
    resume: bool = False,
) -> dict[str, Path]:
    """Run every stage on one export folder; return the CSV exports written.

    The search catalogue is validated before any data is read. With ``resume``, the stages
    an interrupted run on the same inputs completed are skipped (see
    :mod:`clnet_spark.recovery`); the report stage always runs.
    """
    catalogue = load_catalogue(ctx.config.catalogue_path)
    notify = on_stage or (lambda _name: None)
    journal = RunJournal.begin(spark, ctx, input_dir, catalogue.hash, STAGES, resume=resume)
    reference: dt.date | None = journal.reference_date
    try:
        steps: dict[str, Callable[[], object]] = {
            "search": lambda: run_search(spark, ctx, catalogue),
            "lines": lambda: run_lines(spark, ctx),
            "network": lambda: run_network(spark, ctx),
            "groups": lambda: run_groups(spark, ctx),
            "group lines": lambda: run_group_lines(spark, ctx),
            "harm": lambda: run_harm(spark, ctx, reference),
            "safeguarding": lambda: run_safeguarding(spark, ctx, reference),
            "centrality": lambda: run_centrality(spark, ctx),
            "priority": lambda: run_priority(spark, ctx, reference),
            "dismantling": lambda: run_dismantling(spark, ctx),
        }
        if journal.pending("ingest"):
            notify("ingest")
            reference = run_ingest(spark, input_dir, ctx)
        for name, step in steps.items():
            if journal.pending(name):
                notify(name)
                step()
        notify("report")
        with ctx.stage("report") as report:
            exports = write_exports(spark, ctx.warehouse)
            report.counts["CSV files"] = len(exports)
    except Exception:
        if not any(report.tables for report in ctx.reports):
            raise  # failed before writing any table: leave the warehouse untouched
        record_run(
            spark,
            ctx,
            input_dir=input_dir,
            reference=reference,
            catalogue_hash=catalogue.hash,
            outcome="failed",
        )
        raise
    record_run(
        spark,
        ctx,
        input_dir=input_dir,
        reference=reference,
        catalogue_hash=catalogue.hash,
        outcome="succeeded",
    )
    return exports
