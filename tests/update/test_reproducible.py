"""A past run recomputed from the table versions it recorded gives its outputs again."""

from __future__ import annotations

import json

import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.config import load_config
from clnet_spark.reproduce import RunNotFoundError, find_run, run_as_of
from clnet_spark.run import RunContext

from .conftest import GOLD_TABLES, History

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("which", ["baseline", "update"])
def test_as_of_recomputes_a_past_run_exactly_with_another_partition_count(
    spark: SparkSession, history: History, tmp_path, which: str
) -> None:
    # The runs used 1 shuffle partition; the recomputation uses 4. The baseline's tables have
    # moved on since (time travel); the update's groups stage read the baseline's groups.
    original = getattr(history, which)
    before = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "4")
    try:
        ctx = RunContext(tmp_path / "as_of", load_config(), kind="as-of")
        run_as_of(spark, history.update.warehouse, original.run_id, ctx)
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", before)
    row = find_run(spark, history.update.warehouse, original.run_id)
    written = json.loads(row["tables"])
    for name in (*GOLD_TABLES, Tables.GROUP_CHANGES):
        if name == Tables.RECORD_MATCHES:
            continue  # an input of the analysis, not recomputed
        expected_df = (
            spark.read.format("delta")
            .option("versionAsOf", written[name])
            .load(str(io.table_path(history.update.warehouse, name)))
        )
        actual_df = io.read_table(spark, ctx.warehouse, name)
        if name == Tables.GROUP_CHANGES:
            actual_df, expected_df = actual_df.drop("run_id"), expected_df.drop("run_id")
        assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)
    log = io.read_table(spark, ctx.warehouse, Tables.RUN_LOG).collect()
    assert [(r["kind"], r["as_of"], r["outcome"]) for r in log] == [
        ("as-of", original.run_id, "succeeded")
    ]


def test_a_run_is_found_by_id_run_log_version_or_timestamp(
    spark: SparkSession, history: History
) -> None:
    wh = history.update.warehouse
    path = str(io.table_path(wh, Tables.RUN_LOG))
    appends = sorted(
        row["version"]
        for row in DeltaTable.forPath(spark, path).history().collect()
        if row["operation"] == "WRITE"
    )
    assert len(appends) == 2
    assert find_run(spark, wh, str(appends[0]))["run_id"] == history.baseline.run_id
    assert find_run(spark, wh, str(appends[1]))["run_id"] == history.update.run_id
    update_end = find_run(spark, wh, history.update.run_id)["ended_at"]
    assert find_run(spark, wh, update_end.isoformat())["run_id"] == history.update.run_id
    baseline_end = find_run(spark, wh, history.baseline.run_id)["ended_at"]
    assert find_run(spark, wh, baseline_end.isoformat())["run_id"] == history.baseline.run_id
    with pytest.raises(RunNotFoundError, match="expected a run id"):
        find_run(spark, wh, "last tuesday")
