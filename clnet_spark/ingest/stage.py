"""The ingest stage: source exports -> Delta bronze tables plus a quarantine.

Tables written: ``records`` (all five sources, partitioned by source), ``record_nominals``,
``nominals``, ``relationships``, ``soc_groups``, ``missing_episodes``, ``quarantine``,
``ingest_counts`` and the restricted ``nominal_identity``. For every input table, rows read =
accepted + quarantined + deleted (``is_deleted`` rows of a full export are not loaded), and the
stage checks it.

Rows are validated on the source ids; every nominal id is replaced by its pseudonym
(:mod:`clnet_spark.privacy`) as the accepted rows are written, so no table but
``nominal_identity`` (and the restricted ``quarantine``) holds a source nominal id, and
``nominals`` holds no restricted column.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import reduce
from pathlib import Path
from typing import Protocol

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark import driver_writes, io, privacy
from clnet_spark.columns import Tables
from clnet_spark.errors import InputContractError
from clnet_spark.guard import collect_bounded
from clnet_spark.ingest import contract
from clnet_spark.ingest import transforms as t
from clnet_spark.run import RunContext, StageReport

log = logging.getLogger(__name__)

QUARANTINE_COLUMNS = ("table", "file", "reason", "raw", "run_id")


@dataclass(frozen=True)
class TableCounts:
    table: str
    file: str
    read: int
    accepted: int
    quarantined: int
    deleted: int


class _Classified:
    """A classified input table, persisted while its parts are written.

    With ``small_rows`` (a batch, ``update.driver_rows``) a table of at most that many rows is
    classified once and held as a local relation: every later job on it is one small task,
    not one per partition of the input's shuffles.
    """

    def __init__(self, table: str, path: Path, frame: DataFrame, small_rows: int = 0) -> None:
        self.table, self.path = table, path
        rows = driver_writes.collect_small(frame, small_rows)
        if rows is not None:
            self.frame = frame.sparkSession.createDataFrame(rows, frame.schema)
        else:
            self.frame = frame.persist(StorageLevel.MEMORY_AND_DISK)

    @property
    def accepted(self) -> DataFrame:
        return self.frame.where(F.col(t.REASON).isNull() & ~F.col(t.DELETED))

    def quarantined(self, run_id: str) -> DataFrame:
        return self.frame.where(F.col(t.REASON).isNotNull()).select(
            F.lit(self.table).alias("table"),
            F.lit(self.path.name).alias("file"),
            F.col(t.REASON).alias("reason"),
            F.col(t.RAW).alias("raw"),
            F.lit(run_id).alias("run_id"),
        )

    def summary(self) -> DataFrame:
        """The frame's rows by (reason, deleted, note, compact) for :func:`summarise`."""
        accepted = F.col(t.REASON).isNull() & ~F.col(t.DELETED)
        usable = F.col(t.REASON).isNull()
        note, compact = F.lit(None).cast("string"), F.lit(False)
        if self.table == "nominals":
            note = F.when(accepted, F.col("_birth_date_issue"))
        elif self.table == "record_nominals":
            note = F.when(accepted & F.col(c.ROLE_RAW).isNotNull(), F.lit(ROLE_OTHER))
            compact = usable & (F.col(c.SOURCE) == c.COMPACT)
        return self.frame.select(
            F.lit(self.table).alias("table"),
            F.col(t.REASON).alias("reason"),
            F.col(t.DELETED).alias("deleted"),
            note.alias("note"),
            compact.alias("compact"),
        )


ROLE_OTHER = "role counted as other"


@dataclass(frozen=True)
class IngestSummary:
    """What one job over every classified table tells (:func:`summarise`).

    ``counts``: per table, in the order given; ``notes``: per table, note -> accepted rows
    (``_birth_date_issue`` of nominals, :data:`ROLE_OTHER` of links); ``reasons``: (table,
    reason) -> quarantined rows; ``compact_links``: usable links of ``compact`` records.
    """

    counts: dict[str, TableCounts]
    notes: dict[str, dict[str, int]]
    reasons: dict[tuple[str, str], int]
    compact_links: int

    def changes(self, table: str) -> int:
        """Usable rows (accepted or deleted) of ``table``; 0 when it was not in the input."""
        found = self.counts.get(table)
        return found.accepted + found.deleted if found is not None else 0


