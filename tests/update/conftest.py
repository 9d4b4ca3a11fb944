"""One incremental history shared by the update, run-log and reproducibility tests.

A demo corpus (scale 0.02) is split into a baseline and three dated batches with amended and
deleted records, people and relationships (:mod:`clnet_spark.demo.batches`). The baseline run
and the update run with 1 shuffle partition; the full run on the final data with 4, so the
equivalence test also shows that the number of partitions does not change the outputs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.config import load_config
from clnet_spark.demo import write_demo_corpus
from clnet_spark.demo.batches import Split, split_export
from clnet_spark.pipeline import run_all
from clnet_spark.run import RunContext
from clnet_spark.update import run_update

CUTS = (dt.date(2026, 6, 1), dt.date(2026, 8, 1), dt.date(2026, 10, 1))

GOLD_TABLES = (
    Tables.RECORD_MATCHES,
    Tables.RECORD_LINES,
    Tables.LINES,
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
"""The analysis outputs an update must reproduce (group ids replaced by the members)."""


@dataclass
class History:
    root: Path
    split: Split
    baseline: RunContext
    update: RunContext
    final: RunContext


def _partitions(spark: SparkSession, n: int) -> None:
    spark.conf.set("spark.sql.shuffle.partitions", str(n))


@pytest.fixture(scope="session")
def history(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    root = tmp_path_factory.mktemp("incremental")
    write_demo_corpus(root / "corpus", scale=0.02, seed=11)
    split = split_export(root / "corpus", root / "split", CUTS)
    before = spark.conf.get("spark.sql.shuffle.partitions")
    try:
        _partitions(spark, 1)
        baseline = RunContext(root / "updated", load_config())
        run_all(spark, split.baseline, baseline)
        update = RunContext(root / "updated", load_config(), kind="update")
        run_update(spark, split.batches, update)
        _partitions(spark, 4)
        final = RunContext(root / "full", load_config())
        run_all(spark, split.final, final)
    finally:
        _partitions(spark, int(before))
    yield History(root, split, baseline, update, final)


def canonical(spark: SparkSession, warehouse: Path, name: str, **read: int) -> DataFrame:
    """A table with group identifiers replaced by the group's sorted members (as text).

    ``read`` may hold ``version=N`` to read an older version; the groups are then read at
    the version of ``cl_groups`` given as ``groups_version`` (default: the latest).
    """

    def load(table: str, version: int | None) -> DataFrame:
        reader = spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(str(io.table_path(warehouse, table)))

    frame = load(name, read.get("version"))
    if "group_id" not in frame.columns and name != Tables.DISMANTLING:
        return frame
    groups = load(Tables.CL_GROUPS, read.get("groups_version")).select(
        F.col("group_id").alias("_gid"),
        F.array_join(F.array_sort("members"), ",").alias("_members"),
    )
    key = "scope" if name == Tables.DISMANTLING else "group_id"
    return (
        frame.join(groups, F.col(key) == F.col("_gid"), how="left")
        .withColumn(key, F.coalesce(F.col("_members"), F.col(key)))
        .drop("_gid", "_members")
    )
