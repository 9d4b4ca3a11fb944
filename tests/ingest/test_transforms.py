"""Ingest transforms: parsing, validation reasons and duplicate handling."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark.ingest import transforms as t

RUN_DAY = dt.date(2026, 12, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-03-07", dt.datetime(2019, 3, 7)),
        ("07/03/2019", dt.datetime(2019, 3, 7)),
        ("7/3/2019", dt.datetime(2019, 3, 7)),
        (" 2019-03-07 ", dt.datetime(2019, 3, 7)),
        ("2019-03-07T14:22:00", dt.datetime(2019, 3, 7, 14, 22)),
        ("2019-03-07 14:22:00", dt.datetime(2019, 3, 7, 14, 22)),
        ("07/03/2019 14:22", dt.datetime(2019, 3, 7, 14, 22)),
        ("31/02/2019", None),
        ("not known", None),
        ("2019-13-01", None),
        ("", None),
    ],
)
def test_parse_timestamp(spark: SparkSession, text: str, expected: dt.datetime | None) -> None:
    frame = spark.createDataFrame([(text,)], "d string")
    assert frame.select(t.parse_timestamp(F.col("d"))).first()[0] == expected


def test_parse_bool_words(spark: SparkSession) -> None:
    words = ["true", "TRUE", "yes", "Y", "1", "false", "no", "N", "0", "maybe", None]
    frame = spark.createDataFrame([(w,) for w in words], "b string")
    actual = [r[0] for r in frame.select(t.parse_bool(F.col("b"))).collect()]
    assert actual == [True] * 5 + [False] * 4 + [None, None]


def test_birth_dates_year_alone_counts_as_31_december(spark: SparkSession) -> None:
    source_df = spark.createDataFrame(
        [
            ("N1", "2008", "M", "Walsall", "false"),
            ("N2", "12/12/1985", "F", "Dudley", "true"),
            ("N3", "", "F", "Dudley", "no"),
            ("N4", "31/02/2001", "F", "Dudley", "no"),
            ("N5", "2031-01-01", "F", "Dudley", "no"),
        ],
        "nominal_id string, birth_date string, sex string, home_area string, "
        "looked_after_child string",
    )
    actual_df = t.classify_nominals(source_df, (), RUN_DAY, 1900).select(
        c.NOMINAL_ID,
        c.BIRTH_DATE,
        c.BIRTH_DATE_PRECISION,
        c.LOOKED_AFTER_CHILD,
        "_birth_date_issue",
    )
    expected_df = spark.createDataFrame(
        [
            ("N1", dt.date(2008, 12, 31), "year", False, None),
            ("N2", dt.date(1985, 12, 12), "day", True, None),
            ("N3", None, None, False, None),
            ("N4", None, None, False, "unparseable birth_date"),
            ("N5", None, None, False, "future birth_date"),
        ],
        "nominal_id string, birth_date date, birth_date_precision string, "
        "looked_after_child boolean, _birth_date_issue string",
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


RECORD_DDL = "record_id string, recorded_at string, area string, text string, name string"


def test_record_reasons_and_restricted_columns(spark: SparkSession) -> None:
    source_df = spark.createDataFrame(
        [
            ("I1", "2020-01-01", "Walsall", "ok", "a name"),
            ("", "2020-01-01", "Walsall", "no id", None),
            ("I3", "", "Walsall", "no date", None),
            ("I4", "31/02/2019", "Walsall", "bad date", None),
            ("I5", "2026-12-04", "Walsall", "tomorrow", None),
            ("I6", "2026-12-03T23:59:00", "Walsall", "today", None),
            ("I7", "1899-12-31", "Walsall", "too early", None),
        ],
        RECORD_DDL,
    )
    actual = t.classify_records(source_df, c.IMS, ("name",), RUN_DAY, 1900)
    reasons = {r[c.RECORD_ID]: r[t.REASON] for r in actual.collect()}
    assert reasons == {
        "I1": None,
        None: "missing record_id",
        "I3": "missing recorded_at",
        "I4": "unparseable recorded_at",
        "I5": "future-dated recorded_at",
        "I6": None,
        "I7": "recorded_at before 1900",
    }
    first = actual.where(F.col(c.RECORD_ID) == "I1").first()
    assert first[c.RESTRICTED] == {"name": "a name"}
    assert first[c.SOURCE] == c.IMS and first[c.OFFENCE_CODE] is None


def test_duplicates_keep_the_latest_version(spark: SparkSession) -> None:
    source_df = spark.createDataFrame(
        [
            ("I1", "2020-01-01", "Walsall", "first", "2020-01-02"),
            ("I1", "2020-01-01", "Walsall", "amended", "2020-02-01"),
            ("I1", "2020-01-01", "Walsall", "amended", "2020-02-01"),
            ("I2", "2020-01-01", "Walsall", "same", None),
            ("I2", "2020-01-01", "Walsall", "same", None),
        ],
        "record_id string, recorded_at string, area string, text string, updated_at string",
    )
    actual = t.classify_records(source_df, c.IMS, (), RUN_DAY, 1900)
    rows = sorted((r[c.RECORD_ID], r[c.TEXT], r[t.REASON] or "") for r in actual.collect())
    assert rows == [
        ("I1", "amended", ""),
        ("I1", "amended", "exact duplicate"),
        ("I1", "first", "conflicting duplicate source/record_id (another version kept)"),
        ("I2", "same", ""),
        ("I2", "same", "exact duplicate"),
    ]


def test_record_nominal_reasons_and_roles(spark: SparkSession) -> None:
    links = spark.createDataFrame(
        [
            ("crimes", "R1", "A", "Suspect"),
            ("CRIMES", "R1", "B", "missing_person"),
            ("crimes", "R1", "C", "informant"),
            ("crims", "R1", "A", "suspect"),
            ("crimes", "R9", "A", "suspect"),
            ("crimes", "R1", "Z", "suspect"),
            ("crimes", "R1", "A", "suspect"),
        ],
        "source string, record_id string, nominal_id string, role string",
    )
    records = spark.createDataFrame([("crimes", "R1")], "source string, record_id string")
    nominals = spark.createDataFrame([("A",), ("B",), ("C",)], "nominal_id string")
    actual = t.classify_record_nominals(links, records, nominals)
    rows = sorted(
        (
            r[c.SOURCE],
            r[c.RECORD_ID],
            r[c.NOMINAL_ID],
            r[c.ROLE],
            r[c.ROLE_RAW] or "",
            r[t.REASON] or "",
        )
        for r in actual.collect()
    )
    assert rows == [
        ("crimes", "R1", "A", "suspect", "", ""),
        ("crimes", "R1", "A", "suspect", "", "exact duplicate"),
        ("crimes", "R1", "B", "missing person", "", ""),
        ("crimes", "R1", "C", "other", "informant", ""),
        ("crimes", "R1", "Z", "suspect", "", "nominal not found"),
        ("crimes", "R9", "A", "suspect", "", "record not found"),
        ("crims", "R1", "A", "suspect", "", "unknown source"),
    ]


def test_relationships_are_undirected_and_validated(spark: SparkSession) -> None:
    rels = spark.createDataFrame(
        [
            ("B", "A", "Associate", "ims", "2019-01-01"),
            ("A", "B", "associate", "ims", "01/01/2019"),
            ("A", "A", "family", "ims", "2019-01-01"),
            ("A", "Q", "family", "ims", "2019-01-01"),
            ("A", "C", "rival", "ims", "yesterday"),
        ],
        "nominal_a string, nominal_b string, relationship_type string, source string, "
        "recorded_at string",
    )
    nominals = spark.createDataFrame([("A",), ("B",), ("C",)], "nominal_id string")
    actual = t.classify_relationships(rels, nominals, RUN_DAY, 1900)
    rows = sorted((r[c.NOMINAL_A], r[c.NOMINAL_B], r[t.REASON] or "") for r in actual.collect())
    assert rows == [
        ("A", "A", "self-relationship"),
        ("A", "B", ""),
        ("A", "B", "exact duplicate"),
        ("A", "C", "unparseable recorded_at"),
        ("A", "Q", "nominal not found"),
    ]


def test_soc_groups_allow_several_groups_per_nominal(spark: SparkSession) -> None:
    soc = spark.createDataFrame(
        [("A", "S1"), ("A", "S2"), ("A", "S2"), ("Q", "S1"), ("B", "")],
        "nominal_id string, soc_group_id string",
    )
    nominals = spark.createDataFrame([("A",), ("B",)], "nominal_id string")
    actual = t.classify_soc_groups(soc, nominals)
    rows = sorted(
        (r[c.NOMINAL_ID], r[c.SOC_GROUP_ID] or "", r[t.REASON] or "") for r in actual.collect()
    )
    assert rows == [
        ("A", "S1", ""),
        ("A", "S2", ""),
        ("A", "S2", "exact duplicate"),
        ("B", "", "missing soc_group_id"),
        ("Q", "S1", "nominal not found"),
    ]
