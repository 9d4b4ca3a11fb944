"""All reading and writing of files and Delta tables happens here.

Stages read their inputs with :func:`read_table` and write with :func:`write_table`, which
returns the Delta version it committed (logged and recorded in the run summary). Input files
are read by :func:`read_input` against the input contract.
"""

from __future__ import annotations

import codecs
import datetime as dt
import logging
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from clnet_spark import guard
from clnet_spark.errors import InputContractError, StageInputError
from clnet_spark.ingest.contract import INPUT_ISSUE, TableContract

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InputFile:
    """An input table as read: its columns normalised to lower-case strings."""

    table: str
    path: Path
    frame: DataFrame
    extra_columns: tuple[str, ...]


def _normalise_name(name: str) -> str:
    return name.replace("\ufeff", "").strip().lower()


def find_input(input_dir: Path, table: str) -> Path | None:
    """The file holding ``table`` in ``input_dir`` (CSV preferred over Parquet), or None."""
    for candidate in (input_dir / f"{table}.csv", input_dir / f"{table}.parquet"):
        if candidate.exists():
            return candidate
    return None


UTF8 = "utf-8"
CORRUPT_RECORD = "_corrupt_record"
_SPARK_NATIVE_CHARSETS = ("utf-8", "iso-8859-1", "utf-16", "utf-16le", "utf-16be")


def check_utf8(path: Path, table: str) -> None:
    """Stream ``path`` through a strict UTF-8 decoder; stop at the first invalid byte.

    Raises
    ------
    InputContractError
        Naming the file, the line and byte offset of the first invalid byte (never the
        bytes themselves: they may be part of a name) and the setting that declares the
        file's encoding.
    """
    decoder = codecs.getincrementaldecoder(UTF8)(errors="strict")
    offset = line = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line += chunk[: exc.start].count(b"\n")
                raise InputContractError(
                    f"{path}: not UTF-8 (first invalid byte on line {line + 1}, byte offset "
                    f"{offset + exc.start}); expected UTF-8, or declare the file's encoding, "
                    f"e.g. --set ingest.encoding.{table}=windows-1252 (or iso-8859-1)"
                ) from None
            offset += len(chunk)
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InputContractError(
                f"{path}: not UTF-8 (the file ends inside a multi-byte character); expected "
                f"UTF-8, or declare its encoding with --set ingest.encoding.{table}=..."
            ) from None


def _csv_reader(spark: SparkSession, encoding: str):
    if encoding not in _SPARK_NATIVE_CHARSETS:
        # Spark 4 reads only a few charsets unless the JDK's full list is enabled.
        spark.conf.set("spark.sql.legacy.javaCharsets", "true")
    return (
        spark.read.option("header", True)
        .option("multiLine", True)
        .option("escape", '"')
        .option("encoding", encoding)
        .option("mode", "PERMISSIVE")
    )


def _row_issues(frame: DataFrame, names: list[str]) -> Column:
    """Why a row of a CSV file cannot be used as read, or null (see docs/ingest.md).

    A row with the wrong number of fields is malformed; a NUL byte makes a field unusable;
    a field holding a line break followed by a line with at least as many commas as a whole
    row has is taken as the mark of an unclosed quote that swallowed the following rows.
    """
    width = len(names) - 1
    swallowed = rf"\n[^,\s\"][^,\n]*(?:,[^,\n]*){{{max(width, 1)}}}"
    checks: list[tuple[Column, str]] = []
    if CORRUPT_RECORD in frame.columns:
        checks.append(
            (
                F.col(CORRUPT_RECORD).isNotNull(),
                f"malformed CSV row: expected {len(names)} fields",
            )
        )
    for orig, name in zip(frame.columns, names, strict=False):
        value = F.col(f"`{orig}`").cast("string")
        checks.append((F.instr(value, "\u0000") > 0, f"NUL byte in {name}"))
        checks.append(
            (
                value.rlike(swallowed),
                f"broken CSV quoting in {name}: an unclosed quote merged the following rows "
                "into this one",
            )
        )
    reason = F.lit(None).cast("string")
    for condition, message in reversed(checks):
        reason = F.when(condition, F.lit(message)).otherwise(reason)
    return reason


