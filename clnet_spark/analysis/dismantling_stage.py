"""The dismantling stage: a removal order for each group and for the whole kept network.

Reads the pruned network (collected to the driver), the removal costs of ``safeguarding_flags``
(infinite for children and vulnerable adults: they are never on a removal list) and the
nominal CCHI harm of ``nominal_harm``; writes ``dismantling``: one row per removal step.

Each scope's rows carry ``inputs_hash``, a SHA-256 of everything its order is computed from
(members, their edges, removal costs and harm, the target, the dismantling code). The order is
a deterministic function of those inputs (:func:`~clnet_spark.analysis.dismantling.dismantle`),
so a scope whose hash is in the previous ``dismantling`` table takes its rows from there
instead of being dismantled again: a nightly update recomputes only the groups the batch
changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark import io
from clnet_spark.analysis import dismantling
from clnet_spark.analysis.dismantling import dismantle
from clnet_spark.columns import Tables
from clnet_spark.guard import collect_bounded, to_pandas_bounded
from clnet_spark.run import RunContext

log = logging.getLogger(__name__)

NETWORK_SCOPE = "network"
DISMANTLING_SCHEMA = (
    "scope string, step long, nominal_id string, lcc_people long, lcc_fraction double, "
    "lcc_harm double, people long, removals_to_target long, mean_lcc_fraction double, "
    "inputs_hash string"
)
INPUTS_HASH = "inputs_hash"

_CODE = hashlib.sha256(Path(dismantling.__file__).read_bytes()).hexdigest()
"""The dismantling code as it runs: a change to it changes every scope's inputs hash."""


def _costs(spark: SparkSession, ctx: RunContext) -> dict[str, float]:
    if not io.table_exists(spark, ctx.warehouse, Tables.SAFEGUARDING_FLAGS):
        log.warning("no safeguarding_flags table: every removal cost is 1")
        return {}
    rows = io.read_table(spark, ctx.warehouse, Tables.SAFEGUARDING_FLAGS).select(
        c.NOMINAL_ID, "removal_cost"
    )
    return {r[0]: float(r[1]) for r in collect_bounded(rows, Tables.SAFEGUARDING_FLAGS)}


def _harm(spark: SparkSession, ctx: RunContext) -> dict[str, float]:
    if not io.table_exists(spark, ctx.warehouse, Tables.NOMINAL_HARM):
        return {}
    rows = io.read_table(spark, ctx.warehouse, Tables.NOMINAL_HARM).select(
        c.NOMINAL_ID, F.col("cchi_all").cast("double")
    )
    return {r[0]: float(r[1] or 0.0) for r in collect_bounded(rows, Tables.NOMINAL_HARM)}


def scope_edges(members: list[str], edges: pd.DataFrame) -> list[tuple[str, str]]:
    """The distinct edges between ``members`` as sorted (smaller id, larger id) pairs, self
    loops dropped: all that removal reads of the network (direction and weight do not count)."""
    inside = edges[edges[c.SRC].isin(members) & edges[c.DST].isin(members)]
    pairs = {
        (min(a, b), max(a, b))
        for a, b in zip(inside[c.SRC].astype(str), inside[c.DST].astype(str), strict=True)
        if a != b
    }
    return sorted(pairs)


def inputs_hash(
    members: list[str],
    pairs: list[tuple[str, str]],
    cost: dict[str, float],
    harm: dict[str, float],
    target_fraction: float,
) -> str:
    """SHA-256 of a scope's dismantling inputs (see the module)."""
    payload = {
        "members": members,
        "edges": pairs,
        "cost": [cost.get(m, 1.0) for m in members],
        "harm": [harm.get(m, 0.0) for m in members],
        "target_fraction": target_fraction,
        "code": _CODE,
    }
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def removal_steps(
    scope: str,
    members: list[str],
    edges: pd.DataFrame,
    cost: dict[str, float],
    harm: dict[str, float],
    target_fraction: float,
    previous: dict[str, list[tuple]] | None = None,
) -> list[tuple]:
    """The removal steps of one scope (a group, or the whole network) as table rows.

    ``previous`` maps an inputs hash to the rows (without the scope) a previous run computed
    for it; a scope with those inputs takes them instead of being dismantled again.
    """
    pairs = scope_edges(members, edges)
    if len(members) < 2 or not pairs:
        return []
    key = inputs_hash(members, pairs, cost, harm, target_fraction)
    if previous is not None and key in previous:
        return [(scope, *row) for row in previous[key]]
    result = dismantle(
        pd.DataFrame(pairs, columns=[c.SRC, c.DST]),
        vertices=members,
        cost={m: cost.get(m, 1.0) for m in members},
        harm={m: harm.get(m, 0.0) for m in members},
        target_fraction=target_fraction,
    )
    to_target = result.removals_to_target
    return [
        (
            scope,
            int(row.step),
            row.nominal_id,
            int(row.lcc_people),
            float(row.lcc_fraction),
            float(row.lcc_harm),
            len(members),
            None if to_target is None else int(to_target),
            float(result.mean_lcc_fraction),
            key,
        )
        for row in result.steps.itertuples(index=False)
    ]


