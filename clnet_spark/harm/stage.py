"""The harm stage: ``records`` + links + the kept network -> ``harm_crimes``, ``nominal_harm``,
``group_harm``.

Reads ``records``, ``record_nominals``, ``cl_nominals`` and ``cl_groups``, and the two harm
tables named by the ``harm`` settings. The run summary gets the tables used, the crimes whose
codes an index does not map (overall and behind the network) and a list of those codes.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Final

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.guard import collect_bounded
from clnet_spark.harm import scoring
from clnet_spark.harm.tables import (
    CCHI,
    CODE_NORMALISED,
    ONS,
    HarmConfig,
    HarmTable,
    load_harm_tables,
)
from clnet_spark.run import RunContext

log = logging.getLogger(__name__)

HARM_CRIMES: Final = Tables.HARM_CRIMES
NOMINAL_HARM: Final = Tables.NOMINAL_HARM
GROUP_HARM: Final = Tables.GROUP_HARM
"""Delta table names written by this stage (to join :class:`clnet_spark.columns.Tables`)."""

UNMAPPED_LISTED: Final = 100
"""At most this many unmapped codes are listed in the run summary (all are counted)."""

_UNMAPPED_FIELDS: Final = (scoring.CODE, scoring.N_CRIMES, scoring.CCHI_MAPPED, scoring.ONS_MAPPED)


def _describe(table: HarmTable) -> str:
    return f"{table.path} ({table.layout} layout, {table.rows} rows, {len(table.entries)} codes)"


def run_harm(
    spark: SparkSession,
    ctx: RunContext,
    reference_date: dt.date,
    config: HarmConfig | None = None,
) -> None:
    """Score every crime, every kept nominal and every group for harm; write the tables.

    Parameters
    ----------
    spark
        The session.
    ctx
        The run; its warehouse holds ``records``, ``record_nominals``, ``cl_nominals`` and
        ``cl_groups``.
    reference_date
        The run's reference date: crimes after it are not counted, and the ``*_recent``
        columns cover the ``recent_years`` before it.
    config
        The ``harm`` settings; ``ctx.config.harm`` (or the defaults) when None.

    Raises
    ------
    HarmTableError
        A harm table is missing or malformed (before any data is read).
    StageInputError
        An input table does not exist yet.
    """
    cfg = config if config is not None else ctx.config.harm
    cchi_table, ons_table = load_harm_tables(cfg, ctx.config.base_dir)
    with ctx.stage("harm") as report:
        records = io.read_table(spark, ctx.warehouse, Tables.RECORDS)
        record_nominals = io.read_table(spark, ctx.warehouse, Tables.RECORD_NOMINALS)
        kept = io.read_table(spark, ctx.warehouse, Tables.CL_NOMINALS).select(c.NOMINAL_ID)
        groups = io.read_table(spark, ctx.warehouse, Tables.CL_GROUPS).select(
            c.GROUP_ID, scoring.MEMBERS
        )

        crimes = scoring.crime_harm(
            records, cchi_table.to_frame(spark), ons_table.to_frame(spark)
        ).where(scoring.on_or_before(reference_date))
        links = scoring.harm_links(record_nominals, cfg.harm_roles).checkpoint()

        meta = ctx.commit_metadata("harm")
        behind = scoring.harm_crimes(crimes, links, kept, reference_date)
        report.tables[HARM_CRIMES] = io.write_table(
            behind, ctx.warehouse, HARM_CRIMES, metadata=meta
        )
        behind = io.read_table(spark, ctx.warehouse, HARM_CRIMES)
        nominals = scoring.nominal_harm(kept, links, behind, reference_date, cfg.recent_years)
        report.tables[NOMINAL_HARM] = io.write_table(
            nominals, ctx.warehouse, NOMINAL_HARM, metadata=meta
        )
        group_totals = scoring.group_harm(groups, links, behind, reference_date, cfg.recent_years)
        report.tables[GROUP_HARM] = io.write_table(
            group_totals, ctx.warehouse, GROUP_HARM, metadata=meta
        )

        report.counts.update(
            {
                "harm reference date": reference_date.isoformat(),
                "harm roles": list(cfg.harm_roles),
                "CCHI table": _describe(cchi_table),
                "ONS table": _describe(ons_table),
                "CCHI codes with several values (lowest applied)": len(cchi_table.several_values),
                "ONS codes with several values (lowest applied)": len(ons_table.several_values),
            }
        )
        report.counts.update(_crime_counts(crimes, "crimes"))
        report.counts.update(_crime_counts(behind, "harm crimes (behind kept nominals)"))
        unmapped = collect_bounded(
            scoring.unmapped_codes(crimes).limit(UNMAPPED_LISTED), "unmapped offence codes"
        )
        report.counts["unmapped offence codes (code, crimes, CCHI mapped, ONS mapped)"] = [
            tuple(row[name] for name in _UNMAPPED_FIELDS) for row in unmapped
        ]
        scored = io.read_table(spark, ctx.warehouse, NOMINAL_HARM)
        report.counts["nominals scored"] = scored.count()
        report.counts["nominals with harm crimes"] = scored.where(
            F.col(scoring.CRIMES_ALL) > 0
        ).count()
        report.counts["groups scored"] = io.read_table(spark, ctx.warehouse, GROUP_HARM).count()
        log.info(
            "harm: %d crimes, %d unmapped for CCHI, %d unmapped for ONS",
            report.counts["crimes"],
            report.counts["crimes unmapped for CCHI"],
            report.counts["crimes unmapped for ONS"],
        )


def _crime_counts(crimes: DataFrame, label: str) -> dict[str, int]:
    """Crimes, and how many have no code, an unrecognised code, or no value in an index."""
    code = F.trim(F.coalesce(F.col(c.OFFENCE_CODE), F.lit("")))
    row = crimes.agg(
        F.count(F.lit(1)).alias("all"),
        F.count(F.when(code == "", 1)).alias("no_code"),
        F.count(F.when((code != "") & F.col(CODE_NORMALISED).isNull(), 1)).alias("bad"),
        F.count(F.when(F.col(CCHI).isNull(), 1)).alias("cchi"),
        F.count(F.when(F.col(ONS).isNull(), 1)).alias("ons"),
    ).first()
    return {
        label: row["all"],
        f"{label} without an offence code": row["no_code"],
        f"{label} with an unrecognised offence code": row["bad"],
        f"{label} unmapped for CCHI": row["cchi"],
        f"{label} unmapped for ONS": row["ons"],
    }
