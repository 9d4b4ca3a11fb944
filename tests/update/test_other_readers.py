"""Every table is readable by another Delta implementation (delta-rs, the ``deltalake``
package) and holds there exactly what Spark reads."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import deltalake
import pytest
from pyspark.sql import Row, SparkSession

from clnet_spark import io
from clnet_spark.pipeline import warehouse_versions

from .conftest import History

pytestmark = pytest.mark.slow


def _arrow_map_entry(value: Any) -> bool:
    """A (key, value) pair as pyarrow gives a map's entries (Spark's structs are Rows)."""
    return isinstance(value, tuple) and not isinstance(value, Row) and len(value) == 2


def normalise(value: Any) -> Any:
    """One spelling for both readers: maps and structs as sorted pairs, UTC-naive times."""
    if isinstance(value, Row):
        value = value.asDict(recursive=True)
    if isinstance(value, dict):  # an empty map: pyarrow gives an empty list
        return ("{}", tuple(sorted((k, normalise(v)) for k, v in value.items()))) if value else ()
    if isinstance(value, list) and value and all(_arrow_map_entry(v) for v in value):
        return ("{}", tuple(sorted((k, normalise(v)) for k, v in value)))  # arrow's map
    if isinstance(value, list | tuple):
        return tuple(normalise(v) for v in value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def test_every_table_reads_the_same_in_delta_rs(spark: SparkSession, history: History) -> None:
    warehouse = history.update.warehouse
    tables = warehouse_versions(warehouse)
    assert len(tables) >= 25
    for name in tables:
        path = str(io.table_path(warehouse, name))
        frame = spark.read.format("delta").load(path)
        spark_rows = sorted(
            (normalise([row[f] for f in frame.columns]) for row in frame.collect()), key=repr
        )
        table = deltalake.DeltaTable(path)
        assert table.version() == tables[name], name
        arrow = table.to_pyarrow_table()
        assert arrow.column_names == frame.columns, name
        rs_rows = sorted(
            (normalise([row[f] for f in frame.columns]) for row in arrow.to_pylist()), key=repr
        )
        same = rs_rows == spark_rows  # rows hold record text: never printed in a failure
        assert same, f"{name}: delta-rs and Spark read different rows"
