"""The search stage's writer (``search.writer: files``): the workers write ``record_matches``'
files, the driver commits them; the table and the counts are those of Spark's writer."""

from __future__ import annotations

from pathlib import Path

import deltalake
import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.config import load_config
from clnet_spark.run import RunContext
from clnet_spark.search import hyperscan_engine, load_catalogue, match_writer, table_files
from clnet_spark.search.stage import run_search

ROWS = [
    ("crimes", "c1", "seen a county line runner"),
    ("crimes", "c2", "nothing here"),
    ("crimes", "c3", "two bags of crack, one of ket"),
    ("ims", "i1", "CUCKOO HOUSE on the estate"),
    ("ims", "i2", None),
    ("pins", "p1", "crack and ket"),
    ("pins", "p2", "a deal line, then a county line"),
]
SCHEMA = "source string, record_id string, text string"
METADATA = {"run_id": "r1", "stage": "search"}


@pytest.fixture(scope="module")
def catalogue():  # noqa: ANN201 - the default catalogue
    return load_catalogue(load_config().catalogue_path)


def records_in(spark: SparkSession, warehouse: Path, rows: list[tuple] = ROWS) -> list:
    frame = spark.createDataFrame(rows, SCHEMA).repartition(3)
    io.write_table(frame, warehouse, Tables.RECORDS, partition_by=(c.SOURCE,))
    files = table_files.snapshot_files(io.table_path(warehouse, Tables.RECORDS))
    assert files is not None
    return files


def test_the_workers_write_what_spark_would_and_count_it(
    spark: SparkSession, tmp_path: Path, catalogue
) -> None:
    files = records_in(spark, tmp_path)

    written = match_writer.write_matches(
        spark, files, catalogue, tmp_path, Tables.RECORD_MATCHES, METADATA
    )

    expected = hyperscan_engine.match_records(
        io.read_table(spark, tmp_path, Tables.RECORDS), catalogue
    )
    table = io.read_table(spark, tmp_path, Tables.RECORD_MATCHES)
    assert_df_equality(table, expected, ignore_row_order=True, ignore_nullable=True)
    assert written is not None
    assert written.searched == len(ROWS)
    assert written.matching == expected.count() == 5  # c1, c3, i1, p1, p2
    by_group = (
        expected.select(F.explode(c.MATCHED_GROUPS).alias("g")).groupBy("g").count().collect()
    )
    assert written.per_group == {row["g"]: row["count"] for row in by_group}
    # one commit, carrying the run's metadata, readable by both Delta implementations
    assert written.version == 0 == io.table_version(spark, tmp_path, Tables.RECORD_MATCHES)
    assert io.last_commit_metadata(spark, tmp_path, Tables.RECORD_MATCHES) == METADATA
    rust = deltalake.DeltaTable(str(io.table_path(tmp_path, Tables.RECORD_MATCHES)))
    assert rust.metadata().partition_columns == [c.SOURCE]
    assert rust.to_pyarrow_table().num_rows == 5


def test_a_second_write_replaces_the_first(
    spark: SparkSession, tmp_path: Path, catalogue
) -> None:
    match_writer.write_matches(
        spark, records_in(spark, tmp_path), catalogue, tmp_path, Tables.RECORD_MATCHES, METADATA
    )
    fewer = records_in(spark, tmp_path, ROWS[:3])

    written = match_writer.write_matches(
        spark, fewer, catalogue, tmp_path, Tables.RECORD_MATCHES, METADATA
    )

    assert written is not None and written.version == 1
    table = io.read_table(spark, tmp_path, Tables.RECORD_MATCHES)
    assert sorted(row[c.RECORD_ID] for row in table.collect()) == ["c1", "c3"]
    # the previous version is still there to travel back to
    old = spark.read.format("delta").option("versionAsOf", 0)
    assert old.load(str(io.table_path(tmp_path, Tables.RECORD_MATCHES))).count() == 5


