"""Deal lines in the network (METHOD section 3, step 2), on METHOD's worked example extended.

The worked example's records R1 ("county line": A, B; w = 1.0), R2 ("cocaine": C; w = 0.1),
R3 (no match: B, D) and relationship C-E, plus deal line L: mentioned on R2 (identified, so L
is active) and on R4 (no match: E, F). By hand, with ``line_weight = 0.4``:

- x: A = 1, B = 1, C = min(1, 0.1 + 0.4) = 0.5, E = 0.4, F = 0.4 (D is added by deepening,
  x = 0); provisional edges: A-B = 1, and L's pairs C-E = C-F = E-F = 0.4; deepening adds
  B-D = 0 (C-E is already there).
- Round 1, nominals: A = 1, B = 1, D = 0, C = max(0.5, 0.8) = 0.8, E = F = max(0.4, 0.8) =
  0.8. Edges: A-B = 1, B-D = 0.5, C-E = C-F = E-F = 0.8.
- Final: A = 1, B = min(1, 1.5) = 1, D = 0.5, C = E = F = min(1, 1.6) = 1. Everyone is kept
  (without the line, C = 0.1 and E = 0.05 are discarded).
"""

from __future__ import annotations

from decimal import Decimal

from pyspark.sql import DataFrame, SparkSession

from clnet_spark import columns as c
from clnet_spark.network import assemble

LINKING = ("suspect", "offender", "charged", "arrested", "subject", "associate", "victim")
MATCH_DDL = (
    "source string, record_id string, record_weight decimal(12,9), matched_groups array<string>"
)
LINK_DDL = "source string, record_id string, nominal_id string, role string"
REL_DDL = "nominal_a string, nominal_b string, relationship_type string"
RECORD_LINES_DDL = "source string, record_id string, line_id string"


def D(value: str) -> Decimal:  # noqa: N802 - reads like a literal
    return Decimal(value)


def run_with_lines(
    spark: SparkSession,
    matches: list[tuple],
    links: list[tuple],
    relationships: list[tuple],
    record_lines: list[tuple] | None,
    line_weight: float = 0.4,
    max_record_nominals: int = 25,
) -> dict[str, DataFrame]:
    network = assemble.build_network(
        spark.createDataFrame(links, LINK_DDL),
        spark.createDataFrame(matches, MATCH_DDL),
        spark.createDataFrame(relationships, REL_DDL),
        None if record_lines is None else spark.createDataFrame(record_lines, RECORD_LINES_DDL),
        linking_roles=LINKING,
        max_record_nominals=max_record_nominals,
        line_weight=line_weight,
        adversarial_types=("rival",),
        rounds=1,
        threshold=0.5,
    )
    return {
        "evidence": network.evidence,
        "provisional": network.provisional,
        "weighted": network.weighted,
        "propagated": network.propagated,
        "kept": network.kept,
        "kept_edges": network.kept_edges,
    }


def values(frame: DataFrame, key: str, value: str) -> dict:
    return {row[key]: row[value] for row in frame.select(key, value).collect()}


def edge_values(frame: DataFrame, value: str = c.EDGE_WEIGHT) -> dict:
    return {(r[c.SRC], r[c.DST]): r[value] for r in frame.collect()}


MATCHES = [
    ("crimes", "R1", D("1.0"), ["COUNTY_LINE"]),
    ("crimes", "R2", D("0.1"), ["COCAINE"]),
]
LINKS = [
    ("crimes", "R1", "A", "suspect"),
    ("crimes", "R1", "B", "suspect"),
    ("crimes", "R2", "C", "suspect"),
    ("crimes", "R3", "B", "associate"),
    ("crimes", "R3", "D", "associate"),
    ("ims", "R4", "E", "subject"),
    ("ims", "R4", "F", "subject"),
]
RELATIONSHIPS = [("C", "E", "associate")]
RECORD_LINES = [("crimes", "R2", "07123456789"), ("ims", "R4", "07123456789")]


def test_worked_example_with_a_deal_line(spark: SparkSession) -> None:
    out = run_with_lines(spark, MATCHES, LINKS, RELATIONSHIPS, RECORD_LINES)
    assert values(out["evidence"], c.ID, c.EVIDENCE) == {
        "A": D("1"),
        "B": D("1"),
        "C": D("0.5"),
        "E": D("0.4"),
        "F": D("0.4"),
    }
    assert edge_values(out["provisional"]) == {
        ("A", "B"): D("1"),
        ("C", "E"): D("0.4"),
        ("C", "F"): D("0.4"),
        ("E", "F"): D("0.4"),
    }
    assert edge_values(out["propagated"]) == {
        ("A", "B"): D("1"),
        ("B", "D"): D("0.5"),
        ("C", "E"): D("0.8"),
        ("C", "F"): D("0.8"),
        ("E", "F"): D("0.8"),
    }
    assert values(out["weighted"], c.ID, c.WEIGHT) == {
        "A": D("1"),
        "B": D("1"),
        "C": D("1"),
        "D": D("0.5"),
        "E": D("1"),
        "F": D("1"),
    }
    assert sorted(r[c.ID] for r in out["kept"].collect()) == ["A", "B", "C", "D", "E", "F"]
    lines = values(out["kept"], c.ID, c.EVIDENCE_LINES)
    line = ["07123456789"]
    assert lines == {"A": [], "B": [], "C": line, "D": [], "E": line, "F": line}
    assert edge_values(out["kept_edges"], c.EVIDENCE_LINES)[("E", "F")] == ["07123456789"]
    assert edge_values(out["kept_edges"], c.EVIDENCE_RECORDS)[("E", "F")] == []


