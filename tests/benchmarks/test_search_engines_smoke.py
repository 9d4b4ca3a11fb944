"""The search benchmark's smallest scale runs in CI: figures printed, no timing assertions."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

pytestmark = pytest.mark.slow

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "search_engines.py"


def test_smoke_benchmark_measures_every_engine_and_saves_its_figures(
    spark: SparkSession, tmp_path: Path
) -> None:
    spec = importlib.util.spec_from_file_location("search_engines_benchmark", BENCHMARK)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    printed: list[str] = []

    # The whole pipeline is left out here: tests/test_end_to_end.py runs it.
    results = bench.run_benchmark(
        spark,
        [bench.SMOKE_SCALE],
        tmp_path / "out",
        tmp_path / "work",
        pipeline_scales=[],
        echo=printed.append,
    )

    print("\n".join(printed))
    saved = json.loads((tmp_path / "out" / "search_engines.json").read_text(encoding="utf-8"))
    assert saved["scales"] == json.loads(json.dumps(results["scales"], default=str))
    (entry,) = saved["scales"]
    engines = entry["search_stage"]
    assert entry["records"] > 1000 and entry["mb"] > 0
    assert set(engines) == {
        "hyperscan",
        "hyperscan_spark_writer",
        "hyperscan_spark_reader",
        "native",
        "per_group_rlike",
        "identical",
        "reference",
        "reference_som_leftmost",
        "spark_read_only",
        "files_read_only",
        "engine_one_process",
    }
    assert engines["identical"] is True
    assert engines["hyperscan"]["matching_records"] == engines["native"]["matching_records"] > 0
    for route in ("hyperscan_spark_reader", "hyperscan_spark_writer"):
        assert engines[route]["matching_records"] == engines["hyperscan"]["matching_records"]
    assert engines["reference"]["records"] == entry["records"]
    # the engine's batch function alone, in one process, finds what the Spark stage wrote
    assert (
        engines["engine_one_process"]["matching_records"]
        == engines["hyperscan"]["matching_records"]
    )
    # every candidate match the engine verifies comes from the filter the reference scans with
    assert engines["reference"]["matches"] >= engines["hyperscan"]["matching_records"]
    assert (tmp_path / "out" / "search_engines.png").is_file()
    assert any("hyperscan / native" in line for line in printed)
    assert any("hyperscan / per-group rlike" in line for line in printed)
    # flags only, but the same records: each group's terms are the native engine's patterns
    assert engines["per_group_rlike"]["matching_records"] == engines["native"]["matching_records"]
    assert any("engine in one process / reference" in line for line in printed)
