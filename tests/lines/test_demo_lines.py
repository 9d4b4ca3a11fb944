"""Extraction on a generated corpus recovers every planted deal line (ground truth)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark.demo import write_demo_corpus
from clnet_spark.lines.extract import (
    NAME_PATTERN,
    NAME_PREFIX,
    PHONE_PATTERN,
    extract_record_lines,
    may_mention_a_line,
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo_lines")
    write_demo_corpus(root, scale=0.03, seed=5)
    return root


@pytest.fixture(scope="module")
def records(spark: SparkSession, demo: Path) -> DataFrame:
    texts = pd.concat(
        pd.read_csv(demo / f"{source}.csv", dtype=str, keep_default_na=False).assign(source=source)[
            [c.SOURCE, c.RECORD_ID, c.TEXT]
        ]
        for source in c.SOURCES
    )
    return spark.createDataFrame(texts, "source string, record_id string, text string")


@pytest.fixture(scope="module")
def found(records: DataFrame) -> pd.DataFrame:
    return extract_record_lines(records).toPandas()


def test_the_cheap_first_test_passes_every_text_the_full_patterns_match(
    records: DataFrame,
) -> None:
    text = F.col(c.TEXT)
    full = text.rlike(PHONE_PATTERN) | text.rlike(NAME_PATTERN)
    counts = records.agg(
        F.count(F.when(full, 1)).alias("full"),
        F.count(F.when(full & ~may_mention_a_line(text), 1)).alias("missed"),
        F.count(F.when(may_mention_a_line(text), 1)).alias("hinted"),
        F.count(F.lit(1)).alias("all"),
    ).first()
    assert counts["full"] > 100
    assert counts["missed"] == 0
    # it is worth having: most texts fail it, and are never tried with the full patterns
    assert counts["full"] <= counts["hinted"] < counts["all"] / 2


def planted(demo: Path) -> pd.DataFrame:
    return pd.read_csv(demo / "ground_truth" / "groups.csv", dtype=str)


def test_every_planted_number_and_name_is_recovered(demo: Path, found: pd.DataFrame) -> None:
    groups = planted(demo)
    names = NAME_PREFIX + groups["line_name"].str.removesuffix(" line").str.upper()
    lines = set(found[c.LINE_ID])
    assert set(groups["deal_line_phone"]) <= lines
    assert set(names) <= lines
    # every planted line is mentioned on several records, not once by chance
    per_line = found.groupby(c.LINE_ID)[c.RECORD_ID].size()
    assert (per_line[list(groups["deal_line_phone"]) + list(names)] >= 3).all()


def test_names_found_are_planted_names_and_numbers_are_mobiles(
    demo: Path, found: pd.DataFrame
) -> None:
    groups = planted(demo)
    names = set(NAME_PREFIX + groups["line_name"].str.removesuffix(" line").str.upper())
    # the traps ("the phone line was down", "her line manager", "county line" in capitals)
    # give no name
    assert set(found.loc[found[c.LINE_KIND] == "name", c.LINE_ID]) == names
    numbers = found.loc[found[c.LINE_KIND] == "number", c.LINE_ID]
    assert numbers.str.fullmatch(r"07\d{9}").all()
    # decoy numbers on background records are extracted too (they are never active)
    assert len(set(numbers) - set(groups["deal_line_phone"])) > 0
