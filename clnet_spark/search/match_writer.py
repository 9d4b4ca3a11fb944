"""The search stage's writer: the Python workers write ``record_matches``' Parquet files and
the driver commits them to the Delta table in one transaction.

With the file reader (:mod:`clnet_spark.search.table_files`) the matches are made in the
Python workers as Arrow batches. Handing 1.8 million such rows (scale 26), with their nested
lists of matches, back to the JVM and through Spark's Delta writer cost more than reading and
matching them (``docs/search.md``). Instead each task writes its matches with pyarrow, one
Parquet file per ``source`` value it met, into the table's folder, and returns one summary row
per file (its path, size, rows, statistics) plus its counts (records read, records per search
group). The driver then commits every file in one Delta transaction with ``deltalake``
(mode overwrite): readers see the previous version until then, and a task that died, or an
attempt Spark did not keep, leaves only files no version lists (``VACUUM`` removes them). The
summaries also give the stage's counts, so no job reads the matches back.

The workers write only where the result is the table Spark would write (:func:`refusal`): the
table is absent, and the session's Delta defaults for new tables (``spark.databricks.delta.
properties.defaults.*``) are only retention and checkpoint settings, which the new table is
given; or it is a table of Delta protocol (1, 2) with no table features and not append-only,
partitioned by ``source``, of the schema :data:`~clnet_spark.search.hyperscan_engine.
ARROW_SCHEMA`. Otherwise the stage has Spark write the matches (``search.writer: spark`` forces
that). The file reader has already required a local (or mounted) warehouse path.
"""

from __future__ import annotations

import hashlib
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
from clnet_spark.columns import CATALOGUE_HASH, MATCHED_GROUPS, RECORD_ID, RECORD_WEIGHT, SOURCE
from clnet_spark.errors import CommitError
from clnet_spark.search.catalogue import Catalogue
from clnet_spark.search.hyperscan_engine import ARROW_SCHEMA
from clnet_spark.search.table_files import DataFile, Piece, plan, read_batches, run_shares

log = logging.getLogger(__name__)

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

SUMMARY_SCHEMA: Final = (
    "path string, size long, modified long, source string, rows long, stats string, "
    "searched long, groups array<string>, group_records array<long>"
)
""":data:`SUMMARY_ARROW` as Spark's schema of the job's output."""

STORED: Final = pa.schema([field for field in ARROW_SCHEMA if field.name != SOURCE])
"""The columns in the files (``source`` is the partition column: in the log, not the files)."""

ROW_GROUP_ROWS: Final = 262_144
"""Matches a worker buffers per ``source`` before writing them as one Parquet row group."""

STATS_COLUMNS: Final = (RECORD_ID, CATALOGUE_HASH)
"""Columns given min/max values in each file's statistics (strings up to
:data:`STATS_MAX_CHARS`); every stored scalar column gets its null count."""
STATS_MAX_CHARS: Final = 64

NEW_TABLE_DEFAULTS: Final = frozenset(
    {"logRetentionDuration", "deletedFileRetentionDuration", "checkpointInterval"}
)
"""Session defaults for new Delta tables the workers' table can be given (none changes the
protocol); any other default makes Spark write the table."""

DEFAULTS_PREFIX: Final = "spark.databricks.delta.properties.defaults."
SPARK_CHECKPOINT_INTERVAL: Final = 10
"""Spark checkpoints a Delta table every 10 versions unless ``delta.checkpointInterval`` says."""

_SAFE_VALUE: Final = re.compile(r"[A-Za-z0-9_.\-]+")
NULL_PARTITION: Final = "__HIVE_DEFAULT_PARTITION__"


@dataclass(frozen=True)
class Written:
    """What the workers wrote: the committed version and the stage's counts."""

    version: int
    searched: int
    matching: int
    per_group: dict[str, int]


def partition_folder(value: str | None) -> str:
    """The folder of a ``source`` value: ``source=<value>`` for a value of letters, digits and
    ``_.-`` (every source clnet knows), otherwise a name made from its hash (the Delta log
    holds the value itself; the folder name is only where the files go)."""
    if value is None:
        return f"{SOURCE}={NULL_PARTITION}"
    if _SAFE_VALUE.fullmatch(value):
        return f"{SOURCE}={value}"
    return f"{SOURCE}=h{hashlib.sha256(value.encode()).hexdigest()[:16]}"


def new_table_properties(spark: SparkSession) -> dict[str, str] | None:
    """The table properties Spark would give a new table in this session (its
    ``spark.databricks.delta.properties.defaults.*`` settings), or ``None`` when one of them
    is not in :data:`NEW_TABLE_DEFAULTS` (it may change the protocol: Spark writes)."""
    properties = {}
    for key, value in spark.conf.getAll.items():
        if key.startswith(DEFAULTS_PREFIX):
            name = key[len(DEFAULTS_PREFIX) :]
            if name not in NEW_TABLE_DEFAULTS:
                log.info("search: new Delta tables default to delta.%s, Spark writes", name)
                return None
            properties[f"delta.{name}"] = value
    return properties


