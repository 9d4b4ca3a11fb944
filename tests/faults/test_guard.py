"""The driver-collection guard and the driver memory figures."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from clnet_spark import guard
from clnet_spark.guard import DriverCollectionError, collect_bounded, to_pandas_bounded


def test_unarmed_collections_are_plain(spark: SparkSession, monkeypatch) -> None:
    monkeypatch.delenv(guard.ROW_LIMIT_ENV, raising=False)
    frame = spark.range(50)
    assert [r.id for r in collect_bounded(frame, "ids")] == list(range(50))
    assert list(to_pandas_bounded(frame, "ids")["id"]) == list(range(50))


def test_armed_guard_passes_bounded_and_stops_corpus_sized_collections(
    spark: SparkSession, monkeypatch
) -> None:
    monkeypatch.delenv(guard.ROW_LIMIT_ENV, raising=False)
    with guard.armed(10):
        assert len(collect_bounded(spark.range(10), "ten rows")) == 10  # at the bound: fine
        with pytest.raises(DriverCollectionError, match=r"records.*more than 10 rows"):
            collect_bounded(spark.range(11), "records")
        with pytest.raises(DriverCollectionError, match="more than 10 rows"):
            to_pandas_bounded(spark.range(1000), "records")
    assert len(collect_bounded(spark.range(11), "records")) == 11  # disarmed again


def test_the_environment_arms_the_guard(spark: SparkSession, monkeypatch) -> None:
    monkeypatch.setenv(guard.ROW_LIMIT_ENV, "3")
    with pytest.raises(DriverCollectionError, match="more than 3 rows"):
        collect_bounded(spark.range(4), "records")
    monkeypatch.setenv(guard.ROW_LIMIT_ENV, "many")
    with pytest.raises(DriverCollectionError, match="expected a whole number of rows"):
        collect_bounded(spark.range(1), "records")


def test_driver_memory_reports_python_and_jvm_peaks(spark: SparkSession) -> None:
    figures = guard.driver_memory()
    assert figures["python peak rss"] > 10  # MB: an interpreter with pandas loaded
    # the test session's JVM is this process's child: its resident and heap peaks are read
    assert figures["jvm peak rss"] > 50
    # the heap peak sums each pool's own peak, reached at different moments: an upper bound
    # of the heap in use, which may exceed the maximum heap after many collections
    assert figures["jvm peak heap"] > 0
    assert figures["jvm max heap"] > 0
