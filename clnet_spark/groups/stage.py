"""The groups stage: Walktrap on the pruned network, stable group ids, SOC overlap.

Only the pruned network (``cl_nominals``, ``cl_edges``) is collected to the driver; it is
bounded by the kept nominals, not by the corpus. Tables written: ``cl_groups``,
``soc_overlap``, and ``cl_nominals`` again with group_id, group_kind, soc_group_ids, in_soc.
"""

from __future__ import annotations

import json
import logging

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.errors import StageInputError
from clnet_spark.groups.soc import soc_overlap
from clnet_spark.groups.stable_ids import assign_stable_ids, group_changes, highest_number
from clnet_spark.groups.walktrap import find_groups
from clnet_spark.guard import collect_bounded, to_pandas_bounded
from clnet_spark.run import RunContext

log = logging.getLogger(__name__)

GROUP_SCHEMA = (
    "group_id string, group_kind string, size long, members array<string>, "
    "component string, internal_edges long, internal_weight double, "
    "best_soc_group_id string, best_soc_overlap double, soc_associated boolean"
)


def _last_succeeded(spark: SparkSession, ctx: RunContext, table: str) -> DataFrame | None:
    """``table`` as the last succeeded run left it; None when no such run wrote it.

    The groups stage reads its own earlier outputs (memberships, the id register) this way:
    what a run that was killed or failed afterwards wrote (``clnet run --resume`` reruns it)
    is not a previous run, so a rerun issues the ids an uninterrupted run would have. A
    warehouse without a run log (stages run one by one) uses the table as it is; so does a
    recomputation pinned to a past run's versions (``clnet run --as-of``).
    """
    if not io.table_exists(spark, ctx.warehouse, table):
        return None
    frame = io.read_table(spark, ctx.warehouse, table)
    live = not io.is_pinned(spark, ctx.warehouse, table)
    if live and io.table_exists(spark, ctx.warehouse, Tables.RUN_LOG):
        version = _last_succeeded_version(spark, ctx, table)
        if version is None:
            return None
        if version != io.table_version(spark, ctx.warehouse, table):
            path = str(io.table_path(ctx.warehouse, table))
            frame = spark.read.format("delta").option("versionAsOf", version).load(path)
    return frame


def previous_groups(spark: SparkSession, ctx: RunContext) -> dict[str, frozenset[str]]:
    """Membership of the groups of the previous (last succeeded) run; empty on a first run."""
    groups = _last_succeeded(spark, ctx, Tables.CL_GROUPS)
    if groups is None:
        return {}
    rows = groups.select(c.GROUP_ID, "members")
    return {row[0]: frozenset(row[1]) for row in collect_bounded(rows, Tables.CL_GROUPS)}


def _last_succeeded_version(spark: SparkSession, ctx: RunContext, table: str) -> int | None:
    """The version of ``table`` written by the latest succeeded run that wrote it, if any."""
    runs = (
        io.read_table(spark, ctx.warehouse, Tables.RUN_LOG)
        .where(F.col("outcome") == "succeeded")
        .orderBy(F.col("ended_at").desc())
        .select("tables")
        .limit(100)
    )
    for row in collect_bounded(runs, Tables.RUN_LOG):
        written = json.loads(row[0] or "{}")
        if table in written:
            return int(written[table])
    return None


GROUP_CHANGES_SCHEMA = (
    "change string, previous_id string, group_id string, shared long, previous_size long, "
    "size long, run_id string"
)


def issued_up_to(spark: SparkSession, ctx: RunContext) -> int:
    """The highest group number a succeeded run issued in this warehouse (0 before any)."""
    register = _last_succeeded(spark, ctx, Tables.GROUP_ID_REGISTER)
    row = register.first() if register is not None else None
    return int(row["issued_up_to"]) if row is not None else 0