def read_input(
    spark: SparkSession,
    input_dir: Path,
    contract: TableContract,
    encoding: str = UTF8,
) -> InputFile | None:
    """Read one input table, every column as a string, plus the column ``_input_issue``.

    ``_input_issue`` is null for a usable row, else why the row is quarantined (a malformed
    CSV row, a NUL byte, broken quoting). Returns None when the file does not exist and the
    contract allows that; a 0-byte CSV file of such a table reads as an empty table.

    Raises
    ------
    InputContractError
        The file is required and missing or empty, is not valid in its declared encoding
        (UTF-8 unless ``ingest.encoding`` names another), or required columns are missing;
        the message names the file, the columns and what was expected.
    """
    path = find_input(input_dir, contract.name)
    if path is None:
        if contract.must_exist:
            raise InputContractError(
                f"input {contract.name!r}: no {contract.name}.csv or {contract.name}.parquet "
                f"in {input_dir}"
            )
        return None
    if path.suffix == ".csv" and path.stat().st_size == 0:
        if contract.must_exist:
            raise InputContractError(
                f"{path}: the file is empty (0 bytes); expected a header row with the columns "
                f"{list(contract.required)}"
            )
        log.warning(
            "input %s: %s is empty (0 bytes), treated as an empty table", contract.name, path
        )
        empty = spark.createDataFrame([], ", ".join(f"`{n}` string" for n in contract.required))
        return InputFile(
            contract.name, path, empty.withColumn(INPUT_ISSUE, F.lit(None).cast("string")), ()
        )
    if path.suffix == ".csv":
        if encoding == UTF8:
            check_utf8(path, contract.name)
        header = _csv_reader(spark, encoding).csv(str(path)).columns
        _check_columns(path, contract, [_normalise_name(n) for n in header])
        schema = StructType(
            [StructField(n, StringType()) for n in header]
            + [StructField(CORRUPT_RECORD, StringType())]
        )
        frame = (
            _csv_reader(spark, encoding)
            .schema(schema)
            .option("columnNameOfCorruptRecord", CORRUPT_RECORD)
            .csv(str(path))
        )
    else:
        frame = spark.read.parquet(str(path))
        header = frame.columns
    names = [_normalise_name(n) for n in header]
    _check_columns(path, contract, names)
    frame = frame.select(
        *(
            F.col(f"`{orig}`").cast("string").alias(new)
            for orig, new in zip(header, names, strict=True)
        ),
        _row_issues(frame, names).alias(INPUT_ISSUE),
    )
    extras = tuple(n for n in names if n not in contract.known)
    log.info("read %s from %s (%d columns, %d extra)", contract.name, path, len(names), len(extras))
    return InputFile(contract.name, path, frame, extras)


def _check_columns(path: Path, contract: TableContract, names: list[str]) -> None:
    present = sorted(set(names))
    missing = [col for col in contract.required if col not in names]
    if missing:
        raise InputContractError(
            f"{path}: missing required columns {missing}; columns present: {present}"
        )
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InputContractError(f"{path}: columns appear more than once: {duplicated}")


def table_path(warehouse: Path, name: str) -> Path:
    return warehouse / name


_PINS: ContextVar[Mapping[str, tuple[Path, int]] | None] = ContextVar("clnet_pins", default=None)


@contextmanager
def pinned_reads(pins: Mapping[str, tuple[Path, int]]) -> Iterator[None]:
    """Read tables at recorded versions of another warehouse until they are written here.

    While the context is open, :func:`read_table` and :func:`table_exists` of a table named in
    ``pins`` (name -> (warehouse, Delta version)) see that version of that warehouse's table,
    as long as the table does not exist in the warehouse asked for; once a stage has written
    it there, the written table is read. Used to recompute a past run (``clnet run --as-of``)
    into a fresh warehouse without changing any stage.
    """
    token = _PINS.set(dict(pins))
    try:
        yield
    finally:
        _PINS.reset(token)


def _pinned(spark: SparkSession, warehouse: Path, name: str) -> tuple[Path, int] | None:
    pin = (_PINS.get() or {}).get(name)
    if pin is None or DeltaTable.isDeltaTable(spark, str(table_path(warehouse, name))):
        return None
    return pin


def is_pinned(spark: SparkSession, warehouse: Path, name: str) -> bool:
    """Whether reads of ``name`` see another warehouse's recorded version (:func:`pinned_reads`)."""
    return _pinned(spark, warehouse, name) is not None


def table_exists(spark: SparkSession, warehouse: Path, name: str) -> bool:
    if _pinned(spark, warehouse, name) is not None:
        return True
    return DeltaTable.isDeltaTable(spark, str(table_path(warehouse, name)))


