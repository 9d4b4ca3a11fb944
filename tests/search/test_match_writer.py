"""The search stage's writer (``search.writer: files``): the workers write ``record_matches``'
files, the driver commits them; the table and the counts are those of Spark's writer."""

from __future__ import annotations

import json
from pathlib import Path

import deltalake
import pyarrow as pa
import pyarrow.parquet
import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.config import load_config
from clnet_spark.errors import CommitError
from clnet_spark.ingest.merge import DELETE, RECORD_KEYS, merge_changes
from clnet_spark.run import RunContext
from clnet_spark.search import (
    hyperscan_engine,
    load_catalogue,
    match_files,
    match_writer,
    table_files,
)
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


def test_a_second_write_replaces_the_first(spark: SparkSession, tmp_path: Path, catalogue) -> None:
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
    matches = hyperscan_engine.match_records(
        io.read_table(spark, tmp_path, Tables.RECORDS), catalogue
    )
    # another schema (an extra column) ...
    other = spark.createDataFrame([("crimes", "x", 1)], "source string, record_id string, n int")
    io.write_table(other, tmp_path / "a", Tables.RECORD_MATCHES, partition_by=(c.SOURCE,))
    # ... another partitioning ...
    io.write_table(matches, tmp_path / "b", Tables.RECORD_MATCHES)
    # ... a table feature (change data feed: writer version 4) ...
    io.write_table(matches, tmp_path / "c", Tables.RECORD_MATCHES, partition_by=(c.SOURCE,))
    # ... append-only (protocol (1, 2), no features listed: refused only at the commit)
    io.write_table(matches, tmp_path / "d", Tables.RECORD_MATCHES, partition_by=(c.SOURCE,))
    for warehouse, setting in (("c", "delta.enableChangeDataFeed"), ("d", "delta.appendOnly")):
        path = io.table_path(tmp_path / warehouse, Tables.RECORD_MATCHES)
        spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({setting}=true)")

    reasons = {}
    for warehouse in ("a", "b", "c", "d"):
        path = io.table_path(tmp_path / warehouse, Tables.RECORD_MATCHES)
        before = sorted(p.name for p in path.rglob("*"))
        written = match_writer.write_matches(
            spark, files, catalogue, tmp_path / warehouse, Tables.RECORD_MATCHES, METADATA
        )
        assert written is None, warehouse
        assert sorted(p.name for p in path.rglob("*")) == before, f"{warehouse}: nothing written"
        reasons[warehouse] = match_writer.refusal(path)
    assert reasons["a"] == (
        "its columns are ['n', 'record_id', 'source'], the rows' ['catalogue_hash', "
        "'matched_groups', 'matches', 'record_id', 'record_weight', 'source']"
    )
    assert reasons["b"] == "it is partitioned by [], not ['source']"
    assert reasons["c"].startswith("it needs Delta protocol (1, 7) with features [")
    assert "changeDataFeed" in reasons["c"]
    assert reasons["d"] == "it is append-only (delta.appendOnly)"
    assert match_writer.refusal(tmp_path / "100%" / Tables.RECORD_MATCHES) == "its path holds '%'"
    assert (
        match_writer.write_matches(
            spark, files, catalogue, tmp_path / "100%", Tables.RECORD_MATCHES, METADATA
        )
        is None
    )
    assert not (tmp_path / "100%").exists()


