"""Small writes committed from the driver with ``deltalake`` (``update.driver_rows``).

Spark's Delta writes cost about a second whatever the size: a MERGE is a dozen jobs (finding
the files a change touches, rewriting them, committing). A one-day ``clnet update`` changes a
few hundred rows of each ingest table and makes ten such writes. When the rows to write are
few, the driver collects them as Arrow (one Spark job, which computes them as the write would)
and commits them with ``deltalake`` (delta-rs) instead, in tens of milliseconds. The table left
is the one Spark's write would leave: the same rows, schema, partitioning and protocol, one
commit with the run's metadata as ``userMetadata``, checkpoints where Spark puts them.

The driver writes only where that holds (:func:`refusal`): an existing table (a new one is
created by Spark, with the session's table defaults) of Delta protocol (1, 2) without table
features, not append-only for a merge or an overwrite, partitioned as asked, whose columns
(names and types; for an overwrite also their order) are the rows' columns and all nullable,
at a path without ``%``. Otherwise, and when there are more rows than ``update.driver_rows``,
Spark writes (the caller's fallback). ``update.driver_rows: 0`` makes Spark write everything.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame

from clnet_spark import guard, io
from clnet_spark.errors import CommitError

log = logging.getLogger(__name__)

ACTION: Final = "_action"
"""The change rows' column saying ``upsert`` or ``delete`` (see :func:`merge`)."""

SPARK_CHECKPOINT_INTERVAL: Final = 10
"""Spark checkpoints a Delta table every 10 versions unless ``delta.checkpointInterval`` says."""

Mode = Literal["merge", "overwrite", "append"]


def collect_small(frame: DataFrame, limit: int) -> pa.Table | None:
    """``frame``'s rows as Arrow when there are at most ``limit`` of them, else ``None``.

    One Spark job, which stops once it has ``limit + 1`` rows; ``limit`` 0 collects nothing.
    The driver's collection bound (:func:`clnet_spark.guard.row_limit`), when armed, lowers
    ``limit``; rows larger in bytes than ``spark.driver.maxResultSize`` give ``None`` too.
    """
    bound = guard.row_limit()
    if bound is not None:
        limit = min(limit, bound)
    if limit <= 0:
        return None
    try:
        rows = frame.limit(limit + 1).toArrow()
    except Exception as exc:
        if "maxResultSize" not in str(exc):
            raise
        log.info("driver writes: the rows exceed spark.driver.maxResultSize, Spark writes them")
        return None
    if rows.num_rows > limit:
        log.info("driver writes: more than %d rows, Spark writes them", limit)
        return None
    return _rebuilt_nested(rows)


def _rebuilt_nested(rows: pa.Table) -> pa.Table:
    """``rows`` with every nested column (map, list, struct) built again by pyarrow.

    delta-rs 1.6 (arrow-rs 59) panics in a merge on the map arrays Spark's ``toArrow`` hands
    over (valid by pyarrow's full validation); the same values built by pyarrow merge. Small
    tables only: the values pass through Python.
    """
    for index, field in enumerate(rows.schema):
        if pa.types.is_nested(field.type):
            values = pa.array(rows.column(index).to_pylist(), type=field.type)
            rows = rows.set_column(index, field, values)
    return rows


def _fields(schema_json: str) -> dict[str, dict[str, Any]]:
    """A Delta schema's fields (its JSON form) by name, in the schema's order."""
    return {field["name"]: field for field in json.loads(schema_json)["fields"]}


