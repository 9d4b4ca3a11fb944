"""The per-term search report (METHOD section 8) on a small example with known answers."""

from __future__ import annotations

from decimal import Decimal

from chispa import assert_df_equality
from pyspark.sql import SparkSession

from clnet_spark.config import load_config
from clnet_spark.network.stage import search_term_report, term_weights
from clnet_spark.search.catalogue import load_catalogue

MATCH_DDL = (
    "source string, record_id string, matched_groups array<string>, "
    "matches array<struct<group: string, term: string, offset: int>>"
)
REPORT_DDL = (
    "group string, term string, weight decimal(12,9), matching_records long, "
    "in_network long, not_in_network long"
)


def test_term_report_counts_records_in_and_out_of_the_network(spark: SparkSession) -> None:
    matches = spark.createDataFrame(
        [
            ("crimes", "R1", ["COUNTY_LINE"], [("COUNTY_LINE", "COUNTY LINE", 0)]),
            ("crimes", "R2", ["COCAINE"], [("COCAINE", "COCAINE", 3), ("COCAINE", "COKE", 10)]),
            ("ims", "I1", ["COCAINE", "OTHER"], [("COCAINE", "COKE", 0), ("OTHER", "RUNNER", 5)]),
            ("ims", "I2", ["OLD", "OTHER"], [("OLD", "GONE", 0), ("OTHER", "RUNNER", 9)]),
        ],
        MATCH_DDL,
    )
    # A is kept; R1 and I1 link A, so they are in the network; R2 (B) and I2 (D) are not.
    links = spark.createDataFrame(
        [
            ("crimes", "R1", "A"),
            ("crimes", "R2", "B"),
            ("ims", "I1", "C"),
            ("ims", "I1", "A"),
            ("ims", "I2", "D"),
        ],
        "source string, record_id string, nominal_id string",
    )
    kept = spark.createDataFrame([("A",)], "id string")
    weights = spark.createDataFrame(
        [
            ("COUNTY_LINE", "COUNTY LINE", Decimal("1.0")),
            ("COCAINE", "COCAINE", Decimal("0.1")),
            ("COCAINE", "COKE", Decimal("0.1")),
            ("OTHER", "PWITS", Decimal("0.1")),
            ("OTHER", "RUNNER", Decimal("0.1")),
        ],
        "`group` string, term string, weight decimal(12,9)",
    )
    actual_df = search_term_report(matches, links, kept, weights)
    expected_df = spark.createDataFrame(
        [
            ("COCAINE", "COCAINE", Decimal("0.1"), 1, 0, 1),
            ("COCAINE", "COKE", Decimal("0.1"), 2, 1, 1),
            ("COUNTY_LINE", "COUNTY LINE", Decimal("1.0"), 1, 1, 0),
            ("OLD", "GONE", None, 1, 0, 1),  # no longer in the catalogue: weight unknown
            ("OTHER", "PWITS", Decimal("0.1"), 0, 0, 0),  # in the catalogue, matched nowhere
            ("OTHER", "RUNNER", Decimal("0.1"), 2, 1, 1),
        ],
        REPORT_DDL,
    )
    assert_df_equality(actual_df, expected_df, ignore_nullable=True)


def test_term_weights_list_every_catalogue_term_with_its_group_weight(
    spark: SparkSession,
) -> None:
    catalogue = load_catalogue(load_config().catalogue_path)
    rows = term_weights(spark, catalogue).collect()
    assert len(rows) == len(catalogue.terms)
    weight_of = {group.name: group.weight for group in catalogue.groups}
    assert all(row["weight"] == weight_of[row["group"]] for row in rows)
    assert ("COUNTY_LINE", "COUNTY LINE") in {(row["group"], row["term"]) for row in rows}
