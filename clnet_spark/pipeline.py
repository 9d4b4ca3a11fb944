"""Run the stages in order and record the run in the ``run_log`` table."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from clnet_spark import io
from clnet_spark.analysis.dismantling_stage import run_dismantling
from clnet_spark.analysis.stage import run_centrality, run_priority
from clnet_spark.columns import Tables
from clnet_spark.groups.stage import run_groups
from clnet_spark.harm.stage import run_harm
from clnet_spark.ingest.stage import run_ingest
from clnet_spark.lines.stage import run_group_lines, run_lines
from clnet_spark.network.stage import run_network
from clnet_spark.recovery import RunJournal
from clnet_spark.report.exports import write_exports
from clnet_spark.run import RunContext
from clnet_spark.safeguarding.stage import run_safeguarding
from clnet_spark.search.catalogue import load_catalogue
from clnet_spark.search.stage import run_search

log = logging.getLogger(__name__)

STAGES = (
    "ingest",
    "search",
    "lines",
    "network",
    "groups",
    "group lines",
    "harm",
    "safeguarding",
    "centrality",
    "priority",
    "dismantling",
    "report",
)

RUN_LOG_SCHEMA = (
    "run_id string, kind string, user string, started_at timestamp, ended_at timestamp, "
    "input string, reference_date date, catalogue_hash string, config_hash string, "
    "tables string, counts string, outcome string, host string, input_digest string, "
    "input_files string, input_versions string, as_of string"
)
"""One row per run. ``tables``: Delta versions written (table -> version); ``input_versions``:
every table's version when the analysis stages (network onwards) started, i.e. what they read
(``clnet run --as-of`` reads them again); ``input_files``: name, size and SHA-256 of every
input file, ``input_digest`` the SHA-256 of that list; ``as_of``: the run recomputed, for an
``as-of`` run. Counts only: no personal data."""


InputFolders = Path | Sequence[Path] | None


def _folders(input_dir: InputFolders) -> list[Path]:
    if input_dir is None:
        return []
    return [Path(input_dir)] if isinstance(input_dir, str | Path) else [Path(p) for p in input_dir]


def input_digest(input_dir: InputFolders) -> tuple[str | None, list[dict[str, Any]]]:
    """SHA-256 over the names, sizes and content hashes of every file of the input folder(s).

    Returns the digest and the per-file list (folder, relative path, bytes, sha256), in folder
    order then by path. Files and folders whose name starts with ``.`` or ``_`` (Spark's
    ``_SUCCESS``, checksum files) and ``ground_truth/`` of the demo corpus are left out.
    """
    folders = _folders(input_dir)
    if not folders:
        return None, []
    files = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if not path.is_file() or relative.parts[0] == "ground_truth":
                continue
            if any(part.startswith((".", "_")) for part in relative.parts):
                continue
            with path.open("rb") as handle:
                content = hashlib.file_digest(handle, "sha256").hexdigest()
            files.append(
                {
                    "folder": str(folder),
                    "file": str(relative),
                    "bytes": path.stat().st_size,
                    "sha256": content,
                }
            )
    listing = json.dumps(files, sort_keys=True)
    return hashlib.sha256(listing.encode()).hexdigest(), files


def warehouse_versions(warehouse: Path) -> dict[str, int]:
    """The latest Delta version of every table under ``warehouse`` (name -> version).

    Read from the names of the transaction-log files (``_delta_log/<version>.json``, the Delta
    protocol's numbering), which costs no Spark job.
    """
    versions: dict[str, int] = {}
    if not warehouse.is_dir():
        return versions
    for log_dir in sorted(warehouse.glob("*/_delta_log")):
        numbers = [int(f.stem) for f in log_dir.glob("*.json") if f.stem.isdigit()]
        if numbers:
            versions[log_dir.parent.name] = max(numbers)
    return versions


def record_run(
    spark: SparkSession,
    ctx: RunContext,
    *,
    input_dir: InputFolders,
    reference: dt.date | None,
    catalogue_hash: str | None,
    outcome: str,
    as_of: str | None = None,
) -> None:
    """Append one row describing this run to ``run_log`` (counts only, no personal data).

    Who ran it (``ctx.user``: env ``CLNET_USER`` or the OS user) and where (``ctx.host``), with
    which inputs (the input folder's digest and the table versions the analysis read), what it
    wrote, and the outcome. The commit carries the run's metadata like every other commit.
    """
    tables = {name: v for report in ctx.reports for name, v in report.tables.items()}
    counts = {report.stage: report.counts for report in ctx.reports}
    digest, files = input_digest(input_dir)
    row = (
        ctx.run_id,
        ctx.kind,
        ctx.user,
        ctx.started_at.replace(tzinfo=None),
        dt.datetime.now(dt.UTC).replace(tzinfo=None),
        ";".join(str(folder) for folder in _folders(input_dir)) or None,
        reference,
        catalogue_hash,
        ctx.config.config_hash(),
        json.dumps(tables, sort_keys=True),
        json.dumps(counts, sort_keys=True, default=str),
        outcome,
        ctx.host,
        digest,
        json.dumps(files),
        json.dumps(ctx.input_versions, sort_keys=True),
        as_of,
    )
    frame = spark.createDataFrame([row], RUN_LOG_SCHEMA)
    io.append_table(frame, ctx.warehouse, Tables.RUN_LOG, metadata=ctx.commit_metadata("run_log"))
    apply_retention(spark, ctx)


def apply_retention(spark: SparkSession, ctx: RunContext) -> None:
    """Set the configured retention properties on every table that lacks them (docs/operations.md).

    ``delta.deletedFileRetentionDuration`` bounds how long files a table no longer uses are
    kept (and so how far back time travel reaches after a VACUUM);
    ``delta.logRetentionDuration`` how long the transaction log keeps old versions. A table
    already carrying the configured values gets no commit.
    """
    wanted = ctx.config.retention.table_properties()
    for name in warehouse_versions(ctx.warehouse):
        path = io.table_path(ctx.warehouse, name)
        properties = io.table_properties(spark, path)
        if {key: properties.get(key) for key in wanted} == wanted:
            continue
        settings = ", ".join(f"'{key}' = '{value}'" for key, value in wanted.items())
        with io.commit_metadata(spark, ctx.commit_metadata("retention")):
            spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({settings})")
        log.info("retention properties set on %s", name)


def run_graph_stages(
    spark: SparkSession,
    ctx: RunContext,
    reference: dt.date,
    notify: Callable[[str], None],
    pending: Callable[[str], bool] = lambda _name: True,
) -> dict[str, Path]:
    """Lines to report, recomputed from the warehouse's tables; return the CSV exports.

    Here deal lines are extracted again from every record (an update extracts those of the
    records it changed before this and skips "lines"). ``pending`` says which stages still
    need running (``clnet run --resume`` skips those an interrupted run completed); the
    report stage always runs.

    The version of every table at the start is kept in ``ctx.input_versions`` (the run log
    records it, and ``clnet run --as-of`` reads those versions again).
    """
    if not ctx.input_versions:
        ctx.input_versions = warehouse_versions(ctx.warehouse)
    steps: dict[str, Callable[[], object]] = {
        "lines": lambda: run_lines(spark, ctx),
        "network": lambda: run_network(spark, ctx),
        "groups": lambda: run_groups(spark, ctx),
        "group lines": lambda: run_group_lines(spark, ctx),
        "harm": lambda: run_harm(spark, ctx, reference),
        "safeguarding": lambda: run_safeguarding(spark, ctx, reference),
        "centrality": lambda: run_centrality(spark, ctx),
        "priority": lambda: run_priority(spark, ctx, reference),
        "dismantling": lambda: run_dismantling(spark, ctx),
    }
    for name, step in steps.items():
        if pending(name):
            notify(name)
            step()
    notify("report")
    with ctx.stage("report") as report:
        exports = write_exports(spark, ctx.warehouse)
        report.counts["CSV files"] = len(exports)
    return exports


def recorded(
    spark: SparkSession,
    ctx: RunContext,
    body: Callable[[dict[str, Any]], dict[str, Path]],
    *,
    input_dir: InputFolders,
    catalogue_hash: str | None,
    as_of: str | None = None,
) -> dict[str, Path]:
    """Run ``body`` and record the run in ``run_log``, succeeded or failed.

    ``body`` receives a dict in which it puts ``reference`` (the reference date) once known. A
    run that fails before writing any table leaves the warehouse untouched (no log row).
    """
    state: dict[str, Any] = {"reference": None}
    for key, value in ctx.config.retention.table_properties().items():
        # Tables created by this run get the retention properties at creation.
        spark.conf.set(f"spark.databricks.delta.properties.defaults.{key[6:]}", value)

    def log_run(outcome: str) -> None:
        record_run(
            spark,
            ctx,
            input_dir=input_dir,
            reference=state["reference"],
            catalogue_hash=catalogue_hash,
            outcome=outcome,
            as_of=as_of,
        )

    try:
        exports = body(state)
    except Exception:
        if any(report.tables for report in ctx.reports):
            log_run("failed")
        raise
    log_run("succeeded")
    return exports


def run_all(
    spark: SparkSession,
    input_dir: Path,
    ctx: RunContext,
    on_stage: Callable[[str], None] | None = None,
    *,
    resume: bool = False,
) -> dict[str, Path]:
    """Run every stage on one export folder; return the CSV exports written.

    The search catalogue is validated before any data is read. With ``resume``, the stages
    an interrupted run on the same inputs completed are skipped (see
    :mod:`clnet_spark.recovery`); the report stage always runs.
    """
    catalogue = load_catalogue(ctx.config.catalogue_path)
    notify = on_stage or (lambda _name: None)
    journal = RunJournal.begin(spark, ctx, input_dir, catalogue.hash, STAGES, resume=resume)

    def body(state: dict[str, Any]) -> dict[str, Path]:
        state["reference"] = journal.reference_date
        if journal.pending("ingest"):
            notify("ingest")
            state["reference"] = run_ingest(spark, input_dir, ctx)
        if journal.pending("search"):
            notify("search")
            run_search(spark, ctx, catalogue)
        return run_graph_stages(spark, ctx, state["reference"], notify, journal.pending)

    return recorded(spark, ctx, body, input_dir=input_dir, catalogue_hash=catalogue.hash)