def summarise(parts: Sequence[_Classified]) -> IngestSummary:
    """Count every classified table's rows in one Spark job.

    For each table: rows read, accepted, quarantined and deleted (read = the sum of the other
    three), its quarantine reasons, the notes of accepted rows and the usable links of
    ``compact`` records. The result is bounded by the number of distinct reasons and notes.
    """
    if not parts:
        return IngestSummary({}, {}, {}, 0)
    grouped = reduce(DataFrame.unionByName, (part.summary() for part in parts))
    rows = collect_bounded(
        grouped.groupBy("table", "reason", "deleted", "note", "compact").count(),
        "ingest summary",
    )
    tally: dict[str, list[int]] = {part.table: [0, 0, 0, 0] for part in parts}
    notes: dict[str, dict[str, int]] = {part.table: {} for part in parts}
    reasons: dict[tuple[str, str], int] = {}
    compact_links = 0
    for table, reason, deleted, note, compact, n in rows:
        counted = tally[table]
        counted[0] += n
        if reason is not None:
            counted[2] += n
            reasons[(table, reason)] = reasons.get((table, reason), 0) + n
        elif deleted:
            counted[3] += n
        elif deleted is False:
            counted[1] += n
        if note is not None:
            notes[table][note] = notes[table].get(note, 0) + n
        if compact:
            compact_links += n
    counts = {
        part.table: TableCounts(part.table, part.path.name, *tally[part.table]) for part in parts
    }
    return IngestSummary(counts, notes, reasons, compact_links)


def _select(frame: DataFrame, names: Sequence[str]) -> DataFrame:
    return frame.select(*names)


RECORD_COLUMNS = (
    c.SOURCE,
    c.RECORD_ID,
    c.RECORDED_AT,
    c.TEXT,
    c.OFFENCE_CODE,
    c.AREA,
    c.ENDED_AT,
    c.FOUND_AREA,
    c.UPDATED_AT,
    c.RESTRICTED,
)
NOMINAL_COLUMNS = (
    c.NOMINAL_ID,
    c.BIRTH_DATE,
    c.BIRTH_DATE_PRECISION,
    c.SEX,
    c.HOME_AREA,
    c.LOOKED_AFTER_CHILD,
    c.VULNERABLE_ADULT,
    c.UPDATED_AT,
)
LINK_COLUMNS = (c.SOURCE, c.RECORD_ID, c.NOMINAL_ID, c.ROLE, c.ROLE_RAW, c.UPDATED_AT)
RELATIONSHIP_COLUMNS = (
    c.NOMINAL_A,
    c.NOMINAL_B,
    c.RELATIONSHIP_TYPE,
    c.SOURCE,
    c.RECORDED_AT,
    c.UPDATED_AT,
)


def _empty(spark: SparkSession, ddl: str) -> DataFrame:
    return spark.createDataFrame([], ddl)


def nominal_identity(nominals: DataFrame, extra_columns: Sequence[str], key: bytes) -> DataFrame:
    """The restricted identity table of the accepted nominals.

    Output columns: nominal_id (the pseudonym), source_nominal_id, then one string column per
    restricted (extra) column of the nominals export (names, addresses, ...).
    """
    identity = nominals.select(
        c.NOMINAL_ID,
        F.col(c.NOMINAL_ID).alias(c.SOURCE_NOMINAL_ID),
        *(F.col(c.RESTRICTED)[name].alias(name) for name in extra_columns),
    )
    return privacy.pseudonymise(identity, key, (c.NOMINAL_ID,))


def pseudonymous_relationships(relationships: DataFrame, key: bytes) -> DataFrame:
    """Relationships with pseudonyms, still stored with nominal_a < nominal_b."""
    pseudonymous = privacy.pseudonymise(relationships, key, (c.NOMINAL_A, c.NOMINAL_B))
    a, b = F.col(c.NOMINAL_A), F.col(c.NOMINAL_B)
    return pseudonymous.withColumns({c.NOMINAL_A: F.least(a, b), c.NOMINAL_B: F.greatest(a, b)})


