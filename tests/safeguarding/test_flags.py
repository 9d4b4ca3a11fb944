"""Safeguarding flags: a hand-computed example of METHOD section 7 (safeguarding).

Reference date 2026-11-30. Nominals (X is not kept; everyone else is):

====  ==========================  =====================================================
who   birth date                  what raises a flag
====  ==========================  =====================================================
A     "2008" (-> 2008-12-31)      age 17 today: a child (year-only birth date edge);
                                  victim on CR5 (2023-01-01) at 14: was a child then
B     2008-11-30                  exactly 18 today: not a child; suspect on CR6
                                  (2026-11-29), the day before turning 18: was a child
C     2000-03-01                  age 26; suspect on CR1 (2015-06-01, age 15), associate on
                                  IM6 (2017-08-08, 17): was a child when linked (2 records;
                                  earliest CR1); witness on IM1 at 13 (witness does not
                                  link); suspect on CR2 at 19
D     (none)                      age unknown
E     1980-05-05, vulnerable      vulnerable adult; subject on IM5, which matches CUCKOO
F     2012-02-29, looked after    a child (14) and looked after
G     1990-01-01                  victim on IM2 (CUCKOO): cuckooed; suspect on CR3: a
                                  victim-offender overlap; subject on IM3 (COCAINE only)
H     1995-06-15                  victim and suspect on CR4 only (the same record): no
                                  overlap; suspect on IM4, dated after the reference date
                                  (not read)
I     2001-07-01                  missing 3 times up to the reference date (CP1 found in
                                  Telford: outside; CP2 " birmingham ": inside; CP3 not
                                  found); CP4 started after the reference date
X     2010-01-01 (not kept)       victim on IM5: never in the output
====  ==========================  =====================================================

Listed: A, B, C (child when linked), D (age unknown), E (vulnerable), F (child). Infinite
removal cost: A, F (children), E (vulnerable adult).
"""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark.config import NetworkConfig
from clnet_spark.safeguarding import flags as sg
from clnet_spark.safeguarding.flags import SafeguardingConfig, SafeguardingOverride

REFERENCE = dt.date(2026, 11, 30)
FORCE = ("Birmingham", "Coventry", "Dudley", "Sandwell", "Solihull", "Walsall", "Wolverhampton")
LINKING = NetworkConfig().linking_roles
INF = float("inf")

NOMINALS_DDL = (
    "nominal_id string, birth_date date, birth_date_precision string, sex string, "
    "home_area string, looked_after_child boolean, vulnerable_adult boolean"
)
KEPT_DDL = "nominal_id string, group_id string, group_kind string"
RECORDS_DDL = "source string, record_id string, recorded_at timestamp"
LINKS_DDL = "source string, record_id string, nominal_id string, role string"
MATCHES_DDL = "source string, record_id string, matched_groups array<string>"
EPISODES_DDL = (
    "nominal_id string, source string, record_id string, started_at timestamp, "
    "ended_at timestamp, found_area string, area string"
)
FLAGS_DDL = (
    "nominal_id string, group_id string, group_kind string, home_area string, "
    "age_on_reference int, child boolean, was_child_when_linked boolean, age_unknown boolean, "
    "looked_after_child boolean, vulnerable_adult boolean, cuckooed_victim boolean, "
    "missing_episodes int, last_missing_at timestamp, found_outside_force boolean, "
    "victim_offender_overlap boolean, removal_cost double, safeguarding_listed boolean, "
    "reasons array<string>, evidence array<struct<flag string, source string, record_id string>>"
)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