def refusal(path: Path, columns: pa.Schema, partition_by: Sequence[str], mode: Mode) -> str | None:
    """Why the driver may not write rows of ``columns`` to the table at ``path`` (see the
    module), or ``None`` when it may."""
    from deltalake import Schema

    if "%" in str(path):
        return "its path holds '%'"
    if not (path / "_delta_log").is_dir():
        return "the table does not exist yet"
    try:
        table = io.open_delta_log(path)
        protocol, metadata, schema = table.protocol(), table.metadata(), table.schema()
    except Exception as exc:  # noqa: BLE001 - a table deltalake cannot open: Spark writes it
        return f"deltalake cannot open it ({type(exc).__name__})"
    features = sorted({*(protocol.reader_features or []), *(protocol.writer_features or [])})
    if protocol.min_reader_version != 1 or protocol.min_writer_version > 2 or features:
        return (
            f"it needs Delta protocol ({protocol.min_reader_version}, "
            f"{protocol.min_writer_version}) with features {features}; the driver writes (1, 2)"
        )
    append_only = str(metadata.configuration.get("delta.appendOnly", "false")).lower() == "true"
    if append_only and mode != "append":
        return "it is append-only (delta.appendOnly)"
    if list(metadata.partition_columns) != list(partition_by):
        return f"it is partitioned by {list(metadata.partition_columns)}, not {list(partition_by)}"
    found = _fields(schema.to_json())
    if any(not field["nullable"] for field in found.values()):
        return "it has columns that may not be null"
    try:
        wanted = _fields(Schema.from_arrow(columns).to_json())
    except Exception as exc:  # noqa: BLE001 - a type Delta has no name for: Spark writes
        return f"its rows have a type deltalake cannot store ({type(exc).__name__})"
    if set(found) != set(wanted):
        return f"its columns are {sorted(found)}, the rows' {sorted(wanted)}"
    if mode == "overwrite" and list(found) != list(wanted):
        # Spark's overwrite gives the table the rows' column order
        return f"its columns are in the order {list(found)}, the rows' {list(wanted)}"
    differ = [name for name in found if found[name]["type"] != wanted[name]["type"]]
    if differ:
        return f"the types of its columns {differ} differ from the rows'"
    return None


def _as_table_schema(rows: pa.Table, table: Any) -> pa.Table:
    """``rows`` in the table's column order, cast to its own Arrow schema (time zones, map
    field names, nullability as ``deltalake`` reads them)."""
    schema = pa.schema(table.schema().to_arrow())
    return rows.select(schema.names).cast(schema)


def checkpoint(table: Any) -> None:
    """Checkpoint the log of ``table`` (just committed, opened with ``deltalake``) where Spark
    would (every ``delta.checkpointInterval`` versions, 10 by default) and drop log entries
    past ``delta.logRetentionDuration`` as Spark does then."""
    version = table.version()
    interval = int(
        table.metadata().configuration.get("delta.checkpointInterval") or SPARK_CHECKPOINT_INTERVAL
    )
    if version > 0 and version % interval == 0:
        table.create_checkpoint()
        table.cleanup_metadata()


def commit_options(metadata: Mapping[str, str]) -> dict[str, Any]:
    """``deltalake`` commit arguments: ``metadata`` as the commit's ``userMetadata`` (as Spark
    records it), and no checkpoint or log clean-up by delta-rs (:func:`checkpoint` does them
    where Spark would)."""
    from deltalake.transaction import CommitProperties, PostCommitHookProperties

    return {
        "commit_properties": CommitProperties(
            custom_metadata={"userMetadata": io.metadata_text(metadata)}
        ),
        # checkpoints and log clean-up follow Spark's rule (:func:`checkpoint`)
        "post_commithook_properties": PostCommitHookProperties(
            create_checkpoint=False, cleanup_expired_logs=False
        ),
    }


def _repeated_keys(rows: pa.Table, keys: Sequence[str]) -> bool:
    """Whether two change rows share a key (compared null-safely, as the merge compares)."""
    counts = rows.group_by(list(keys)).aggregate([([], "count_all")])
    return counts.num_rows > 0 and pc.max(counts.column("count_all")).as_py() > 1


