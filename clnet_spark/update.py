"""``clnet update``: apply a batch of new and changed records, then recompute the analysis.

The batch goes through the full ingest (:func:`~clnet_spark.ingest.stage.run_ingest`, same
validation and quarantine) with a :class:`~clnet_spark.ingest.merge.MergeSink`; only the
records it sent are searched again (:func:`search_changed`) and read again for deal lines
(:func:`~clnet_spark.lines.stage.run_lines` with ``changed``), and the analysis stages
(network onwards) are recomputed from the tables, as a full run computes them. The tables end
as a full run on the final data would leave them (``tests/update/``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from functools import reduce
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark import driver_writes, io
from clnet_spark.columns import Tables
from clnet_spark.errors import ClnetError
from clnet_spark.ingest.merge import ACTION, DELETE, RECORD_KEYS, UPSERT, MergeSink, merge_changes
from clnet_spark.ingest.stage import run_ingest
from clnet_spark.lines.stage import run_lines
from clnet_spark.pipeline import recorded, run_graph_stages, warehouse_versions
from clnet_spark.run import RunContext, StageReport
from clnet_spark.search import hyperscan_engine
from clnet_spark.search.catalogue import Catalogue, load_catalogue
from clnet_spark.search.stage import ENGINES

log = logging.getLogger(__name__)


class CatalogueChangedError(ClnetError):
    """The search catalogue differs from the one the stored matches were made with."""


CATALOGUE_HASHES = "catalogue_hashes"
"""Commit metadata of a ``record_matches`` MERGE: every catalogue hash the table holds once
that commit is in (comma-separated), so the next update or rescan need not read every row."""

_UNCHANGED_ROWS = frozenset(
    {"SET TBLPROPERTIES", "UNSET TBLPROPERTIES", "VACUUM START", "VACUUM END", "OPTIMIZE"}
)
"""Delta operations that leave a table's rows as they were."""

_HISTORY_LOOKBACK = 20


def _replaces_every_row(commit: dict[str, Any]) -> bool:
    params = commit.get("operationParameters") or {}
    if commit.get("version") == 0:
        return True
    return (
        commit.get("operation") == "WRITE"
        and params.get("mode") == "Overwrite"
        and not params.get("predicate")
        and str(params.get("dynamicPartitionOverwrite", "false")).lower() != "true"
    )


def hashes_from_log(path: Path) -> set[str] | None:
    """The catalogue hashes of ``record_matches`` as its commit history states them, or None
    when the history does not say (then the rows must be read).

    Walking back from the latest commit, skipping those that change no row: a commit naming
    :data:`CATALOGUE_HASHES` gives the set; a full overwrite by the search stage gives its
    catalogue alone; so does an update's search MERGE, since an update only runs on matches
    of its own catalogue (:func:`require_catalogue`). Any other commit (a rescan's without
    the set, ``clnet forget``'s deletes, ...) leaves the answer to the rows.
    """
    try:
        history = io.open_delta_log(path).history(_HISTORY_LOOKBACK)
    except Exception:  # noqa: BLE001 - any failure: the caller reads the rows
        return None
    for commit in sorted(history, key=lambda entry: -int(entry.get("version", -1))):
        meta = io.parse_metadata(commit.get("userMetadata"))
        if CATALOGUE_HASHES in meta:
            return {h for h in meta[CATALOGUE_HASHES].split(",") if h}
        if commit.get("operation") in _UNCHANGED_ROWS:
            continue
        single = meta.get(c.CATALOGUE_HASH)
        if single and meta.get("stage") == "search":
            if _replaces_every_row(commit):
                return {single}
            if meta.get("kind") == "update":
                return {single}
        return None
    return None


def stored_catalogue_hashes(spark: SparkSession, warehouse: Path) -> set[str]:
    """Every catalogue hash ``record_matches`` holds: its rows' and its latest commit's.

    More than one hash means a rescan is under way; an empty table still names the
    catalogue of its last write in the commit metadata. Read from the commit history
    (:func:`hashes_from_log`) where it tells, else from every row.
    """
    if not io.table_exists(spark, warehouse, Tables.RECORD_MATCHES):
        return set()
    path, version = io.table_location(spark, warehouse, Tables.RECORD_MATCHES)
    if version is None:
        logged = hashes_from_log(path)
        if logged is not None:
            return logged
    log.info("record_matches: the commit history does not name its catalogues; reading rows")
    matches = io.read_table(spark, warehouse, Tables.RECORD_MATCHES)
    hashes = {row[0] for row in matches.select(c.CATALOGUE_HASH).distinct().collect()}
    committed = io.last_commit_metadata(spark, warehouse, Tables.RECORD_MATCHES)
    if c.CATALOGUE_HASH in committed:
        hashes.add(committed[c.CATALOGUE_HASH])
    return hashes


