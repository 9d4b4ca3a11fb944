"""After a baseline run and three batches, the tables equal one full run on the final data."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clnet_spark import io
from clnet_spark.columns import Tables

from .conftest import GOLD_TABLES, History, canonical

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", GOLD_TABLES)
def test_gold_table_after_updates_equals_a_full_run_on_the_final_data(
    spark: SparkSession, history: History, name: str
) -> None:
    actual_df = canonical(spark, history.update.warehouse, name)
    expected_df = canonical(spark, history.final.warehouse, name)
    assert_df_equality(
        actual_df,
        expected_df,
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_column_order=True,
    )


def test_groups_are_the_same_sets_of_people(spark: SparkSession, history: History) -> None:
    def membership(warehouse) -> set[frozenset[str]]:
        rows = io.read_table(spark, warehouse, Tables.CL_GROUPS).select("members").collect()
        return {frozenset(row[0]) for row in rows}

    assert membership(history.update.warehouse) == membership(history.final.warehouse)
    assert len(membership(history.final.warehouse)) >= 2


def test_the_batches_changed_the_network(spark: SparkSession, history: History) -> None:
    # The deleted people were among the most-linked: they are gone from every table, and
    # the baseline's network differs from the final one, so the equality above means something.
    records = io.read_table(spark, history.update.warehouse, Tables.RECORD_NOMINALS)
    gone = list(history.split.deleted_nominals)
    assert records.where(F.col("nominal_id").isin(gone)).count() == 0
    network = next(r for r in history.baseline.reports if r.stage == "network")
    before = (
        spark.read.format("delta")
        .option("versionAsOf", network.tables[Tables.CL_EDGES])
        .load(str(io.table_path(history.update.warehouse, Tables.CL_EDGES)))
    )
    after = io.read_table(spark, history.update.warehouse, Tables.CL_EDGES)
    assert before.exceptAll(after).count() + after.exceptAll(before).count() > 0


def test_only_the_batch_records_are_searched(history: History) -> None:
    searched = [r for r in history.update.reports if r.stage.startswith("search")]
    assert len(searched) == 3
    total = sum(r.counts["records searched"] for r in searched)
    baseline_search = next(r for r in history.baseline.reports if r.stage == "search")
    assert 0 < total < baseline_search.counts["records searched"] / 10
