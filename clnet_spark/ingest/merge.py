"""Merging a batch of changes into the ingest tables (``clnet update``).

A batch has the layout of a full export; every file is optional. :func:`run_ingest
<clnet_spark.ingest.stage.run_ingest>` classifies it exactly as it classifies a full export and
hands each classified table to a :class:`MergeSink`, which turns the rows into changes and
applies them with one Delta ``MERGE`` per table:

- ``records``: keyed by (source, record_id). A record in the batch replaces its previous
  version; ``is_deleted`` removes it. Either way its previous links are removed (the batch's
  links for it, if any, replace them) and its matches are searched again by the update.
- ``nominals``: keyed by nominal_id; ``is_deleted`` removes the person together with their
  links, relationships and SOC memberships.
- ``record_nominals``: keyed by (source, record_id, nominal_id, role); a link may also be sent
  on its own (its record unchanged), and ``is_deleted`` removes it.
- ``relationships``: keyed by (nominal_a, nominal_b, relationship_type, source).
- ``soc_groups``: when present, the new list replaces the previous one whole.
- ``quarantine``: the batch's quarantined rows are appended (with this run's id).

Each MERGE is one Delta commit carrying the run's commit metadata, so a reader sees a table
either before or after the batch, never half of it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import reduce
from pathlib import Path
from typing import Literal

import pyarrow as pa
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark import driver_writes, io, privacy
from clnet_spark.columns import Tables
from clnet_spark.errors import StageInputError
from clnet_spark.ingest import transforms as t
from clnet_spark.ingest.stage import (
    LINK_COLUMNS,
    NOMINAL_COLUMNS,
    RECORD_COLUMNS,
    RELATIONSHIP_COLUMNS,
    IngestSummary,
    _Classified,
    pseudonymous_relationships,
)
from clnet_spark.run import RunContext

log = logging.getLogger(__name__)

ACTION = driver_writes.ACTION
UPSERT = "upsert"
DELETE = "delete"

RECORD_KEYS = (c.SOURCE, c.RECORD_ID)
LINK_KEYS = (c.SOURCE, c.RECORD_ID, c.NOMINAL_ID, c.ROLE)
RELATIONSHIP_KEYS = (c.NOMINAL_A, c.NOMINAL_B, c.RELATIONSHIP_TYPE, c.SOURCE)


def merge_changes(
    spark: SparkSession,
    warehouse: Path,
    name: str,
    changes: DataFrame,
    keys: Sequence[str],
    metadata: dict[str, str],
    *,
    partition_by: tuple[str, ...] = (),
    driver_rows: int = 0,
    rows: pa.Table | None = None,
) -> int:
    """Apply upserts and deletes to a Delta table in one MERGE; return the version committed.

    At most ``driver_rows`` changes to an existing table are committed from the driver
    (:mod:`clnet_spark.driver_writes`), more with Spark's Delta MERGE; the table ends the same.

    Parameters
    ----------
    changes
        The table's columns plus ``_action`` (``upsert`` or ``delete``), at most one row per
        key. Keys are compared null-safely (``relationships.source`` may be null).
    keys
        The columns identifying a row of the table.
    rows
        ``changes`` as the caller has already collected them (at most ``driver_rows``), so
        the driver path does not collect them again.

    Raises
    ------
    StageInputError
        ``changes`` holds two rows for one key (Delta would refuse the MERGE; the message says
        which table).
    """
    columns = [col for col in changes.columns if col != ACTION]
    exists = io.table_exists(spark, warehouse, name)
    if exists and driver_rows and not io.is_pinned(spark, warehouse, name):
        if rows is None:
            rows = driver_writes.collect_small(changes, driver_rows)
        if rows is not None:
            version = driver_writes.write(
                io.table_path(warehouse, name),
                rows,
                metadata,
                "merge",
                keys=keys,
                partition_by=partition_by,
            )
            if version is not None:
                return version
    if not exists:
        upserts = changes.where(F.col(ACTION) == UPSERT).select(*columns)
        return io.write_table(
            upserts, warehouse, name, partition_by=partition_by, metadata=metadata
        )
    target = DeltaTable.forPath(spark, str(io.table_path(warehouse, name)))
    on = " AND ".join(f"t.`{key}` <=> s.`{key}`" for key in keys)
    values = {f"`{col}`": f"s.`{col}`" for col in columns}
    is_delete, is_upsert = f"s.{ACTION} = '{DELETE}'", f"s.{ACTION} = '{UPSERT}'"
    try:
        with io.commit_metadata(spark, metadata):
            (
                target.alias("t")
                .merge(changes.alias("s"), on)
                .whenMatchedDelete(condition=is_delete)
                .whenMatchedUpdate(condition=is_upsert, set=values)
                .whenNotMatchedInsert(condition=is_upsert, values=values)
                .execute()
            )
    except Exception as exc:
        if "DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW" in str(exc):
            raise StageInputError(
                f"merge into {name!r}: the changes hold more than one row per {list(keys)}"
            ) from exc
        raise
    version = io.table_version(spark, warehouse, name)
    log.info("merged changes into %s: version %d", name, version)
    return version


def as_changes(part: _Classified, columns: Sequence[str]) -> DataFrame:
    """The usable rows of a classified batch table as changes (``is_deleted`` -> delete).

    Quarantined rows are not changes: the previous version of such a row stays.
    """
    action = F.when(F.col(t.DELETED), F.lit(DELETE)).otherwise(F.lit(UPSERT))
    return part.frame.where(F.col(t.REASON).isNull()).select(*columns, action.alias(ACTION))


def deletes_of(existing: DataFrame, columns: Sequence[str]) -> DataFrame:
    """``existing``'s rows (``columns``) as delete changes."""
    return existing.select(*columns, F.lit(DELETE).alias(ACTION))