def search_changed(
    spark: SparkSession,
    ctx: RunContext,
    catalogue: Catalogue,
    keys: DataFrame,
    report: StageReport,
    metadata: dict[str, str] | None = None,
    *,
    holds: Collection[str] | None = None,
    texts: pa.Table | None = None,
) -> int:
    """Search the records named by ``keys`` again, with the configured engine (``search.engine``),
    and merge the result into ``record_matches``.

    Parameters
    ----------
    keys
        Columns source, record_id, one row per record: amended, new or deleted records (a
        deleted one, no longer in ``records``, loses its matches).
    report
        The stage report the counts go to.
    holds
        The catalogue hashes ``record_matches`` holds once this merge is committed (default:
        this catalogue's alone, as after an update), written to the commit metadata
        (:data:`CATALOGUE_HASHES`).
    texts
        The batch's records as the driver holds them (``MergeSink.changed_texts``: source,
        record_id, text, ``_action``), one row per key of ``keys``: searched on the driver and
        merged from there (:func:`search_on_driver`) when the engine is ``hyperscan``.

    Returns
    -------
    int
        The version of ``record_matches`` committed (one MERGE: a reader sees every key's old
        matches or every key's new ones).
    """
    meta = {
        **ctx.commit_metadata("search"),
        c.CATALOGUE_HASH: catalogue.hash,
        CATALOGUE_HASHES: ",".join(sorted(holds if holds is not None else {catalogue.hash})),
        **(metadata or {}),
    }
    if texts is not None and ctx.config.search.engine == "hyperscan":
        found = search_on_driver(ctx, catalogue, texts, meta)
        if found is not None:
            version, searched, matching = found
            _count(report, catalogue, searched, matching)
            return version
    records = (
        io.read_table(spark, ctx.warehouse, Tables.RECORDS)
        .join(keys, on=list(RECORD_KEYS), how="left_semi")
        .select(c.SOURCE, c.RECORD_ID, c.TEXT)
    )
    matches = ENGINES[ctx.config.search.engine](records, catalogue)
    action = F.when(F.col(c.RECORD_WEIGHT).isNull(), F.lit(DELETE)).otherwise(F.lit(UPSERT))
    changes = (
        keys.join(matches, on=list(RECORD_KEYS), how="left")
        .select(*matches.columns, action.alias("_action"))
        .localCheckpoint()
    )
    version = merge_changes(
        spark,
        ctx.warehouse,
        Tables.RECORD_MATCHES,
        changes,
        RECORD_KEYS,
        meta,
        partition_by=(c.SOURCE,),
    )
    searched = changes.agg(
        F.count(F.lit(1)).alias("keys"),
        F.count(F.when(F.col("_action") == UPSERT, 1)).alias("matching"),
    ).first()
    _count(report, catalogue, searched[0], searched[1])
    return version


def _count(report: StageReport, catalogue: Catalogue, searched: int, matching: int) -> None:
    report.counts["records searched"] = report.counts.get("records searched", 0) + searched
    report.counts["matching records"] = report.counts.get("matching records", 0) + matching
    report.counts["catalogue hash"] = catalogue.hash