NOMINALS = [
    ("A", d("2008-12-31"), "year", "M", "Walsall", False, False),
    ("B", d("2008-11-30"), "day", "F", "Dudley", False, None),
    ("C", d("2000-03-01"), "day", "M", "Birmingham", False, False),
    ("D", None, None, "U", None, False, False),
    ("E", d("1980-05-05"), "day", "F", "Telford", False, True),
    ("F", d("2012-02-29"), "day", "F", "Sandwell", True, False),
    ("G", d("1990-01-01"), "day", "M", "Coventry", False, False),
    ("H", d("1995-06-15"), "day", "M", "Coventry", False, False),
    ("I", d("2001-07-01"), "day", "F", "Solihull", False, False),
    ("X", d("2010-01-01"), "day", "M", "Walsall", False, False),
]
KEPT = [
    ("A", "G1", "main"),
    ("B", "G1", "main"),
    ("C", "G1", "main"),
    ("D", "G2", "peripheral"),
    ("E", "G1", "main"),
    ("F", "G1", "main"),
    ("G", "G1", "main"),
    ("H", "G2", "peripheral"),
    ("I", None, "unlinked"),
]
RECORDS = [
    ("crimes", "CR1", ts("2015-06-01 10:00:00")),
    ("crimes", "CR2", ts("2020-01-01 10:00:00")),
    ("crimes", "CR3", ts("2024-03-03 10:00:00")),
    ("crimes", "CR4", ts("2024-04-04 10:00:00")),
    ("crimes", "CR5", ts("2023-01-01 10:00:00")),
    ("crimes", "CR6", ts("2026-11-29 23:59:00")),
    ("ims", "IM1", ts("2014-01-01 10:00:00")),
    ("ims", "IM2", ts("2026-01-10 10:00:00")),
    ("ims", "IM3", ts("2025-05-05 10:00:00")),
    ("ims", "IM4", ts("2026-12-15 10:00:00")),
    ("ims", "IM5", ts("2026-02-02 10:00:00")),
    ("ims", "IM6", ts("2017-08-08 10:00:00")),
    ("compact", "CP1", ts("2024-01-01 00:00:00")),
    ("compact", "CP2", ts("2025-06-01 00:00:00")),
    ("compact", "CP3", ts("2026-03-03 00:00:00")),
    ("compact", "CP4", ts("2026-12-20 00:00:00")),
]
LINKS = [
    ("crimes", "CR5", "A", "victim"),
    ("crimes", "CR6", "B", "suspect"),
    ("crimes", "CR1", "C", "suspect"),
    ("ims", "IM6", "C", "associate"),
    ("ims", "IM1", "C", "witness"),
    ("crimes", "CR2", "C", "suspect"),
    ("ims", "IM5", "E", "subject"),
    ("ims", "IM5", "X", "victim"),
    ("ims", "IM2", "G", "victim"),
    ("ims", "IM3", "G", "subject"),
    ("crimes", "CR3", "G", "suspect"),
    ("crimes", "CR4", "H", "victim"),
    ("crimes", "CR4", "H", "suspect"),
    ("ims", "IM4", "H", "suspect"),
    ("compact", "CP1", "I", "missing person"),
    ("compact", "CP2", "I", "missing person"),
    ("compact", "CP3", "I", "missing person"),
    ("compact", "CP4", "I", "missing person"),
]
MATCHES = [
    ("ims", "IM2", ["CRACK", "CUCKOO"]),
    ("ims", "IM3", ["COCAINE"]),
    ("ims", "IM5", ["CUCKOO"]),
    ("crimes", "CR3", ["COUNTY_LINE"]),
]
EPISODES = [
    ("I", "compact", "CP1", ts("2024-01-01 00:00:00"), ts("2024-01-05 00:00:00"), "Telford", "x"),
    (
        "I",
        "compact",
        "CP2",
        ts("2025-06-01 00:00:00"),
        ts("2025-06-02 00:00:00"),
        " birmingham ",
        "x",
    ),
    ("I", "compact", "CP3", ts("2026-03-03 00:00:00"), None, None, "x"),
    ("I", "compact", "CP4", ts("2026-12-20 00:00:00"), None, "Shrewsbury", "x"),
]

YEAR_NOTE = "; birth year only, counted as 31 December"
CUCKOO_1 = "cuckooed-address victim (victim or subject on 1 record matching CUCKOO)"


def ev(flag: str, source: str, record_id: str) -> tuple[str, str, str]:
    return (flag, source, record_id)


