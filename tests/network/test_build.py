"""The network transforms against METHOD section 3, including its worked example."""

from __future__ import annotations

from decimal import Decimal

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark.network import assemble, build
from clnet_spark.weights import WEIGHT_TYPE

LINKING = ("suspect", "offender", "charged", "arrested", "subject", "associate", "victim")
MATCH_DDL = (
    "source string, record_id string, record_weight decimal(12,9), matched_groups array<string>"
)
LINK_DDL = "source string, record_id string, nominal_id string, role string"
REL_DDL = "nominal_a string, nominal_b string, relationship_type string"


def D(value: str) -> Decimal:  # noqa: N802 - reads like a literal
    return Decimal(value)


def run_method(
    spark: SparkSession,
    matches: list[tuple],
    links: list[tuple],
    relationships: list[tuple],
    rounds: int = 1,
    threshold: float = 0.5,
) -> tuple[DataFrame, DataFrame, DataFrame, DataFrame]:
    network = assemble.build_network(
        spark.createDataFrame(links, LINK_DDL),
        spark.createDataFrame(matches, MATCH_DDL),
        spark.createDataFrame(relationships, REL_DDL),
        None,
        linking_roles=LINKING,
        max_record_nominals=25,
        line_weight=0.0,
        adversarial_types=("rival",),
        rounds=rounds,
        threshold=threshold,
    )
    return network.weighted, network.propagated, network.kept, network.kept_edges


def weights_of(frame: DataFrame, key: str, value: str) -> dict[str, Decimal]:
    return {row[0]: row[1] for row in frame.select(key, value).collect()}


def edge_weights(frame: DataFrame) -> dict[tuple[str, str], Decimal]:
    return {(r[c.SRC], r[c.DST]): r[c.EDGE_WEIGHT] for r in frame.collect()}


WORKED_MATCHES = [
    ("crimes", "R1", D("1.0"), ["COUNTY_LINE"]),
    ("crimes", "R2", D("0.1"), ["COCAINE"]),
]
WORKED_LINKS = [
    ("crimes", "R1", "A", "suspect"),
    ("crimes", "R1", "B", "suspect"),
    ("crimes", "R2", "C", "suspect"),
    ("crimes", "R3", "B", "associate"),
    ("crimes", "R3", "D", "associate"),
]
WORKED_RELATIONSHIPS = [("C", "E", "associate")]


def test_worked_example_final_weights(spark: SparkSession) -> None:
    weighted, propagated, kept, kept_edges = run_method(
        spark, WORKED_MATCHES, WORKED_LINKS, WORKED_RELATIONSHIPS
    )
    assert weights_of(weighted, c.ID, c.WEIGHT) == {
        "A": D("1"),
        "B": D("1"),
        "C": D("0.1"),
        "D": D("0.5"),
        "E": D("0.05"),
    }
    assert edge_weights(propagated) == {
        ("A", "B"): D("1"),
        ("B", "D"): D("0.5"),
        ("C", "E"): D("0.05"),
    }
    assert sorted(r[c.ID] for r in kept.collect()) == ["A", "B", "D"]
    assert edge_weights(kept_edges) == {("A", "B"): D("1"), ("B", "D"): D("0.5")}


def test_worked_example_evidence_and_provisional_edges(spark: SparkSession) -> None:
    link_df = build.linking_links(spark.createDataFrame(WORKED_LINKS, LINK_DDL), LINKING, 25)
    identified = build.identified_links(link_df, spark.createDataFrame(WORKED_MATCHES, MATCH_DDL))
    actual_df = build.nominal_evidence(identified).select(c.ID, c.EVIDENCE, c.EVIDENCE_RECORDS)
    expected_df = spark.createDataFrame(
        [
            ("A", D("1"), ["crimes:R1"]),
            ("B", D("1"), ["crimes:R1"]),
            ("C", D("0.1"), ["crimes:R2"]),
        ],
        f"id string, evidence {WEIGHT_TYPE.simpleString()}, evidence_records array<string>",
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)
    edges = build.provisional_edges(identified)
    assert edge_weights(edges) == {("A", "B"): D("1")}


def test_evidence_is_capped_at_one_and_summed_exactly(spark: SparkSession) -> None:
    matches = [("ims", f"I{i}", D("0.1"), ["COCAINE"]) for i in range(7)]
    matches += [("ims", "J1", D("0.7"), ["CL_WORDS"]), ("ims", "J2", D("0.7"), ["CL_WORDS"])]
    links = [("ims", f"I{i}", "U", "suspect") for i in range(7)]
    links += [("ims", "J1", "V", "suspect"), ("ims", "J2", "V", "suspect")]
    weighted, *_ = run_method(spark, matches, links, [])
    assert weights_of(weighted, c.ID, c.EVIDENCE) == {"U": D("0.7"), "V": D("1")}