class FullSink:
    """How a full ingest writes: every table overwritten with the accepted rows of this input.

    :class:`clnet_spark.ingest.merge.MergeSink` is the other kind: it merges a batch of
    changes into the tables instead (``clnet update``). Both receive exactly the classified
    tables built by :func:`run_ingest`, so a batch is validated as a full export is.
    """

    batch = False

    def __init__(self, spark: SparkSession, ctx: RunContext) -> None:
        self.spark, self.ctx = spark, ctx
        self.meta = ctx.commit_metadata("ingest")
        self.key = privacy.load_key(ctx.warehouse)

    def _write(self, frame: DataFrame, name: str, partition_by: tuple[str, ...] = ()) -> int:
        return io.write_table(
            frame, self.ctx.warehouse, name, partition_by=partition_by, metadata=self.meta
        )

    def nominals(self, part: _Classified | None) -> int | None:
        assert part is not None  # must_exist in a full export
        frame = privacy.pseudonymise(
            _select(part.accepted, NOMINAL_COLUMNS), self.key, (c.NOMINAL_ID,)
        )
        return self._write(frame, Tables.NOMINALS)

    def identity(self, part: _Classified | None, extra_columns: Sequence[str]) -> int | None:
        assert part is not None  # must_exist in a full export
        frame = nominal_identity(part.accepted, extra_columns, self.key)
        return self._write(frame, Tables.NOMINAL_IDENTITY)

    def records(self, parts: Sequence[_Classified]) -> int | None:
        frames = [_select(part.accepted, RECORD_COLUMNS) for part in parts]
        return self._write(reduce(DataFrame.unionByName, frames), Tables.RECORDS, (c.SOURCE,))

    def record_nominals(self, part: _Classified | None) -> int | None:
        assert part is not None  # must_exist in a full export
        frame = privacy.pseudonymise(
            _select(part.accepted, LINK_COLUMNS), self.key, (c.NOMINAL_ID,)
        )
        return self._write(frame, Tables.RECORD_NOMINALS)

    def relationships(self, part: _Classified | None) -> int | None:
        if part is None:
            frame = _empty(
                self.spark,
                "nominal_a string, nominal_b string, relationship_type string, source string, "
                "recorded_at timestamp, updated_at timestamp",
            )
        else:
            frame = pseudonymous_relationships(
                _select(part.accepted, RELATIONSHIP_COLUMNS), self.key
            )
        return self._write(frame, Tables.RELATIONSHIPS)

    def soc_groups(self, part: _Classified | None) -> int | None:
        if part is None:
            frame = _empty(self.spark, "nominal_id string, soc_group_id string")
        else:
            frame = privacy.pseudonymise(
                part.accepted.select(c.NOMINAL_ID, c.SOC_GROUP_ID), self.key, (c.NOMINAL_ID,)
            )
        return self._write(frame, Tables.SOC_GROUPS)

    def counted(self, summary: IngestSummary) -> None:
        """A full ingest writes every table whatever the counts."""

    def quarantine(self, frame: DataFrame) -> int | None:
        return self._write(frame, Tables.QUARANTINE)


class IngestSink(Protocol):
    """Where :func:`run_ingest` puts each classified table (see :class:`FullSink`)."""

    batch: bool

    def nominals(self, part: _Classified | None) -> int | None: ...
    def identity(self, part: _Classified | None, extra_columns: Sequence[str]) -> int | None: ...
    def records(self, parts: Sequence[_Classified]) -> int | None: ...
    def record_nominals(self, part: _Classified | None) -> int | None: ...
    def relationships(self, part: _Classified | None) -> int | None: ...
    def soc_groups(self, part: _Classified | None) -> int | None: ...
    def counted(self, summary: IngestSummary) -> None: ...
    def quarantine(self, frame: DataFrame) -> int | None: ...


