"""The search stage's writer: the Python workers write ``record_matches``' Parquet files and
the driver commits them to the Delta table in one transaction.

With the file reader (:mod:`clnet_spark.search.table_files`) the matches are made in the
Python workers as Arrow batches. Handing 1.8 million such rows (scale 26), with their nested
lists of matches, back to the JVM and through Spark's Delta writer cost more than reading and
matching them (``docs/search.md``). Instead each task writes its matches with pyarrow, one
Parquet file per ``source`` value it met, into the table's folder, and returns one summary row
per file (its path, size, rows) plus its counts (records read, records per search group). The
driver then commits every file in one Delta transaction with ``deltalake``
(``create_write_transaction``, mode overwrite): readers see the previous version until then,
and a task that died, or an attempt Spark did not keep, leaves only files no version lists
(``VACUUM`` removes them). The summaries also give the stage's counts, so no job reads the
matches back.

The workers write only where the result is exactly the table Spark would write: the table
folder is on a local (or mounted) filesystem with no ``%`` in its path, and the table is absent
or is a table of Delta protocol (1, 2) with no table features, partitioned by ``source`` and of
the schema :data:`~clnet_spark.search.hyperscan_engine.OUTPUT_SCHEMA`. Otherwise the stage has
Spark write the matches (``search.writer: spark`` forces that).
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
from pyspark.sql import SparkSession

from clnet_spark import guard, io
from clnet_spark.columns import MATCHED_GROUPS, SOURCE
from clnet_spark.search.catalogue import Catalogue
from clnet_spark.search.table_files import DataFile, Piece, plan, read_batches, run_shares

log = logging.getLogger(__name__)

SUMMARY_SCHEMA: Final = (
    "path string, size long, modified long, source string, rows long, "
    "searched long, groups array<string>, group_records array<long>"
)
"""A task's rows: one per file it wrote (``path`` relative to the table folder, ``size``,
``modified`` in ms, ``source``, ``rows``), then one with ``path`` null and its counts."""

_SAFE_VALUE: Final = re.compile(r"[A-Za-z0-9_.\-]+")
NULL_PARTITION: Final = "__HIVE_DEFAULT_PARTITION__"


@dataclass(frozen=True)
class Written:
    """What the workers wrote: the committed version and the stage's counts."""

    version: int
    searched: int
    matching: int
    per_group: dict[str, int]


def _arrow_schema() -> pa.Schema:
    from clnet_spark.search.hyperscan_engine import _ARROW_SCHEMA

    return _ARROW_SCHEMA


def partition_folder(value: str | None) -> str:
    """The folder of a ``source`` value: ``source=<value>`` for a value of letters, digits and
    ``_.-`` (every source clnet knows), otherwise a name made from its hash (the Delta log
    holds the value itself; the folder name is only where the files go)."""
    if value is None:
        return f"{SOURCE}={NULL_PARTITION}"
    if _SAFE_VALUE.fullmatch(value) and value not in (".", ".."):
        return f"{SOURCE}={value}"
    import hashlib

    return f"{SOURCE}=h{hashlib.sha256(value.encode()).hexdigest()[:16]}"


def workers_can_write(path: Path) -> bool:
    """Whether the workers may write the table at ``path`` (see the module): logged when not."""
    from deltalake import Schema

    if "%" in str(path) or "://" in str(path):
        log.info("search: %s is not a plain filesystem path, Spark writes the matches", path)
        return False
    if not (path / "_delta_log").is_dir():
        return True
    try:
        table = io.open_delta_log(path)
        protocol = table.protocol()
        metadata = table.metadata()
        schema = table.schema()
    except Exception as exc:  # noqa: BLE001 - a table deltalake cannot open: Spark writes it
        log.info("search: deltalake cannot open record_matches (%s), Spark writes", exc)
        return False
    expected = Schema.from_arrow(_arrow_schema())
    plain = (
        protocol.min_reader_version == 1
        and protocol.min_writer_version <= 2
        and not protocol.reader_features
        and not protocol.writer_features
    )
    if not plain or list(metadata.partition_columns) != [SOURCE]:
        log.info("search: record_matches has protocol or partitioning of its own, Spark writes")
        return False
    if json.loads(schema.to_json()) != json.loads(expected.to_json()):
        log.info("search: record_matches has another schema, Spark writes the matches")
        return False
    return True


