"""The whole pipeline on a small generated corpus, scored against the generator's ground truth.

One run (module-scoped) serves every assertion. Scale 0.05 plants 4 county-lines groups
(63 members) among about 2,000 background people and 10,000 records.
"""

from __future__ import annotations

import pandas as pd
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.config import load_config
from clnet_spark.demo import write_demo_corpus
from clnet_spark.evaluation import Scores, score_run
from clnet_spark.pipeline import run_all
from clnet_spark.run import RunContext

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_run(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("e2e")
    write_demo_corpus(root / "input", scale=0.05, seed=11)
    ctx = RunContext(root / "warehouse", load_config())
    exports = run_all(spark, root / "input", ctx)
    return root, ctx, exports


@pytest.fixture(scope="module")
def scores(spark: SparkSession, demo_run) -> Scores:
    root, ctx, _ = demo_run
    return score_run(spark, ctx.warehouse, root / "input" / "ground_truth")


def test_county_lines_nominals_are_found(scores: Scores) -> None:
    # Every planted member co-appears on a COUNTY_LINE or DRUGS_LINE record with another
    # member and has about five CL records, so the method must keep all of them; a recall
    # below 0.95 means a stage lost evidence.
    assert scores.recall >= 0.95, scores
    # Kept background people: the planted family/associate links (kept by propagation, as D in
    # METHOD's worked example), heavy drug users whose drug words alone reach 0.5, and people
    # on briefing logs. The generator makes them at most about a third of the kept network.
    assert scores.precision >= 0.55, scores


def test_planted_groups_are_recovered_with_their_soc_labels(scores: Scores) -> None:
    # Planted groups are dense inside and linked to each other only by rival and a few
    # family links, so Walktrap must find each as one group (Jaccard >= 0.5).
    assert scores.recovery >= 0.75, scores
    assert scores.soc_accuracy >= 0.75, scores


def test_counts_reconcile_and_tables_exist(spark: SparkSession, demo_run) -> None:
    _, ctx, exports = demo_run
    for row in ctx.reports[0].counts["tables"]:
        assert row["read"] == row["accepted"] + row["quarantined"] + row["deleted"], row
    quarantine = io.read_table(spark, ctx.warehouse, Tables.QUARANTINE).count()
    assert quarantine == sum(row["quarantined"] for row in ctx.reports[0].counts["tables"])
    for name in (Tables.CL_NOMINALS, Tables.CL_EDGES, Tables.CL_GROUPS, Tables.SOC_OVERLAP):
        assert io.read_table(spark, ctx.warehouse, name).count() > 0, name
    assert set(exports) >= {"cl_nominals", "cl_edges", "cl_groups", "soc_overlap"}
    header = (ctx.warehouse / "exports" / "cl_nominals.csv").read_text().splitlines()[0]
    assert "restricted" not in header and "nominal_id" in header
    run_log = io.read_table(spark, ctx.warehouse, Tables.RUN_LOG).collect()
    assert [(r["run_id"], r["outcome"]) for r in run_log] == [(ctx.run_id, "succeeded")]


def test_search_group_report_follows_the_seed_pattern(demo_run) -> None:
    _, ctx, _ = demo_run
    network = next(r for r in ctx.reports if r.stage == "network")
    rows = {
        group: (inside, outside) for group, _, inside, outside in network.counts["search groups"]
    }
    inside, outside = rows["COUNTY_LINE"]
    assert inside / (inside + outside) > 0.9
    drug_in = sum(rows[g][0] for g in ("COCAINE", "CRACK", "HEROIN", "WEED"))
    drug_out = sum(rows[g][1] for g in ("COCAINE", "CRACK", "HEROIN", "WEED"))
    assert drug_in / (drug_in + drug_out) < 0.25


def test_recovered_groups_list_their_own_deal_lines(spark: SparkSession, demo_run) -> None:
    root, ctx, exports = demo_run
    truth = root / "input" / "ground_truth"
    planted_groups = pd.read_csv(truth / "groups.csv", dtype=str)
    members = pd.read_csv(truth / "cl_nominals.csv", dtype=str)
    # ground truth names source ids; the tables hold pseudonyms (nominal_identity maps them)
    identity = io.read_table(spark, ctx.warehouse, Tables.NOMINAL_IDENTITY)
    found = (
        io.read_table(spark, ctx.warehouse, Tables.CL_NOMINALS)
        .join(identity, on="nominal_id", how="inner")
        .select(F.col("source_nominal_id").alias("nominal_id"), "group_id")
    )
    found = found.toPandas().dropna()
    group_lines = io.read_table(spark, ctx.warehouse, Tables.GROUP_LINES).toPandas()
    lines = io.read_table(spark, ctx.warehouse, Tables.LINES).toPandas().set_index("line_id")
    listed = 0
    for row in planted_groups.itertuples():
        planted_ids = set(members.loc[members["planted_group"] == row.planted_group, "nominal_id"])
        overlap = found[found["nominal_id"].isin(planted_ids)]["group_id"].value_counts()
        if overlap.empty or overlap.iloc[0] < len(planted_ids) / 2:
            continue  # not recovered (the recovery score tests how many are)
        own = set(group_lines.loc[group_lines["group_id"] == overlap.index[0], "line_id"])
        name = "NAME:" + row.line_name.removesuffix(" line").upper()
        assert {row.deal_line_phone, name} <= own, row.planted_group
        assert lines.loc[row.deal_line_phone, "active"] and lines.loc[name, "active"]
        listed += 1
    assert listed >= 0.75 * len(planted_groups)
    assert {"lines", "group_lines", "search_term_report"} <= set(exports)


def test_search_term_report_agrees_with_the_group_report(spark: SparkSession, demo_run) -> None:
    _, ctx, _ = demo_run
    terms = io.read_table(spark, ctx.warehouse, Tables.SEARCH_TERM_REPORT).toPandas()
    groups = io.read_table(spark, ctx.warehouse, Tables.SEARCH_GROUP_REPORT).toPandas()
    assert (terms["matching_records"] == terms["in_network"] + terms["not_in_network"]).all()
    by_group = terms.groupby("group")[["matching_records", "in_network"]]
    for row in groups.itertuples():
        # a record counts once per group but once per term: the terms' sum bounds the group
        # from above and their largest count from below
        assert by_group.max().loc[row.group, "matching_records"] <= row.matching_records
        assert by_group.sum().loc[row.group, "matching_records"] >= row.matching_records
        assert by_group.sum().loc[row.group, "in_network"] >= row.in_network
