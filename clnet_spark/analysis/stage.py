"""The analysis stages: ``centrality`` of every kept nominal, ``group_priority`` of every group.

:func:`run_centrality` collects the pruned network (``cl_nominals``, ``cl_edges``) and the
group membership (``cl_groups``) to the driver, like the groups stage: it is bounded by the
kept nominals, not by the corpus.
:func:`run_priority` gathers each group's raw factors in Spark from ``cl_groups``,
``group_harm``, ``safeguarding_flags``, ``records``, ``record_nominals`` and
``missing_episodes``, and scores the one-row-per-group table on the driver.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Final

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark import io
from clnet_spark.analysis import priority as pr
from clnet_spark.analysis.centrality import (
    BETWEENNESS_METHOD,
    CENTRALITY_SCHEMA,
    CentralityConfig,
    centrality_table,
)
from clnet_spark.analysis.priority import PriorityConfig
from clnet_spark.columns import Tables
from clnet_spark.guard import collect_bounded, to_pandas_bounded
from clnet_spark.run import RunContext
from clnet_spark.safeguarding.stage import SAFEGUARDING_FLAGS

log = logging.getLogger(__name__)

CENTRALITY: Final = Tables.CENTRALITY
GROUP_PRIORITY: Final = Tables.GROUP_PRIORITY


def _to_spark(spark: SparkSession, frame: pd.DataFrame, schema: str) -> DataFrame:
    """A pandas frame as a Spark frame, missing values (NaN, NA) as nulls."""
    cleaned = frame.astype(object).where(frame.notna(), None)
    for name in cleaned.columns:
        if any(isinstance(v, np.ndarray) for v in cleaned[name]):
            cleaned[name] = [None if v is None else list(v) for v in cleaned[name]]
    return spark.createDataFrame(cleaned, schema)


def run_centrality(
    spark: SparkSession, ctx: RunContext, config: CentralityConfig | None = None
) -> None:
    """Compute the centrality of every kept nominal and write the ``centrality`` table.

    Parameters
    ----------
    spark
        The session.
    ctx
        The run; its warehouse holds ``cl_nominals``, ``cl_edges`` and ``cl_groups`` (whose
        member lists give each nominal's group).
    config
        The ``centrality`` settings; ``ctx.config.centrality`` (or the defaults) when None.

    Raises
    ------
    StageInputError
        An input table does not exist yet.
    """
    cfg = config if config is not None else ctx.config.centrality
    with ctx.stage(CENTRALITY) as report:
        vertices = sorted(
            row[0]
            for row in collect_bounded(
                io.read_table(spark, ctx.warehouse, Tables.CL_NOMINALS).select(c.NOMINAL_ID),
                Tables.CL_NOMINALS,
            )
        )
        # Membership from cl_groups, the table of record for groups: a nominal in no group
        # is in none of its member lists, whatever its cl_nominals.group_id holds.
        group_of = {
            nominal: row[0]
            for row in collect_bounded(
                io.read_table(spark, ctx.warehouse, Tables.CL_GROUPS).select(
                    c.GROUP_ID, pr.MEMBERS
                ),
                Tables.CL_GROUPS,
            )
            for nominal in row[1]
        }
        kept_edges = to_pandas_bounded(
            io.read_table(spark, ctx.warehouse, Tables.CL_EDGES).select(
                c.SRC, c.DST, F.col(c.WEIGHT).cast("double").alias(c.WEIGHT), c.ADVERSARIAL_ONLY
            ),
            Tables.CL_EDGES,
        )
        log.info(
            "collected the pruned network: %d nominals, %d edges", len(vertices), len(kept_edges)
        )
        table = centrality_table(vertices, kept_edges, group_of, cfg)
        report.tables[CENTRALITY] = io.write_table(
            _to_spark(spark, table, CENTRALITY_SCHEMA),
            ctx.warehouse,
            CENTRALITY,
            metadata=ctx.commit_metadata(CENTRALITY),
        )
        report.counts.update(
            {
                "nominals": len(table),
                "edges used": int(
                    len(kept_edges)
                    if cfg.include_adversarial
                    else (~kept_edges[c.ADVERSARIAL_ONLY].astype(bool)).sum()
                ),
                "betweenness (whole network)": (
                    table[BETWEENNESS_METHOD].iloc[0] if len(table) else "exact"
                ),
            }
        )


def _reference_date(spark: SparkSession, ctx: RunContext, given: dt.date | None) -> dt.date:
    """The given date, else ``--as-of-date``, else the latest accepted ``recorded_at``."""
    if given is not None:
        return given
    if ctx.as_of_date is not None:
        return ctx.as_of_date
    latest = (
        io.read_table(spark, ctx.warehouse, Tables.RECORDS)
        .agg(F.max(F.to_date(c.RECORDED_AT)))
        .first()[0]
    )
    return latest if latest is not None else ctx.run_day


def run_priority(
    spark: SparkSession,
    ctx: RunContext,
    reference_date: dt.date | None = None,
    config: PriorityConfig | None = None,
) -> None:
    """Score every group for priority and write the ``group_priority`` table.

    Parameters
    ----------
    spark
        The session.
    ctx
        The run; its warehouse holds ``cl_groups``, ``group_harm``, ``safeguarding_flags``,
        ``records``, ``record_nominals`` and ``missing_episodes``. ``ctx.config.force_areas``
        ``ctx.config.network.linking_roles`` (the default marker roles) and
        ``ctx.config.harm.recent_years`` (for the reason text) are read.
    reference_date
        Records after it are not read; by default ``--as-of-date``, else the latest
        accepted ``recorded_at`` (the run's reference date).
    config
        The ``priority`` settings; ``ctx.config.priority`` (or the defaults) when None.

    Raises
    ------
    StageInputError
        An input table does not exist yet (the harm and safeguarding stages run first).
    """
    cfg = config if config is not None else ctx.config.priority
    day = _reference_date(spark, ctx, reference_date)
    with ctx.stage("priority") as report:

        def read(name: str) -> DataFrame:
            return io.read_table(spark, ctx.warehouse, name)

        factors = pr.group_factors(
            read(Tables.CL_GROUPS),
            read(Tables.GROUP_HARM),
            read(SAFEGUARDING_FLAGS),
            read(Tables.RECORDS),
            read(Tables.RECORD_NOMINALS),
            read(Tables.MISSING_EPISODES),
            force_areas=ctx.config.force_areas,
            reference_date=day,
            config=cfg,
            linking_roles=ctx.config.network.linking_roles,
        )
        factors = to_pandas_bounded(factors, "group factors (one row per group)")
        scored = pr.score_groups(factors, cfg, recent_years=ctx.config.harm.recent_years)
        report.tables[GROUP_PRIORITY] = io.write_table(
            _to_spark(spark, scored, pr.PRIORITY_SCHEMA),
            ctx.warehouse,
            GROUP_PRIORITY,
            metadata=ctx.commit_metadata("priority"),
        )
        bands = scored[pr.BAND].value_counts().to_dict()
        report.counts.update(
            {
                "priority reference date": day.isoformat(),
                "groups scored": len(scored),
                **{f"{band} priority groups": int(bands.get(band, 0)) for band in pr.BANDS},
                "top groups (group_id, score)": [
                    (row[c.GROUP_ID], float(row[pr.SCORE])) for _, row in scored.head(5).iterrows()
                ],
            }
        )
        log.info(
            "priority: %d groups, %d high, %d medium, %d low",
            len(scored),
            bands.get(pr.HIGH, 0),
            bands.get(pr.MEDIUM, 0),
            bands.get(pr.LOW, 0),
        )