def write(
    path: Path,
    rows: pa.Table,
    metadata: Mapping[str, str],
    mode: Mode,
    *,
    keys: Sequence[str] = (),
    partition_by: Sequence[str] = (),
) -> int | None:
    """Commit ``rows`` to the Delta table at ``path`` from the driver; the version committed,
    or ``None`` (nothing written, the reason logged) when :func:`refusal` says no.

    ``merge``: ``rows`` are changes, the table's columns plus :data:`ACTION`; an ``upsert``
    replaces or inserts its row, a ``delete`` removes it (keys compared null-safely). Changes
    holding two rows for one key are left to Spark, whose MERGE decides (it refuses them when
    they meet an existing row). ``overwrite`` replaces every row; ``append`` adds ``rows``.
    A merge or append of no rows commits nothing (as Spark's) and returns the current version.

    Raises
    ------
    CommitError
        ``deltalake`` refused the commit (another writer committed meanwhile, ...); the
        message gives its reason.
    """
    from deltalake import write_deltalake

    name = path.name
    columns = rows.drop_columns([ACTION]) if mode == "merge" else rows
    why = refusal(path, columns.schema, partition_by, mode)
    if why is not None:
        log.info("driver writes: not %s (%s), Spark writes it", name, why)
        return None
    if mode == "merge" and _repeated_keys(rows, keys):
        log.info("driver writes: not %s (two changes share a key), Spark merges them", name)
        return None
    table = io.open_delta_log(path)
    before = table.version()
    if mode != "overwrite" and rows.num_rows == 0:
        log.info("driver writes: no rows for %s, nothing committed", name)
        return before
    try:
        if mode == "merge":
            source = _as_table_schema(columns, table).append_column(ACTION, rows.column(ACTION))
        else:
            source = _as_table_schema(rows, table)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        log.info("driver writes: not %s (rows do not cast: %s), Spark writes it", name, exc)
        return None
    guard.before_write(path)
    try:
        if mode == "merge":
            on = " AND ".join(f"(t.`{k}` IS NOT DISTINCT FROM s.`{k}`)" for k in keys)
            values = {f"`{col}`": f"s.`{col}`" for col in columns.column_names}
            is_delete, is_upsert = f"s.{ACTION} = 'delete'", f"s.{ACTION} = 'upsert'"
            (
                table.merge(
                    source, on, source_alias="s", target_alias="t", **commit_options(metadata)
                )
                .when_matched_delete(predicate=is_delete)
                .when_matched_update(updates=values, predicate=is_upsert)
                .when_not_matched_insert(updates=values, predicate=is_upsert)
                .execute()
            )
        else:
            write_deltalake(
                table,
                source,
                mode=mode,
                partition_by=list(partition_by) or None,
                **commit_options(metadata),
            )
    except BaseException as exc:  # delta-rs panics arrive as pyo3's PanicException
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        reason = (str(exc).strip().splitlines() or [""])[0][:200]
        raise CommitError(
            f"committing {name} from the driver failed ({type(exc).__name__}: {reason}); "
            "nothing was committed"
        ) from exc
    committed = io.open_delta_log(path)
    version = committed.version()
    if version == before:
        log.info("driver writes: %s unchanged by the %s (version %d)", name, mode, version)
        return version
    checkpoint(committed)
    log.info("driver wrote %s (%s, %d rows): version %d", name, mode, rows.num_rows, version)
    guard.after_write(name)
    return version


def write_frame(
    frame: DataFrame,
    warehouse: Path,
    name: str,
    metadata: dict[str, str] | None = None,
    driver_rows: int = 0,
    mode: Literal["overwrite", "append"] = "overwrite",
    partition_by: tuple[str, ...] = (),
) -> int:
    """Overwrite (or append to) a warehouse table with ``frame``: from the driver when it has
    at most ``driver_rows`` rows and the driver may write the table (see the module), else
    with :func:`~clnet_spark.io.write_table` (:func:`~clnet_spark.io.append_table`). Returns
    the version committed."""
    path = io.table_path(warehouse, name)
    exists = driver_rows > 0 and (path / "_delta_log").is_dir()
    rows = collect_small(frame, driver_rows) if exists else None
    if rows is not None:
        version = write(path, rows, metadata or {}, mode, partition_by=partition_by)
        if version is not None:
            return version
    if mode == "append":
        return io.append_table(frame, warehouse, name, metadata=metadata)
    return io.write_table(frame, warehouse, name, partition_by=partition_by, metadata=metadata)
