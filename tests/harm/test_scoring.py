"""Harm of crimes, nominals and groups: a hand-computed example of METHOD section 6.

The example (reference date 2024-06-30, recent = the 3 years before it):

======  ===================  ==========  =============================  ======  ========
crime   recorded_at          code        nominals (role)                CCHI    ONS
======  ===================  ==========  =============================  ======  ========
C1      2024-06-30 23:59     008N        A suspect+charged, B offender,  10      189.15
                                         X suspect (not kept)
C2      2021-06-30 12:00     092/30      A offender, B suspect           547.5   512.96
C3      2021-07-01 00:00     4.1         A suspect                       730     unmapped
C4      2024-07-01 00:00     8N          A suspect (after the reference date: not counted)
C5      2020-01-01           999/99      B charged                       unmapped in both
C6      2023-01-01           (none)      B suspect                       unmapped in both
C7      2023-03-01           8N          A witness, D victim (no harm role: not counted)
I1      2023-01-01 (icis)    8N          A suspect (custody record: no harm)
======  ===================  ==========  =============================  ======  ========

C2 is exactly 3 years before the reference date: in "all", not in "recent". C3 is the first
recent day; C1 the last.

- A: C1, C2, C3. CCHI all 10 + 547.5 + 730 = 1287.5, recent 10 + 730 = 740; ONS all
  189.15 + 512.96 = 702.11, recent 189.15; 3 crimes, 2 recent, 1 unmapped (C3, ONS).
- B: C1, C2, C5, C6. CCHI all 557.5, recent 10; ONS all 702.11, recent 189.15; 4 crimes,
  2 recent (C1, C6), 2 unmapped (C5, C6) in both indices.
- D: kept, no crime with a harm role: zeros.
- Group G1 = {A, B}: the distinct crimes C1, C2, C3, C5, C6 (C1 and C2, shared by A and B,
  count once): CCHI all 1287.5 (not 1287.5 + 557.5), recent 740; ONS all 702.11, recent
  189.15; 5 crimes, 3 recent (C1, C3, C6), 3 unmapped (C3, C5, C6), 2 for CCHI, 3 for ONS.
- Group G2 = {D}: zeros.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.config import ClnetConfig
from clnet_spark.harm import scoring
from clnet_spark.harm.stage import GROUP_HARM, HARM_CRIMES, NOMINAL_HARM, run_harm
from clnet_spark.harm.tables import HarmConfig
from clnet_spark.run import RunContext

REFERENCE = dt.date(2024, 6, 30)
ROLES = ("suspect", "offender", "charged")

RECORDS_DDL = "source string, record_id string, recorded_at timestamp, offence_code string"
LINKS_DDL = "source string, record_id string, nominal_id string, role string"
CRIME_DDL = (
    "source string, record_id string, offence_code string, code_normalised string, "
    "cchi decimal(18,9), ons decimal(18,9), recorded_at timestamp"
)
TOTALS_DDL = (
    "cchi_all decimal(28,9), cchi_recent decimal(28,9), ons_all decimal(28,9), "
    "ons_recent decimal(28,9), crimes_all long, crimes_recent long, unmapped_crimes long, "
    "cchi_unmapped_crimes long, ons_unmapped_crimes long"
)


def D(value: str) -> Decimal:  # noqa: N802 - reads like a literal
    return Decimal(value)


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


RECORDS = [
    ("crimes", "C1", ts("2024-06-30 23:59:00"), "008N"),
    ("crimes", "C2", ts("2021-06-30 12:00:00"), "092/30"),
    ("crimes", "C3", ts("2021-07-01 00:00:00"), "4.1"),
    ("crimes", "C4", ts("2024-07-01 00:00:00"), "8N"),
    ("crimes", "C5", ts("2020-01-01 09:00:00"), "999/99"),
    ("crimes", "C6", ts("2023-01-01 09:00:00"), None),
    ("crimes", "C7", ts("2023-03-01 09:00:00"), "8N"),
    ("icis", "I1", ts("2023-01-01 09:00:00"), "8N"),
]
LINKS = [
    ("crimes", "C1", "A", "suspect"),
    ("crimes", "C1", "A", "charged"),
    ("crimes", "C1", "B", "offender"),
    ("crimes", "C1", "X", "suspect"),
    ("crimes", "C2", "A", "offender"),
    ("crimes", "C2", "B", "suspect"),
    ("crimes", "C3", "A", "suspect"),
    ("crimes", "C4", "A", "suspect"),
    ("crimes", "C5", "B", "charged"),
    ("crimes", "C6", "B", "suspect"),
    ("crimes", "C7", "A", "witness"),
    ("crimes", "C7", "D", "victim"),
    ("icis", "I1", "A", "suspect"),
]
CCHI_ROWS = [("8N", D("10")), ("92/30", D("547.5")), ("4/01", D("730"))]
ONS_ROWS = [("8N", D("189.15")), ("92/30", D("512.96"))]


@pytest.fixture(scope="module")
def frames(spark: SparkSession) -> dict[str, DataFrame]:
    return {
        "records": spark.createDataFrame(RECORDS, RECORDS_DDL),
        "links": spark.createDataFrame(LINKS, LINKS_DDL),
        "cchi": spark.createDataFrame(CCHI_ROWS, "code_normalised string, cchi decimal(18,9)"),
        "ons": spark.createDataFrame(ONS_ROWS, "code_normalised string, ons decimal(18,9)"),
        "kept": spark.createDataFrame([("A",), ("B",), ("D",)], "nominal_id string"),
        "groups": spark.createDataFrame(
            [("G1", ["A", "B"]), ("G2", ["D"])], "group_id string, members array<string>"
        ),
    }


def crimes_of(frames: dict[str, DataFrame]) -> DataFrame:
    return scoring.crime_harm(frames["records"], frames["cchi"], frames["ons"])


def test_crime_harm_scores_crimes_records_only(spark: SparkSession, frames) -> None:
    actual_df = crimes_of(frames)
    expected_df = spark.createDataFrame(
        [
            ("crimes", "C1", "008N", "8N", D("10"), D("189.15"), ts("2024-06-30 23:59:00")),
            ("crimes", "C2", "092/30", "92/30", D("547.5"), D("512.96"), ts("2021-06-30 12:00:00")),
            ("crimes", "C3", "4.1", "4/01", D("730"), None, ts("2021-07-01 00:00:00")),
            ("crimes", "C4", "8N", "8N", D("10"), D("189.15"), ts("2024-07-01 00:00:00")),
            ("crimes", "C5", "999/99", "999/99", None, None, ts("2020-01-01 09:00:00")),
            ("crimes", "C6", None, None, None, None, ts("2023-01-01 09:00:00")),
            ("crimes", "C7", "8N", "8N", D("10"), D("189.15"), ts("2023-03-01 09:00:00")),
        ],
        CRIME_DDL,
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_harm_links_keep_each_nominal_crime_pair_once(spark: SparkSession, frames) -> None:
    actual_df = scoring.harm_links(frames["links"], ROLES)
    expected_df = spark.createDataFrame(
        [
            ("A", "crimes", "C1"),
            ("B", "crimes", "C1"),
            ("X", "crimes", "C1"),
            ("A", "crimes", "C2"),
            ("B", "crimes", "C2"),
            ("A", "crimes", "C3"),
            ("A", "crimes", "C4"),
            ("B", "crimes", "C5"),
            ("B", "crimes", "C6"),
        ],
        "nominal_id string, source string, record_id string",
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_harm_crimes_are_the_crimes_behind_kept_nominals_up_to_the_reference_date(
    frames,
) -> None:
    links = scoring.harm_links(frames["links"], ROLES)
    actual = scoring.harm_crimes(crimes_of(frames), links, frames["kept"], REFERENCE)
    assert actual.columns == list(scoring.HARM_CRIME_COLUMNS)
    assert sorted(r["record_id"] for r in actual.collect()) == ["C1", "C2", "C3", "C5", "C6"]


def test_nominal_harm_hand_computed(spark: SparkSession, frames) -> None:
    links = scoring.harm_links(frames["links"], ROLES)
    actual_df = scoring.nominal_harm(frames["kept"], links, crimes_of(frames), REFERENCE, 3)
    expected_df = spark.createDataFrame(
        [
            ("A", D("1287.5"), D("740"), D("702.11"), D("189.15"), 3, 2, 1, 0, 1),
            ("B", D("557.5"), D("10"), D("702.11"), D("189.15"), 4, 2, 2, 2, 2),
            ("D", D("0"), D("0"), D("0"), D("0"), 0, 0, 0, 0, 0),
        ],
        f"nominal_id string, {TOTALS_DDL}",
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_group_harm_counts_a_shared_crime_once(spark: SparkSession, frames) -> None:
    links = scoring.harm_links(frames["links"], ROLES)
    actual_df = scoring.group_harm(frames["groups"], links, crimes_of(frames), REFERENCE, 3)
    expected_df = spark.createDataFrame(
        [
            ("G1", D("1287.5"), D("740"), D("702.11"), D("189.15"), 5, 3, 3, 2, 3),
            ("G2", D("0"), D("0"), D("0"), D("0"), 0, 0, 0, 0, 0),
        ],
        f"group_id string, {TOTALS_DDL}",
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_a_wider_window_makes_every_counted_crime_recent(frames) -> None:
    links = scoring.harm_links(frames["links"], ROLES)
    actual = scoring.nominal_harm(frames["kept"], links, crimes_of(frames), REFERENCE, 5)
    a = actual.where(F.col("nominal_id") == "A").first()
    assert (a["cchi_recent"], a["crimes_recent"]) == (D("1287.5"), 3)


@pytest.mark.parametrize(
    ("reference", "recorded", "is_recent"),
    [
        (dt.date(2024, 6, 30), "2021-06-30 23:59:59", False),
        (dt.date(2024, 6, 30), "2021-07-01 00:00:00", True),
        (dt.date(2024, 6, 30), "2024-06-30 23:59:59", True),
        (dt.date(2024, 6, 30), "2024-07-01 00:00:00", False),
        # 29 February minus 3 years is 28 February (Spark's add_months)
        (dt.date(2024, 2, 29), "2021-02-28 12:00:00", False),
        (dt.date(2024, 2, 29), "2021-03-01 00:00:00", True),
    ],
)
def test_recent_window_boundaries(
    spark: SparkSession, reference: dt.date, recorded: str, is_recent: bool
) -> None:
    frame = spark.createDataFrame([(ts(recorded),)], "recorded_at timestamp")
    assert frame.select(scoring.recent(reference, 3)).first()[0] is is_recent


def test_unmapped_codes_list_every_code_an_index_does_not_map(spark: SparkSession) -> None:
    crimes = spark.createDataFrame(
        [
            ("crimes", "C1", "8N", "8N", D("10"), D("1"), ts("2023-01-01 00:00:00")),
            ("crimes", "C2", "4.1", "4/01", D("730"), None, ts("2023-01-01 00:00:00")),
            ("crimes", "C3", "004/01", "4/01", D("730"), None, ts("2023-01-01 00:00:00")),
            ("crimes", "C4", "999/99", "999/99", None, None, ts("2023-01-01 00:00:00")),
            ("crimes", "C5", " NN ", None, None, None, ts("2023-01-01 00:00:00")),
            ("crimes", "C6", None, None, None, None, ts("2023-01-01 00:00:00")),
        ],
        CRIME_DDL,
    )
    actual = [tuple(r) for r in scoring.unmapped_codes(crimes).collect()]
    assert actual == [
        ("4/01", True, True, False, 2),
        ("", False, False, False, 1),
        ("999/99", True, False, False, 1),
        ("NN", False, False, False, 1),
    ]


def test_missing_columns_are_named(frames) -> None:
    with pytest.raises(
        scoring.HarmInputError, match=r"records: missing columns \['offence_code'\]"
    ):
        scoring.crime_harm(frames["records"].drop("offence_code"), frames["cchi"], frames["ons"])


def test_run_harm_writes_the_three_tables_and_counts_unmapped_codes(
    spark: SparkSession, frames, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse"
    io.write_table(frames["records"], warehouse, Tables.RECORDS)
    io.write_table(frames["links"], warehouse, Tables.RECORD_NOMINALS)
    io.write_table(frames["kept"], warehouse, Tables.CL_NOMINALS)
    io.write_table(frames["groups"], warehouse, Tables.CL_GROUPS)
    (tmp_path / "cchi.csv").write_text("offence_code,harm\n8N,10\n092/30,547.5\n4/1,730\n")
    (tmp_path / "ons.csv").write_text("offence_code,harm\n8N,189.15\n92/30,512.96\n")
    config = HarmConfig(cchi_table=tmp_path / "cchi.csv", ons_table=tmp_path / "ons.csv")
    ctx = RunContext(warehouse, ClnetConfig())

    run_harm(spark, ctx, REFERENCE, config)

    report = ctx.reports[-1]
    assert set(report.tables) == {HARM_CRIMES, NOMINAL_HARM, GROUP_HARM}
    nominals = io.read_table(spark, warehouse, NOMINAL_HARM)
    a = nominals.where(F.col("nominal_id") == "A").first()
    assert (a["cchi_all"], a["ons_all"], a["unmapped_crimes"]) == (D("1287.5"), D("702.11"), 1)
    groups = io.read_table(spark, warehouse, GROUP_HARM)
    assert groups.where(F.col("group_id") == "G1").first()["cchi_all"] == D("1287.5")
    assert io.read_table(spark, warehouse, HARM_CRIMES).count() == 5
    counts = report.counts
    assert counts["crimes"] == 6  # C4 is after the reference date
    assert counts["crimes without an offence code"] == 1
    assert counts["crimes unmapped for CCHI"] == 2  # C5, C6
    assert counts["crimes unmapped for ONS"] == 3  # C3, C5, C6
    assert counts["harm crimes (behind kept nominals)"] == 5
    assert counts["unmapped offence codes (code, crimes, CCHI mapped, ONS mapped)"] == [
        ("", 1, False, False),
        ("4/01", 1, True, False),
        ("999/99", 1, False, False),
    ]
    assert counts["nominals scored"] == 3
    assert counts["groups scored"] == 2
