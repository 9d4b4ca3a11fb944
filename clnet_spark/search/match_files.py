"""The Parquet files a search task writes for ``record_matches``: one per ``source`` value,
rows buffered into row groups, each file's Delta statistics gathered as its rows are written.

Used by the Python workers of :mod:`clnet_spark.search.match_writer`, which commits the
files to the Delta table.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from typing import Any, Final

import pyarrow as pa

from clnet_spark.columns import CATALOGUE_HASH, RECORD_ID, RECORD_WEIGHT, SOURCE
from clnet_spark.search.hyperscan_engine import ARROW_SCHEMA

SUMMARY_ARROW: Final = pa.schema(
    [
        ("path", pa.string()),
        ("size", pa.int64()),
        ("modified", pa.int64()),
        ("source", pa.string()),
        ("rows", pa.int64()),
        ("stats", pa.string()),
        ("searched", pa.int64()),
        ("groups", pa.list_(pa.string())),
        ("group_records", pa.list_(pa.int64())),
    ]
)
"""A task's rows: one per file it wrote (``path`` relative to the table folder, ``size``,
``modified`` in ms, ``source``, ``rows``, Delta ``stats`` JSON), then one with ``path`` null
and the task's counts (``searched``, and records per search group)."""

STORED: Final = pa.schema([field for field in ARROW_SCHEMA if field.name != SOURCE])
"""The columns in the files (``source`` is the partition column: in the log, not the files)."""

ROW_GROUP_ROWS: Final = 262_144
"""Matches a worker buffers per ``source`` before writing them as one Parquet row group."""

STATS_COLUMNS: Final = (RECORD_ID, CATALOGUE_HASH)
"""Columns given min/max values in each file's statistics (strings up to
:data:`STATS_MAX_CHARS`); every stored scalar column gets its null count."""
STATS_MAX_CHARS: Final = 64

_SAFE_VALUE: Final = re.compile(r"[A-Za-z0-9_.\-]+")
NULL_PARTITION: Final = "__HIVE_DEFAULT_PARTITION__"


def partition_folder(value: str | None) -> str:
    """The folder of a ``source`` value: ``source=<value>`` for a value of letters, digits and
    ``_.-`` (every source clnet knows), otherwise a name made from its hash (the Delta log
    holds the value itself; the folder name is only where the files go)."""
    if value is None:
        return f"{SOURCE}={NULL_PARTITION}"
    if _SAFE_VALUE.fullmatch(value):
        return f"{SOURCE}={value}"
    return f"{SOURCE}=h{hashlib.sha256(value.encode()).hexdigest()[:16]}"


class FileStats:
    """Delta statistics of one file, gathered row group by row group: ``numRecords``, null
    counts of the scalar columns, min/max of :data:`STATS_COLUMNS` (left out for a column
    with no value or a value longer than :data:`STATS_MAX_CHARS`)."""

    def __init__(self) -> None:
        self.rows = 0
        self.nulls = dict.fromkeys((RECORD_ID, RECORD_WEIGHT, CATALOGUE_HASH), 0)
        self.bounds: dict[str, tuple[str, str]] = {}
        self.dropped: set[str] = set()

    def add(self, part: pa.Table) -> None:
        import pyarrow.compute as pc

        self.rows += part.num_rows
        for name in self.nulls:
            self.nulls[name] += part.column(name).null_count
        for name in STATS_COLUMNS:
            column = part.column(name)
            if name in self.dropped or column.null_count == len(column):
                continue
            if (pc.max(pc.utf8_length(column)).as_py() or 0) > STATS_MAX_CHARS:
                self.dropped.add(name)
                self.bounds.pop(name, None)
                continue
            found = pc.min_max(column).as_py()
            low, high = found["min"], found["max"]
            if name in self.bounds:
                low, high = min(low, self.bounds[name][0]), max(high, self.bounds[name][1])
            self.bounds[name] = (low, high)

    def json(self) -> str:
        stats = {
            "numRecords": self.rows,
            "minValues": {name: pair[0] for name, pair in self.bounds.items()},
            "maxValues": {name: pair[1] for name, pair in self.bounds.items()},
            "nullCount": self.nulls,
        }
        return json.dumps(stats, separators=(",", ":"))


class SourceFiles:
    """A worker's open Parquet files, one per ``source`` value, rows buffered into row groups
    of :data:`ROW_GROUP_ROWS`."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.buffered: dict[str | None, list[pa.RecordBatch]] = {}
        self.writers: dict[str | None, Any] = {}
        self.paths: dict[str | None, str] = {}
        self.stats: dict[str | None, FileStats] = {}

    def add(self, value: str | None, rows: pa.RecordBatch) -> None:
        self.buffered.setdefault(value, []).append(rows)
        if sum(batch.num_rows for batch in self.buffered[value]) >= ROW_GROUP_ROWS:
            self._flush(value)

    def _flush(self, value: str | None) -> None:
        import pyarrow.parquet as pq

        batches = self.buffered.pop(value, [])
        if not batches:
            return
        if value not in self.writers:
            folder = partition_folder(value)
            os.makedirs(os.path.join(self.folder, folder), exist_ok=True)
            self.paths[value] = f"{folder}/part-{uuid.uuid4()}.c000.snappy.parquet"
            target = os.path.join(self.folder, self.paths[value])
            self.writers[value] = pq.ParquetWriter(target, STORED, compression="snappy")
            self.stats[value] = FileStats()
        table = pa.Table.from_batches(batches, schema=STORED)
        self.writers[value].write_table(table, row_group_size=table.num_rows)
        self.stats[value].add(table)

    def close(self) -> dict[str, list[Any]]:
        """Close every file; their summary rows (columns of :data:`SUMMARY_ARROW`)."""
        for value in list(self.buffered):
            self._flush(value)
        for writer in self.writers.values():
            writer.close()
        rows: dict[str, list[Any]] = {name: [] for name in SUMMARY_ARROW.names}
        for value, relative in self.paths.items():
            status = os.stat(os.path.join(self.folder, relative))
            rows["path"].append(relative)
            rows["size"].append(status.st_size)
            rows["modified"].append(int(status.st_mtime * 1000))
            rows["source"].append(value)
            rows["rows"].append(self.stats[value].rows)
            rows["stats"].append(self.stats[value].json())
            rows["searched"].append(0)
            rows["groups"].append([])
            rows["group_records"].append([])
        return rows

    def abandon(self) -> None:
        """Close the files of a failed task (they stay unlisted: ``VACUUM`` removes them)."""
        for writer in self.writers.values():
            writer.close()