def test_no_matches_still_leave_an_empty_table_of_the_schema(
    spark: SparkSession, tmp_path: Path, catalogue
) -> None:
    files = records_in(spark, tmp_path, [("crimes", "c2", "nothing here")])

    written = match_writer.write_matches(
        spark, files, catalogue, tmp_path, Tables.RECORD_MATCHES, METADATA
    )

    assert written is not None
    assert (written.searched, written.matching, written.per_group) == (1, 0, {})
    table = io.read_table(spark, tmp_path, Tables.RECORD_MATCHES)
    assert table.count() == 0
    assert table.schema.simpleString() == hyperscan_engine.OUTPUT_SCHEMA.simpleString()


def test_a_table_the_workers_may_not_write_is_left_to_spark(
    spark: SparkSession, tmp_path: Path, catalogue
) -> None:
    files = records_in(spark, tmp_path)
    # another schema (an extra column) ...
    other = spark.createDataFrame([("crimes", "x", 1)], "source string, record_id string, n int")
    io.write_table(other, tmp_path / "a", Tables.RECORD_MATCHES, partition_by=(c.SOURCE,))
    # ... another partitioning ...
    matches = hyperscan_engine.match_records(
        io.read_table(spark, tmp_path, Tables.RECORDS), catalogue
    )
    io.write_table(matches, tmp_path / "b", Tables.RECORD_MATCHES)
    # ... a table feature (change data feed: writer version 4)
    io.write_table(matches, tmp_path / "c", Tables.RECORD_MATCHES, partition_by=(c.SOURCE,))
    path_c = io.table_path(tmp_path / "c", Tables.RECORD_MATCHES)
    spark.sql(f"ALTER TABLE delta.`{path_c}` SET TBLPROPERTIES (delta.enableChangeDataFeed=true)")

    for warehouse in (tmp_path / "a", tmp_path / "b", tmp_path / "c", tmp_path / "100%"):
        before = sorted(p.name for p in io.table_path(warehouse, Tables.RECORD_MATCHES).rglob("*"))
        assert (
            match_writer.write_matches(
                spark, files, catalogue, warehouse, Tables.RECORD_MATCHES, METADATA
            )
            is None
        ), warehouse
        after = sorted(p.name for p in io.table_path(warehouse, Tables.RECORD_MATCHES).rglob("*"))
        assert after == before, f"{warehouse}: nothing may be written"


def test_partition_folders() -> None:
    assert match_writer.partition_folder("crimes") == "source=crimes"
    assert match_writer.partition_folder(None) == "source=__HIVE_DEFAULT_PARTITION__"
    odd = match_writer.partition_folder("a b/c")
    assert odd.startswith("source=h") and "/" not in odd and " " not in odd
    assert match_writer.partition_folder("..") != "source=.."


def test_the_stage_reports_the_same_with_either_writer(
    spark: SparkSession, tmp_path: Path
) -> None:
    reports, tables = {}, {}
    for writer in ("files", "spark"):
        warehouse = tmp_path / writer
        records_in(spark, warehouse)
        ctx = RunContext(warehouse, load_config(overrides=(f"search.writer={writer}",)))
        run_search(spark, ctx)
        (report,) = [r for r in ctx.reports if r.stage == "search"]
        reports[writer] = {
            key: value for key, value in report.counts.items() if "memory" not in key
        }
        tables[writer] = io.read_table(spark, warehouse, Tables.RECORD_MATCHES)
        committed = io.last_commit_metadata(spark, warehouse, Tables.RECORD_MATCHES)
        assert committed["stage"] == "search" and committed["run_id"] == ctx.run_id
        assert committed[c.CATALOGUE_HASH] == report.counts["catalogue hash"]

    assert reports["files"] == reports["spark"]
    assert reports["files"]["records searched"] == len(ROWS)
    assert_df_equality(tables["files"], tables["spark"], ignore_row_order=True)
