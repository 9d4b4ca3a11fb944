"""Small writes committed from the driver (``clnet_spark.driver_writes``) against Spark's.

Each test builds a small Delta table with Spark, changes it once from the driver and once with
Spark's own MERGE or write, and compares the two tables: rows, schema, partitioning, protocol
and commit metadata. Tables the driver may not write are left to Spark, with the reason.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from clnet_spark import driver_writes, io
from clnet_spark.errors import StageInputError
from clnet_spark.ingest.merge import merge_changes

SCHEMA = (
    "k string, sub string, at timestamp, weight decimal(12,9), tags array<string>, "
    "extra map<string,string>"
)
KEYS = ("k", "sub")
META = {"run_id": "r1", "stage": "ingest", "kind": "update"}
UTC = dt.UTC


def at(day: int) -> dt.datetime:
    return dt.datetime(2024, 1, day, 12, 30, tzinfo=UTC)


BASE = [
    ("a", "x", at(1), Decimal("0.100000000"), ["t1"], {"p": "1"}),
    ("a", None, at(2), Decimal("0.200000000"), None, None),  # a null key column
    ("b", "x", at(3), None, [], {}),
    ("c", "y", at(4), Decimal("0.400000000"), ["t2", "t3"], {"q": None}),
]
CHANGES = [
    ("a", "x", at(5), Decimal("0.500000000"), ["t9"], {"p": "2"}, "upsert"),  # replaced
    ("a", None, None, None, None, None, "delete"),  # removed, matched null-safely
    ("d", "z", at(6), Decimal("0.600000000"), ["t4"], {"r": "3"}, "upsert"),  # inserted
    ("e", "z", None, None, None, None, "delete"),  # deleting a missing row: no-op
]
EXPECTED = [
    ("a", "x", at(5), Decimal("0.500000000"), ["t9"], {"p": "2"}),
    ("b", "x", at(3), None, [], {}),
    ("c", "y", at(4), Decimal("0.400000000"), ["t2", "t3"], {"q": None}),
    ("d", "z", at(6), Decimal("0.600000000"), ["t4"], {"r": "3"}),
]


def make_table(spark: SparkSession, path: Path, **options: str) -> None:
    writer = spark.createDataFrame(BASE, SCHEMA).write.format("delta").partitionBy("k")
    for key, value in options.items():
        writer = writer.option(key, value)
    writer.save(str(path))


def changes(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(CHANGES, f"{SCHEMA}, _action string")


def read(spark: SparkSession, path: Path) -> DataFrame:
    return spark.read.format("delta").load(str(path)).orderBy(*KEYS)


def frame(spark: SparkSession, rows: list[tuple]) -> DataFrame:
    """Rows of :data:`SCHEMA` in key order (chispa cannot sort map columns itself)."""
    return spark.createDataFrame(rows, SCHEMA).orderBy(*KEYS)


def test_a_merge_from_the_driver_leaves_the_table_spark_would(
    spark: SparkSession, tmp_path: Path
) -> None:
    make_table(spark, tmp_path / "driver")
    make_table(spark, tmp_path / "spark")
    read(spark, tmp_path / "driver").count()  # Spark has seen version 0 before the commit
    rows = driver_writes.collect_small(changes(spark), 100)
    assert rows is not None
    version = driver_writes.write(
        tmp_path / "driver", rows, META, "merge", keys=KEYS, partition_by=("k",)
    )
    merge_changes(spark, tmp_path, "spark", changes(spark), KEYS, META, partition_by=("k",))

    assert version == 1
    driver, spark_table = read(spark, tmp_path / "driver"), read(spark, tmp_path / "spark")
    expected = frame(spark, EXPECTED)
    assert_df_equality(driver, expected, ignore_nullable=True)
    assert_df_equality(driver, spark_table)
    for name in ("driver", "spark"):
        detail = DeltaTable.forPath(spark, str(tmp_path / name)).detail().first()
        assert detail["partitionColumns"] == ["k"]
        assert (detail["minReaderVersion"], detail["minWriterVersion"]) == (1, 2)
        assert io.last_commit_metadata(spark, tmp_path, name) == META
    history = DeltaTable.forPath(spark, str(tmp_path / "driver")).history(1).first()
    assert history["operation"] == "MERGE"


def test_two_changes_for_one_key_are_left_to_spark_which_refuses_them(
    spark: SparkSession, tmp_path: Path
) -> None:
    make_table(spark, tmp_path / "t")
    twice = spark.createDataFrame([CHANGES[0], CHANGES[0]], f"{SCHEMA}, _action string")
    rows = driver_writes.collect_small(twice, 100)
    assert rows is not None
    assert (
        driver_writes.write(tmp_path / "t", rows, META, "merge", keys=KEYS, partition_by=("k",))
        is None
    )
    with pytest.raises(StageInputError, match=r"more than one row per \['k', 'sub'\]"):
        merge_changes(spark, tmp_path, "t", twice, KEYS, META, partition_by=("k",), driver_rows=100)
    assert io.open_delta_log(tmp_path / "t").version() == 0  # nothing committed


def test_overwrite_and_append_from_the_driver(spark: SparkSession, tmp_path: Path) -> None:
    make_table(spark, tmp_path / "t")
    new = frame(spark, EXPECTED[:2])
    assert driver_writes.write_frame(new, tmp_path, "t", META, 100, partition_by=("k",)) == 1
    assert_df_equality(read(spark, tmp_path / "t"), new)
    more = frame(spark, EXPECTED[2:])
    assert driver_writes.write_frame(more, tmp_path, "t", META, 100, "append", ("k",)) == 2
    assert_df_equality(
        read(spark, tmp_path / "t"),
        frame(spark, EXPECTED),
        ignore_nullable=True,
    )
    operations = [
        (row["version"], row["operation"])
        for row in DeltaTable.forPath(spark, str(tmp_path / "t")).history().collect()
    ]
    assert operations[:2] == [(2, "WRITE"), (1, "WRITE")]


@pytest.mark.parametrize(
    ("options", "frame_ddl", "partition_by", "reason"),
    [
        ({"delta.enableChangeDataFeed": "true"}, SCHEMA, ("k",), "Delta protocol"),
        ({"delta.appendOnly": "true"}, SCHEMA, ("k",), "append-only"),
        ({}, SCHEMA, (), r"partitioned by \['k'\], not \[\]"),
        (
            {},
            SCHEMA.replace("decimal(12,9)", "double"),
            ("k",),
            r"types of its columns \['weight'\]",
        ),
        ({}, f"{SCHEMA}, more string", ("k",), "its columns are"),
    ],
    ids=["table-features", "append-only", "partitioning", "types", "columns"],
)
def test_tables_the_driver_may_not_write_are_left_to_spark(
    spark: SparkSession,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    options: dict[str, str],
    frame_ddl: str,
    partition_by: tuple[str, ...],
    reason: str,
) -> None:
    make_table(spark, tmp_path / "t", **options)
    sent = spark.createDataFrame([], f"{frame_ddl}, _action string")
    rows = driver_writes.collect_small(sent, 100)
    assert rows is not None
    found = driver_writes.refusal(
        tmp_path / "t", rows.drop_columns(["_action"]).schema, partition_by, "merge"
    )
    assert found is not None and re.search(reason, found), found
    with caplog.at_level("INFO", logger="clnet_spark.driver_writes"):
        written = driver_writes.write(
            tmp_path / "t", rows, META, "merge", keys=KEYS, partition_by=partition_by
        )
    assert written is None
    assert io.open_delta_log(tmp_path / "t").version() == 0  # nothing committed
    assert any(re.search(reason, record.getMessage()) for record in caplog.records)
    if frame_ddl == SCHEMA and partition_by == ("k",) and "delta.appendOnly" not in options:
        # the same changes go through Spark's MERGE instead, with the same result
        merge_changes(
            spark, tmp_path, "t", changes(spark), KEYS, META, partition_by=("k",), driver_rows=100
        )
        assert_df_equality(
            read(spark, tmp_path / "t"), frame(spark, EXPECTED), ignore_nullable=True
        )


def test_an_overwrite_in_another_column_order_is_left_to_spark(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Spark's overwrite gives the table the frame's column order; the driver keeps the
    table's, so it declines."""
    make_table(spark, tmp_path / "t")
    reordered = frame(spark, EXPECTED).select("sub", "k", "at", "weight", "tags", "extra")
    assert driver_writes.write_frame(reordered, tmp_path, "t", META, 100, partition_by=("k",)) == 1
    assert read(spark, tmp_path / "t").columns == ["sub", "k", "at", "weight", "tags", "extra"]
    commit = io.open_delta_log(tmp_path / "t").history(1)[0]
    assert "clientVersion" not in commit  # Spark's commit, not delta-rs's


