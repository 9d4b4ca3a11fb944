"""All reading and writing of files and Delta tables happens here.

Stages read their inputs with :func:`read_table` and write with :func:`write_table`, which
returns the Delta version it committed (logged and recorded in the run summary). Input files
are read by :func:`read_input` against the input contract.
"""

from __future__ import annotations

import codecs
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

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


def table_exists(spark: SparkSession, warehouse: Path, name: str) -> bool:
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
    return spark.read.format("delta").load(str(table_path(warehouse, name)))


def table_version(spark: SparkSession, warehouse: Path, name: str) -> int:
    """The latest committed version of a Delta table."""
    table = DeltaTable.forPath(spark, str(table_path(warehouse, name)))
    return int(table.history(1).select("version").first()[0])


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
        writer = writer.option("userMetadata", ";".join(f"{k}={v}" for k, v in metadata.items()))
    writer.save(str(table_path(warehouse, name)))
    version = table_version(frame.sparkSession, warehouse, name)
    log.info("wrote %s version %d", name, version)
    return version


def write_single_csv(frame: DataFrame, target: Path) -> None:
    """Write ``frame`` as one CSV file with a header at ``target`` (streamed, not collected)."""
    staging = target.with_name(f".{target.name}.parts")
    shutil.rmtree(staging, ignore_errors=True)
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