def test_no_lines_and_an_empty_record_lines_table_give_the_worked_example(
    spark: SparkSession,
) -> None:
    expected = {"A": D("1"), "B": D("1"), "C": D("0.1"), "D": D("0.5"), "E": D("0.05")}
    for record_lines in (None, []):
        out = run_with_lines(spark, MATCHES, LINKS[:5], RELATIONSHIPS, record_lines)
        assert values(out["weighted"], c.ID, c.WEIGHT) == expected
        assert all(v == [] for v in values(out["weighted"], c.ID, c.EVIDENCE_LINES).values())


def test_a_line_only_on_unidentified_records_is_not_active(spark: SparkSession) -> None:
    record_lines = [("crimes", "R3", "L"), ("ims", "R4", "L")]
    out = run_with_lines(spark, MATCHES, LINKS, RELATIONSHIPS, record_lines)
    assert values(out["evidence"], c.ID, c.EVIDENCE) == {"A": D("1"), "B": D("1"), "C": D("0.1")}
    assert edge_values(out["provisional"]) == {("A", "B"): D("1")}


def test_line_weight_counts_once_per_line_and_adds_before_the_cap(spark: SparkSession) -> None:
    matches = [("ims", "I1", D("0.1"), ["COCAINE"]), ("ims", "I2", D("0.1"), ["CRACK"])]
    links = [
        ("ims", "I1", "U", "suspect"),
        ("ims", "I1", "V", "suspect"),
        ("ims", "I2", "U", "suspect"),
        ("ims", "I3", "U", "suspect"),
        ("ims", "I3", "W", "suspect"),
    ]
    # L1 on I1, I2 and I3 (U is on all three: L1 counts once for U); L2 on I1 (U and V).
    record_lines = [
        ("ims", "I1", "L1"),
        ("ims", "I2", "L1"),
        ("ims", "I3", "L1"),
        ("ims", "I1", "L2"),
    ]
    out = run_with_lines(spark, matches, links, [], record_lines)
    # U: 0.1 + 0.1 (records) + 0.4 (L1) + 0.4 (L2) = 1.0; V: 0.1 + 0.4 + 0.4 = 0.9;
    # W: 0.4 (L1 only; I3 is not identified)
    assert values(out["evidence"], c.ID, c.EVIDENCE) == {"U": D("1"), "V": D("0.9"), "W": D("0.4")}
    # U-V: 0.1 (I1) + 0.4 (L1) + 0.4 (L2) = 0.9; U-W and V-W: 0.4 (L1)
    assert edge_values(out["provisional"]) == {
        ("U", "V"): D("0.9"),
        ("U", "W"): D("0.4"),
        ("V", "W"): D("0.4"),
    }
    # a second line on U-V: 0.9 + 0.4 is capped at 1
    out = run_with_lines(spark, matches, links, [], [*record_lines, ("ims", "I1", "L3")])
    assert edge_values(out["provisional"])[("U", "V")] == D("1")
    assert values(out["evidence"], c.ID, c.EVIDENCE)["V"] == D("1")


def test_records_over_max_record_nominals_give_no_line_weight(spark: SparkSession) -> None:
    matches = [("ims", "BIG", D("0.1"), ["COCAINE"])]
    links = [("ims", "BIG", f"N{i}", "suspect") for i in range(4)]
    links += [("ims", "SMALL", "P", "suspect"), ("ims", "SMALL", "Q", "suspect")]
    record_lines = [("ims", "BIG", "L"), ("ims", "SMALL", "L")]
    out = run_with_lines(spark, matches, links, [], record_lines, max_record_nominals=3)
    # BIG (4 nominals > 3) makes L active but gives its nominals neither line evidence nor
    # pairs; SMALL's nominals gain L's weight.
    assert values(out["evidence"], c.ID, c.EVIDENCE) == {
        "N0": D("0.1"),
        "N1": D("0.1"),
        "N2": D("0.1"),
        "N3": D("0.1"),
        "P": D("0.4"),
        "Q": D("0.4"),
    }
    assert edge_values(out["provisional"]) == {("P", "Q"): D("0.4")}


def test_line_weight_zero_adds_nothing(spark: SparkSession) -> None:
    out = run_with_lines(spark, MATCHES, LINKS, RELATIONSHIPS, RECORD_LINES, line_weight=0.0)
    assert values(out["evidence"], c.ID, c.EVIDENCE) == {"A": D("1"), "B": D("1"), "C": D("0.1")}