def _episodes_may_change(
    spark: SparkSession, ctx: RunContext, sink: IngestSink, summary: IngestSummary
) -> bool:
    """Whether ``missing_episodes`` must be derived again: always in a full ingest; for a
    batch only when it changed a ``compact`` record, a link of one, or deleted a person."""
    if not sink.batch or not io.table_exists(spark, ctx.warehouse, Tables.MISSING_EPISODES):
        return True
    return bool(
        summary.changes(c.COMPACT)
        or summary.compact_links
        or (summary.counts.get("nominals") and summary.counts["nominals"].deleted)
    )


def _earlier_reasons(ctx: RunContext, report: StageReport) -> dict[tuple[str, str], int]:
    """The quarantine reasons of this run's earlier batches (the last ingest report's)."""
    earlier = [
        r
        for r in ctx.reports
        if r is not report and r.stage.startswith("ingest") and "quarantine reasons" in r.counts
    ]
    if not earlier:
        return {}
    return {(table, reason): n for table, reason, n in earlier[-1].counts["quarantine reasons"]}


def _note(report_tables: dict[str, int], name: str, version: int | None) -> None:
    if version is not None:
        report_tables[name] = version


def run_ingest(
    spark: SparkSession,
    input_dir: Path,
    ctx: RunContext,
    sink: IngestSink | None = None,
    stage: str = "ingest",
) -> dt.date:
    """Load an export folder into the warehouse; return the run's reference date.

    With the default sink every table is replaced by the folder's content. With a
    :class:`~clnet_spark.ingest.merge.MergeSink` (``clnet update``) the folder is a batch of
    changes: every file is optional and the rows are merged into the existing tables; links
    are then checked against the merged records and nominals.

    Raises
    ------
    InputContractError
        A required file or column is missing, or no source-system file is present. Raised
        before anything is written.
    """
    cfg = ctx.config
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise InputContractError(f"input folder {input_dir} does not exist")
    sink = sink if sink is not None else FullSink(spark, ctx)
    earliest = cfg.ingest.earliest_year
    # A batch's small tables are held on the driver and committed from there (docs/operations.md).
    driver_rows = cfg.update.driver_rows if sink.batch else 0
    with ctx.stage(stage) as report:
        # Read (and validate the headers of) every file before writing anything.
        contracts = [
            replace(tc, must_exist=False) if sink.batch else tc for tc in contract.ALL_TABLES
        ]
        inputs = {
            tc.name: io.read_input(
                spark, input_dir, tc, encoding=cfg.ingest.encoding.get(tc.name, io.UTF8)
            )
            for tc in contracts
        }
        sources = [s for s in c.SOURCES if inputs[s] is not None]
        if not sources and not sink.batch:
            raise InputContractError(
                f"{input_dir}: none of the source files {[f'{s}.csv' for s in c.SOURCES]} exist"
            )
        if sink.batch and all(found is None for found in inputs.values()):
            raise InputContractError(
                f"{input_dir}: a batch needs at least one of "
                f"{[f'{tc.name}.csv' for tc in contract.ALL_TABLES]}"
            )
        for name, found in inputs.items():
            if found is None:
                if sink.batch:
                    log.info("batch %s: no file in %s, table unchanged", name, input_dir)
                else:
                    log.warning("input %s: no file in %s, treated as empty", name, input_dir)

        classified: list[_Classified] = []
        nominals_in = inputs["nominals"]
        nominals = None
        if nominals_in is not None:
            nominals = _Classified(
                "nominals",
                nominals_in.path,
                t.classify_nominals(
                    nominals_in.frame, nominals_in.extra_columns, ctx.run_day, earliest
                ),
                driver_rows,
            )
            classified.append(nominals)
        _note(report.tables, Tables.NOMINALS, sink.nominals(nominals))
        extra = nominals_in.extra_columns if nominals_in is not None else ()
        _note(report.tables, Tables.NOMINAL_IDENTITY, sink.identity(nominals, extra))

        record_parts = []
        for source in sources:
            found = inputs[source]
            assert found is not None
            part = _Classified(
                source,
                found.path,
                t.classify_records(found.frame, source, found.extra_columns, ctx.run_day, earliest),
                driver_rows,
            )
            classified.append(part)
            record_parts.append(part)
        _note(report.tables, Tables.RECORDS, sink.records(record_parts))
        records = io.read_table(spark, ctx.warehouse, Tables.RECORDS)
        # Links are validated against the source ids of every accepted nominal.
        nominal_keys = io.read_table(spark, ctx.warehouse, Tables.NOMINAL_IDENTITY).select(
            F.col(c.SOURCE_NOMINAL_ID).alias(c.NOMINAL_ID)
        )

        links_in = inputs["record_nominals"]
        links = None
        if links_in is not None:
            links = _Classified(
                "record_nominals",
                links_in.path,
                t.classify_record_nominals(
                    links_in.frame, records.select(c.SOURCE, c.RECORD_ID), nominal_keys
                ),
                driver_rows,
            )
            classified.append(links)

        rel_in = inputs["relationships"]
        rels = None
        if rel_in is not None:
            rels = _Classified(
                "relationships",
                rel_in.path,
                t.classify_relationships(rel_in.frame, nominal_keys, ctx.run_day, earliest),
                driver_rows,
            )
            classified.append(rels)

        soc_in = inputs["soc_groups"]
        soc = None
        if soc_in is not None:
            soc = _Classified(
                "soc_groups",
                soc_in.path,
                t.classify_soc_groups(soc_in.frame, nominal_keys),
                driver_rows,
            )
            classified.append(soc)

        summary = summarise(classified)
        sink.counted(summary)
        if nominals is not None:
            report.counts["birth dates set to unknown"] = summary.notes["nominals"]
        if links is not None:
            report.counts["roles counted as other"] = summary.notes["record_nominals"].get(
                ROLE_OTHER, 0
            )
        counts = [summary.counts[part.table] for part in classified]
        for row in counts:
            if row.read != row.accepted + row.quarantined + row.deleted:  # pragma: no cover
                raise AssertionError(f"ingest of {row.table} lost rows: {row}")
            log.info(
                "ingest %s: read %d = accepted %d + quarantined %d + deleted %d",
                row.table,
                row.read,
                row.accepted,
                row.quarantined,
                row.deleted,
            )
        _note(report.tables, Tables.RECORD_NOMINALS, sink.record_nominals(links))
        _note(report.tables, Tables.RELATIONSHIPS, sink.relationships(rels))
        _note(report.tables, Tables.SOC_GROUPS, sink.soc_groups(soc))

        meta = ctx.commit_metadata("ingest")
        if _episodes_may_change(spark, ctx, sink, summary):
            episodes = t.missing_episodes(
                records, io.read_table(spark, ctx.warehouse, Tables.RECORD_NOMINALS)
            )
            report.tables[Tables.MISSING_EPISODES] = driver_writes.write_frame(
                episodes, ctx.warehouse, Tables.MISSING_EPISODES, meta, driver_rows
            )
        else:
            log.info("batch: no compact record, link or deleted person; missing_episodes kept")

        quarantine = reduce(
            DataFrame.unionByName, (part.quarantined(ctx.run_id) for part in classified)
        )
        _note(report.tables, Tables.QUARANTINE, sink.quarantine(quarantine))
        counts_frame = spark.createDataFrame(
            [row.__dict__ for row in counts],
            "table string, file string, read long, accepted long, quarantined long, deleted long",
        )
        report.tables[Tables.INGEST_COUNTS] = driver_writes.write_frame(
            counts_frame, ctx.warehouse, Tables.INGEST_COUNTS, meta, driver_rows
        )
        for part in classified:
            part.frame.unpersist()
        report.counts["tables"] = [row.__dict__ for row in counts]
        reasons = dict(summary.reasons)
        if sink.batch:  # this run's quarantined rows: the earlier batches' too
            for (table, reason), n in _earlier_reasons(ctx, report).items():
                reasons[(table, reason)] = reasons.get((table, reason), 0) + n
        report.counts["quarantine reasons"] = [
            (table, reason, n) for (table, reason), n in sorted(reasons.items())
        ]

        if ctx.as_of_date is not None:
            reference = ctx.as_of_date
        else:
            latest = records.agg(F.max(c.RECORDED_AT)).first()[0]
            reference = latest.date() if latest is not None else ctx.run_day
        report.counts["reference date"] = reference.isoformat()
        return reference