def previous_steps(spark: SparkSession, ctx: RunContext) -> dict[str, list[tuple]]:
    """The rows of the previous ``dismantling`` table by inputs hash, without their scope
    (empty when there is none, or it predates the hash)."""
    if not io.table_exists(spark, ctx.warehouse, Tables.DISMANTLING):
        return {}
    table = io.read_table(spark, ctx.warehouse, Tables.DISMANTLING)
    if INPUTS_HASH not in table.columns:
        return {}
    columns = [name.split()[0] for name in DISMANTLING_SCHEMA.split(", ")][1:]
    found: dict[str, list[tuple]] = {}
    scope_of: dict[str, str] = {}  # two scopes of the same inputs (the network is one group)
    for row in collect_bounded(table.orderBy("scope", "step"), Tables.DISMANTLING):
        key = row[INPUTS_HASH]
        if scope_of.setdefault(key, row["scope"]) == row["scope"]:
            found.setdefault(key, []).append(tuple(row[name] for name in columns))
    return found


def run_dismantling(spark: SparkSession, ctx: RunContext, target_fraction: float = 0.1) -> None:
    """Removal orders for every group with at least 3 members and for the whole network."""
    with ctx.stage("dismantling") as report:
        nominals = io.read_table(spark, ctx.warehouse, Tables.CL_NOMINALS)
        edges = to_pandas_bounded(
            io.read_table(spark, ctx.warehouse, Tables.CL_EDGES).select(c.SRC, c.DST),
            Tables.CL_EDGES,
        )
        membership = to_pandas_bounded(
            nominals.select(c.NOMINAL_ID, c.GROUP_ID), Tables.CL_NOMINALS
        )
        cost, harm = _costs(spark, ctx), _harm(spark, ctx)
        protected = sum(1 for value in cost.values() if math.isinf(value))

        previous = previous_steps(spark, ctx)
        rows = removal_steps(
            NETWORK_SCOPE,
            sorted(membership[c.NOMINAL_ID]),
            edges,
            cost,
            harm,
            target_fraction,
            previous,
        )
        grouped = membership.dropna(subset=[c.GROUP_ID]).groupby(c.GROUP_ID)[c.NOMINAL_ID]
        for group_id, members in sorted(grouped):
            if len(members) >= 3:
                rows += removal_steps(
                    group_id, sorted(members), edges, cost, harm, target_fraction, previous
                )
        listed = {row[2] for row in rows}
        leaked = sorted(m for m in listed if math.isinf(cost.get(m, 1.0)))
        if leaked:  # pragma: no cover - dismantle() never picks an infinite cost
            raise AssertionError(f"{len(leaked)} protected nominals on a removal list")
        frame = spark.createDataFrame(rows, DISMANTLING_SCHEMA)
        report.tables[Tables.DISMANTLING] = io.write_table(
            frame, ctx.warehouse, Tables.DISMANTLING, metadata=ctx.commit_metadata("dismantling")
        )
        network_rows = [r for r in rows if r[0] == NETWORK_SCOPE]
        report.counts.update(
            {
                "scopes (groups + network)": len({r[0] for r in rows}),
                "scopes taken from the previous run": len(
                    {r[0] for r in rows if r[-1] in previous}
                ),
                "protected nominals (never listed)": protected,
                "whole network: removals to target": network_rows[0][7] if network_rows else None,
                "whole network: mean largest-component fraction": round(network_rows[0][8], 4)
                if network_rows
                else None,
            }
        )
