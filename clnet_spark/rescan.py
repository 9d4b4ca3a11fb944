"""``clnet rescan``: search every record again after the catalogue changed, resumably.

Records are searched partition by partition (source, year of ``recorded_at``), in a fixed
order. Each partition's matches are merged into ``record_matches`` in one MERGE (its records'
old matches replaced), and the partition is then recorded as finished in ``rescan_progress``,
keyed by (catalogue hash, source, year). A rescan killed part-way and started again skips
the finished partitions; a partition whose MERGE committed but whose progress row did not is
searched again, which replaces its matches with the same ones, so nothing is duplicated.
When every partition is finished the analysis stages are recomputed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.errors import StageInputError
from clnet_spark.ingest.merge import UPSERT, merge_changes
from clnet_spark.pipeline import recorded, run_graph_stages
from clnet_spark.run import RunContext
from clnet_spark.search.catalogue import load_catalogue
from clnet_spark.update import search_changed, stored_catalogue_hashes

log = logging.getLogger(__name__)

YEAR = "year"
PROGRESS_SCHEMA = (
    "catalogue_hash string, source string, year int, records long, run_id string, "
    "finished_at timestamp"
)
PROGRESS_KEYS = (c.CATALOGUE_HASH, c.SOURCE, YEAR)
KILL_AFTER_ENV = "CLNET_TEST_KILL_AFTER_PARTITIONS"
"""Test hook: the process kills itself (SIGKILL) after this many partitions."""


def finished_partitions(
    spark: SparkSession, warehouse: Path, catalogue_hash: str
) -> set[tuple[str, int]]:
    """(source, year) partitions already rescanned with this catalogue."""
    if not io.table_exists(spark, warehouse, Tables.RESCAN_PROGRESS):
        return set()
    rows = (
        io.read_table(spark, warehouse, Tables.RESCAN_PROGRESS)
        .where(F.col(c.CATALOGUE_HASH) == catalogue_hash)
        .select(c.SOURCE, YEAR)
        .collect()
    )
    return {(row[0], int(row[1])) for row in rows}


def record_partitions(spark: SparkSession, warehouse: Path) -> list[tuple[str, int, int]]:
    """Every (source, year, records) of ``records``, ordered by source then year."""
    rows = (
        io.read_table(spark, warehouse, Tables.RECORDS)
        .groupBy(c.SOURCE, F.year(c.RECORDED_AT).alias(YEAR))
        .count()
        .orderBy(c.SOURCE, YEAR)
        .collect()
    )
    return [(row[0], int(row[1]), int(row[2])) for row in rows]


def _kill_after() -> int | None:
    value = os.environ.get(KILL_AFTER_ENV)
    return int(value) if value else None


def run_rescan(
    spark: SparkSession,
    ctx: RunContext,
    on_stage: Callable[[str], None] | None = None,
    *,
    analyse: bool = True,
) -> dict[str, Path] | None:
    """Rescan the partitions not yet finished with the configured catalogue.

    Returns the CSV exports of the analysis, or None when nothing needed rescanning (the
    stored matches were all made with this catalogue and no rescan is under way).
    ``analyse=False`` leaves the analysis stages out (tests comparing only the matches).

    Raises
    ------
    StageInputError
        The warehouse has no ``records`` table (no full run yet).
    """
    catalogue = load_catalogue(ctx.config.catalogue_path)
    notify = on_stage or (lambda _name: None)
    if not io.table_exists(spark, ctx.warehouse, Tables.RECORDS):
        raise StageInputError(f"no records in {ctx.warehouse}: run `clnet run` first")
    done = finished_partitions(spark, ctx.warehouse, catalogue.hash)
    stored = stored_catalogue_hashes(spark, ctx.warehouse)
    partitions = record_partitions(spark, ctx.warehouse)
    todo = [(s, y, n) for s, y, n in partitions if (s, y) not in done]
    if stored <= {catalogue.hash} and (not done or not todo):
        log.info("rescan: record_matches already made with catalogue %s", catalogue.hash[:12])
        return None
    kill_after = _kill_after()

    def body(state: dict[str, Any]) -> dict[str, Path]:
        notify("search")
        records = io.read_table(spark, ctx.warehouse, Tables.RECORDS)
        with ctx.stage("search") as report:
            report.counts["partitions"] = len(partitions)
            report.counts["partitions finished before"] = len(partitions) - len(todo)
            for number, (source, year, _n) in enumerate(todo, start=1):
                keys = records.where(
                    (F.col(c.SOURCE) == source) & (F.year(c.RECORDED_AT) == year)
                ).select(c.SOURCE, c.RECORD_ID)
                extra = {"rescan_partition": f"{source}/{year}"}
                # The old catalogues' matches stay until the last partition is searched.
                holds = {catalogue.hash} | (stored if number < len(todo) else set())
                report.tables[Tables.RECORD_MATCHES] = search_changed(
                    spark, ctx, catalogue, keys, report, extra, holds=holds
                )
                report.tables[Tables.RESCAN_PROGRESS] = _finish(
                    spark, ctx, catalogue.hash, source, year, _n
                )
                report.counts["partitions searched"] = number
                log.info("rescan: partition %s/%d done (%d of %d)", source, year, number, len(todo))
                if kill_after is not None and number >= kill_after:
                    log.warning("rescan: %s=%d, killing this process", KILL_AFTER_ENV, kill_after)
                    os.kill(os.getpid(), signal.SIGKILL)
        latest = records.agg(F.max(c.RECORDED_AT)).first()[0]
        state["reference"] = ctx.as_of_date or (latest.date() if latest else ctx.run_day)
        if not analyse:
            return {}
        return run_graph_stages(spark, ctx, state["reference"], notify)

    return recorded(spark, ctx, body, input_dir=None, catalogue_hash=catalogue.hash)


def _finish(
    spark: SparkSession, ctx: RunContext, catalogue_hash: str, source: str, year: int, n: int
) -> int:
    row = (
        catalogue_hash,
        source,
        year,
        n,
        ctx.run_id,
        dt.datetime.now(dt.UTC).replace(tzinfo=None),
    )
    progress = spark.createDataFrame([row], PROGRESS_SCHEMA).withColumn("_action", F.lit(UPSERT))
    return merge_changes(
        spark,
        ctx.warehouse,
        Tables.RESCAN_PROGRESS,
        progress,
        PROGRESS_KEYS,
        ctx.commit_metadata("rescan"),
    )
