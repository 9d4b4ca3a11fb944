"""Two runs started at once on one warehouse, with the driver-collection guard armed.

Exactly one run gets the warehouse lock; the other stops at once with a message naming the
holder, before starting Spark or touching a table. The winner runs with every driver
collection bounded by the pruned network, under half the records
(``CLNET_DRIVER_ROW_LIMIT``), and a 1 MB ``spark.driver.maxResultSize``: it completes, so
nothing proportional to the records was collected, and its tables equal the baseline's.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from pyspark.sql import SparkSession

from clnet_spark import guard, io
from clnet_spark.columns import Tables

pytestmark = pytest.mark.slow


def test_one_run_wins_the_other_fails_clearly_and_nothing_is_corrupted(
    spark: SparkSession, kit: ModuleType, baseline, compare_with_baseline, tmp_path: Path
) -> None:
    base = baseline.warehouse
    kept = io.read_table(spark, base, Tables.CL_NOMINALS).count()
    edges = io.read_table(spark, base, Tables.CL_EDGES).count()
    records = io.read_table(spark, base, Tables.RECORDS).count()
    bound = max(kept, edges)  # the pruned network: the most any driver collection may need
    assert bound * 2 < records  # well below the corpus

    warehouse = tmp_path / "warehouse"
    args = ["run", "--input", str(baseline.input_dir), "--warehouse", str(warehouse)]
    env = {
        guard.ROW_LIMIT_ENV: str(bound),
        "PYSPARK_SUBMIT_ARGS": "--conf spark.driver.maxResultSize=1m pyspark-shell",
    }
    procs = [kit.run_cli(args, tmp_path / f"run-{i}.log", env=env, wait=False) for i in range(2)]
    codes = [kit.finish(proc) for proc in procs]
    logs = [(tmp_path / f"run-{i}.log").read_text() for i in range(2)]
    assert sorted(codes) == [0, 2], logs
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    refusal = " ".join(logs[loser].split())
    assert f"warehouse {warehouse.resolve()} is in use by run" in refusal, refusal
    assert "--lock-timeout" in refusal and "Traceback" not in refusal
    assert "stage ingest" not in refusal  # refused before any stage started

    compare_with_baseline(warehouse)
    runs = io.read_table(spark, warehouse, Tables.RUN_LOG).collect()
    assert [r["outcome"] for r in runs] == ["succeeded"]
    assert runs[0]["run_id"] in logs[winner]