def read_table(spark: SparkSession, warehouse: Path, name: str) -> DataFrame:
    """Read a Delta table of the warehouse.

    Raises
    ------
    StageInputError
        The table does not exist (an earlier stage has not run).
    """
    if not table_exists(spark, warehouse, name):
        raise StageInputError(
            f"table {name!r} does not exist in {warehouse}: run the stage that writes it first"
        )
    pin = _pinned(spark, warehouse, name)
    if pin is not None:
        source, version = pin
        log.debug("read %s at version %d of %s", name, version, source)
        return (
            spark.read.format("delta")
            .option("versionAsOf", version)
            .load(str(table_path(source, name)))
        )
    return spark.read.format("delta").load(str(table_path(warehouse, name)))


def table_location(spark: SparkSession, warehouse: Path, name: str) -> tuple[Path, int | None]:
    """Where :func:`read_table` reads ``name`` from: the table's folder and the Delta version
    (``None``: the latest), following :func:`pinned_reads`."""
    pin = _pinned(spark, warehouse, name)
    if pin is not None:
        source, version = pin
        return table_path(source, name), version
    return table_path(warehouse, name), None


def open_delta_log(path: Path, version: int | None = None) -> Any:
    """The Delta table at ``path`` (at ``version``, or the latest) opened with ``deltalake``,
    which reads the log without a Spark job.

    Raises
    ------
    ValueError
        The path holds ``%``: ``deltalake`` decodes ``%XX`` and would open another folder, so
        callers ask Spark instead (as they do for any error ``deltalake`` raises).
    """
    if "%" in str(path):
        raise ValueError("the path holds '%', which deltalake would decode")
    from deltalake import DeltaTable as RustDeltaTable

    return RustDeltaTable(str(path), version=version)


def _spark_latest_commit(spark: SparkSession, path: Path) -> Any:
    """The latest commit's row of Spark's ``history`` (version, userMetadata, ...)."""
    return DeltaTable.forPath(spark, str(path)).history(1).first()


def table_properties(spark: SparkSession, path: Path) -> dict[str, str]:
    """A Delta table's properties: the configuration its log's metadata holds (what
    ``ALTER TABLE ... SET TBLPROPERTIES`` and table-creating options set; not the protocol
    versions, which Spark's ``SHOW TBLPROPERTIES`` also lists).

    Read with ``deltalake`` (the log only, no Spark job: ~10 ms against ~150 ms for
    ``SHOW TBLPROPERTIES``, which a run asks of every table); Spark is asked when ``deltalake``
    cannot open the table.
    """
    try:
        return dict(open_delta_log(path).metadata().configuration)
    except Exception:  # noqa: BLE001 - any failure: ask Spark, which reads every Delta table
        rows = spark.sql(f"SHOW TBLPROPERTIES delta.`{path}`").collect()
        return {row["key"]: row["value"] for row in rows}


def table_version(spark: SparkSession, warehouse: Path, name: str) -> int:
    """The latest committed version of a Delta table.

    Read from the log with ``deltalake`` (a few ms; every write asks it), or with Spark's
    ``history`` when ``deltalake`` cannot open the table.
    """
    path = table_path(warehouse, name)
    try:
        return int(open_delta_log(path).version())
    except Exception:  # noqa: BLE001 - any failure: ask Spark, which reads every Delta table
        return int(_spark_latest_commit(spark, path)["version"])


def metadata_text(metadata: Mapping[str, str]) -> str:
    """Commit user metadata as ``key=value;key=value`` (parsed back by :func:`parse_metadata`)."""
    return ";".join(f"{k}={v}" for k, v in metadata.items())


def parse_metadata(text: str | None) -> dict[str, str]:
    """The mapping written by :func:`metadata_text` (empty for a commit without metadata)."""
    pairs = (item.partition("=") for item in (text or "").split(";") if item)
    return {key: value for key, _, value in pairs}


@contextmanager
def commit_metadata(spark: SparkSession, metadata: Mapping[str, str]) -> Iterator[None]:
    """Give every Delta commit made inside the context (MERGE, DELETE, VACUUM...) this metadata.

    DataFrame writes take ``userMetadata`` as an option; the DeltaTable API and SQL commands
    read the session setting instead, which is set here and restored afterwards.
    """
    key = "spark.databricks.delta.commitInfo.userMetadata"
    before = spark.conf.get(key, None)
    spark.conf.set(key, metadata_text(metadata))
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, before)


def last_commit_metadata(spark: SparkSession, warehouse: Path, name: str) -> dict[str, str]:
    """The user metadata of a table's latest commit (from the log with ``deltalake``, or with
    Spark's ``history`` when ``deltalake`` cannot open the table)."""
    path = table_path(warehouse, name)
    try:
        (latest,) = open_delta_log(path).history(1)
        return parse_metadata(latest.get("userMetadata"))
    except Exception:  # noqa: BLE001 - any failure: ask Spark, which reads every Delta table
        return parse_metadata(_spark_latest_commit(spark, path)["userMetadata"])


