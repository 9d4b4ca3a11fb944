"""The network stage: ``record_matches`` + links + relationships -> ``cl_nominals``, ``cl_edges``.

Also writes ``search_group_report`` and ``search_term_report``: per search group and per
term, the matching records in the network (at least one linked nominal kept) and not in it
(METHOD section 8). When the lines stage has written ``record_lines``, active deal lines add
``network.line_weight`` to the evidence of their nominals and to the edges between them
(METHOD section 3, step 2; ``docs/lines.md``).
"""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.guard import collect_bounded
from clnet_spark.network import assemble, build
from clnet_spark.run import RunContext
from clnet_spark.search.catalogue import Catalogue, load_catalogue

log = logging.getLogger(__name__)


def records_in_network(links: DataFrame, kept: DataFrame) -> DataFrame:
    """Records with at least one linked nominal kept: source, record_id, ``_in`` (true).

    ``links``: source, record_id, nominal_id (linking roles); ``kept``: id.
    """
    kept_ids = kept.select(F.col(c.ID).alias(c.NOMINAL_ID))
    return (
        links.join(kept_ids, on=c.NOMINAL_ID, how="left_semi")
        .select(c.SOURCE, c.RECORD_ID)
        .dropDuplicates()  # one row per record, however many of its nominals are kept
        .withColumn("_in", F.lit(True))
    )


def search_group_report(record_matches: DataFrame, links: DataFrame, kept: DataFrame) -> DataFrame:
    """Matching records per search group, in and out of the network.

    Output columns: group, matching_records, in_network, not_in_network.
    """
    in_network = records_in_network(links, kept)
    exploded = record_matches.select(
        c.SOURCE, c.RECORD_ID, F.explode(c.MATCHED_GROUPS).alias(c.GROUP)
    )
    return (
        exploded.join(in_network, on=[c.SOURCE, c.RECORD_ID], how="left")
        .groupBy(c.GROUP)
        .agg(
            F.count(F.lit(1)).alias("matching_records"),
            F.count(F.col("_in")).alias("in_network"),
        )
        .select(
            c.GROUP,
            "matching_records",
            "in_network",
            (F.col("matching_records") - F.col("in_network")).alias("not_in_network"),
        )
        .orderBy(c.GROUP)
    )


TERM_WEIGHTS_DDL = f"`{c.GROUP}` string, {c.TERM} string, {c.WEIGHT} decimal(12,9)"


def term_weights(spark: SparkSession, catalogue: Catalogue) -> DataFrame:
    """Every term of the catalogue with its group's weight: group, term, weight."""
    rows = [
        (group.name, term.label, group.weight) for group in catalogue.groups for term in group.terms
    ]
    return spark.createDataFrame(rows, TERM_WEIGHTS_DDL)


def search_term_report(
    record_matches: DataFrame, links: DataFrame, kept: DataFrame, weights: DataFrame
) -> DataFrame:
    """Matching records per search term, in and out of the network (METHOD section 8).

    A record matches a term when the term is among its ``matches``; it is in the network
    when at least one of its linked nominals is kept. Every term of ``weights`` (group, term,
    weight: the catalogue) is listed, those matching no record with zeros; a term found in
    ``record_matches`` but not in ``weights`` (the catalogue changed since the search) is
    listed with a null weight.

    Output columns: group, term, weight, matching_records, in_network, not_in_network;
    sorted by group, then term.
    """
    in_network = records_in_network(links, kept)
    exploded = record_matches.select(
        c.SOURCE, c.RECORD_ID, F.explode(c.MATCHES).alias("_match")
    ).select(
        c.SOURCE,
        c.RECORD_ID,
        F.col("_match")[c.GROUP].alias(c.GROUP),
        F.col("_match")[c.TERM].alias(c.TERM),
    )
    counts = (
        exploded.join(in_network, on=[c.SOURCE, c.RECORD_ID], how="left")
        .groupBy(c.GROUP, c.TERM)
        .agg(
            F.count(F.lit(1)).alias("matching_records"),
            F.count(F.col("_in")).alias("in_network"),
        )
    )
    matching = F.coalesce(F.col("matching_records"), F.lit(0).cast("long"))
    inside = F.coalesce(F.col("in_network"), F.lit(0).cast("long"))
    return (
        weights.join(counts, on=[c.GROUP, c.TERM], how="full")
        .select(
            c.GROUP,
            c.TERM,
            c.WEIGHT,
            matching.alias("matching_records"),
            inside.alias("in_network"),
            (matching - inside).alias("not_in_network"),
        )
        .orderBy(c.GROUP, c.TERM)
    )