def with_batch_winning(stale: DataFrame, batch: DataFrame | None, keys: Sequence[str]) -> DataFrame:
    """Deletes of stale rows, except where the batch sends the same key (the batch wins)."""
    if batch is None:
        return stale
    return stale.join(batch.select(*keys), on=list(keys), how="left_anti").unionByName(batch)


class MergeSink:
    """The ingest sink of ``clnet update``: merges each classified batch table (see module).

    After :func:`~clnet_spark.ingest.stage.run_ingest`, :attr:`changed_records` holds the
    (source, record_id) of every record the batch sent (amended, new or deleted): the records
    whose matches the update searches again.
    """

    batch = True

    def __init__(self, spark: SparkSession, ctx: RunContext) -> None:
        for name in (Tables.RECORDS, Tables.NOMINALS, Tables.RECORD_NOMINALS):
            if not io.table_exists(spark, ctx.warehouse, name):
                raise StageInputError(
                    f"table {name!r} does not exist in {ctx.warehouse}: an update applies a "
                    "batch to the tables of a full run; run `clnet run` first"
                )
        self.spark, self.ctx = spark, ctx
        self.driver_rows = ctx.config.update.driver_rows
        self.changed_texts: pa.Table | None = None
        self.meta = ctx.commit_metadata("ingest")
        self.key = privacy.load_key(ctx.warehouse)
        self.changed_records: DataFrame = spark.createDataFrame(
            [], "source string, record_id string"
        )
        self.deleted_nominals: DataFrame = spark.createDataFrame([], "nominal_id string")
        self._nominals_deleted = False
        self._records_changed = False
        self._summary: IngestSummary | None = None

    def _merge(
        self, name: str, changes: DataFrame, keys: Sequence[str], partition_by: tuple[str, ...] = ()
    ) -> int:
        return merge_changes(
            self.spark,
            self.ctx.warehouse,
            name,
            changes,
            keys,
            self.meta,
            partition_by=partition_by,
            driver_rows=self.driver_rows,
        )

    def _write(self, frame: DataFrame, name: str, mode: Literal["overwrite", "append"]) -> int:
        return driver_writes.write_frame(
            frame, self.ctx.warehouse, name, self.meta, self.driver_rows, mode
        )

    def _existing(self, name: str) -> DataFrame:
        return io.read_table(self.spark, self.ctx.warehouse, name)

    def nominals(self, part: _Classified | None) -> int | None:
        if part is None:
            return None
        deleted = part.frame.where(F.col(t.REASON).isNull() & F.col(t.DELETED))
        # Few rows, from the persisted batch: recomputed where used, never counted here
        # (:meth:`counted` says whether there are any).
        self.deleted_nominals = self._pseudonymous(deleted.select(c.NOMINAL_ID))
        changes = self._pseudonymous(as_changes(part, NOMINAL_COLUMNS))
        return self._merge(Tables.NOMINALS, changes, (c.NOMINAL_ID,))

    def identity(self, part: _Classified | None, extra_columns: Sequence[str]) -> int | None:
        """Merge the batch's nominals into ``nominal_identity`` (deleted ones removed)."""
        if part is None:
            return None
        action = F.when(F.col(t.DELETED), F.lit(DELETE)).otherwise(F.lit(UPSERT))
        changes = part.frame.where(F.col(t.REASON).isNull()).select(
            c.NOMINAL_ID,
            F.col(c.NOMINAL_ID).alias(c.SOURCE_NOMINAL_ID),
            *(F.col(c.RESTRICTED)[name].alias(name) for name in extra_columns),
            action.alias(ACTION),
        )
        return self._merge(Tables.NOMINAL_IDENTITY, self._pseudonymous(changes), (c.NOMINAL_ID,))

    def _pseudonymous(self, frame: DataFrame) -> DataFrame:
        return privacy.pseudonymise(frame, self.key, (c.NOMINAL_ID,))

    def counted(self, summary: IngestSummary) -> None:
        """Learn from the batch's counts which tables it changes (before their merges)."""
        self._summary = summary
        nominals = summary.counts.get("nominals")
        self._nominals_deleted = bool(nominals and nominals.deleted)
        self._records_changed = any(summary.changes(source) for source in c.SOURCES)

    def _changes(self, table: str) -> bool:
        """Whether the batch holds usable rows of ``table`` (True before :meth:`counted`)."""
        return self._summary is None or self._summary.changes(table) > 0

    def records(self, parts: Sequence[_Classified]) -> int | None:
        if not parts:
            return None
        changes = reduce(DataFrame.unionByName, (as_changes(p, RECORD_COLUMNS) for p in parts))
        rows = driver_writes.collect_small(changes, self.driver_rows)
        if rows is not None:
            # A small batch: its texts stay on the driver for the search (``changed_texts``).
            self.changed_texts = rows.select([*RECORD_KEYS, c.TEXT, ACTION])
            self.changed_records = self.spark.createDataFrame(
                rows.select(list(RECORD_KEYS)), "source string, record_id string"
            )
        else:  # too many for the driver: Spark's MERGE, from a materialised copy
            changes = changes.localCheckpoint()
            self.changed_records = changes.select(*RECORD_KEYS)
        return merge_changes(
            self.spark,
            self.ctx.warehouse,
            Tables.RECORDS,
            changes,
            RECORD_KEYS,
            self.meta,
            partition_by=(c.SOURCE,),
            driver_rows=self.driver_rows if rows is not None else 0,
            rows=rows,
        )

    def record_nominals(self, part: _Classified | None) -> int | None:
        sent = part is not None and self._changes(part.table)
        if not (sent or self._records_changed or self._nominals_deleted):
            log.info("batch: no link, record or deleted person; record_nominals unchanged")
            return None
        existing = self._existing(Tables.RECORD_NOMINALS)
        changed = F.broadcast(self.changed_records.withColumn("_changed", F.lit(True)))
        stale = existing.join(changed, on=list(RECORD_KEYS), how="left")
        if self._nominals_deleted:
            gone = F.broadcast(self.deleted_nominals.withColumn("_gone", F.lit(True)))
            stale = stale.join(gone, on=c.NOMINAL_ID, how="left").where(
                F.col("_changed") | F.col("_gone")
            )
        else:
            stale = stale.where(F.col("_changed"))
        batch = self._pseudonymous(as_changes(part, LINK_COLUMNS)) if part is not None else None
        changes = with_batch_winning(deletes_of(stale, LINK_COLUMNS), batch, LINK_KEYS)
        return self._merge(Tables.RECORD_NOMINALS, changes, LINK_KEYS)

    def relationships(self, part: _Classified | None) -> int | None:
        sent = part is not None and self._changes(part.table)
        if not (sent or self._nominals_deleted):
            return None
        existing = self._existing(Tables.RELATIONSHIPS)
        gone = F.broadcast(self.deleted_nominals)
        gone_a = gone.select(F.col(c.NOMINAL_ID).alias(c.NOMINAL_A), F.lit(True).alias("_a"))
        gone_b = gone.select(F.col(c.NOMINAL_ID).alias(c.NOMINAL_B), F.lit(True).alias("_b"))
        stale = (
            existing.join(gone_a, on=c.NOMINAL_A, how="left")
            .join(gone_b, on=c.NOMINAL_B, how="left")
            .where(F.col("_a") | F.col("_b"))
        )
        batch = (
            pseudonymous_relationships(as_changes(part, RELATIONSHIP_COLUMNS), self.key)
            if part is not None
            else None
        )
        changes = with_batch_winning(
            deletes_of(stale, RELATIONSHIP_COLUMNS), batch, RELATIONSHIP_KEYS
        )
        return self._merge(Tables.RELATIONSHIPS, changes, RELATIONSHIP_KEYS)

    def soc_groups(self, part: _Classified | None) -> int | None:
        if part is not None:  # the list is replaced whole
            return self._write(
                self._pseudonymous(part.accepted.select(c.NOMINAL_ID, c.SOC_GROUP_ID)),
                Tables.SOC_GROUPS,
                "overwrite",
            )
        if not self._nominals_deleted:
            return None
        stale = self._existing(Tables.SOC_GROUPS).join(
            F.broadcast(self.deleted_nominals), on=c.NOMINAL_ID, how="left_semi"
        )
        changes = deletes_of(stale, (c.NOMINAL_ID, c.SOC_GROUP_ID))
        return self._merge(Tables.SOC_GROUPS, changes, (c.NOMINAL_ID, c.SOC_GROUP_ID))

    def quarantine(self, frame: DataFrame) -> int | None:
        """Append the batch's quarantined rows (no commit when it has none)."""
        if self._summary is not None and not self._summary.reasons:
            return None
        return self._write(frame, Tables.QUARANTINE, "append")
