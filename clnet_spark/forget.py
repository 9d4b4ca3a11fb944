"""``clnet forget``: delete one person from every table of a warehouse, then VACUUM.

What is deleted (``docs/operations.md``, "Forgetting a person"):

- the person's rows everywhere a nominal id appears (``nominals``, ``nominal_identity``,
  ``record_nominals``, ``relationships`` on either side, ``soc_groups``, ``missing_episodes``,
  and any other table with a ``nominal_id``, ``nominal_a``/``nominal_b`` or ``src``/``dst``
  column);
- the records on which the person is the only linked nominal, with their matches: they are
  about nobody else. Records shared with other people stay (they are those people's records
  too), without the person's link;
- quarantined rows whose raw JSON holds the person's id as a value;
- the analysis tables, recomputed without the person (network onwards);
- then every table is vacuumed with the configured retention (``retention`` section), so
  the files of old versions holding the person are removed once that period has passed;
  with retention 0 (only where ``spark.databricks.delta.retentionDurationCheck.enabled`` is
  false) at once. Spark checkpoint files of earlier runs under ``_checkpoints/`` are removed.

Deletes are MERGEs against a one-row DataFrame, so the transaction log's operation
parameters hold a join condition, never the id. ``--nominal`` takes the pseudonym stored in
the tables or, where the restricted ``nominal_identity`` table exists, the source id.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from clnet_spark import columns as c
from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.errors import ClnetError
from clnet_spark.ingest.merge import RECORD_KEYS
from clnet_spark.pipeline import recorded, run_graph_stages, warehouse_versions
from clnet_spark.run import RunContext

log = logging.getLogger(__name__)

NOMINAL_IDENTITY = getattr(Tables, "NOMINAL_IDENTITY", "nominal_identity")
SOURCE_NOMINAL_ID = "source_nominal_id"
PERSON_COLUMNS = (c.NOMINAL_ID, c.NOMINAL_A, c.NOMINAL_B, c.SRC, c.DST, SOURCE_NOMINAL_ID)
"""Columns that hold a person's id in some table."""
RECORD_TABLES = (Tables.RECORDS, Tables.RECORD_MATCHES, Tables.MISSING_EPISODES)
"""Tables keyed by (source, record_id) that lose the records only the person was on."""


class NominalNotFoundError(ClnetError):
    """``--nominal`` is in neither ``nominals`` nor ``nominal_identity``."""


@dataclass
class Forgotten:
    """What :func:`run_forget` deleted: rows per table, and the tables vacuumed."""

    rows: dict[str, int] = field(default_factory=dict)
    vacuumed: list[str] = field(default_factory=list)


def resolve_nominal(spark: SparkSession, warehouse: Path, nominal: str) -> str:
    """The id the tables hold for ``nominal`` (a pseudonym or source id).

    Raises
    ------
    NominalNotFoundError
        Neither table knows it (the message gives no more than the id given).
    """
    if io.table_exists(spark, warehouse, NOMINAL_IDENTITY):
        identity = io.read_table(spark, warehouse, NOMINAL_IDENTITY)
        found = identity.where(F.col(SOURCE_NOMINAL_ID) == nominal).select(c.NOMINAL_ID).first()
        if found is not None:
            return str(found[0])
    nominals = io.read_table(spark, warehouse, Tables.NOMINALS)
    if nominals.where(F.col(c.NOMINAL_ID) == nominal).isEmpty():
        raise NominalNotFoundError(f"nominal {nominal!r} is not in {warehouse}")
    return nominal


def _delete(
    spark: SparkSession, warehouse: Path, name: str, keys: DataFrame, condition: str
) -> int:
    """Delete the rows of ``name`` matching ``keys`` (aliased ``s``) by ``condition``.

    A table with no such row gets no commit. Returns the rows deleted.
    """
    table = DeltaTable.forPath(spark, str(io.table_path(warehouse, name)))
    matching = table.toDF().alias("t").join(keys.alias("s"), F.expr(condition), how="left_semi")
    if matching.isEmpty():
        return 0
    metrics = table.alias("t").merge(keys.alias("s"), condition).whenMatchedDelete().execute()
    return int(metrics.first()["num_deleted_rows"])


def sole_records(links: DataFrame, nominal: str) -> DataFrame:
    """(source, record_id) of the records on which ``nominal`` is the only linked nominal."""
    theirs = links.where(F.col(c.NOMINAL_ID) == nominal).select(*RECORD_KEYS).distinct()
    shared = links.where(F.col(c.NOMINAL_ID) != nominal).select(*RECORD_KEYS)
    return theirs.join(shared, on=list(RECORD_KEYS), how="left_anti")


