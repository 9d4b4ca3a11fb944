"""Deal-line extraction: written forms, normalisation, misses on purpose, offsets, tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chispa import assert_df_equality
from pyspark.sql import SparkSession

from clnet_spark import columns as c
from clnet_spark.lines.extract import (
    NOT_NAMES,
    extract_record_lines,
    group_line_table,
    line_table,
)

RECORD_DDL = "source string, record_id string, text string"


def lines_of(spark: SparkSession, texts: list[str]) -> list[set[str]]:
    """The line ids found in each text, in the order of ``texts``."""
    records = spark.createDataFrame(
        [("ims", str(i), text) for i, text in enumerate(texts)], RECORD_DDL
    )
    found: dict[str, set[str]] = {str(i): set() for i in range(len(texts))}
    for row in extract_record_lines(records).collect():
        found[row[c.RECORD_ID]].add(row[c.LINE_ID])
    return [found[str(i)] for i in range(len(texts))]


NUMBER_FORMS = [
    "07123456789",
    "07123 456789",
    "0712 345 6789",
    "07123-456-789",
    "07123.456.789",
    "07123 456 789",
    "(07123) 456789",
    "+447123456789",
    "+44 7123 456789",
    "+44-7123-456789",
    "+44 (0)7123 456789",
    "+44 (0) 7123 456789",
    "0044 7123 456789",
    "00447123456789",
]


def test_every_written_form_of_a_number_gives_one_line_id(spark: SparkSession) -> None:
    texts = [f"Texts sent from {form}, to users." for form in NUMBER_FORMS]
    assert lines_of(spark, texts) == [{"07123456789"}] * len(NUMBER_FORMS)


def test_numbers_inside_longer_digit_runs_or_too_short_are_not_lines(spark: SparkSession) -> None:
    texts = [
        "ref 107123456789 logged",  # a digit directly before
        "ref 071234567890 logged",  # a digit directly after
        "ref 1-07123-456789 logged",  # a digit and a separator before
        "ref 07123-456789-1 logged",  # a separator and a digit after
        "call 0712345678 now",  # ten digits
        "landline 0121 496 0000",  # not a mobile
        "+44 121 496 0000",  # not a mobile
        "07123  456789",  # two separators in a row: a known miss (docs/lines.md)
    ]
    assert lines_of(spark, texts) == [set()] * len(texts)


def test_several_numbers_in_one_text_are_all_found(spark: SparkSession) -> None:
    (found,) = lines_of(spark, ["07123 456789 and +44 7999 111222; again 07123-456-789."])
    assert found == {"07123456789", "07999111222"}


NAME_FORMS = [
    ("The Tony line is well known in Telford.", {"NAME:TONY"}),
    ("Runner for the 'Tony' line in Telford.", {"NAME:TONY"}),
    ("Runner for the \u2018Tony\u2019 line.", {"NAME:TONY"}),
    ("Tony line supplying Telford.", {"NAME:TONY"}),
    ("The Tony Line is run from Dudley.", {"NAME:TONY"}),
    ("THE TONY LINE IS RUN FROM DUDLEY.", {"NAME:TONY"}),
    ("The Tony deal line is run from Dudley.", {"NAME:TONY"}),
    ("THE KOBE DEAL LINE IS WELL KNOWN.", {"NAME:KOBE"}),
    ("Handset believed to be DL Blade.", {"NAME:BLADE"}),
    ("Texts from the deal line Blade to users.", {"NAME:BLADE"}),
    ("THE DEAL LINE BLADE IS ACTIVE.", {"NAME:BLADE"}),
    ("The drugs line known as the Scooby line.", {"NAME:SCOOBY"}),
    ("The Zoë line and DL Øre.", {"NAME:ZOË", "NAME:ØRE"}),
]


def test_line_names_in_their_forms_normalise_to_upper_case(spark: SparkSession) -> None:
    texts = [text for text, _ in NAME_FORMS]
    assert lines_of(spark, texts) == [expected for _, expected in NAME_FORMS]


def test_ordinary_uses_of_line_are_not_names(spark: SparkSession) -> None:
    texts = [
        "The phone line was down at the premises.",
        "THE PHONE LINE WAS DOWN AT THE PREMISES.",
        "Victim has told her line manager.",
        "VICTIM HAS TOLD HER LINE MANAGER.",
        "Car crossed the County Line on the A5.",
        "CROSSED THE COUNTY LINE ON THE A5.",
        "A hospital Drugs Line gave advice.",
        "A new line of enquiry.",
        "Main Line of enquiry.",
        "the tony line",  # no capital: a known miss (docs/lines.md)
        "The Tony lines",  # plural: not a name
        "DL number checked",  # DL followed by an ordinary word
        "dl Tony",  # DL only in capitals
    ]
    assert lines_of(spark, texts) == [set()] * len(texts)


def test_stop_list_words_are_lower_case_and_unique() -> None:
    assert all(word == word.lower() and word.isalpha() for word in NOT_NAMES)
    assert len(set(NOT_NAMES)) == len(NOT_NAMES)


def test_offset_is_the_first_mention_in_code_points(spark: SparkSession) -> None:
    # "Zoë" is three code points and the emoji one (two UTF-16 units): offsets count code
    # points, like the search stage's.
    text = "Zoë \U0001f600 07123 456789, the Tony line; later +447123456789 and TONY LINE."
    records = spark.createDataFrame([("ims", "R1", text)], RECORD_DDL)
    actual_df = extract_record_lines(records)
    expected_df = spark.createDataFrame(
        [
            ("ims", "R1", "07123456789", "number", text.index("07123")),
            ("ims", "R1", "NAME:TONY", "name", text.index("Tony")),
        ],
        "source string, record_id string, line_id string, kind string, offset int",
    )
    assert text.index("07123") == 6 and text.index("Tony") == 24
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_null_and_empty_texts_mention_nothing(spark: SparkSession) -> None:
    records = spark.createDataFrame([("ims", "R1", None), ("ims", "R2", "")], RECORD_DDL)
    assert extract_record_lines(records).count() == 0


def test_line_table_counts_dates_and_activity(spark: SparkSession) -> None:
    record_lines = spark.createDataFrame(
        [
            ("ims", "R1", "07123456789", "number", 0),
            ("ims", "R2", "07123456789", "number", 5),
            ("crimes", "C1", "NAME:TONY", "name", 3),
            ("crimes", "C2", "07999111222", "number", 0),
        ],
        "source string, record_id string, line_id string, kind string, offset int",
    )
    records = spark.createDataFrame(
        [
            ("ims", "R1", dt.datetime(2020, 1, 5)),
            ("ims", "R2", dt.datetime(2021, 3, 1)),
            ("crimes", "C1", dt.datetime(2019, 7, 7)),
            ("crimes", "C2", dt.datetime(2022, 2, 2)),
        ],
        "source string, record_id string, recorded_at timestamp",
    )
    matches = spark.createDataFrame(
        [("ims", "R2", Decimal("0.4")), ("crimes", "C2", Decimal("0"))],
        "source string, record_id string, record_weight decimal(12,9)",
    )
    actual_df = line_table(record_lines, records, matches)
    expected_df = spark.createDataFrame(
        [
            ("07123456789", "number", dt.datetime(2020, 1, 5), dt.datetime(2021, 3, 1), 2, True),
            ("NAME:TONY", "name", dt.datetime(2019, 7, 7), dt.datetime(2019, 7, 7), 1, False),
            ("07999111222", "number", dt.datetime(2022, 2, 2), dt.datetime(2022, 2, 2), 1, False),
        ],
        "line_id string, kind string, first_seen timestamp, last_seen timestamp, "
        "records long, active boolean",
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_group_lines_count_each_record_once_per_group(spark: SparkSession) -> None:
    memberships = spark.createDataFrame(
        [("A", "G1"), ("B", "G1"), ("C", "G2"), ("U", None)],
        "nominal_id string, group_id string",
    )
    record_nominals = spark.createDataFrame(
        [
            ("ims", "R1", "A"),
            ("ims", "R1", "B"),  # R1 holds two members of G1: counts once for G1
            ("ims", "R2", "B"),
            ("ims", "R2", "C"),
            ("ims", "R3", "U"),  # U is in no group
        ],
        "source string, record_id string, nominal_id string",
    )
    record_lines = spark.createDataFrame(
        [
            ("ims", "R1", "L1"),
            ("ims", "R2", "L1"),
            ("ims", "R2", "L2"),
            ("ims", "R3", "L3"),
        ],
        "source string, record_id string, line_id string",
    )
    actual_df = group_line_table(memberships, record_nominals, record_lines)
    expected_df = spark.createDataFrame(
        [("G1", "L1", 2), ("G1", "L2", 1), ("G2", "L1", 1), ("G2", "L2", 1)],
        "group_id string, line_id string, records long",
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)
