"""Review samples: seeded, exact size, partition-independent; populations; the CSV round trip."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.config import NetworkConfig
from clnet_spark.network import build
from clnet_spark.review.sampling import (
    REVIEW_COLUMNS,
    ReviewError,
    bounds_report,
    network_membership,
    population_records,
    read_reviewed,
    sample_records,
    write_review_sample,
)

MATCH_DDL = (
    "source string, record_id string, record_weight decimal(12,9), matched_groups array<string>"
)
LINK_DDL = "source string, record_id string, nominal_id string, role string"
NETWORK = NetworkConfig()


def D(value: str) -> Decimal:  # noqa: N802 - reads like a literal
    return Decimal(value)


def population(spark: SparkSession, size: int) -> DataFrame:
    rows = [("crimes" if i % 2 else "ims", f"R{i:05d}", i) for i in range(size)]
    return spark.createDataFrame(rows, "source string, record_id string, payload int")


def keys(frame: DataFrame) -> list[tuple[str, str, int]]:
    return [(r[c.SOURCE], r[c.RECORD_ID], r["sample_rank"]) for r in frame.collect()]


# --- sample_records ---------------------------------------------------------------------------


def test_a_sample_has_exactly_n_ranked_records_of_the_population(spark: SparkSession) -> None:
    sample = sample_records(population(spark, 200), 30, seed=7)
    rows = sample.collect()
    assert sample.columns == ["source", "record_id", "payload", "sample_rank"]
    assert [r["sample_rank"] for r in rows] == list(range(1, 31))
    assert len({(r["source"], r["record_id"]) for r in rows}) == 30  # without replacement


def test_the_same_seed_gives_the_same_sample_however_the_rows_are_partitioned(
    spark: SparkSession,
) -> None:
    frame = population(spark, 500)
    one = keys(sample_records(frame.coalesce(1), 25, seed=2024))
    many = keys(sample_records(frame.repartition(7, "payload"), 25, seed=2024))
    shuffled = keys(sample_records(frame.orderBy(F.rand(1)), 25, seed=2024))
    assert one == many == shuffled


def test_another_seed_gives_another_sample(spark: SparkSession) -> None:
    frame = population(spark, 500)
    first = {k[:2] for k in keys(sample_records(frame, 25, seed=1))}
    second = {k[:2] for k in keys(sample_records(frame, 25, seed=2))}
    assert first != second


def test_a_small_population_is_returned_whole(spark: SparkSession) -> None:
    sample = sample_records(population(spark, 12), 100, seed=3)
    assert sorted(r["record_id"] for r in sample.collect()) == [f"R{i:05d}" for i in range(12)]
    assert sample_records(population(spark, 12), 0, seed=3).count() == 0


def test_the_sample_is_spread_over_the_population(spark: SparkSession) -> None:
    # half the population is crimes: a 1,000 sample of 10,000 holds 500 +- 15 (sd) of them;
    # 420..580 fails one seed in a hundred thousand
    sample = sample_records(population(spark, 10_000), 1_000, seed=11).collect()
    crimes = sum(1 for r in sample if r["source"] == "crimes")
    assert 420 <= crimes <= 580
    assert sorted(r["payload"] for r in sample) != list(range(1_000))  # not the first n


@pytest.mark.parametrize(
    ("n", "seed", "message"),
    [
        (-1, 1, "n: expected at least 0, found -1"),
        (2.5, 1, "n: expected a whole number, found float"),
        (True, 1, "n: expected a whole number, found bool"),
        (5, "1", "seed: expected a whole number, found str"),
    ],
)
def test_invalid_sample_requests_are_named(
    spark: SparkSession, n: object, seed: object, message: str
) -> None:
    with pytest.raises(ReviewError, match=message):
        sample_records(population(spark, 3), n, seed)  # type: ignore[arg-type]


def test_a_population_without_record_keys_is_rejected(spark: SparkSession) -> None:
    frame = spark.createDataFrame([("a",)], "id string")
    with pytest.raises(ReviewError, match=r"missing columns \['source', 'record_id'\]"):
        sample_records(frame, 1, seed=1)


# --- the populations --------------------------------------------------------------------------

# R1 links kept A and B; R2 links C, not kept; R4's only nominal is a witness (not a linking
# role) though kept; R5 has no nominal; R3 links kept D but did not match the search.
MATCHES = [
    ("crimes", "R1", D("1.0"), ["COUNTY_LINE"]),
    ("crimes", "R2", D("0.1"), ["COCAINE"]),
    ("ims", "R4", D("0.5"), ["CUCKOO"]),
    ("ims", "R5", D("0.1"), ["COCAINE"]),
]
LINKS = [
    ("crimes", "R1", "A", "suspect"),
    ("crimes", "R1", "B", "suspect"),
    ("crimes", "R2", "C", "suspect"),
    ("crimes", "R3", "D", "associate"),
    ("ims", "R4", "A", "witness"),
]
KEPT = [("A",), ("B",), ("D",)]


@pytest.fixture(scope="module")
def network_frames(spark: SparkSession) -> dict[str, DataFrame]:
    return {
        "matches": spark.createDataFrame(MATCHES, MATCH_DDL),
        "record_nominals": spark.createDataFrame(LINKS, LINK_DDL),
        "kept": spark.createDataFrame(KEPT, "nominal_id string"),
    }


def membership_of(frames: dict[str, DataFrame]) -> DataFrame:
    links = build.linking_links(
        frames["record_nominals"], NETWORK.linking_roles, NETWORK.max_record_nominals
    )
    kept = frames["kept"].select(F.col(c.NOMINAL_ID).alias(c.ID))
    return network_membership(frames["matches"], links, kept)


def test_a_matching_record_is_in_the_network_when_a_linked_nominal_is_kept(
    spark: SparkSession, network_frames
) -> None:
    actual_df = membership_of(network_frames)
    expected_df = spark.createDataFrame(
        [
            ("crimes", "R1", D("1.0"), ["COUNTY_LINE"], True),
            ("crimes", "R2", D("0.1"), ["COCAINE"], False),
            ("ims", "R4", D("0.5"), ["CUCKOO"], False),
            ("ims", "R5", D("0.1"), ["COCAINE"], False),
        ],
        f"{MATCH_DDL}, in_network boolean",
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_the_two_populations_split_the_matching_records(network_frames) -> None:
    membership = membership_of(network_frames)
    inside = population_records(membership, "in_network")
    outside = population_records(membership, "not_in_network")
    assert inside.columns == ["source", "record_id", "record_weight", "matched_groups"]
    assert sorted(r["record_id"] for r in inside.collect()) == ["R1"]
    assert sorted(r["record_id"] for r in outside.collect()) == ["R2", "R4", "R5"]
    with pytest.raises(ReviewError, match="population: expected one of"):
        population_records(membership, "everyone")  # type: ignore[arg-type]


# --- the reviewer CSV and reading it back -----------------------------------------------------


def test_write_review_sample_writes_the_reviewer_csv(
    spark: SparkSession, network_frames, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse"
    texts = [
        ("crimes", "R1", 'Said "county line", then left,\nwith B.'),
        ("crimes", "R2", "cocaine found"),
        ("crimes", "R3", "no match here"),
        ("ims", "R4", "cuckoo flat"),
        ("ims", "R5", None),
    ]
    io.write_table(
        spark.createDataFrame(texts, "source string, record_id string, text string"),
        warehouse,
        Tables.RECORDS,
    )
    io.write_table(network_frames["matches"], warehouse, Tables.RECORD_MATCHES)
    io.write_table(network_frames["record_nominals"], warehouse, Tables.RECORD_NOMINALS)
    io.write_table(network_frames["kept"], warehouse, Tables.CL_NOMINALS)
    out = tmp_path / "review" / "not_in_network.csv"

    summary = write_review_sample(spark, warehouse, "not_in_network", 2, 5, out, network=NETWORK)
    inside = write_review_sample(
        spark, warehouse, "in_network", 10, 5, tmp_path / "in.csv", network=NETWORK
    )

    assert summary["population_size"] == 3
    assert summary["n"] == 2
    assert summary["search_groups"] == [
        ("COCAINE", 2, 0, 2),
        ("COUNTY_LINE", 1, 1, 0),
        ("CUCKOO", 1, 0, 1),
    ]
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(REVIEW_COLUMNS)
    assert len(rows) == 2
    assert {r["record_id"] for r in rows} <= {"R2", "R4", "R5"}
    assert all(r["label"] == "" for r in rows)

    assert inside["population_size"] == 1
    with (tmp_path / "in.csv").open(encoding="utf-8", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row == {
        "source": "crimes",
        "record_id": "R1",
        "record_weight": "1.000000000",
        "matched_groups": "COUNTY_LINE",
        "text": 'Said "county line", then left,\nwith B.',
        "label": "",
    }


def reviewed_csv(tmp_path: Path, labels: list[str]) -> Path:
    path = tmp_path / "reviewed.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REVIEW_COLUMNS)
        for i, label in enumerate(labels):
            writer.writerow(["crimes", f"R{i}", "0.7", "CL_WORDS", f"text\nof record {i}", label])
    return path


def test_read_reviewed_counts_reviewed_and_misclassified(tmp_path: Path) -> None:
    path = reviewed_csv(tmp_path, ["correct", " Incorrect ", "1", "0", "CORRECT", "0"])
    assert read_reviewed(path) == (6, 3)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["correct", ""], r"row 2 \(line 5\), column 'label': .* found an empty label"),
        (["correct", "1", "maybe"], r"row 3 \(line 7\), column 'label': .* found 'maybe'"),
        (["x" * 40], r"row 1 \(line 3\).* found a label of 40 characters"),
    ],
)
def test_an_empty_or_unknown_label_names_the_row(
    tmp_path: Path, labels: list[str], message: str
) -> None:
    with pytest.raises(ReviewError, match=message):
        read_reviewed(reviewed_csv(tmp_path, labels))


def test_a_reviewed_file_without_labels_or_with_repeats_is_rejected(tmp_path: Path) -> None:
    bare = tmp_path / "bare.csv"
    bare.write_text("source,record_id,text\ncrimes,R1,x\n", encoding="utf-8")
    with pytest.raises(
        ReviewError,
        match=r"missing columns \['label'\]; columns present: \['record_id', 'source', 'text'\]",
    ):
        read_reviewed(bare)
    repeated = tmp_path / "repeated.csv"
    repeated.write_text("source,record_id,label\ncrimes,R1,1\ncrimes,R1,0\n", encoding="utf-8")
    with pytest.raises(ReviewError, match=r"row 2 .* crimes:R1 already appears on row 1"):
        read_reviewed(repeated)
    with pytest.raises(ReviewError, match="does not exist"):
        read_reviewed(tmp_path / "missing.csv")


def test_bounds_report_from_a_reviewed_sample(tmp_path: Path) -> None:
    path = reviewed_csv(tmp_path, ["incorrect"] * 2 + ["correct"] * 98)
    assert bounds_report(path, 1_000_000) == {
        "reviewed": 100,
        "misclassified": 2,
        "correct": 98,
        "population_size": 1_000_000,
        "level": 0.95,
        "k95": 61020,
        "lower_bound": 0.939,
    }