def source_order(spark: SparkSession, ctx: RunContext, nominal_ids: list[str]) -> dict[str, str]:
    """Pseudonym -> source nominal id of the kept nominals, to order Walktrap's vertices.

    METHOD section 4 orders the vertices by the source id, so the groups do not depend on the
    pseudonym key. Held on the driver only for the call; never logged or written. Without
    ``nominal_identity`` (tables not made by the ingest stage) the ids order themselves.
    """
    if not io.table_exists(spark, ctx.warehouse, Tables.NOMINAL_IDENTITY):
        log.warning("no %s table: vertices ordered by nominal_id", Tables.NOMINAL_IDENTITY)
        return {v: v for v in nominal_ids}
    kept = spark.createDataFrame([(v,) for v in nominal_ids], "nominal_id string")
    identity = io.read_table(spark, ctx.warehouse, Tables.NOMINAL_IDENTITY)
    rows = identity.join(kept, on=c.NOMINAL_ID, how="left_semi").select(
        c.NOMINAL_ID, c.SOURCE_NOMINAL_ID
    )
    order = {row[0]: row[1] for row in rows.collect()}
    if len(order) != len(nominal_ids):
        raise StageInputError(
            f"{Tables.NOMINAL_IDENTITY}: {len(nominal_ids) - len(order)} kept nominal(s) have no "
            "identity row; rerun the ingest stage"
        )
    return order


def run_groups(spark: SparkSession, ctx: RunContext) -> None:
    """Find groups in the pruned network and overlap them with the SOC groups."""
    cfg = ctx.config
    with ctx.stage("groups") as report:
        nominals = io.read_table(spark, ctx.warehouse, Tables.CL_NOMINALS)
        edges = io.read_table(spark, ctx.warehouse, Tables.CL_EDGES)
        vertex_ids = sorted(
            r[0] for r in collect_bounded(nominals.select(c.NOMINAL_ID), Tables.CL_NOMINALS)
        )
        grouping_edges = to_pandas_bounded(
            edges.where(~F.col(c.ADVERSARIAL_ONLY)).select(
                c.SRC, c.DST, F.col(c.WEIGHT).cast("double").alias(c.WEIGHT)
            ),
            Tables.CL_EDGES,
        )
        log.info(
            "collected the pruned network: %d nominals, %d grouping edges",
            len(vertex_ids),
            len(grouping_edges),
        )
        found = find_groups(
            vertex_ids,
            grouping_edges,
            steps=cfg.groups.walktrap_steps,
            order_key=source_order(spark, ctx, vertex_ids),
        )
        grouped = found[found["kind"] != "unlinked"]
        new_groups = {
            key: frozenset(members["nominal_id"])
            for key, members in grouped.groupby("group_key", sort=True)
        }
        previous = previous_groups(spark, ctx)
        issued = issued_up_to(spark, ctx)
        ids = assign_stable_ids(new_groups, previous, issued_up_to=issued)
        found["group_id"] = [
            ids.get(key) if isinstance(key, str) else None for key in found["group_key"]
        ]

        soc = to_pandas_bounded(
            io.read_table(spark, ctx.warehouse, Tables.SOC_GROUPS).join(
                nominals.select(c.NOMINAL_ID), on=c.NOMINAL_ID, how="left_semi"
            ),
            "SOC memberships of kept nominals",
        )
        membership = found.loc[found["kind"] != "unlinked", ["nominal_id", "group_id"]]
        overlap = soc_overlap(membership, soc, threshold=cfg.soc.association_threshold)

        groups = _group_table(found, grouping_edges, overlap.pairs)
        meta = ctx.commit_metadata("groups")
        report.tables[Tables.CL_GROUPS] = io.write_table(
            spark.createDataFrame(groups, GROUP_SCHEMA),
            ctx.warehouse,
            Tables.CL_GROUPS,
            metadata=meta,
        )
        pairs = overlap.pairs.astype({"shared": "int64", "group_size": "int64"})
        report.tables[Tables.SOC_OVERLAP] = io.write_table(
            spark.createDataFrame(
                pairs,
                "group_id string, soc_group_id string, shared long, group_size long, "
                "soc_group_size long, overlap double, associated boolean, is_best boolean",
            ),
            ctx.warehouse,
            Tables.SOC_OVERLAP,
            metadata=meta,
        )

        soc_lists = (
            soc.groupby("nominal_id")["soc_group_id"].agg(lambda s: sorted(s)).rename("soc_ids")
        )
        assigned = found[["nominal_id", "group_id", "kind"]].merge(
            soc_lists, left_on="nominal_id", right_index=True, how="left"
        )
        assigned["soc_ids"] = assigned["soc_ids"].apply(lambda v: v if isinstance(v, list) else [])
        assignment = spark.createDataFrame(
            assigned,
            "nominal_id string, group_id string, group_kind string, soc_group_ids array<string>",
        )
        with_groups = (
            nominals.drop(c.GROUP_ID, c.GROUP_KIND, "soc_group_ids", "in_soc")
            .join(assignment, on=c.NOMINAL_ID, how="left")
            .withColumn("in_soc", F.size("soc_group_ids") > 0)
        )
        # Materialise before overwriting the table it was read from.
        with_groups = with_groups.localCheckpoint()
        report.tables[Tables.CL_NOMINALS] = io.write_table(
            with_groups, ctx.warehouse, Tables.CL_NOMINALS, metadata=meta
        )
        current = {ids[key]: members for key, members in new_groups.items()}
        changes = group_changes(previous, current)
        report.tables[Tables.GROUP_CHANGES] = io.write_table(
            spark.createDataFrame(
                [(*vars(row).values(), ctx.run_id) for row in changes], GROUP_CHANGES_SCHEMA
            ),
            ctx.warehouse,
            Tables.GROUP_CHANGES,
            metadata=meta,
        )
        report.tables[Tables.GROUP_ID_REGISTER] = io.write_table(
            spark.createDataFrame(
                [(highest_number(ids.values(), issued_up_to=issued), ctx.run_id)],
                "issued_up_to long, run_id string",
            ),
            ctx.warehouse,
            Tables.GROUP_ID_REGISTER,
            metadata=meta,
        )
        kinds = found["kind"].value_counts().to_dict()
        report.counts.update(
            {
                "groups": len(new_groups),
                "main-body groups": int(groups["group_kind"].eq("main").sum()),
                "peripheral groups": int(groups["group_kind"].eq("peripheral").sum()),
                "unlinked nominals": int(kinds.get("unlinked", 0)),
                "groups associated with a SOC group": int(groups["soc_associated"].sum()),
                "CL nominals in no SOC group": int(assigned["soc_ids"].map(len).eq(0).sum()),
                "group changes since the previous run": {
                    change: sum(1 for row in changes if row.change == change)
                    for change in ("appeared", "disappeared", "merged", "split", "continued")
                },
            }
        )