def test_a_new_table_gets_the_sessions_retention_defaults_and_no_other(
    spark: SparkSession, tmp_path: Path, catalogue
) -> None:
    files = records_in(spark, tmp_path)
    defaults = "spark.databricks.delta.properties.defaults."
    # earlier runs in this session (``pipeline.recorded``) may have set defaults: set aside
    earlier = {k: v for k, v in spark.conf.getAll.items() if k.startswith(defaults)}
    for key in earlier:
        spark.conf.unset(key)
    spark.conf.set(defaults + "logRetentionDuration", "interval 45 days")
    try:
        written = match_writer.write_matches(
            spark, files, catalogue, tmp_path / "kept", Tables.RECORD_MATCHES, METADATA
        )
        spark.conf.set(defaults + "enableChangeDataFeed", "true")
        refused = match_writer.write_matches(
            spark, files, catalogue, tmp_path / "cdf", Tables.RECORD_MATCHES, METADATA
        )
    finally:
        spark.conf.unset(defaults + "logRetentionDuration")
        spark.conf.unset(defaults + "enableChangeDataFeed")
        for key, value in earlier.items():
            spark.conf.set(key, value)

    assert written is not None and refused is None
    path = io.table_path(tmp_path / "kept", Tables.RECORD_MATCHES)
    assert io.table_properties(spark, path) == {"delta.logRetentionDuration": "interval 45 days"}
    assert not (tmp_path / "cdf" / Tables.RECORD_MATCHES / "_delta_log").exists()


def test_each_file_carries_exact_statistics(spark: SparkSession, tmp_path: Path, catalogue) -> None:
    match_writer.write_matches(
        spark, records_in(spark, tmp_path), catalogue, tmp_path, Tables.RECORD_MATCHES, METADATA
    )

    rust = deltalake.DeltaTable(str(io.table_path(tmp_path, Tables.RECORD_MATCHES)))
    actions = pa.table(rust.get_add_actions(flatten=True)).to_pylist()
    # a file per source and task: sum and bound them per source
    per_source: dict[str, list[dict]] = {}
    for row in actions:
        per_source.setdefault(row["partition.source"], []).append(row)
    assert sorted(per_source) == ["crimes", "ims", "pins"]
    counts = {s: sum(r["num_records"] for r in rows) for s, rows in per_source.items()}
    assert counts == {"crimes": 2, "ims": 1, "pins": 2}
    assert min(r["min.record_id"] for r in per_source["crimes"]) == "c1"
    assert max(r["max.record_id"] for r in per_source["crimes"]) == "c3"
    assert all(r["null_count.record_weight"] == 0 for r in actions)
    for row in actions:  # each file's bounds hold its own rows exactly
        ids = [
            r[c.RECORD_ID]
            for r in pa.parquet.read_table(
                str(io.table_path(tmp_path, Tables.RECORD_MATCHES) / row["path"])
            ).to_pylist()
        ]
        assert (row["min.record_id"], row["max.record_id"]) == (min(ids), max(ids))
        assert row["num_records"] == len(ids)