def test_non_linking_roles_and_repeated_roles(spark: SparkSession) -> None:
    matches = [("crimes", "R1", D("1.0"), ["COUNTY_LINE"])]
    links = [
        ("crimes", "R1", "A", "suspect"),
        ("crimes", "R1", "A", "offender"),  # same nominal twice: linked once
        ("crimes", "R1", "W", "witness"),  # witnesses do not link
    ]
    weighted, *_ = run_method(spark, matches, links, [])
    assert weights_of(weighted, c.ID, c.EVIDENCE) == {"A": D("1")}


def test_added_nominals_are_not_connected_to_each_other(spark: SparkSession) -> None:
    matches = [("crimes", "R1", D("1.0"), ["COUNTY_LINE"])]
    links = [
        ("crimes", "R1", "A", "suspect"),
        ("ims", "X1", "A", "subject"),
        ("ims", "X1", "P", "subject"),
        ("ims", "X1", "Q", "subject"),  # P and Q are both added: no P-Q edge
    ]
    _, propagated, *_ = run_method(spark, matches, links, [("P", "Q", "family")])
    assert set(edge_weights(propagated)) == {("A", "P"), ("A", "Q")}


def test_record_over_max_nominals_adds_evidence_but_no_pairs(spark: SparkSession) -> None:
    matches = [("crimes", "BIG", D("1.0"), ["COUNTY_LINE"])]
    links = [("crimes", "BIG", f"N{i:02d}", "suspect") for i in range(26)]
    weighted, propagated, *_ = run_method(spark, matches, links, [])
    assert propagated.count() == 0
    assert set(weights_of(weighted, c.ID, c.EVIDENCE).values()) == {D("1")}


def test_adversarial_only_edges_are_marked(spark: SparkSession) -> None:
    matches = [("crimes", "R1", D("1.0"), ["COUNTY_LINE"]), ("crimes", "R2", D("1.0"), ["CUCKOO"])]
    links = [("crimes", "R1", "A", "suspect"), ("crimes", "R2", "B", "suspect")]
    rels = [("A", "B", "rival"), ("A", "C", "associate"), ("B", "D", "rival")]
    _, _, _, kept_edges = run_method(spark, matches, links, rels)
    flags = {(r[c.SRC], r[c.DST]): r[c.ADVERSARIAL_ONLY] for r in kept_edges.collect()}
    assert flags == {("A", "B"): True, ("A", "C"): False, ("B", "D"): True}


@pytest.mark.parametrize("rounds", [2, 3])
def test_more_rounds_follow_the_recurrence(spark: SparkSession, rounds: int) -> None:
    weighted, propagated, *_ = run_method(
        spark, WORKED_MATCHES, WORKED_LINKS, WORKED_RELATIONSHIPS, rounds=rounds
    )
    # Hand iteration of the recurrence on the worked example.
    x = {"A": D("1"), "B": D("1"), "C": D("0.1"), "D": D("0"), "E": D("0")}
    e = {("A", "B"): D("1"), ("B", "D"): D("0"), ("C", "E"): D("0")}

    def nominal(weights: dict[tuple[str, str], Decimal]) -> dict[str, Decimal]:
        total = {v: D("0") for v in x}
        for (u, v), w in weights.items():
            total[u] += w
            total[v] += w
        return {v: max(x[v], min(D("1"), total[v])) for v in x}

    for _ in range(rounds):
        n = nominal(e)
        e = {(u, v): ((n[u] + n[v]) / 2).quantize(D("1e-9")) for (u, v) in e}
    assert edge_weights(propagated) == e
    assert weights_of(weighted, c.ID, c.WEIGHT) == nominal(e)


def test_weights_do_not_depend_on_partitioning(spark: SparkSession) -> None:
    matches = [("ims", f"R{i}", D("0.1") * (i % 7 + 1), ["X"]) for i in range(40)]
    links = [
        ("ims", f"R{i}", f"N{(i * 7 + j) % 23:02d}", "suspect") for i in range(40) for j in range(3)
    ]
    first, *_ = run_method(spark, matches, links, [])
    shuffled, *_ = run_method(spark, list(reversed(matches)), list(reversed(links)), [])
    assert weights_of(first, c.ID, c.WEIGHT) == weights_of(shuffled, c.ID, c.WEIGHT)
    assert first.where(F.col(c.WEIGHT) > 1).count() == 0
