"""``clnet run --as-of RUN``: recompute a past run's outputs from the table versions it read.

The run log keeps, for every run, the Delta version of each table when its analysis stages
(network onwards) started. Recomputing reads those versions (Delta time travel) and writes
the outputs into another, empty warehouse, with the run's own reference date, so the current
warehouse is left alone. The outputs equal the original ones (``tests/update/``), as long as
the configuration is the same (a different config hash is logged as a warning) and the
versions are still within the retention period (``docs/operations.md``).

``RUN`` is a run id, a version of the ``run_log`` table (the run that version appended), or an
ISO timestamp (the last successful run that ended at or before it).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyspark.sql import Row, SparkSession
from pyspark.sql import functions as F

from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.errors import ClnetError
from clnet_spark.pipeline import recorded, run_graph_stages
from clnet_spark.run import RunContext

log = logging.getLogger(__name__)


class RunNotFoundError(ClnetError):
    """``--as-of`` names no run of the warehouse's run log."""


def find_run(spark: SparkSession, warehouse: Path, as_of: str) -> Row:
    """The run-log row ``as_of`` names (run id, run_log version or timestamp; see module).

    Raises
    ------
    RunNotFoundError
        No run matches; the message says what was looked for.
    """
    if not io.table_exists(spark, warehouse, Tables.RUN_LOG):
        raise RunNotFoundError(f"{warehouse} has no run_log table: no run to recompute")
    runs = io.read_table(spark, warehouse, Tables.RUN_LOG)
    found = runs.where(F.col("run_id") == as_of).collect()
    if found:
        return found[0]
    if as_of.isdigit():
        path = str(io.table_path(warehouse, Tables.RUN_LOG))
        version = int(as_of)
        try:
            at = spark.read.format("delta").option("versionAsOf", version).load(path)
        except Exception as exc:
            raise RunNotFoundError(f"run_log of {warehouse} has no version {version}") from exc
        if version > 0:
            before = spark.read.format("delta").option("versionAsOf", version - 1).load(path)
            at = at.join(before.select("run_id"), on="run_id", how="left_anti")
        found = at.collect()
        if found:
            return found[0]
        raise RunNotFoundError(f"run_log version {version} of {warehouse} added no run")
    try:
        moment = dt.datetime.fromisoformat(as_of)
    except ValueError as exc:
        raise RunNotFoundError(
            f"--as-of {as_of!r}: expected a run id, a run_log version (digits) or an ISO "
            "timestamp (2026-12-03T10:00:00, UTC)"
        ) from exc
    moment = moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment
    found = (
        runs.where((F.col("outcome") == "succeeded") & (F.col("ended_at") <= F.lit(moment)))
        .orderBy(F.col("ended_at").desc())
        .limit(1)
        .collect()
    )
    if not found:
        raise RunNotFoundError(f"no successful run of {warehouse} ended at or before {moment}")
    return found[0]


def run_as_of(
    spark: SparkSession,
    source: Path,
    as_of: str,
    ctx: RunContext,
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Recompute the run ``as_of`` of warehouse ``source`` into ``ctx.warehouse``.

    Raises
    ------
    RunNotFoundError
        ``as_of`` names no run, or the run recorded no table versions (an older run log).
    ClnetError
        ``ctx.warehouse`` already holds tables, or is ``source`` itself.
    """
    if ctx.warehouse.resolve() == Path(source).resolve():
        raise ClnetError("--as-of writes into another warehouse: give --into DIR")
    if any(ctx.warehouse.glob("*/_delta_log")):
        raise ClnetError(f"{ctx.warehouse} already holds Delta tables: give an empty folder")
    run = find_run(spark, source, as_of)
    versions = json.loads(run["input_versions"] or "{}")
    if not versions:
        raise RunNotFoundError(f"run {run['run_id']} recorded no input table versions")
    if run["config_hash"] != ctx.config.config_hash():
        log.warning(
            "as-of %s: the configuration differs from the run's (config hash %s, now %s); "
            "the outputs may differ",
            run["run_id"],
            run["config_hash"][:12],
            ctx.config.config_hash()[:12],
        )
    reference: dt.date = run["reference_date"]
    pins = {name: (Path(source), v) for name, v in versions.items() if name != Tables.RUN_LOG}
    ctx.input_versions = dict(versions)
    notify = on_stage or (lambda _name: None)
    log.info("as-of: recomputing run %s from %d table versions", run["run_id"], len(pins))

    def body(state: dict[str, Any]) -> dict[str, Path]:
        state["reference"] = reference
        with io.pinned_reads(pins):
            return run_graph_stages(spark, ctx, reference, notify)

    return recorded(
        spark,
        ctx,
        body,
        input_dir=None,
        catalogue_hash=run["catalogue_hash"],
        as_of=run["run_id"],
    )