def run_network(spark: SparkSession, ctx: RunContext) -> None:
    """Build, deepen, propagate and prune the network; write its tables."""
    cfg = ctx.config.network
    with ctx.stage("network") as report:
        matches = io.read_table(spark, ctx.warehouse, Tables.RECORD_MATCHES)
        record_nominals = io.read_table(spark, ctx.warehouse, Tables.RECORD_NOMINALS)
        relationships = io.read_table(spark, ctx.warehouse, Tables.RELATIONSHIPS)

        record_lines = None
        if io.table_exists(spark, ctx.warehouse, Tables.RECORD_LINES):
            record_lines = io.read_table(spark, ctx.warehouse, Tables.RECORD_LINES)
        network = assemble.build_network(
            record_nominals,
            matches,
            relationships,
            record_lines,
            linking_roles=cfg.linking_roles,
            max_record_nominals=cfg.max_record_nominals,
            line_weight=cfg.line_weight,
            adversarial_types=cfg.adversarial_types,
            rounds=cfg.rounds,
            threshold=cfg.threshold,
        )
        links, lines = network.links, network.lines

        meta = ctx.commit_metadata("network")
        nominals_out = network.kept.select(
            F.col(c.ID).alias(c.NOMINAL_ID),
            c.WEIGHT,
            c.EVIDENCE,
            c.PROVISIONAL,
            "linked",
            c.EVIDENCE_RECORDS,
            c.EVIDENCE_GROUPS,
            c.EVIDENCE_LINES,
        )
        report.tables[Tables.CL_NOMINALS] = io.write_table(
            nominals_out, ctx.warehouse, Tables.CL_NOMINALS, metadata=meta
        )
        edges_out = network.kept_edges.select(
            c.SRC,
            c.DST,
            F.col(c.EDGE_WEIGHT).alias(c.WEIGHT),
            c.ADVERSARIAL_ONLY,
            c.EVIDENCE_RECORDS,
            c.EVIDENCE_GROUPS,
            c.EVIDENCE_LINES,
            c.CO_RECORDS,
            c.RELATIONSHIP_TYPES,
        )
        report.tables[Tables.CL_EDGES] = io.write_table(
            edges_out, ctx.warehouse, Tables.CL_EDGES, metadata=meta
        )
        kept_table = io.read_table(spark, ctx.warehouse, Tables.CL_NOMINALS)
        groups = search_group_report(
            matches, links, kept_table.select(F.col(c.NOMINAL_ID).alias(c.ID))
        )
        report.tables[Tables.SEARCH_GROUP_REPORT] = io.write_table(
            groups, ctx.warehouse, Tables.SEARCH_GROUP_REPORT, metadata=meta
        )
        terms = search_term_report(
            matches,
            links,
            kept_table.select(F.col(c.NOMINAL_ID).alias(c.ID)),
            term_weights(spark, load_catalogue(ctx.config.catalogue_path)),
        )
        report.tables[Tables.SEARCH_TERM_REPORT] = io.write_table(
            terms, ctx.warehouse, Tables.SEARCH_TERM_REPORT, metadata=meta
        )
        sizes = network.vertices.agg(
            F.count(F.lit(1)).alias("deepened"),
            F.count(F.when(F.col(c.EVIDENCE) > 0, 1)).alias("provisional"),
        ).first()
        kept_counts = kept_table.agg(
            F.count(F.lit(1)).alias("kept"),
            F.count(F.when(~F.col("linked"), 1)).alias("unlinked"),
        ).first()
        report.counts.update(
            {
                "identified records": matches.where(F.col(c.RECORD_WEIGHT) > 0).count(),
                "records over max_record_nominals": links.where(~F.col(build.PAIRABLE))
                .select(c.SOURCE, c.RECORD_ID)
                .dropDuplicates()
                .count(),
                "provisional nominals": sizes["provisional"],
                "nominals after deepening": sizes["deepened"],
                "edges after deepening": network.edges.count(),
                "kept nominals": kept_counts["kept"],
                "kept unlinked nominals": kept_counts["unlinked"],
                "kept edges": io.read_table(spark, ctx.warehouse, Tables.CL_EDGES).count(),
            }
        )
        if lines is not None:
            report.counts["active lines linking nominals"] = (
                lines.select(c.LINE_ID).distinct().count()
            )
            report.counts["nominals on an active line"] = (
                lines.select(c.NOMINAL_ID).distinct().count()
            )
        report.counts["search terms"] = [
            tuple(r)
            for r in io.read_table(spark, ctx.warehouse, Tables.SEARCH_TERM_REPORT)
            .where(F.col("matching_records") > 0)
            .select(c.GROUP, c.TERM, "matching_records", "in_network", "not_in_network")
            .collect()
        ]
        report.counts["search groups"] = [
            tuple(r)
            for r in collect_bounded(
                io.read_table(spark, ctx.warehouse, Tables.SEARCH_GROUP_REPORT),
                Tables.SEARCH_GROUP_REPORT,
            )
        ]
