"""The search stage: every record's free text against the term catalogue -> ``record_matches``."""

from __future__ import annotations

import logging
from typing import Final

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.guard import collect_bounded
from clnet_spark.run import RunContext
from clnet_spark.search import hyperscan_engine, match_writer, native, table_files
from clnet_spark.search.catalogue import Catalogue, load_catalogue

log = logging.getLogger(__name__)

ENGINES: Final = {"hyperscan": hyperscan_engine.match_records, "native": native.match_records}
"""``search.engine`` in ``conf/clnet.yaml`` -> the engine's ``match_records``."""


def run_search(spark: SparkSession, ctx: RunContext, catalogue: Catalogue | None = None) -> str:
    """Search all records with the configured engine; return the catalogue hash stored with
    the matches (column ``catalogue_hash`` and the commit metadata).

    The catalogue is validated, and compiled for the Hyperscan engine, before any data is read.
    """
    catalogue = catalogue or load_catalogue(ctx.config.catalogue_path)
    engine = ctx.config.search.engine
    if engine == "hyperscan":
        hyperscan_engine.check_catalogue(catalogue)
    with ctx.stage("search") as report:
        records = io.read_table(spark, ctx.warehouse, Tables.RECORDS).select(
            c.SOURCE, c.RECORD_ID, c.TEXT
        )
        log.info("search engine: %s", engine)
        metadata = {
            **ctx.commit_metadata("search"),
            "catalogue_hash": catalogue.hash,
            "search_engine": engine,
        }
        files = None
        if engine == "hyperscan" and ctx.config.search.reader == "files":
            files = table_files.snapshot_files(
                *io.table_location(spark, ctx.warehouse, Tables.RECORDS)
            )
        written = None
        if files is not None and ctx.config.search.writer == "files":
            written = match_writer.write_matches(
                spark, files, catalogue, ctx.warehouse, Tables.RECORD_MATCHES, metadata
            )
        if written is not None:
            log.info("search: workers read %d data files and wrote the matches", len(files))
        else:
            if files is not None:
                log.info("search: workers read the %d data files of records", len(files))
                matches = table_files.match_files(spark, files, catalogue)
            else:
                matches = ENGINES[engine](records, catalogue)
            written = _write_with_spark(spark, ctx, records, matches, metadata)
        report.tables[Tables.RECORD_MATCHES] = written.version
        report.counts["records searched"] = written.searched
        report.counts["matching records"] = written.matching
        report.counts["records per group"] = written.per_group
        report.counts["catalogue hash"] = catalogue.hash
        report.counts["search engine"] = engine
    return catalogue.hash


def _write_with_spark(
    spark: SparkSession,
    ctx: RunContext,
    records: DataFrame,
    matches: DataFrame,
    metadata: dict[str, str],
) -> match_writer.Written:
    """Write ``matches`` as ``record_matches`` with Spark, then count what was written."""
    version = io.write_table(
        matches, ctx.warehouse, Tables.RECORD_MATCHES, partition_by=(c.SOURCE,), metadata=metadata
    )
    table = io.read_table(spark, ctx.warehouse, Tables.RECORD_MATCHES)
    per_group = collect_bounded(
        table.select(F.explode(c.MATCHED_GROUPS).alias("g")).groupBy("g").count().orderBy("g"),
        "records per search group",
    )
    return match_writer.Written(
        version=version,
        searched=records.count(),
        matching=table.count(),
        per_group={row[0]: row[1] for row in per_group},
    )
