"""The safeguarding stage: the kept network + people + records -> ``safeguarding_flags``,
``safeguarding_list``, ``missing_persons``, ``disproportionality``.

Reads ``cl_nominals`` (after the groups stage), ``nominals`` (never its ``restricted`` map),
``records`` (never its text), ``record_nominals``, ``record_matches`` and ``missing_episodes``.
The run summary gets the number of children, vulnerable adults and listed nominals, the
listed nominals per local authority and every removal-cost override applied (nominal id and
reason), each of which is also logged.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Final

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark import io, privacy
from clnet_spark.columns import Tables
from clnet_spark.guard import collect_bounded
from clnet_spark.run import RunContext
from clnet_spark.safeguarding import flags as sg
from clnet_spark.safeguarding.flags import SafeguardingConfig

log = logging.getLogger(__name__)

SAFEGUARDING_FLAGS: Final = Tables.SAFEGUARDING_FLAGS
SAFEGUARDING_LIST: Final = Tables.SAFEGUARDING_LIST
MISSING_PERSONS: Final = Tables.MISSING_PERSONS
DISPROPORTIONALITY: Final = Tables.DISPROPORTIONALITY
"""Delta table names written by this stage."""

STAGE: Final = "safeguarding"

_NOMINAL_COLUMNS: Final = (
    c.NOMINAL_ID,
    c.BIRTH_DATE,
    c.BIRTH_DATE_PRECISION,
    c.SEX,
    c.HOME_AREA,
    c.LOOKED_AFTER_CHILD,
    c.VULNERABLE_ADULT,
)
"""The columns of ``nominals`` this stage reads: never ``restricted``."""


def _read(spark: SparkSession, ctx: RunContext, name: str, *columns: str) -> DataFrame:
    return io.read_table(spark, ctx.warehouse, name).select(*columns)


def run_safeguarding(
    spark: SparkSession,
    ctx: RunContext,
    reference_date: dt.date,
    config: SafeguardingConfig | None = None,
) -> None:
    """Flag every kept nominal for safeguarding and write the four tables.

    Parameters
    ----------
    spark
        The session.
    ctx
        The run; its warehouse holds the tables named above. ``ctx.config.force_areas`` and
        ``ctx.config.network.linking_roles`` are read.
    reference_date
        The run's reference date: ages are taken on it, later records are not read.
    config
        The ``safeguarding`` settings; ``ctx.config.safeguarding`` (or the defaults) when
        None.

    Raises
    ------
    StageInputError
        An input table does not exist yet.
    SafeguardingInputError
        An input table lacks a column (``cl_nominals`` without groups: run the groups stage).
    """
    cfg = config if config is not None else ctx.config.safeguarding
    cfg = privacy.resolve_overrides(spark, ctx.warehouse, cfg)  # source ids -> pseudonyms
    with ctx.stage(STAGE) as report:
        kept = _read(spark, ctx, Tables.CL_NOMINALS, c.NOMINAL_ID, c.GROUP_ID, c.GROUP_KIND)
        nominals = _read(spark, ctx, Tables.NOMINALS, *_NOMINAL_COLUMNS)
        records = _read(spark, ctx, Tables.RECORDS, c.SOURCE, c.RECORD_ID, c.RECORDED_AT)
        record_nominals = _read(
            spark, ctx, Tables.RECORD_NOMINALS, c.SOURCE, c.RECORD_ID, c.NOMINAL_ID, c.ROLE
        )
        matches = _read(spark, ctx, Tables.RECORD_MATCHES, c.SOURCE, c.RECORD_ID, c.MATCHED_GROUPS)
        episodes = io.read_table(spark, ctx.warehouse, Tables.MISSING_EPISODES)

        # the pieces of sg.safeguarding_flags, checkpointed: each is read more than once
        people = sg.kept_people(kept, nominals, reference_date, cfg.child_age).checkpoint()
        links = sg.kept_links(record_nominals, records, kept, reference_date).checkpoint()
        missing = sg.missing_persons(
            episodes, kept, ctx.config.force_areas, reference_date
        ).checkpoint()
        flagged = sg.combine_flags(
            people,
            sg.record_flags(
                people,
                links,
                matches,
                ctx.config.network.linking_roles,
                cfg.child_age,
                cfg.cuckoo_group,
            ),
            sg.missing_summary(missing),
            reference_date,
            cfg,
        )
        meta = ctx.commit_metadata(STAGE)
        report.tables[SAFEGUARDING_FLAGS] = io.write_table(
            flagged, ctx.warehouse, SAFEGUARDING_FLAGS, metadata=meta
        )
        flagged = io.read_table(spark, ctx.warehouse, SAFEGUARDING_FLAGS)

        # one file each, so the tables read back in their documented order
        listing = sg.safeguarding_list(flagged).coalesce(1)
        report.tables[SAFEGUARDING_LIST] = io.write_table(
            listing, ctx.warehouse, SAFEGUARDING_LIST, metadata=meta
        )
        report.tables[MISSING_PERSONS] = io.write_table(
            missing.coalesce(1), ctx.warehouse, MISSING_PERSONS, metadata=meta
        )
        listed = flagged.where(F.col(sg.SAFEGUARDING_LISTED)).select(c.NOMINAL_ID)
        oversight = sg.disproportionality(nominals, kept, listed, reference_date)
        report.tables[DISPROPORTIONALITY] = io.write_table(
            oversight.coalesce(1), ctx.warehouse, DISPROPORTIONALITY, metadata=meta
        )

        report.counts.update(_counts(flagged, reference_date))
        report.counts.update(_overrides(flagged, cfg))
        report.counts["listed per local authority"] = [
            (row[sg.LOCAL_AUTHORITY], row["listed"])
            for row in collect_bounded(
                io.read_table(spark, ctx.warehouse, SAFEGUARDING_LIST)
                .groupBy(sg.LOCAL_AUTHORITY)
                .agg(F.count(F.lit(1)).alias("listed"))
                .orderBy(sg.LOCAL_AUTHORITY),
                "listed per local authority",
            )
        ]
        report.counts["missing episodes of kept nominals"] = io.read_table(
            spark, ctx.warehouse, MISSING_PERSONS
        ).count()
        report.counts["disproportionality rows"] = io.read_table(
            spark, ctx.warehouse, DISPROPORTIONALITY
        ).count()
        log.info(
            "safeguarding: %d kept nominals, %d children, %d vulnerable adults, %d listed",
            report.counts["kept nominals"],
            report.counts["children"],
            report.counts["vulnerable adults"],
            report.counts["listed"],
        )


def _counts(flagged: DataFrame, reference_date: dt.date) -> dict[str, object]:
    """The flag counts of the run summary (one aggregation)."""
    named = {
        "kept nominals": F.lit(True),
        "children": F.col(sg.CHILD),
        "vulnerable adults": F.col(c.VULNERABLE_ADULT),
        "age unknown": F.col(sg.AGE_UNKNOWN),
        "was a child when linked": F.col(sg.WAS_CHILD_WHEN_LINKED),
        "adults now who were a child when linked": F.col(sg.WAS_CHILD_WHEN_LINKED)
        & ~F.col(sg.CHILD)
        & ~F.col(sg.AGE_UNKNOWN),
        "looked-after children": F.col(c.LOOKED_AFTER_CHILD),
        "cuckooed-address victims": F.col(sg.CUCKOOED_VICTIM),
        "with missing episodes": F.col(sg.MISSING_EPISODES) > 0,
        "found outside the force area": F.col(sg.FOUND_OUTSIDE_FORCE),
        "victim-offender overlap": F.col(sg.VICTIM_OFFENDER_OVERLAP),
        "listed": F.col(sg.SAFEGUARDING_LISTED),
        "infinite removal cost": F.col(sg.REMOVAL_COST) == F.lit(sg.INFINITE_COST),
    }
    row = flagged.agg(
        *(F.count(F.when(cond, 1)).alias(f"_{i}") for i, cond in enumerate(named.values()))
    ).first()
    counts: dict[str, object] = {"safeguarding reference date": reference_date.isoformat()}
    counts.update({name: row[f"_{i}"] for i, name in enumerate(named)})
    return counts


def _overrides(flagged: DataFrame, cfg: SafeguardingConfig) -> dict[str, object]:
    """Log every override; report those applied and those that named no protected nominal."""
    reasons = cfg.override_reasons
    if not reasons:
        return {"overrides applied": []}
    protected = F.col(sg.CHILD) | F.col(c.VULNERABLE_ADULT)
    named = {
        row[c.NOMINAL_ID]: row["protected"]
        for row in collect_bounded(
            flagged.where(F.col(c.NOMINAL_ID).isin(*reasons)).select(
                c.NOMINAL_ID, protected.alias("protected")
            ),
            "safeguarding overrides",
        )
    }
    applied, unused = [], []
    for nominal_id, reason in sorted(reasons.items()):
        if named.get(nominal_id):
            log.warning(
                "safeguarding override applied: nominal %s may appear on enforcement lists "
                "(removal cost 1.0); reason: %s",
                nominal_id,
                reason,
            )
            applied.append((nominal_id, reason))
        else:
            why = "not a kept nominal" if nominal_id not in named else "not a child or vulnerable"
            log.warning("safeguarding override not applied: nominal %s is %s", nominal_id, why)
            unused.append((nominal_id, why))
    return {"overrides applied": applied, "overrides not applied": unused}