def test_a_table_changed_while_the_workers_write_is_not_overwritten(
    spark: SparkSession, tmp_path: Path, catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = records_in(spark, tmp_path)
    match_writer.write_matches(spark, files, catalogue, tmp_path, Tables.RECORD_MATCHES, METADATA)
    real = match_writer.run_shares

    def with_another_writer(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        io.append_table(
            io.read_table(spark, tmp_path, Tables.RECORD_MATCHES).limit(1),
            tmp_path,
            Tables.RECORD_MATCHES,
        )
        return real(*args, **kwargs)

    monkeypatch.setattr(match_writer, "run_shares", with_another_writer)
    with pytest.raises(CommitError, match="changed from version 0 to 1"):
        match_writer.write_matches(
            spark, files, catalogue, tmp_path, Tables.RECORD_MATCHES, METADATA
        )
    assert io.table_version(spark, tmp_path, Tables.RECORD_MATCHES) == 1
    assert io.read_table(spark, tmp_path, Tables.RECORD_MATCHES).count() == 6


def test_spark_merges_into_and_vacuums_a_worker_written_table(
    spark: SparkSession, tmp_path: Path, catalogue
) -> None:
    files = records_in(spark, tmp_path)
    match_writer.write_matches(spark, files, catalogue, tmp_path, Tables.RECORD_MATCHES, METADATA)
    table = io.read_table(spark, tmp_path, Tables.RECORD_MATCHES)
    changes = table.where(F.col(c.RECORD_ID) == "c1").withColumn("_action", F.lit(DELETE))

    version = merge_changes(
        spark,
        tmp_path,
        Tables.RECORD_MATCHES,
        changes,
        RECORD_KEYS,
        METADATA,
        partition_by=(c.SOURCE,),
    )

    assert version == 1
    left = io.read_table(spark, tmp_path, Tables.RECORD_MATCHES)
    assert sorted(row[c.RECORD_ID] for row in left.collect()) == ["c3", "i1", "p1", "p2"]
    path = io.table_path(tmp_path, Tables.RECORD_MATCHES)
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    try:
        spark.sql(f"VACUUM delta.`{path}` RETAIN 0 HOURS")
    finally:
        spark.conf.unset("spark.databricks.delta.retentionDurationCheck.enabled")
    assert io.read_table(spark, tmp_path, Tables.RECORD_MATCHES).count() == 4
    listed = {
        row["path"]
        for row in pa.table(deltalake.DeltaTable(str(path)).get_add_actions()).to_pylist()
    }
    on_disk = {str(p.relative_to(path)) for p in path.rglob("*.parquet")}
    assert on_disk == listed


def test_a_workers_files_are_cut_into_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setattr(match_files, "ROW_GROUP_ROWS", 15)
    files = match_files.SourceFiles(str(tmp_path))
    for start in range(0, 40, 10):
        ids = [f"r{n:02d}" for n in range(start, start + 10)]
        batch = pa.RecordBatch.from_pydict(
            {
                c.RECORD_ID: ids,
                c.RECORD_WEIGHT: pa.array(
                    [None] * 10, match_files.STORED.field(c.RECORD_WEIGHT).type
                ),
                c.MATCHED_GROUPS: [["G"]] * 10,
                c.MATCHES: [[]] * 10,
                c.CATALOGUE_HASH: ["h"] * 10,
            },
            schema=match_files.STORED,
        )
        files.add("crimes", batch)

    rows = files.close()

    (relative,) = rows["path"]
    parquet = pq.ParquetFile(tmp_path / relative)
    assert [parquet.metadata.row_group(n).num_rows for n in range(parquet.num_row_groups)] == [
        20,
        20,
    ]
    assert rows["rows"] == [40]
    stats = json.loads(rows["stats"][0])
    assert stats == {
        "numRecords": 40,
        "minValues": {c.RECORD_ID: "r00", c.CATALOGUE_HASH: "h"},
        "maxValues": {c.RECORD_ID: "r39", c.CATALOGUE_HASH: "h"},
        "nullCount": {c.RECORD_ID: 0, c.RECORD_WEIGHT: 40, c.CATALOGUE_HASH: 0},
    }


def test_partition_folders() -> None:
    assert match_files.partition_folder("crimes") == "source=crimes"
    assert match_files.partition_folder(None) == "source=__HIVE_DEFAULT_PARTITION__"
    odd = match_files.partition_folder("a b/c")
    assert odd.startswith("source=h") and "/" not in odd and " " not in odd
    assert match_files.partition_folder("..") == "source=.."  # a folder name, not ".."


def test_the_stage_reports_the_same_with_either_writer(spark: SparkSession, tmp_path: Path) -> None:
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


def test_the_log_is_checkpointed_where_spark_would(
    spark: SparkSession, tmp_path: Path, catalogue
) -> None:
    files = records_in(spark, tmp_path)
    path = io.table_path(tmp_path, Tables.RECORD_MATCHES)
    match_writer.write_matches(spark, files, catalogue, tmp_path, Tables.RECORD_MATCHES, METADATA)
    spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES (delta.checkpointInterval=3)")

    for _ in range(3):  # versions 2, 3 (a multiple of 3: checkpointed), 4
        written = match_writer.write_matches(
            spark, files, catalogue, tmp_path, Tables.RECORD_MATCHES, METADATA
        )

    assert written is not None and written.version == 4
    checkpoints = sorted(p.name for p in (path / "_delta_log").glob("*.checkpoint.parquet"))
    assert checkpoints == ["00000000000000000003.checkpoint.parquet"]
    assert io.read_table(spark, tmp_path, Tables.RECORD_MATCHES).count() == 5