def test_a_missing_table_is_created_by_spark(spark: SparkSession, tmp_path: Path) -> None:
    schema = spark.createDataFrame([], SCHEMA).toArrow().schema
    assert driver_writes.refusal(tmp_path / "t", schema, ("k",), "overwrite") == (
        "the table does not exist yet"
    )
    frame = spark.createDataFrame(BASE, SCHEMA)
    assert driver_writes.write_frame(frame, tmp_path, "t", META, 100, partition_by=("k",)) == 0
    assert read(spark, tmp_path / "t").count() == len(BASE)


def test_only_small_frames_are_collected(spark: SparkSession) -> None:
    frame = spark.range(10)
    assert driver_writes.collect_small(frame, 9) is None
    assert driver_writes.collect_small(frame, 0) is None
    rows = driver_writes.collect_small(frame, 10)
    assert rows is not None and rows.column("id").to_pylist() == list(range(10))


def test_spark_map_columns_merge_from_the_driver(spark: SparkSession, tmp_path: Path) -> None:
    """delta-rs 1.6 panicked on the map arrays Spark's ``toArrow`` hands over (issue of the
    records table's ``restricted`` column); :func:`collect_small` builds them again."""
    make_table(spark, tmp_path / "t")
    rows = driver_writes.collect_small(changes(spark).where("k = 'a' AND sub = 'x'"), 100)
    assert rows is not None and rows.num_rows == 1
    assert driver_writes.write(tmp_path / "t", rows, META, "merge", keys=KEYS, partition_by=("k",))
    got = read(spark, tmp_path / "t").where("k = 'a' AND sub = 'x'")
    assert_df_equality(got, frame(spark, EXPECTED[:1]), ignore_nullable=True)


def test_the_driver_checkpoints_where_spark_would(spark: SparkSession, tmp_path: Path) -> None:
    make_table(spark, tmp_path / "t")
    rows = driver_writes.collect_small(changes(spark).where("k = 'a' AND sub = 'x'"), 10)
    assert rows is not None
    for _ in range(10):
        driver_writes.write(tmp_path / "t", rows, META, "merge", keys=KEYS, partition_by=("k",))
    log = tmp_path / "t" / "_delta_log"
    checkpoints = sorted(p.name for p in log.glob("*.checkpoint.parquet"))
    assert checkpoints == ["00000000000000000010.checkpoint.parquet"]
    assert (log / "_last_checkpoint").is_file()
    assert read(spark, tmp_path / "t").count() == len(BASE)