def _write_share(
    units: Iterator[Piece], catalogue: Catalogue, folder: str
) -> Iterator[pa.RecordBatch]:
    """In a Python worker: match the share's records and write the matches (see module)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from clnet_spark.search import hyperscan_engine

    engine = hyperscan_engine.compiled(catalogue)
    stored = pa.schema([field for field in _arrow_schema() if field.name != SOURCE])
    writers: dict[str | None, tuple[Any, str]] = {}
    rows: Counter[str | None] = Counter()
    groups: Counter[str] = Counter()
    searched = 0
    try:
        for unit in units:
            for batch in read_batches(unit.file, unit.row_group):
                searched += batch.num_rows
                matched = engine.match_batch(batch)
                if matched.num_rows == 0:
                    continue
                flat = pc.list_flatten(matched.column(MATCHED_GROUPS))
                for entry in pc.value_counts(flat).to_pylist():
                    groups[entry["values"]] += entry["counts"]
                sources = matched.column(SOURCE)
                for value in pc.unique(sources).to_pylist():
                    mask = pc.is_null(sources) if value is None else pc.equal(sources, value)
                    part = matched.filter(mask).select(stored.names)
                    if value not in writers:
                        relative = f"{partition_folder(value)}/part-{uuid.uuid4()}.c000.snappy.parquet"
                        os.makedirs(os.path.join(folder, partition_folder(value)), exist_ok=True)
                        writer = pq.ParquetWriter(
                            os.path.join(folder, relative), stored, compression="snappy"
                        )
                        writers[value] = (writer, relative)
                    writers[value][0].write_batch(part)
                    rows[value] += part.num_rows
    finally:
        for writer, _ in writers.values():
            writer.close()
    summary: dict[str, list[Any]] = {name: [] for name in ("path", "size", "modified")}
    summary.update(source=[], rows=[], searched=[], groups=[], group_records=[])
    for value, (_, relative) in writers.items():
        status = os.stat(os.path.join(folder, relative))
        summary["path"].append(relative)
        summary["size"].append(status.st_size)
        summary["modified"].append(int(status.st_mtime * 1000))
        summary["source"].append(value)
        summary["rows"].append(rows[value])
        summary["searched"].append(0)
        summary["groups"].append([])
        summary["group_records"].append([])
    for name, value in (("path", None), ("size", 0), ("modified", 0), ("source", None)):
        summary[name].append(value)
    summary["rows"].append(0)
    summary["searched"].append(searched)
    summary["groups"].append(list(groups))
    summary["group_records"].append(list(groups.values()))
    yield pa.RecordBatch.from_pydict(
        summary,
        schema=pa.schema(
            [
                ("path", pa.string()),
                ("size", pa.int64()),
                ("modified", pa.int64()),
                ("source", pa.string()),
                ("rows", pa.int64()),
                ("searched", pa.int64()),
                ("groups", pa.list_(pa.string())),
                ("group_records", pa.list_(pa.int64())),
            ]
        ),
    )


def write_matches(
    spark: SparkSession,
    files: list[DataFile],
    catalogue: Catalogue,
    warehouse: Path,
    name: str,
    metadata: Mapping[str, str],
) -> Written | None:
    """Match the records in ``files`` and replace the table ``name`` with the matches, written
    by the workers and committed in one transaction; ``None`` (nothing written) when the
    workers may not write the table (:func:`workers_can_write`): the caller has Spark write.
    """
    from deltalake import DeltaTable, Schema
    from deltalake.transaction import AddAction, CommitProperties, create_table_with_add_actions

    from clnet_spark.search import hyperscan_engine

    path = io.table_path(warehouse, name)
    if not workers_can_write(path):
        return None
    hyperscan_engine.check_catalogue(catalogue)
    folder = str(path)
    units, shares = plan(spark, files)
    guard.before_write(path)
    summaries = run_shares(
        spark,
        units,
        shares,
        lambda share: _write_share(share, catalogue, folder),
        SUMMARY_SCHEMA,
    ).collect()
    written = [row for row in summaries if row["path"] is not None]
    adds = [
        AddAction(
            row["path"],
            row["size"],
            {SOURCE: row["source"]},
            row["modified"],
            True,
            json.dumps({"numRecords": row["rows"]}),
        )
        for row in written
    ]
    schema = Schema.from_arrow(_arrow_schema())
    commit = CommitProperties(custom_metadata={"userMetadata": io.metadata_text(metadata)})
    if (path / "_delta_log").is_dir():
        DeltaTable(folder).create_write_transaction(
            adds, mode="overwrite", schema=schema, partition_by=[SOURCE], commit_properties=commit
        )
    else:
        create_table_with_add_actions(
            folder, schema, adds, mode="overwrite", partition_by=[SOURCE], commit_properties=commit
        )
    version = io.open_delta_log(path).version()
    log.info("search: workers wrote %d files of %s, version %d", len(adds), name, version)
    guard.after_write(name)
    per_group: Counter[str] = Counter()
    for row in summaries:
        per_group.update(dict(zip(row["groups"], row["group_records"], strict=True)))
    return Written(
        version=version,
        searched=sum(row["searched"] for row in summaries),
        matching=sum(row["rows"] for row in written),
        per_group=dict(sorted(per_group.items())),
    )