def search_on_driver(
    ctx: RunContext, catalogue: Catalogue, texts: pa.Table, meta: dict[str, str]
) -> tuple[int, int, int] | None:
    """Search a small batch's records on the driver with the Hyperscan engine and merge the
    result into ``record_matches`` with ``deltalake`` (:mod:`clnet_spark.driver_writes`):
    no Spark job. Returns (version, records searched, matching records), or ``None`` when the
    driver may not write the table (the caller has Spark search and merge).

    A record the batch deletes loses its matches; one it sends gets its new matches, or loses
    its old ones when it no longer matches: the rows :func:`search_changed` merges.
    """
    hyperscan_engine.check_catalogue(catalogue)
    engine = hyperscan_engine.compiled(catalogue)
    keys = list(RECORD_KEYS)
    sent = texts.filter(pc.equal(texts.column(ACTION), UPSERT)).select([*keys, c.TEXT])
    matched = pa.Table.from_batches(
        [engine.match_batch(batch) for batch in sent.to_batches() if batch.num_rows],
        schema=hyperscan_engine.ARROW_SCHEMA,
    )
    unmatched = texts.select(keys).join(matched.select(keys), keys=keys, join_type="left anti")
    deletes = pa.table(
        {
            field.name: unmatched.column(field.name)
            if field.name in keys
            else pa.nulls(unmatched.num_rows, field.type)
            for field in hyperscan_engine.ARROW_SCHEMA
        }
    )
    changes = pa.concat_tables(
        [
            matched.append_column(ACTION, pa.array([UPSERT] * matched.num_rows, pa.string())),
            deletes.append_column(ACTION, pa.array([DELETE] * deletes.num_rows, pa.string())),
        ]
    )
    path = io.table_path(ctx.warehouse, Tables.RECORD_MATCHES)
    version = driver_writes.write(path, changes, meta, "merge", keys=keys, partition_by=(c.SOURCE,))
    if version is None:
        return None
    log.info(
        "search: %d records searched on the driver, %d match", texts.num_rows, matched.num_rows
    )
    return version, texts.num_rows, matched.num_rows


def require_catalogue(spark: SparkSession, ctx: RunContext, catalogue: Catalogue) -> None:
    """Refuse an update whose catalogue differs from the stored matches' (or mid-rescan).

    Raises
    ------
    CatalogueChangedError
        With the hashes and the command that brings the matches up to date.
    """
    stored = stored_catalogue_hashes(spark, ctx.warehouse)
    if stored and stored != {catalogue.hash}:
        raise CatalogueChangedError(
            f"record_matches in {ctx.warehouse} were made with catalogue(s) "
            f"{sorted(h[:12] for h in stored)}, the configured catalogue is "
            f"{catalogue.hash[:12]}: run `clnet rescan --warehouse {ctx.warehouse}` first"
        )


def run_update(
    spark: SparkSession,
    batches: Sequence[Path],
    ctx: RunContext,
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Apply batch folders in order, then recompute the analysis once; return the exports.

    Each batch is ingested (merged) and its records searched before the next is read, so
    several days' batches applied at once end as if applied one by one; the analysis stages
    run once, at the end.

    Raises
    ------
    CatalogueChangedError
        The configured catalogue is not the one the stored matches were made with.
    StageInputError
        The warehouse has no full run yet.
    InputContractError
        A batch file lacks a required column (before anything of that batch is written).
    """
    if not batches:
        raise ValueError("run_update: no batch folder given")
    catalogue = load_catalogue(ctx.config.catalogue_path)
    notify = on_stage or (lambda _name: None)
    require_catalogue(spark, ctx, catalogue)

    def body(state: dict[str, Any]) -> dict[str, Path]:
        changed: list[DataFrame] = []
        for number, batch in enumerate(batches, start=1):
            suffix = "" if number == 1 else f" {number}"
            sink = MergeSink(spark, ctx)
            notify("ingest")
            state["reference"] = run_ingest(spark, batch, ctx, sink, stage=f"ingest{suffix}")
            notify("search")
            with ctx.stage(f"search{suffix}") as report:
                # A batch's keys are few: broadcast, so records is read, not shuffled.
                keys = F.broadcast(sink.changed_records)
                report.tables[Tables.RECORD_MATCHES] = search_changed(
                    spark, ctx, catalogue, keys, report, texts=sink.changed_texts
                )
            changed.append(sink.changed_records)
        # What the analysis reads, kept before the lines of the changed records are replaced
        # (as a full run keeps it before its lines stage).
        ctx.input_versions = warehouse_versions(ctx.warehouse)
        notify("lines")
        run_lines(spark, ctx, changed=reduce(DataFrame.unionByName, changed))
        return run_graph_stages(
            spark, ctx, state["reference"], notify, pending=lambda name: name != "lines"
        )

    return recorded(spark, ctx, body, input_dir=list(batches), catalogue_hash=catalogue.hash)
