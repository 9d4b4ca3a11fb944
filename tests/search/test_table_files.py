"""The search stage's file reader (``search.reader: files``): which files, which rows, and
when it leaves the reading to Spark."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from clnet_spark import columns as c
from clnet_spark.columns import Tables
from clnet_spark.config import load_config
from clnet_spark.errors import InputContractError
from clnet_spark.io import read_table, table_path, write_table
from clnet_spark.run import RunContext
from clnet_spark.search import hyperscan_engine, load_catalogue, table_files
from clnet_spark.search.stage import run_search
from clnet_spark.search.table_files import DataFile, pieces, share_out

ROWS = [
    ("crimes", "c1", "seen a county line runner"),
    ("crimes", "c2", "nothing here"),
    ("ims", "i1", "CUCKOO HOUSE on the estate"),
    ("ims", "i2", None),
    ("pins", "p1", "crack and ket"),
]
SCHEMA = "source string, record_id string, text string"


def test_files_are_shared_out_by_size_largest_first() -> None:
    # The hand-worked greedy: largest first, each to the share with the least so far.
    files = [DataFile(f"f{i}", size, {}) for i, size in enumerate([50, 10, 40, 30, 20, 5])]

    shares = share_out(files, 2)

    # 50 -> A, 40 -> B, 30 -> B (70), 20 -> A (70), 10 -> A (first of a tie: 80), 5 -> B (75)
    assert shares == [[0, 4, 1], [2, 3, 5]]
    assert sorted(n for share in shares for n in share) == list(range(6))
    assert share_out(files, 10) == [[0], [2], [3], [4], [1], [5]]
    assert share_out([], 4) == []


def test_a_table_of_few_files_is_shared_out_by_row_group(
    spark: SparkSession, tmp_path: Path
) -> None:
    rows = [(f"i{n}", f"text {n} " * 20 + ("county line" if n % 3 else "")) for n in range(400)]
    path = tmp_path / "part-0.parquet"  # a data file as a partition source=ims would hold it
    pq.write_table(
        pa.table({c.RECORD_ID: [r[0] for r in rows], c.TEXT: [r[1] for r in rows]}),
        path,
        row_group_size=50,
    )
    files = [DataFile(str(path), path.stat().st_size, {c.SOURCE: "ims"})]

    units = pieces(files, 2)

    assert [unit.row_group for unit in units] == list(range(8))
    assert len(share_out(units, 2)) == 2  # both tasks busy
    read = [
        (row[c.SOURCE], row[c.RECORD_ID])
        for unit in units
        for batch in table_files.read_batches(unit.file, unit.row_group)
        for row in batch.to_pylist()
    ]
    assert sorted(read) == sorted(("ims", r[0]) for r in rows)  # each row once
    matched = table_files.match_files(spark, files, load_catalogue(load_config().catalogue_path))
    assert matched.count() == sum(1 for n in range(400) if n % 3)
    many = [DataFile(f"f{n}", 1, {}) for n in range(8)]
    assert [unit.row_group for unit in pieces(many, 2)] == [None] * 8  # enough files: whole


def test_a_partitioned_table_is_read_whole_with_its_partition_values(
    spark: SparkSession, tmp_path: Path
) -> None:
    frame = spark.createDataFrame(ROWS, SCHEMA).repartition(3)
    write_table(frame, tmp_path, Tables.RECORDS, partition_by=(c.SOURCE,))

    files = table_files.snapshot_files(table_path(tmp_path, Tables.RECORDS))

    assert files is not None
    read = sorted(
        (row[c.SOURCE], row[c.RECORD_ID], row[c.TEXT])
        for file in files
        for batch in table_files.read_batches(file)
        for row in batch.to_pylist()
    )
    assert read == sorted(ROWS, key=lambda row: (row[0], row[1]))
    assert {file.partition[c.SOURCE] for file in files} == {"crimes", "ims", "pins"}


def test_an_older_version_lists_that_versions_files(spark: SparkSession, tmp_path: Path) -> None:
    write_table(spark.createDataFrame(ROWS[:2], SCHEMA), tmp_path, Tables.RECORDS)
    write_table(spark.createDataFrame(ROWS, SCHEMA), tmp_path, Tables.RECORDS)

    first = table_files.snapshot_files(table_path(tmp_path, Tables.RECORDS), version=0)

    assert first is not None
    ids = [
        row[c.RECORD_ID]
        for f in first
        for b in table_files.read_batches(f)
        for row in b.to_pylist()
    ]
    assert sorted(ids) == ["c1", "c2"]


def test_a_table_with_deletion_vectors_is_left_to_spark(
    spark: SparkSession, tmp_path: Path
) -> None:
    # Rows a deletion vector removes are still in the file: reading the file would find them.
    path = table_path(tmp_path, Tables.RECORDS)
    spark.createDataFrame(ROWS, SCHEMA).coalesce(1).write.format("delta").option(
        "delta.enableDeletionVectors", "true"
    ).save(str(path))
    spark.sql(f"DELETE FROM delta.`{path}` WHERE record_id = 'c1'")
    ctx = RunContext(tmp_path, load_config())

    assert table_files.snapshot_files(path) is None
    run_search(spark, ctx)

    matched = {
        row[c.RECORD_ID] for row in read_table(spark, tmp_path, Tables.RECORD_MATCHES).collect()
    }
    assert matched == {"i1", "p1"}  # c1 (a county line) was deleted


def test_a_records_table_without_text_is_named(spark: SparkSession, tmp_path: Path) -> None:
    frame = spark.createDataFrame(
        [("crimes", "c1", "x")], "source string, record_id string, body string"
    )
    write_table(frame, tmp_path, Tables.RECORDS)

    with pytest.raises(InputContractError, match="lacks the column 'text'"):
        table_files.snapshot_files(table_path(tmp_path, Tables.RECORDS))


def test_the_stage_gives_the_same_matches_with_either_reader(
    spark: SparkSession, tmp_path: Path
) -> None:
    frame = spark.createDataFrame(ROWS * 3, SCHEMA).repartition(4)
    write_table(frame, tmp_path, Tables.RECORDS, partition_by=(c.SOURCE,))
    config = load_config()
    catalogue = load_catalogue(config.catalogue_path)
    files = table_files.snapshot_files(table_path(tmp_path, Tables.RECORDS))
    assert files is not None

    from_files = table_files.match_files(spark, files, catalogue)
    from_spark = hyperscan_engine.match_records(
        read_table(spark, tmp_path, Tables.RECORDS), catalogue
    )

    assert from_files.count() == 9  # c1, i1, p1, three times each
    assert_df_equality(from_files, from_spark, ignore_row_order=True, ignore_nullable=True)


def test_column_mapping_is_left_to_spark(spark: SparkSession, tmp_path: Path) -> None:
    # With column mapping the files hold other physical names (reader version 2, no features).
    path = table_path(tmp_path, Tables.RECORDS)
    spark.sql(
        f"CREATE TABLE delta.`{path}` (source STRING, record_id STRING, text STRING) USING delta "
        "TBLPROPERTIES ('delta.columnMapping.mode' = 'name', 'delta.minReaderVersion' = '2', "
        "'delta.minWriterVersion' = '5')"
    )
    spark.createDataFrame(ROWS, SCHEMA).write.format("delta").mode("append").save(str(path))
    ctx = RunContext(tmp_path, load_config())

    assert table_files.snapshot_files(path) is None
    run_search(spark, ctx)

    matched = {r[c.RECORD_ID] for r in read_table(spark, tmp_path, Tables.RECORD_MATCHES).collect()}
    assert matched == {"c1", "i1", "p1"}


def test_a_table_deltalake_cannot_open_or_a_percent_in_the_path_is_left_to_spark(
    spark: SparkSession, tmp_path: Path
) -> None:
    write_table(spark.createDataFrame(ROWS, SCHEMA), tmp_path, Tables.RECORDS)
    path = table_path(tmp_path, Tables.RECORDS)
    odd = tmp_path / "w%41"
    write_table(spark.createDataFrame(ROWS, SCHEMA), odd, Tables.RECORDS)

    assert table_files.snapshot_files(path, version=7) is None  # no such version
    assert table_files.snapshot_files(table_path(odd, Tables.RECORDS)) is None
    assert table_files.snapshot_files(path) is not None


def test_one_large_file_among_small_ones_is_split_by_row_group() -> None:
    small = [DataFile(f"s{n}", 5, {}) for n in range(7)]
    files = [DataFile("big", 400, {}), *small]

    # 8 files for 2 tasks would stay whole, but "big" is more than a task's share of the bytes;
    # reading its footer fails here (no such file), which shows it was asked for.
    with pytest.raises(FileNotFoundError):
        pieces(files, 2)
    assert [u.row_group for u in pieces(small + small, 2)] == [None] * 14
