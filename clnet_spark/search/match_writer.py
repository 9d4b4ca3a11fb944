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

import logging
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pyarrow as pa
from pyspark.sql import SparkSession

from clnet_spark import driver_writes, guard, io
from clnet_spark.columns import MATCHED_GROUPS, SOURCE
from clnet_spark.errors import CommitError
from clnet_spark.search.catalogue import Catalogue
from clnet_spark.search.hyperscan_engine import ARROW_SCHEMA
from clnet_spark.search.match_files import STORED, SUMMARY_ARROW, SourceFiles
from clnet_spark.search.table_files import DataFile, Piece, plan, read_batches, run_shares

log = logging.getLogger(__name__)

SUMMARY_SCHEMA: Final = (
    "path string, size long, modified long, source string, rows long, stats string, "
    "searched long, groups array<string>, group_records array<long>"
)
""":data:`~clnet_spark.search.match_files.SUMMARY_ARROW` as Spark's schema of the job's output."""

NEW_TABLE_DEFAULTS: Final = frozenset(
    {"logRetentionDuration", "deletedFileRetentionDuration", "checkpointInterval"}
)
"""Session defaults for new Delta tables the workers' table can be given (none changes the
protocol); any other default makes Spark write the table."""

DEFAULTS_PREFIX: Final = "spark.databricks.delta.properties.defaults."


@dataclass(frozen=True)
class Written:
    """A written ``record_matches``: the committed version and the stage's counts (from the
    workers' summaries, or counted on the table Spark wrote)."""

    version: int
    searched: int
    matching: int
    per_group: dict[str, int]


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
    ``None`` when they may (or there is no table): the rules of a driver overwrite
    (:func:`clnet_spark.driver_writes.refusal`) with ``record_matches``' columns, partitioned
    by ``source``."""
    if "%" in str(path):
        return "its path holds '%'"
    if not (path / "_delta_log").is_dir():
        return None
    return driver_writes.refusal(path, ARROW_SCHEMA, [SOURCE], "overwrite")


def _write_share(
    units: Iterator[Piece], catalogue: Catalogue, folder: str
) -> Iterator[pa.RecordBatch]:
    """In a Python worker: match the share's records and write the matches (see module)."""
    import pyarrow.compute as pc

    from clnet_spark.search import hyperscan_engine

    engine = hyperscan_engine.compiled(catalogue)
    files = SourceFiles(folder)
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
    from deltalake import Schema
    from deltalake.transaction import (
        AddAction,
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
    # the run's metadata; checkpoints follow Spark's rule, not delta-rs's
    options = driver_writes.commit_options(metadata)
    try:
        if exists:
            table = io.open_delta_log(path)
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
                **options,
            )
        else:
            create_table_with_add_actions(
                folder,
                schema,
                adds,
                mode="error",
                partition_by=[SOURCE],
                configuration=properties,
                **options,
            )
    except CommitError:
        raise
    except Exception as exc:
        raise CommitError(
            f"committing the search stage's files to {name} failed ({type(exc).__name__}); "
            f"the {len(adds)} files written stay unlisted until VACUUM removes them"
        ) from exc
    committed = io.open_delta_log(path)
    version = committed.version()
    driver_writes.checkpoint(committed)
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
