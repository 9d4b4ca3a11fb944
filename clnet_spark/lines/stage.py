"""The deal-lines stage: every record's text -> ``record_lines`` and ``lines``.

Runs right after search (a line is active when an identified record mentions it, so it reads
``record_matches``); the network stage then reads both tables. After the groups stage,
:func:`run_group_lines` writes ``group_lines``: the lines each group's members' records
mention. Rules and known misses: ``docs/lines.md``.
"""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark import driver_writes, io
from clnet_spark.columns import Tables
from clnet_spark.ingest.merge import (
    ACTION,
    UPSERT,
    deletes_of,
    merge_changes,
    with_batch_winning,
)
from clnet_spark.lines.extract import NUMBER, extract_record_lines, group_line_table, line_table
from clnet_spark.run import RunContext

log = logging.getLogger(__name__)


def run_lines(spark: SparkSession, ctx: RunContext, changed: DataFrame | None = None) -> None:
    """Extract the deal lines of every record; write ``record_lines`` and ``lines``.

    With ``changed`` (columns source, record_id: the records an update sent, new, amended or
    deleted), only those records are read again: their rows of ``record_lines`` are replaced
    in one MERGE, and ``lines`` is recomputed from the whole ``record_lines``. A warehouse
    without ``record_lines`` gets the full extraction.
    """
    with ctx.stage("lines") as report:
        records = io.read_table(spark, ctx.warehouse, Tables.RECORDS)
        matches = io.read_table(spark, ctx.warehouse, Tables.RECORD_MATCHES)
        meta = ctx.commit_metadata("lines")
        # An update's few changed rows are committed from the driver (``update.driver_rows``).
        driver_rows = ctx.config.update.driver_rows if changed is not None else 0
        if changed is not None and io.table_exists(spark, ctx.warehouse, Tables.RECORD_LINES):
            changed = changed.select(c.SOURCE, c.RECORD_ID).dropDuplicates().localCheckpoint()
            report.tables[Tables.RECORD_LINES] = _merge_changed(spark, ctx, records, changed, meta)
            report.counts["records read again"] = changed.count()
        else:
            found = extract_record_lines(records.select(c.SOURCE, c.RECORD_ID, c.TEXT))
            report.tables[Tables.RECORD_LINES] = io.write_table(
                found, ctx.warehouse, Tables.RECORD_LINES, metadata=meta
            )
        record_lines = io.read_table(spark, ctx.warehouse, Tables.RECORD_LINES)
        lines = line_table(record_lines, records, matches)
        report.tables[Tables.LINES] = driver_writes.write_frame(
            lines, ctx.warehouse, Tables.LINES, meta, driver_rows
        )

        written = io.read_table(spark, ctx.warehouse, Tables.LINES)
        totals = written.agg(
            F.count(F.lit(1)).alias("lines"),
            F.count(F.when(F.col(c.LINE_KIND) == NUMBER, 1)).alias("numbers"),
            F.count(F.when(F.col(c.ACTIVE), 1)).alias("active"),
        ).first()
        report.counts.update(
            {
                "records mentioning a line": record_lines.select(c.SOURCE, c.RECORD_ID)
                .dropDuplicates()
                .count(),
                "lines": totals["lines"],
                "lines: numbers": totals["numbers"],
                "lines: names": totals["lines"] - totals["numbers"],
                "active lines": totals["active"],
            }
        )
        log.info("lines: %d lines, %d active", totals["lines"], totals["active"])


def _merge_changed(
    spark: SparkSession,
    ctx: RunContext,
    records: DataFrame,
    changed: DataFrame,
    meta: dict[str, str],
) -> int:
    """Replace the ``record_lines`` rows of the changed records (one row per record, columns
    source, record_id); return the version committed."""
    keys = [c.SOURCE, c.RECORD_ID]
    row_keys = [*keys, c.LINE_ID]
    few = F.broadcast(changed)  # a batch's records: not worth shuffling the tables for
    # The batch's texts are taken first: Spark would otherwise push the line patterns below
    # the join and run them on every record of the table.
    texts = (
        records.join(few, on=keys, how="left_semi")
        .select(c.SOURCE, c.RECORD_ID, c.TEXT)
        .localCheckpoint()
    )
    found = extract_record_lines(texts).localCheckpoint()  # read twice below: extracted once
    stale = io.read_table(spark, ctx.warehouse, Tables.RECORD_LINES).join(
        few, on=keys, how="left_semi"
    )
    upserts = found.withColumn(ACTION, F.lit(UPSERT))
    changes = with_batch_winning(deletes_of(stale, found.columns), upserts, row_keys)
    return merge_changes(
        spark,
        ctx.warehouse,
        Tables.RECORD_LINES,
        changes,
        row_keys,
        meta,
        driver_rows=ctx.config.update.driver_rows,
    )


def run_group_lines(spark: SparkSession, ctx: RunContext) -> None:
    """Write ``group_lines`` from the groups in ``cl_nominals`` and ``record_lines``.

    A member's records are those linking it through a linking role (``network.linking_roles``).
    Does nothing (and writes nothing) when the lines stage has not run.
    """
    if not io.table_exists(spark, ctx.warehouse, Tables.RECORD_LINES):
        log.info("group lines: no record_lines table; skipped")
        return
    with ctx.stage("group lines") as report:
        nominals = io.read_table(spark, ctx.warehouse, Tables.CL_NOMINALS)
        record_nominals = io.read_table(spark, ctx.warehouse, Tables.RECORD_NOMINALS).where(
            F.col(c.ROLE).isin(*ctx.config.network.linking_roles)
        )
        record_lines = io.read_table(spark, ctx.warehouse, Tables.RECORD_LINES)
        table = group_line_table(
            nominals.select(c.NOMINAL_ID, c.GROUP_ID), record_nominals, record_lines
        )
        report.tables[Tables.GROUP_LINES] = io.write_table(
            table, ctx.warehouse, Tables.GROUP_LINES, metadata=ctx.commit_metadata("group lines")
        )
        written = io.read_table(spark, ctx.warehouse, Tables.GROUP_LINES)
        report.counts["groups with a line"] = written.select(c.GROUP_ID).distinct().count()
        report.counts["(group, line) pairs"] = written.count()