def _group_table(found: pd.DataFrame, edges: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """One row per group: size, members, internal edges and weight, best SOC group."""
    grouped = found[found["kind"] != "unlinked"]
    group_of = dict(zip(grouped["nominal_id"], grouped["group_id"], strict=True))
    src_group = edges[c.SRC].map(group_of)
    internal = edges[src_group.notna() & (src_group == edges[c.DST].map(group_of))]
    internal_by = internal.assign(group_id=internal[c.SRC].map(group_of)).groupby("group_id")
    best = pairs[pairs["is_best"]].set_index("group_id")
    rows = []
    for group_id, members in grouped.groupby("group_id", sort=True):
        row_best = best.loc[group_id] if group_id in best.index else None
        rows.append(
            {
                "group_id": group_id,
                "group_kind": members["kind"].iloc[0],
                "size": len(members),
                "members": sorted(members["nominal_id"]),
                "component": members["component"].iloc[0],
                "internal_edges": int(internal_by.size().get(group_id, 0)),
                "internal_weight": float(internal_by[c.WEIGHT].sum().get(group_id, 0.0)),
                "best_soc_group_id": None if row_best is None else row_best["soc_group_id"],
                "best_soc_overlap": 0.0 if row_best is None else float(row_best["overlap"]),
                "soc_associated": False if row_best is None else bool(row_best["associated"]),
            }
        )
    return pd.DataFrame(rows, columns=[f.split()[0] for f in GROUP_SCHEMA.split(", ")])
