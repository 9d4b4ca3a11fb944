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
from clnet_spark import io, privacy
from clnet_spark.columns import Tables
from clnet_spark.errors import InputContractError
from clnet_spark.guard import collect_bounded
from clnet_spark.ingest import contract
from clnet_spark.ingest import transforms as t
from clnet_spark.run import RunContext

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
    """A classified input table, persisted while its parts are written."""

    def __init__(self, table: str, path: Path, frame: DataFrame) -> None:
        self.table, self.path = table, path
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

    def counts(self) -> TableCounts:
        row = self.frame.agg(
            F.count(F.lit(1)).alias("read"),
            F.count(F.when(F.col(t.REASON).isNull() & ~F.col(t.DELETED), 1)).alias("accepted"),
            F.count(F.when(F.col(t.REASON).isNotNull(), 1)).alias("quarantined"),
            F.count(F.when(F.col(t.REASON).isNull() & F.col(t.DELETED), 1)).alias("deleted"),
        ).first()
        return TableCounts(self.table, self.path.name, *(int(v) for v in row))


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

    def quarantine(self, frame: DataFrame) -> int:
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
    def quarantine(self, frame: DataFrame) -> int: ...


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
            )
            classified.append(nominals)
            birth_issues = collect_bounded(
                nominals.accepted.where(F.col("_birth_date_issue").isNotNull())
                .groupBy("_birth_date_issue")
                .count(),
                "birth date issues",
            )
            report.counts["birth dates set to unknown"] = {r[0]: r[1] for r in birth_issues}
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
            )
            classified.append(links)
            report.counts["roles counted as other"] = links.accepted.where(
                F.col(c.ROLE_RAW).isNotNull()
            ).count()
        _note(report.tables, Tables.RECORD_NOMINALS, sink.record_nominals(links))

        rel_in = inputs["relationships"]
        rels = None
        if rel_in is not None:
            rels = _Classified(
                "relationships",
                rel_in.path,
                t.classify_relationships(rel_in.frame, nominal_keys, ctx.run_day, earliest),
            )
            classified.append(rels)
        _note(report.tables, Tables.RELATIONSHIPS, sink.relationships(rels))

        soc_in = inputs["soc_groups"]
        soc = None
        if soc_in is not None:
            soc = _Classified(
                "soc_groups", soc_in.path, t.classify_soc_groups(soc_in.frame, nominal_keys)
            )
            classified.append(soc)
        _note(report.tables, Tables.SOC_GROUPS, sink.soc_groups(soc))

        meta = ctx.commit_metadata("ingest")
        episodes = t.missing_episodes(
            records, io.read_table(spark, ctx.warehouse, Tables.RECORD_NOMINALS)
        )
        report.tables[Tables.MISSING_EPISODES] = io.write_table(
            episodes, ctx.warehouse, Tables.MISSING_EPISODES, metadata=meta
        )

        quarantine = reduce(
            DataFrame.unionByName, (part.quarantined(ctx.run_id) for part in classified)
        )
        report.tables[Tables.QUARANTINE] = sink.quarantine(quarantine)
        counts = [part.counts() for part in classified]
        for part in classified:
            part.frame.unpersist()
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
        counts_frame = spark.createDataFrame(
            [row.__dict__ for row in counts],
            "table string, file string, read long, accepted long, quarantined long, deleted long",
        )
        report.tables[Tables.INGEST_COUNTS] = io.write_table(
            counts_frame, ctx.warehouse, Tables.INGEST_COUNTS, metadata=meta
        )
        report.counts["tables"] = [row.__dict__ for row in counts]
        reasons = collect_bounded(
            io.read_table(spark, ctx.warehouse, Tables.QUARANTINE)
            .where(F.col("run_id") == ctx.run_id)  # an update appends to earlier runs' rows
            .groupBy("table", "reason")
            .count()
            .orderBy("table", "reason"),
            "quarantine reasons",
        )
        report.counts["quarantine reasons"] = [tuple(r) for r in reasons]

        if ctx.as_of_date is not None:
            reference = ctx.as_of_date
        else:
            latest = records.agg(F.max(c.RECORDED_AT)).first()[0]
            reference = latest.date() if latest is not None else ctx.run_day
        report.counts["reference date"] = reference.isoformat()
        return reference