def refusal(path: Path) -> str | None:
    """Why the workers may not replace the existing table at ``path`` (see the module), or
    ``None`` when they may (or there is no table)."""
    from deltalake import Schema

    if "%" in str(path):
        return "its path holds '%'"
    if not (path / "_delta_log").is_dir():
        return None
    try:
        table = io.open_delta_log(path)
        protocol, metadata, schema = table.protocol(), table.metadata(), table.schema()
    except Exception as exc:  # noqa: BLE001 - a table deltalake cannot open: Spark writes it
        return f"deltalake cannot open it ({type(exc).__name__})"
    features = sorted({*(protocol.reader_features or []), *(protocol.writer_features or [])})
    if protocol.min_reader_version != 1 or protocol.min_writer_version > 2 or features:
        return (
            f"it needs Delta protocol ({protocol.min_reader_version}, "
            f"{protocol.min_writer_version}) with features {features}; the workers write (1, 2)"
        )
    if str(metadata.configuration.get("delta.appendOnly", "false")).lower() == "true":
        return "it is append-only (delta.appendOnly)"
    if list(metadata.partition_columns) != [SOURCE]:
        return f"it is partitioned by {list(metadata.partition_columns)}, not ['source']"
    found = {field["name"]: field for field in json.loads(schema.to_json())["fields"]}
    wanted = {
        field["name"]: field
        for field in json.loads(Schema.from_arrow(ARROW_SCHEMA).to_json())["fields"]
    }
    if found != wanted:
        differ = sorted(
            name for name in found.keys() | wanted.keys() if found.get(name) != wanted.get(name)
        )
        return f"its schema differs in the columns {differ}"
    return None


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


class _SourceFiles:
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


def _write_share(
    units: Iterator[Piece], catalogue: Catalogue, folder: str
) -> Iterator[pa.RecordBatch]:
    """In a Python worker: match the share's records and write the matches (see module)."""
    import pyarrow.compute as pc

    from clnet_spark.search import hyperscan_engine

    engine = hyperscan_engine.compiled(catalogue)
    files = _SourceFiles(folder)
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
                    files.add(value, matched.filter(mask).select(STORED.names))
        rows = files.close()
    except BaseException:
        files.abandon()
        raise
    task = {"path": None, "size": 0, "modified": 0, "source": None, "rows": 0, "stats": None}
    task.update(searched=searched, groups=list(groups), group_records=list(groups.values()))
    for name in SUMMARY_ARROW.names:
        rows[name].append(task[name])
    yield pa.RecordBatch.from_pydict(rows, schema=SUMMARY_ARROW)


def _checkpoint(path: Path, version: int) -> None:
    """Checkpoint the log where Spark would (every ``delta.checkpointInterval`` versions, 10 by
    default) and drop log entries past ``delta.logRetentionDuration`` as Spark does then."""
    table = io.open_delta_log(path)
    interval = int(
        table.metadata().configuration.get("delta.checkpointInterval") or SPARK_CHECKPOINT_INTERVAL
    )
    if version > 0 and version % interval == 0:
        table.create_checkpoint()
        table.cleanup_metadata()


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
    workers may not write the table (:func:`refusal`, :func:`new_table_properties`): the
    caller has Spark write. The caller has checked the catalogue
    (:func:`~clnet_spark.search.hyperscan_engine.check_catalogue`).

    Raises
    ------
    CommitError
        The table changed while the workers wrote (another writer), or ``deltalake`` refused
        the commit (the message names the table; the files written are left for ``VACUUM``).
    """
    from deltalake import DeltaTable, Schema
    from deltalake.transaction import (
        AddAction,
        CommitProperties,
        PostCommitHookProperties,
        create_table_with_add_actions,
    )

    path = io.table_path(warehouse, name)
    why = refusal(path)
    exists = (path / "_delta_log").is_dir()
    properties = None if exists else new_table_properties(spark)
    if why is not None or (not exists and properties is None):
        log.info(
            "search: the workers may not write %s (%s), Spark writes it", name, why or "defaults"
        )
        return None
    before = io.open_delta_log(path).version() if exists else None
    folder = str(path)
    units, shares = plan(spark, files)
    guard.before_write(path)
    summaries = guard.collect_bounded(
        run_shares(
            spark,
            units,
            shares,
            lambda share: _write_share(share, catalogue, folder),
            SUMMARY_SCHEMA,
        ),
        "files written by the search stage",
    )
    written = [row for row in summaries if row["path"] is not None]
    adds = [
        AddAction(
            row["path"], row["size"], {SOURCE: row["source"]}, row["modified"], True, row["stats"]
        )
        for row in written
    ]
    schema = Schema.from_arrow(ARROW_SCHEMA)
    commit = CommitProperties(custom_metadata={"userMetadata": io.metadata_text(metadata)})
    # checkpoints and log clean-up follow Spark's rule (:func:`_checkpoint`), not delta-rs's
    hooks = PostCommitHookProperties(create_checkpoint=False, cleanup_expired_logs=False)
    try:
        if exists:
            table = DeltaTable(folder)
            if table.version() != before:
                raise CommitError(
                    f"{name} changed from version {before} to {table.version()} while the search "
                    "stage wrote it: another writer is at work on the warehouse"
                )
            table.create_write_transaction(
                adds,
                mode="overwrite",
                schema=schema,
                partition_by=[SOURCE],
                commit_properties=commit,
                post_commithook_properties=hooks,
            )
        else:
            create_table_with_add_actions(
                folder,
                schema,
                adds,
                mode="error",
                partition_by=[SOURCE],
                configuration=properties,
                commit_properties=commit,
                post_commithook_properties=hooks,
            )
    except CommitError:
        raise
    except Exception as exc:
        raise CommitError(
            f"committing the search stage's files to {name} failed ({type(exc).__name__}); "
            f"the {len(adds)} files written stay unlisted until VACUUM removes them"
        ) from exc
    version = io.open_delta_log(path).version()
    _checkpoint(path, version)
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