def _person_columns(frame: DataFrame) -> list[str]:
    return [
        f.name
        for f in frame.schema.fields
        if f.name in PERSON_COLUMNS and isinstance(f.dataType, StringType)
    ]


def forget_rows(spark: SparkSession, ctx: RunContext, nominal: str) -> dict[str, int]:
    """Delete the person's rows and sole records from every table (see module)."""
    wh = ctx.warehouse
    person = spark.createDataFrame([(nominal,)], "id string")
    deleted: dict[str, int] = {}
    links = io.read_table(spark, wh, Tables.RECORD_NOMINALS)
    sole = sole_records(links, nominal).localCheckpoint()
    on_record = " AND ".join(f"t.`{k}` = s.`{k}`" for k in RECORD_KEYS)
    with io.commit_metadata(spark, ctx.commit_metadata("forget")):
        for name in RECORD_TABLES:
            if io.table_exists(spark, wh, name):
                deleted[name] = _delete(spark, wh, name, sole, on_record)
        for name in warehouse_versions(wh):
            frame = io.read_table(spark, wh, name)
            columns = _person_columns(frame)
            if columns:
                condition = " OR ".join(f"t.`{col}` = s.id" for col in columns)
                deleted[name] = deleted.get(name, 0) + _delete(spark, wh, name, person, condition)
        if io.table_exists(spark, wh, Tables.QUARANTINE):
            quoted = person.select(F.concat(F.lit('"'), "id", F.lit('"')).alias("id"))
            deleted[Tables.QUARANTINE] = _delete(
                spark, wh, Tables.QUARANTINE, quoted, "instr(t.raw, s.id) > 0"
            )
    log.info("forget: rows deleted per table %s", deleted)
    return deleted


def vacuum_all(spark: SparkSession, ctx: RunContext, retention_hours: float) -> list[str]:
    """VACUUM every table (after purging deletion vectors where a table uses them)."""
    done = []
    with io.commit_metadata(spark, ctx.commit_metadata("forget")):
        for name in warehouse_versions(ctx.warehouse):
            path = io.table_path(ctx.warehouse, name)
            if io.table_properties(spark, path).get("delta.enableDeletionVectors") == "true":
                spark.sql(f"REORG TABLE delta.`{path}` APPLY (PURGE)")
            DeltaTable.forPath(spark, str(path)).vacuum(retention_hours)
            done.append(name)
    checkpoints = ctx.warehouse / "_checkpoints"
    current = spark.sparkContext.getCheckpointDir() or ""
    if checkpoints.is_dir():
        for stale in checkpoints.iterdir():
            if stale.is_dir() and str(stale.resolve()) not in current:
                shutil.rmtree(stale, ignore_errors=True)
    return done


def retention_hours(interval: str) -> float:
    """Hours of a Delta interval of the ``retention`` settings (``interval 7 days``)."""
    _, amount, unit = interval.split()
    return float(amount) * {"hours": 1, "days": 24, "weeks": 168}[unit]


def run_forget(spark: SparkSession, ctx: RunContext, nominal: str) -> Forgotten:
    """Forget ``nominal``: delete, recompute the analysis, vacuum; recorded in the run log.

    Raises
    ------
    NominalNotFoundError
        The id is unknown to the warehouse.
    """
    person = resolve_nominal(spark, ctx.warehouse, nominal)
    result = Forgotten()
    reference = _last_reference(spark, ctx.warehouse)

    def body(state: dict[str, object]) -> dict[str, Path]:
        state["reference"] = reference
        with ctx.stage("forget") as report:
            result.rows = forget_rows(spark, ctx, person)
            report.counts["rows deleted"] = dict(result.rows)
        exports = run_graph_stages(spark, ctx, reference, lambda _name: None)
        hours = retention_hours(ctx.config.retention.deleted_file_retention)
        with ctx.stage("vacuum") as report:
            result.vacuumed = vacuum_all(spark, ctx, hours)
            report.counts["tables vacuumed"] = len(result.vacuumed)
            report.counts["retention hours"] = hours
        return exports

    recorded(spark, ctx, body, input_dir=None, catalogue_hash=None)
    return result


def _last_reference(spark: SparkSession, warehouse: Path) -> dt.date:
    """The reference date of the warehouse's latest successful run."""
    row = (
        io.read_table(spark, warehouse, Tables.RUN_LOG)
        .where(F.col("outcome") == "succeeded")
        .orderBy(F.col("ended_at").desc())
        .select("reference_date")
        .first()
    )
    if row is None or row[0] is None:
        raise ClnetError(f"{warehouse} has no successful run with a reference date")
    return row[0]
