"""CSV copies of the output tables under ``<warehouse>/exports/``.

Only analytical columns are exported: the ``restricted`` maps, the quarantine's raw rows and
the restricted ``nominal_identity`` table (source ids, names, addresses) stay in Delta.
Array columns become ``;``-separated text, and the per-term matches JSON.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, MapType, StructType

from clnet_spark import columns as c
from clnet_spark import io
from clnet_spark.columns import Tables

log = logging.getLogger(__name__)

EXPORTED = (
    Tables.INGEST_COUNTS,
    Tables.RECORD_MATCHES,
    Tables.SEARCH_GROUP_REPORT,
    Tables.CL_NOMINALS,
    Tables.CL_EDGES,
    Tables.CL_GROUPS,
    Tables.SOC_OVERLAP,
    Tables.HARM_CRIMES,
    Tables.NOMINAL_HARM,
    Tables.GROUP_HARM,
    Tables.SAFEGUARDING_FLAGS,
    Tables.SAFEGUARDING_LIST,
    Tables.MISSING_PERSONS,
    Tables.DISPROPORTIONALITY,
    Tables.CENTRALITY,
    Tables.GROUP_PRIORITY,
    Tables.DISMANTLING,
)


NEVER_EXPORTED = (Tables.NOMINAL_IDENTITY, Tables.QUARANTINE)
"""Restricted tables: no export holds them (the quarantine only as counts)."""


def flatten_for_csv(frame: DataFrame) -> DataFrame:
    """Every column as CSV-friendly text; restricted (map) columns are left out."""
    out: list[Column] = []
    for field in frame.schema.fields:
        col = F.col(f"`{field.name}`")
        if field.name in (c.RESTRICTED, c.SOURCE_NOMINAL_ID) or isinstance(field.dataType, MapType):
            continue
        if isinstance(field.dataType, ArrayType) and not isinstance(
            field.dataType.elementType, StructType
        ):
            out.append(F.array_join(col.cast("array<string>"), ";").alias(field.name))
        elif isinstance(field.dataType, ArrayType | StructType):
            out.append(F.to_json(col).alias(field.name))
        else:
            out.append(col)
    return frame.select(*out)


def quarantine_summary(quarantine: DataFrame) -> DataFrame:
    """Counts of quarantined rows per table, file and reason (no row content)."""
    return (
        quarantine.groupBy("table", "file", "reason")
        .agg(F.count(F.lit(1)).alias("rows"))
        .orderBy("table", "reason")
    )


def write_exports(spark: SparkSession, warehouse: Path) -> dict[str, Path]:
    """Write the CSV exports; return table name -> file written."""
    target = warehouse / "exports"
    written: dict[str, Path] = {}
    for name in EXPORTED:
        if name in NEVER_EXPORTED:  # pragma: no cover - a guard against a future edit
            raise AssertionError(f"{name} is restricted and must not be exported")
        if not io.table_exists(spark, warehouse, name):
            continue
        frame = flatten_for_csv(io.read_table(spark, warehouse, name))
        path = target / f"{name}.csv"
        io.write_single_csv(frame, path)
        written[name] = path
    if io.table_exists(spark, warehouse, Tables.QUARANTINE):
        path = target / "quarantine_summary.csv"
        io.write_single_csv(
            quarantine_summary(io.read_table(spark, warehouse, Tables.QUARANTINE)), path
        )
        written["quarantine_summary"] = path
    log.info("exported %d tables to %s", len(written), target)
    return written
