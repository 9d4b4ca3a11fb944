"""``io``'s reads of the Delta log (``deltalake``, no Spark job) agree with Spark's answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from clnet_spark import io


@pytest.mark.parametrize("folder", ["plain", "w%41"])  # deltalake would decode %41 to "A"
def test_version_properties_and_commit_metadata_agree_with_spark(
    spark: SparkSession, tmp_path: Path, folder: str
) -> None:
    warehouse = tmp_path / folder
    if folder != "plain":  # a decoy where deltalake would look: must not be read
        decoy = spark.createDataFrame([(9,)], "x int")
        io.write_table(decoy, tmp_path / "wA", "t", metadata={"stage": "decoy"})
        io.write_table(decoy, tmp_path / "wA", "t", metadata={"stage": "decoy"})
    frame = spark.createDataFrame([(1, "a")], "n int, s string")
    io.write_table(frame, warehouse, "t", metadata={"run_id": "r1", "stage": "first"})
    io.write_table(frame, warehouse, "t", metadata={"run_id": "r2", "stage": "second"})
    path = io.table_path(warehouse, "t")
    nine_days = "'delta.logRetentionDuration' = 'interval 9 days'"
    spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({nine_days})")
    io.write_table(frame, warehouse, "t", metadata={"run_id": "r3", "stage": "third"})

    history = DeltaTable.forPath(spark, str(path)).history(1).first()
    spark_properties = {
        row["key"]: row["value"]
        for row in spark.sql(f"SHOW TBLPROPERTIES delta.`{path}`").collect()
    }

    assert io.table_version(spark, warehouse, "t") == history["version"] == 3
    assert io.last_commit_metadata(spark, warehouse, "t") == {"run_id": "r3", "stage": "third"}
    assert io.parse_metadata(history["userMetadata"]) == {"run_id": "r3", "stage": "third"}
    properties = io.table_properties(spark, path)
    assert properties["delta.logRetentionDuration"] == "interval 9 days"
    assert properties.items() <= spark_properties.items()
