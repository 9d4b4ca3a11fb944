"""Offence-code normalisation: every notation, both implementations, the public code lists."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clnet_spark.harm.codes import expand_code_list, normalise_code, normalise_code_column

NOTATIONS = [
    # recorded-crime codes: class without leading zeros, optional letter, upper case
    ("8N", "8N"),
    ("008N", "8N"),
    ("08n", "8N"),
    (" 8 N ", "8N"),
    ("92A", "92A"),
    ("092A", "92A"),
    ("105A", "105A"),
    ("49", "49"),
    ("049", "49"),
    ("1", "1"),
    ("803", "803"),
    # class and subclass: slash or dot, subclass as two digits
    ("8/1", "8/01"),
    ("08/1", "8/01"),
    ("008/01", "8/01"),
    ("008/001", "8/01"),
    ("8.1", "8/01"),
    ("4/1", "4/01"),
    ("4.1", "4/01"),
    ("004/01", "4/01"),
    ("8.10", "8/10"),
    ("4.10", "4/10"),
    ("37.2", "37/02"),
    ("37/2", "37/02"),
    ("092/30", "92/30"),
    ("803/10", "803/10"),
    ("039/00", "39/00"),
    ("999/99", "999/99"),
    ("\t008 / 01\n", "8/01"),
    # five digits packed as cccss (the CCHI sheet's 00200)
    ("00200", "2/00"),
    ("00801", "8/01"),
    ("80310", "803/10"),
]

NOT_CODES = [
    None,
    "",
    "   ",
    "NN",
    "NFIB",
    "ASB",
    "0",
    "000N",
    "8NN",
    "N8",
    "1000",
    "1234",
    "8/100",
    "8/",
    "/01",
    "8/1/2",
    "4.1.2",
    "00012",
    "0008N",
    "000/01",
    "8-1",
    "1, 4.1/2/10",
]


@pytest.mark.parametrize(("raw", "expected"), NOTATIONS)
def test_every_notation_normalises_to_the_canonical_form(raw: str, expected: str) -> None:
    assert normalise_code(raw) == expected


@pytest.mark.parametrize("raw", NOT_CODES)
def test_what_is_not_an_offence_code_normalises_to_none(raw: str | None) -> None:
    assert normalise_code(raw) is None


def test_ons_dotted_and_cchi_slashed_subcodes_are_the_same_code() -> None:
    assert normalise_code("4.1") == normalise_code("4/1") == normalise_code("004/01")
    assert normalise_code("4.1") != normalise_code("4.10")


def spark_normalised(spark: SparkSession, raws: list[str | None]) -> list[str | None]:
    frame = spark.createDataFrame([(i, raw) for i, raw in enumerate(raws)], "i int, raw string")
    rows = frame.select("i", normalise_code_column(F.col("raw")).alias("code")).collect()
    return [row["code"] for row in sorted(rows, key=lambda row: row["i"])]


def test_spark_and_python_normalise_every_notation_identically(spark: SparkSession) -> None:
    raws = [raw for raw, _ in NOTATIONS] + NOT_CODES
    assert spark_normalised(spark, raws) == [normalise_code(raw) for raw in raws]


def test_compound_cells_of_the_public_tables_expand_to_single_codes() -> None:
    assert expand_code_list("1, 4.1/2/10") == ["1", "4.1", "4.2", "4.10"]
    assert expand_code_list("8N;8S") == ["8N", "8S"]
    assert expand_code_list("4/1") == ["4/1"]
    assert expand_code_list("008/01") == ["008/01"]
    assert expand_code_list(" ") == []


def reference_rows(shared_dir: Path, name: str) -> list[dict[str, str]]:
    path = shared_dir / "data" / "reference" / name
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_home_office_classifications_normalise_to_their_numeric_parts(shared_dir: Path) -> None:
    rows = reference_rows(shared_dir, "ho_offence_codes.csv")
    assert len(rows) == 517
    disagreeing = {}
    for row in rows:
        expected = f"{int(row['ho_code'])}/{int(row['ho_sub_code']):02d}"
        actual = normalise_code(row["home_office_classification"])
        if actual != expected:
            disagreeing[row["home_office_classification"]] = actual
    # Two source rows whose numeric parts disagree with the classification as written
    # (111/25 with ho_code 11, 802/00 with ho_sub_code 1): the classification as written wins.
    assert disagreeing == {"111/25": "111/25", "802/00": "802/00"}


def test_cchi_and_ons_spellings_of_one_code_normalise_alike(shared_dir: Path) -> None:
    rows = reference_rows(shared_dir, "ho_offence_codes.csv")
    checked = 0
    for row in rows:
        cchi_codes = expand_code_list(row["classification_code"])
        ons_codes = expand_code_list(row["ons_offence_code"])
        assert [normalise_code(x) for x in cchi_codes] == [normalise_code(x) for x in ons_codes]
        checked += sum(1 for x in cchi_codes if "/" in x)
    assert checked == 11  # the 4/x and 37/x rows, which ONS writes 4.x and 37.x


def test_spark_and_python_agree_on_every_public_code(spark: SparkSession, shared_dir: Path) -> None:
    raws: set[str] = set()
    for row in reference_rows(shared_dir, "ho_offence_codes.csv"):
        raws.add(row["home_office_classification"])
        raws.update(expand_code_list(row["classification_code"]))
        raws.update(expand_code_list(row["ons_offence_code"]))
    for row in reference_rows(shared_dir, "cchi.csv"):
        raws.add(row["classification_code"])
        raws.add(row["home_office_classification"])
    for row in reference_rows(shared_dir, "ons_css.csv"):
        raws.update(expand_code_list(row["css_offence_code"]))
    ordered = sorted(raws)
    python = [normalise_code(raw) for raw in ordered]
    assert spark_normalised(spark, ordered) == python
    not_codes = sorted(raw for raw, code in zip(ordered, python, strict=True) if code is None)
    assert not_codes == ["ASB", "NFIB", "NN"]
