"""Forgetting a person removes them from every table and from every old version still
readable, once the retention period (0 here) has passed."""

from __future__ import annotations

import json
import re
import shutil

import deltalake
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.config import load_config
from clnet_spark.forget import NominalNotFoundError, resolve_nominal, run_forget, sole_records
from clnet_spark.pipeline import warehouse_versions
from clnet_spark.run import RunContext

from .conftest import History

pytestmark = pytest.mark.slow


def test_a_forgotten_person_is_in_no_table_and_no_readable_version(
    spark: SparkSession, history: History, tmp_path
) -> None:
    warehouse = tmp_path / "warehouse"
    shutil.copytree(history.update.warehouse, warehouse)
    # The kept person with the most evidence records: on records of their own and shared.
    person = (
        io.read_table(spark, warehouse, Tables.CL_NOMINALS)
        .orderBy(F.size("evidence_records").desc(), "nominal_id")
        .first()["nominal_id"]
    )
    links = io.read_table(spark, warehouse, Tables.RECORD_NOMINALS)
    theirs = {
        tuple(r)
        for r in links.where(F.col("nominal_id") == person).select("source", "record_id").collect()
    }
    sole = {tuple(r) for r in sole_records(links, person).collect()}
    shared = theirs - sole
    assert shared, "the test needs a person sharing a record with someone else"

    before = spark.conf.get("spark.databricks.delta.retentionDurationCheck.enabled", "true")
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    try:
        config = load_config(overrides=("retention.deleted_file_retention=interval 0 hours",))
        ctx = RunContext(warehouse, config, kind="forget")
        result = run_forget(spark, ctx, person)
    finally:
        spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", before)

    assert result.rows[Tables.NOMINALS] == 1
    assert result.rows[Tables.RECORDS] == len(sole)
    assert set(result.vacuumed) == set(warehouse_versions(warehouse))
    records = io.read_table(spark, warehouse, Tables.RECORDS)
    kept = {tuple(r) for r in records.select("source", "record_id").collect()}
    assert shared <= kept and not (sole & kept)

    needle = re.compile(rf"(?<!\w){re.escape(person)}(?!\w)")  # also inside raw JSON text
    unreadable = 0
    for name, latest in warehouse_versions(warehouse).items():
        path = str(io.table_path(warehouse, name))
        for version in range(latest + 1):
            try:
                rows = deltalake.DeltaTable(path, version=version).to_pyarrow_table().to_pylist()
            except Exception:  # its files were vacuumed: no longer readable
                unreadable += 1
                continue
            text = json.dumps(rows, default=str)
            assert not needle.search(text), f"{name} version {version} still holds the person"
    assert unreadable > 0
    for export in (warehouse / "exports").glob("*.csv"):
        assert not needle.search(export.read_text(encoding="utf-8")), export.name

    with pytest.raises(NominalNotFoundError, match="is not in"):
        resolve_nominal(spark, warehouse, person)