def write_table(
    frame: DataFrame,
    warehouse: Path,
    name: str,
    *,
    partition_by: tuple[str, ...] = (),
    metadata: dict[str, str] | None = None,
) -> int:
    """Overwrite a Delta table with ``frame`` (schema replaced) and return its new version.

    The write is one Delta commit: readers see the previous version until it completes.
    ``metadata`` becomes the commit's user metadata (run id, stage).
    """
    writer = frame.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    if metadata:
        writer = writer.option("userMetadata", metadata_text(metadata))
    guard.before_write(table_path(warehouse, name))
    writer.save(str(table_path(warehouse, name)))
    version = table_version(frame.sparkSession, warehouse, name)
    log.info("wrote %s version %d", name, version)
    guard.after_write(name)
    return version


def append_table(
    frame: DataFrame, warehouse: Path, name: str, *, metadata: dict[str, str] | None = None
) -> int:
    """Append ``frame`` to a Delta table (created if missing; new columns added) in one commit."""
    writer = frame.write.format("delta").mode("append").option("mergeSchema", "true")
    if metadata:
        writer = writer.option("userMetadata", metadata_text(metadata))
    writer.save(str(table_path(warehouse, name)))
    version = table_version(frame.sparkSession, warehouse, name)
    log.info("appended to %s: version %d", name, version)
    return version


def write_single_csv(frame: DataFrame, target: Path) -> None:
    """Write ``frame`` as one CSV file with a header at ``target`` (streamed, not collected).

    Spark writes the file in a hidden folder beside ``target`` (``.<name>.parts``), which is
    then renamed onto ``target`` in one step: a reader sees the previous file or the complete
    new one. A folder left by an interrupted write is removed by the next write.
    """
    staging = target.with_name(f".{target.name}.parts")
    shutil.rmtree(staging, ignore_errors=True)
    guard.before_write(staging)
    (
        frame.coalesce(1)
        .write.mode("overwrite")
        .option("header", True)
        .option("escape", '"')
        .csv(str(staging))
    )
    part = next(staging.glob("part-*.csv"))
    target.parent.mkdir(parents=True, exist_ok=True)
    part.replace(target)
    shutil.rmtree(staging, ignore_errors=True)
    guard.after_write(target.name)


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename in it) to disk, where the OS allows it."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def write_text_atomic(target: Path, text: str) -> None:
    """Write a small text file so that a reader sees the old content or the new, never half.

    The text goes to a temporary name in the same folder, is flushed to disk, then renamed
    onto ``target``.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    with staging.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    staging.replace(target)
    fsync_folder(target.parent)


VERSIONS_SUFFIX = ".versions"
"""``<warehouse>/<folder>.versions/`` holds the published versions of a swapped folder."""


def staging_folder(target: Path) -> Path:
    """A new, empty folder to fill and then :func:`publish_folder` as ``target``."""
    versions = target.with_name(f"_{target.name}{VERSIONS_SUFFIX}")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    folder = versions / f"{stamp}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    return folder


def publish_folder(staging: Path, target: Path) -> None:
    """Make the complete folder ``staging`` visible as ``target`` in one atomic step.

    ``target`` is a symbolic link to the current version under ``_<name>.versions/``; the
    new link is made under a temporary name and renamed over it, so a reader resolving
    ``target`` finds the previous set of files or the new one, never a mix. The previous
    version is kept (a reader may still be reading it); older versions and unpublished
    folders left by interrupted runs are removed. A ``target`` that is still a plain folder
    (written before versions existed) is moved under the versions first, the one moment at
    which ``target`` is briefly absent.
    """
    versions = staging.parent
    previous = target.resolve() if target.is_symlink() else None
    if target.is_dir() and not target.is_symlink():
        previous = versions / "0-unversioned"
        target.rename(previous)
    for stale in target.parent.glob(f".{target.name}.*.link"):
        stale.unlink(missing_ok=True)  # left by a run killed between link and rename
    link = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.link")
    link.symlink_to(Path(versions.name) / staging.name, target_is_directory=True)
    link.replace(target)
    fsync_folder(target.parent)
    keep = {staging.resolve(), previous}
    for old in versions.iterdir():
        if old.resolve() not in keep:
            shutil.rmtree(old, ignore_errors=True)
    log.info("published %s -> %s", target, staging)
