"""The search stage's reader: Python workers read the ``records`` table's Parquet files.

With ``search.reader: files`` (the default) and the Hyperscan engine, the stage does not have
Spark read the texts and ship them to the Python workers. The driver lists the data files of
the table's current snapshot from its Delta log (``deltalake``, no data read); Spark runs one
task per core (``spark.range(tasks).mapInArrow``), each given a share of the files (or, for a
table of few files, of their row groups) of about equal size, and each task's Python worker
reads their ``record_id`` and ``text`` columns (and ``source``, unless it is the partition
column) with pyarrow, in batches, straight into the engine.
At scale 26 (546 MB of text) this takes the reading from 1.8 s on two cores (Spark decoding
the Parquet into rows, then into Arrow for Python) to 0.9 s of one core (``docs/search.md``).

The file list is the snapshot Spark would read, so the matches are the same. The reader
declines, and the stage falls back to Spark's reader (``search.reader: spark``), when it cannot
read a snapshot exactly as Delta defines it:

- the table needs more than Delta reader version 1: column mapping (version 2; columns have
  other physical names in the files) or reader features (version 3: deletion vectors, whose
  deleted rows are still in the files, ...);
- the table is not on a local (or mounted) filesystem (every executor must open the same
  path), its path holds ``%`` (``deltalake`` would decode it and open another folder), or
  ``deltalake`` cannot open it.

On a cluster the warehouse must then be a shared mount seen at the same path by the driver and
every executor (as it must for ``spark.read`` of a local path); otherwise set
``search.reader: spark``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlparse

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from clnet_spark.columns import RECORD_ID, SOURCE, TEXT
from clnet_spark.errors import InputContractError
from clnet_spark.io import open_delta_log
from clnet_spark.search.catalogue import Catalogue

log = logging.getLogger(__name__)

BATCH_ROWS: Final = 10_000
"""Rows per Arrow batch a worker reads (Spark's ``maxRecordsPerBatch`` default)."""


@dataclass(frozen=True)
class DataFile:
    """One data file of a snapshot: its local path, size, and partition values."""

    path: str
    size: int
    partition: dict[str, str | None]


def _local_root(table: str | Path) -> Path | None:
    text = str(table)
    parsed = urlparse(text)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path) if parsed.scheme else text)
    return None


def snapshot_files(table: str | Path, version: int | None = None) -> list[DataFile] | None:
    """The data files of a Delta table's snapshot (the latest, or ``version``), or ``None``
    when this reader cannot read it exactly (the reason is logged).

    Raises
    ------
    InputContractError
        The table lacks ``source``, ``record_id`` or ``text``, or one of them is not a string.
    """
    root = _local_root(table)
    if root is None:
        log.info("search: %s is not on a local filesystem, Spark reads the records", table)
        return None
    try:
        delta = open_delta_log(root, version)
        protocol = delta.protocol()
    except Exception as exc:  # noqa: BLE001 - any table deltalake cannot open: Spark reads it
        log.info(
            "search: deltalake cannot open the records table (%s: %s), Spark reads the records",
            type(exc).__name__,
            exc,
        )
        return None
    features = protocol.reader_features or []
    if protocol.min_reader_version > 1 or features:
        # Reader version 2 is column mapping, 3 reader features (deletion vectors, ...).
        log.info(
            "search: the records table needs reader version %d %s, Spark reads the records",
            protocol.min_reader_version,
            sorted(features),
        )
        return None
    schema = pa.schema(delta.schema().to_arrow())
    for name in (SOURCE, RECORD_ID, TEXT):
        if schema.get_field_index(name) < 0:
            raise InputContractError(
                f"search: the records table lacks the column {name!r}; present: {schema.names}"
            )
        if not (
            pa.types.is_string(schema.field(name).type)
            or pa.types.is_large_string(schema.field(name).type)
        ):
            raise InputContractError(
                f"search: column {name!r} of the records table must be a string, "
                f"got {schema.field(name).type}"
            )
    actions = pa.table(delta.get_add_actions(flatten=True)).to_pylist()
    partitions = delta.metadata().partition_columns
    files = [
        DataFile(
            path=str(root / unquote(action["path"])),
            size=int(action["size_bytes"]),
            partition={name: action.get(f"partition.{name}") for name in partitions},
        )
        for action in actions
    ]
    return sorted(files, key=lambda file: file.path)


@dataclass(frozen=True)
class Piece:
    """What one task reads of a data file: the whole file, or one of its row groups."""

    file: DataFile
    row_group: int | None
    size: int


SPLIT_BELOW: Final = 4
"""With fewer than this many files per task, files are split into their row groups."""