def expected_rows(removal_e: float = INF, extra_e: tuple[str, ...] = ()) -> list[tuple]:
    """The hand-computed ``safeguarding_flags`` rows (E's cost and reasons may be overridden)."""
    return [
        ("A", "G1", "main", "Walsall", 17, True, True, False, False, False, False, 0, None,
         False, False, INF, True,
         [f"child (age 17 on 2026-11-30{YEAR_NOTE})",
          "was a child when linked (age 14 on 2023-01-01, crimes:CR5; 1 linked record as a "
          "child)"],
         [ev("child", "nominals", "A"), ev("was_child_when_linked", "crimes", "CR5")]),
        ("B", "G1", "main", "Dudley", 18, False, True, False, False, False, False, 0, None,
         False, False, 1.0, True,
         ["was a child when linked (age 17 on 2026-11-29, crimes:CR6; 1 linked record as a "
          "child)"],
         [ev("was_child_when_linked", "crimes", "CR6")]),
        ("C", "G1", "main", "Birmingham", 26, False, True, False, False, False, False, 0, None,
         False, False, 1.0, True,
         ["was a child when linked (age 15 on 2015-06-01, crimes:CR1; 2 linked records as a "
          "child)"],
         [ev("was_child_when_linked", "crimes", "CR1"),
          ev("was_child_when_linked", "ims", "IM6")]),
        ("D", "G2", "peripheral", None, None, False, False, True, False, False, False, 0, None,
         False, False, 1.0, True,
         ["age unknown (no birth date)"],
         [ev("age_unknown", "nominals", "D")]),
        ("E", "G1", "main", "Telford", 46, False, False, False, False, True, True, 0, None,
         False, False, removal_e, True,
         ["vulnerable adult", CUCKOO_1, *extra_e],
         [ev("vulnerable_adult", "nominals", "E"), ev("cuckooed_victim", "ims", "IM5")]),
        ("F", "G1", "main", "Sandwell", 14, True, False, False, True, False, False, 0, None,
         False, False, INF, True,
         ["child (age 14 on 2026-11-30)", "looked-after child"],
         [ev("child", "nominals", "F"), ev("looked_after_child", "nominals", "F")]),
        ("G", "G1", "main", "Coventry", 36, False, False, False, False, False, True, 0, None,
         False, True, 1.0, False,
         [CUCKOO_1,
          "victim-offender overlap (victim on 1 record, suspect or offender on 1 record)"],
         [ev("cuckooed_victim", "ims", "IM2"),
          ev("victim_offender_overlap", "crimes", "CR3"),
          ev("victim_offender_overlap", "ims", "IM2")]),
        ("H", "G2", "peripheral", "Coventry", 31, False, False, False, False, False, False, 0,
         None, False, False, 1.0, False, [], []),
        ("I", None, "unlinked", "Solihull", 25, False, False, False, False, False, False, 3,
         ts("2026-03-03 00:00:00"), True, False, 1.0, False,
         ["missing 3 times, last reported 2026-03-03",
          "found outside the force area (1 episode: Telford)"],
         [ev("missing_episode", "compact", "CP1"), ev("missing_episode", "compact", "CP2"),
          ev("missing_episode", "compact", "CP3"), ev("found_outside_force", "compact", "CP1")]),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def frames(spark: SparkSession) -> dict[str, DataFrame]:
    return {
        "nominals": spark.createDataFrame(NOMINALS, NOMINALS_DDL),
        "kept": spark.createDataFrame(KEPT, KEPT_DDL),
        "records": spark.createDataFrame(RECORDS, RECORDS_DDL),
        "record_nominals": spark.createDataFrame(LINKS, LINKS_DDL),
        "record_matches": spark.createDataFrame(MATCHES, MATCHES_DDL),
        "missing_episodes": spark.createDataFrame(EPISODES, EPISODES_DDL),
    }


def flags_of(frames: dict[str, DataFrame], config: SafeguardingConfig | None = None) -> DataFrame:
    return sg.safeguarding_flags(
        **frames,
        reference_date=REFERENCE,
        config=config or SafeguardingConfig(),
        force_areas=FORCE,
        linking_roles=LINKING,
    )


@pytest.fixture(scope="module")
def flags(frames: dict[str, DataFrame]) -> DataFrame:
    return flags_of(frames).cache()


@pytest.fixture(scope="module")
def rows(flags: DataFrame) -> dict[str, dict]:
    """The flags by nominal id, collected once for the tests of single flags."""
    return {row["nominal_id"]: row.asDict(recursive=True) for row in flags.collect()}


@pytest.fixture(scope="module")
def oversight(frames: dict[str, DataFrame], flags: DataFrame) -> DataFrame:
    listed = flags.where("safeguarding_listed").select("nominal_id")
    return sg.disproportionality(frames["nominals"], frames["kept"], listed, REFERENCE).cache()


# --- ages ----------------------------------------------------------------------------------


def test_age_counts_whole_years_by_calendar_birthdays(spark: SparkSession) -> None:
    source_df = spark.createDataFrame(
        [
            (1, d("2008-11-30"), d("2026-11-30")),  # the 18th birthday itself
            (2, d("2008-12-01"), d("2026-11-30")),  # the day before
            (3, d("2008-02-29"), d("2026-02-28")),  # born 29 February: still 17 ...
            (4, d("2008-02-29"), d("2026-03-01")),  # ... and 18 on 1 March
            (5, d("2008-12-31"), d("2008-06-01")),  # a record before the birth date: 0
            (6, None, d("2026-11-30")),  # no birth date: unknown, not 0
        ],
        "case int, birth date, day date",
    )
    actual_df = source_df.select("case", sg.age_on(F.col("birth"), F.col("day")).alias("age"))
    expected_df = spark.createDataFrame(
        [(1, 18), (2, 17), (3, 17), (4, 18), (5, 0), (6, None)], "case int, age int"
    )
    assert_df_equality(actual_df, expected_df, ignore_nullable=True)


def test_a_year_only_birth_date_makes_a_possible_child_a_child(rows) -> None:
    a = rows["A"]  # born "2008": 31 December 2008, so 17 on 2026-11-30
    assert (a["age_on_reference"], a["child"], a["removal_cost"]) == (17, True, INF)
    assert (
        a["reasons"][0] == "child (age 17 on 2026-11-30; birth year only, counted as 31 December)"
    )


def test_exactly_18_on_the_reference_date_is_not_a_child(rows) -> None:
    b = rows["B"]
    assert (b["age_on_reference"], b["child"], b["removal_cost"]) == (18, False, 1.0)


def test_no_birth_date_is_age_unknown_and_listed_but_not_a_child(rows) -> None:
    dee = rows["D"]
    assert (dee["age_on_reference"], dee["child"], dee["age_unknown"]) == (None, False, True)
    assert (dee["safeguarding_listed"], dee["removal_cost"]) == (True, 1.0)


# --- record-based flags --------------------------------------------------------------------


def test_was_a_child_when_linked_from_an_old_record(rows) -> None:
    c = rows["C"]  # 26 now; 15 on CR1 (suspect), 17 on IM6 (associate)
    assert (c["child"], c["was_child_when_linked"], c["safeguarding_listed"]) == (
        False,
        True,
        True,
    )
    assert [(e["source"], e["record_id"]) for e in c["evidence"]] == [
        ("crimes", "CR1"),
        ("ims", "IM6"),  # not IM1: a witness does not link
    ]


def test_a_record_the_day_before_the_18th_birthday_was_as_a_child(rows) -> None:
    b = rows["B"]
    assert (b["was_child_when_linked"], b["safeguarding_listed"]) == (True, True)


def test_victim_offender_overlap_needs_two_different_records(rows) -> None:
    g, h = rows["G"], rows["H"]
    assert g["victim_offender_overlap"] is True  # victim on IM2, suspect on CR3
    # H is victim and suspect on CR4 only; IM4 (suspect) is after the reference date
    assert h["victim_offender_overlap"] is False


def test_cuckooed_victim_through_cuckoo_matches(rows) -> None:
    cuckooed = {nominal for nominal, row in rows.items() if row["cuckooed_victim"]}
    # G victim on IM2 and E subject on IM5 (both CUCKOO); G's subject link to IM3 (COCAINE)
    # and X (not kept) do not count
    assert cuckooed == {"E", "G"}
    assert rows["G"]["evidence"][0] == {
        "flag": "cuckooed_victim",
        "source": "ims",
        "record_id": "IM2",
    }


def test_missing_episodes_found_outside_the_force(rows) -> None:
    i = rows["I"]
    assert (i["missing_episodes"], i["last_missing_at"]) == (3, ts("2026-03-03 00:00:00"))
    assert i["found_outside_force"] is True
    outside = [e["record_id"] for e in i["evidence"] if e["flag"] == "found_outside_force"]
    assert outside == ["CP1"]


def test_found_area_outside_the_force_ignores_case_and_spaces(spark: SparkSession) -> None:
    source_df = spark.createDataFrame(
        [("Telford",), (" birmingham ",), ("WALSALL",), (None,), ("  ",), ("the area",)],
        "found_area string",
    )
    actual = [
        r["outside"]
        for r in source_df.select(
            sg.outside_force(F.col("found_area"), FORCE).alias("outside")
        ).collect()
    ]
    assert actual == [True, False, False, False, False, True]


def test_missing_persons_lists_each_episode_up_to_the_reference_date(
    spark: SparkSession, frames
) -> None:
    actual_df = sg.missing_persons(frames["missing_episodes"], frames["kept"], FORCE, REFERENCE)
    expected_df = spark.createDataFrame(
        [
            (
                "I",
                None,
                ts("2024-01-01 00:00:00"),
                ts("2024-01-05 00:00:00"),
                "Telford",
                True,
                "compact",
                "CP1",
            ),
            (
                "I",
                None,
                ts("2025-06-01 00:00:00"),
                ts("2025-06-02 00:00:00"),
                " birmingham ",
                False,
                "compact",
                "CP2",
            ),
            ("I", None, ts("2026-03-03 00:00:00"), None, None, False, "compact", "CP3"),
        ],  # fmt: skip
        "nominal_id string, group_id string, started_at timestamp, ended_at timestamp, "
        "found_area string, found_outside_force boolean, source string, record_id string",
    )
    assert_df_equality(actual_df, expected_df, ignore_nullable=True)


# --- the whole table -----------------------------------------------------------------------


def test_safeguarding_flags_hand_computed(spark: SparkSession, flags: DataFrame) -> None:
    expected_df = spark.createDataFrame(expected_rows(), FLAGS_DDL)
    assert flags.columns == list(sg.FLAG_COLUMNS)
    assert_df_equality(flags, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_an_override_with_a_reason_lifts_the_infinite_cost(spark: SparkSession, frames) -> None:
    reason = "joint operation agreed by the MASH strategy meeting"
    config = SafeguardingConfig(
        overrides=(
            SafeguardingOverride(nominal_id="E", reason=reason),
            SafeguardingOverride(nominal_id="G", reason="not protected: no effect"),
        )
    )
    actual_df = flags_of(frames, config)
    expected_df = spark.createDataFrame(
        expected_rows(1.0, (f"removal-cost override in conf: {reason}",)), FLAGS_DDL
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_override_without_a_reason_is_rejected_naming_the_entry(reason: str) -> None:
    with pytest.raises(ValueError, match=r"overrides\.1\.reason[\s\S]*nominal 'N0000042'"):
        SafeguardingConfig(
            overrides=[
                {"nominal_id": "N0000001", "reason": "agreed"},
                {"nominal_id": "N0000042", "reason": reason},
            ]
        )


def test_an_override_missing_its_reason_field_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"overrides\.0\.reason"):
        SafeguardingConfig(overrides=[{"nominal_id": "N0000042"}])


def test_a_nominal_overridden_twice_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"overrides\[1\]: nominal 'N1' is already named"):
        SafeguardingConfig(
            overrides=[{"nominal_id": "N1", "reason": "a"}, {"nominal_id": "N1", "reason": "b"}]
        )


def test_safeguarding_list_by_local_authority(spark: SparkSession, flags: DataFrame) -> None:
    actual = [
        (r["local_authority"], r["nominal_id"], r["group_id"])
        for r in sg.safeguarding_list(flags).collect()
    ]
    assert actual == [
        ("Birmingham", "C", "G1"),
        ("Dudley", "B", "G1"),
        ("Sandwell", "F", "G1"),
        ("Telford", "E", "G1"),
        ("Walsall", "A", "G1"),
        ("unknown", "D", "G2"),
    ]
    assert sg.safeguarding_list(flags).columns == list(sg.LIST_COLUMNS)


# --- disproportionality --------------------------------------------------------------------


def test_disproportionality_by_sex_and_age_band(spark: SparkSession, oversight) -> None:
    actual_df = oversight.where(F.col("dimension") != "home_area")
    # all: 10 nominals (A-I and X); county_lines: the 9 kept; listed: A-F
    rows = []
    for population, sex, bands in (
        ("all", {"F": 4, "M": 5, "U": 1}, (1, 3, 2, 0, 3, 1)),
        ("county_lines", {"F": 4, "M": 4, "U": 1}, (1, 3, 2, 0, 2, 1)),
        ("safeguarding_listed", {"F": 3, "M": 2, "U": 1}, (1, 1, 1, 0, 2, 1)),
    ):
        total = sum(sex.values())
        labels = ("18-24", "25-34", "35-49", "50+", "under 18", "unknown")
        rows += [
            (population, "age_band", b, n, round(n / total, 6))
            for b, n in zip(labels, bands, strict=True)
        ]
        rows += [(population, "sex", s, n, round(n / total, 6)) for s, n in sorted(sex.items())]
    expected_df = spark.createDataFrame(
        rows, "population string, dimension string, value string, nominals long, share double"
    )
    assert_df_equality(actual_df, expected_df, ignore_nullable=True)


def test_disproportionality_lists_every_home_area_for_every_population(oversight) -> None:
    by_area = {
        r["value"]: (r["nominals"], r["share"])
        for r in oversight.where(
            (F.col("population") == "safeguarding_listed") & (F.col("dimension") == "home_area")
        ).collect()
    }
    sixth = round(1 / 6, 6)
    assert by_area == {
        "Birmingham": (1, sixth),
        "Coventry": (0, 0.0),
        "Dudley": (1, sixth),
        "Sandwell": (1, sixth),
        "Solihull": (0, 0.0),
        "Telford": (1, sixth),
        "Walsall": (1, sixth),
        "unknown": (1, sixth),
    }


def test_transforms_name_the_missing_column(frames) -> None:
    with pytest.raises(sg.SafeguardingInputError, match=r"cl_nominals: missing columns"):
        sg.kept_people(frames["kept"].select("nominal_id"), frames["nominals"], REFERENCE, 18)
