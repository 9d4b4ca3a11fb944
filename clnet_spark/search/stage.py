"""The search stage: every record's free text against the term catalogue -> ``record_matches``."""

from __future__ import annotations

import logging

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.guard import collect_bounded
from clnet_spark.run import RunContext
from clnet_spark.search.catalogue import Catalogue, load_catalogue
from clnet_spark.search.native import match_records

log = logging.getLogger(__name__)


def run_search(spark: SparkSession, ctx: RunContext, catalogue: Catalogue | None = None) -> str:
    """Search all records; return the catalogue hash stored with the matches."""
    catalogue = catalogue or load_catalogue(ctx.config.catalogue_path)
    with ctx.stage("search") as report:
        records = io.read_table(spark, ctx.warehouse, Tables.RECORDS).select(
            c.SOURCE, c.RECORD_ID, c.TEXT
        )
        matches = match_records(records, catalogue)
        report.tables[Tables.RECORD_MATCHES] = io.write_table(
            matches,
            ctx.warehouse,
            Tables.RECORD_MATCHES,
            partition_by=(c.SOURCE,),
            metadata={**ctx.commit_metadata("search"), "catalogue_hash": catalogue.hash},
        )
        written = io.read_table(spark, ctx.warehouse, Tables.RECORD_MATCHES)
        report.counts["records searched"] = records.count()
        report.counts["matching records"] = written.count()
        report.counts["records per group"] = {
            row[0]: row[1]
            for row in collect_bounded(
                written.select(F.explode(c.MATCHED_GROUPS).alias("g"))
                .groupBy("g")
                .count()
                .orderBy("g"),
                "records per search group",
            )
        }
        report.counts["catalogue hash"] = catalogue.hash
    return catalogue.hash