def pieces(files: list[DataFile], tasks: int) -> list[Piece]:
    """The units shared out among ``tasks`` tasks: whole files when there are at least
    :data:`SPLIT_BELOW` per task and none is more than a task's share of the bytes (no footer
    is read), otherwise every row group of every file (sized by its uncompressed bytes), so
    that a table of a few large files, or of one large file among small ones, still keeps
    every task busy."""
    total = sum(file.size for file in files)
    if len(files) >= SPLIT_BELOW * tasks and all(file.size * tasks <= total for file in files):
        return [Piece(file, None, file.size) for file in files]
    import pyarrow.parquet as pq

    found = []
    for file in files:
        metadata = pq.read_metadata(file.path)
        found += [
            Piece(file, number, metadata.row_group(number).total_byte_size)
            for number in range(metadata.num_row_groups)
        ]
    return found


def share_out(items: Sequence[DataFile | Piece], tasks: int) -> list[list[int]]:
    """The items' numbers in at most ``tasks`` lists of about equal total size (largest item
    first, each to the list with the least so far; empty lists dropped).

    One Spark task per file costs a Python worker round trip per file (0.1-0.2 s each
    here); one task per core pays it once per core.
    """
    shares: list[list[int]] = [[] for _ in range(max(min(tasks, len(items)), 1))]
    loads = [0] * len(shares)
    for number in sorted(range(len(items)), key=lambda n: -items[n].size):
        lightest = loads.index(min(loads))
        shares[lightest].append(number)
        loads[lightest] += items[number].size
    return [share for share in shares if share]


def read_batches(file: DataFile, row_group: int | None = None) -> Iterator[pa.RecordBatch]:
    """``source``, ``record_id`` and ``text`` of one data file (or one of its row groups), in
    Arrow batches."""
    import pyarrow.parquet as pq

    stored = [name for name in (SOURCE, RECORD_ID, TEXT) if name not in file.partition]
    parquet = pq.ParquetFile(file.path)
    batches = parquet.iter_batches(
        batch_size=BATCH_ROWS,
        row_groups=None if row_group is None else [row_group],
        columns=stored,
        use_threads=False,
    )
    for batch in batches:
        columns = {name: batch.column(name) for name in stored}
        for name, value in file.partition.items():
            if name in (SOURCE, RECORD_ID, TEXT):
                columns[name] = pa.array([value] * batch.num_rows, type=pa.string())
        yield pa.RecordBatch.from_arrays(
            [columns[SOURCE], columns[RECORD_ID], columns[TEXT]], names=[SOURCE, RECORD_ID, TEXT]
        )


def plan(spark: SparkSession, files: list[DataFile]) -> tuple[list[Piece], list[list[int]]]:
    """What the tasks read: the units of ``files`` (:func:`pieces`) and one share of their
    numbers per task (:func:`share_out`), one task per core of the application
    (``defaultParallelism``)."""
    tasks = spark.sparkContext.defaultParallelism
    units = pieces(files, tasks)
    return units, share_out(units, tasks)


def run_shares(
    spark: SparkSession,
    units: list[Piece],
    shares: list[list[int]],
    per_share: Callable[[Iterator[Piece]], Iterator[pa.RecordBatch]],
    schema: StructType | str,
) -> DataFrame:
    """One Spark task per share; its Python worker runs ``per_share`` over the share's units
    and returns what it yields (``schema``)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for numbers in batches:
            for share in numbers.column(0).to_pylist():
                yield from per_share(units[number] for number in shares[share])

    count = len(shares) if units else 0
    return spark.range(0, count, 1, max(count, 1)).mapInArrow(run, schema)


def map_batches(
    spark: SparkSession,
    files: list[DataFile],
    per_batch: Callable[[pa.RecordBatch], pa.RecordBatch],
    schema: StructType | str,
) -> DataFrame:
    """``per_batch`` applied in the Python workers to every batch of ``files`` (columns
    ``source``, ``record_id``, ``text``), each task reading its share (:func:`plan`);
    ``schema`` is that of ``per_batch``'s output."""
    units, shares = plan(spark, files)

    def per_share(share: Iterator[Piece]) -> Iterator[pa.RecordBatch]:
        for unit in share:
            for batch in read_batches(unit.file, unit.row_group):
                yield per_batch(batch)

    return run_shares(spark, units, shares, per_share, schema)


def match_files(spark: SparkSession, files: list[DataFile], catalogue: Catalogue) -> DataFrame:
    """``record_matches`` of the records in ``files`` with the Hyperscan engine
    (:func:`map_batches`; same output as
    :func:`clnet_spark.search.hyperscan_engine.match_records`)."""
    from clnet_spark.search import hyperscan_engine

    hyperscan_engine.check_catalogue(catalogue)

    def match(batch: pa.RecordBatch) -> pa.RecordBatch:
        # compiled once per worker process, then a dict lookup per batch
        return hyperscan_engine.compiled(catalogue).match_batch(batch)

    return map_batches(spark, files, match, hyperscan_engine.OUTPUT_SCHEMA)
