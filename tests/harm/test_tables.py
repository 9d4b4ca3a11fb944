"""Harm table loaders: the simple format, the public CCHI and ONS layouts, and their errors."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError
from pyspark.sql import SparkSession

from clnet_spark.config import REPO_ROOT
from clnet_spark.demo.vocab import OFFENCES
from clnet_spark.harm.codes import expand_code_list, normalise_code
from clnet_spark.harm.tables import (
    HARM_TYPE,
    HarmConfig,
    HarmTableError,
    load_harm_table,
    load_harm_tables,
)

DEMO_DIR = REPO_ROOT / "conf" / "harm"


def D(value: str) -> Decimal:  # noqa: N802 - reads like a literal
    return Decimal(value)


@pytest.fixture(scope="module")
def reference(shared_dir: Path) -> Path:
    return shared_dir / "data" / "reference"


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- the public CCHI 2020 layout -----------------------------------------------------------


def test_public_cchi_layout_is_detected_and_scores_both_codes_of_a_row(reference: Path) -> None:
    table = load_harm_table(reference / "cchi.csv", index="cchi")
    assert table.layout == "cchi_2020"
    assert table.rows == 698
    assert table.value("1") == D("5475")  # murder, classification code 1
    assert table.value("001/01") == D("5475")  # the same row's HO classification
    assert table.value("004/01") == table.value("4.1") == D("730")  # manslaughter


def test_public_cchi_takes_the_lowest_of_several_values(reference: Path) -> None:
    table = load_harm_table(reference / "cchi.csv", index="cchi")
    gbh = [
        r for r in rows_of(reference / "cchi.csv") if r["home_office_classification"] == "008/01"
    ]
    # 008/01 GBH: 8 rows from 19 days (minor wound) to 912.5 (serious wound, police victim)
    assert sorted({D(r["cchi_score_days"]) for r in gbh}) == [
        D("19"),
        D("182.5"),
        D("547.5"),
        D("912.5"),
    ]
    assert table.value("008/01") == table.value("8/1") == D("19")
    assert table.entries["8/01"].rows == 8
    assert table.entries["8/01"].distinct_values == 4
    assert "8/01" in table.several_values
    # 8N spans 17 rows; the lowest, 2 days, is assault with intent to resist apprehension
    assert table.value("008N") == D("2")
    assert table.entries["8N"].rows == 17
    # supply of class A (092/30) is 547.5 days; its code 92A carries 47 rows, lowest 1 day
    assert table.value("092/30") == D("547.5")
    assert table.value("92A") == D("1")


def test_public_cchi_ons_subcode_and_ho_subclass_share_a_code(reference: Path) -> None:
    table = load_harm_table(reference / "cchi.csv", index="cchi")
    # CCHI classifies 004/04 (death by dangerous driving, 1095 days) and 004/12 (serious injury
    # by dangerous driving, 365 days) as 4/4: the code 4/04 carries both, the lowest applies.
    assert table.value("4.4") == table.value("004/04") == D("365")
    assert table.value("004/12") == D("365")


def test_public_cchi_non_codes_are_skipped_and_counted(reference: Path) -> None:
    table = load_harm_table(reference / "cchi.csv", index="cchi")
    assert table.not_codes == {"ASB": 4, "NFIB": 5, "NN": 114}
    assert table.value("NN") is None
    assert table.value("803/10") == D("3")  # a non-notifiable row still scores its HO class


def test_public_cchi_agrees_with_the_derived_ho_code_list(reference: Path) -> None:
    table = load_harm_table(reference / "cchi.csv", index="cchi")
    cchi_codes = {
        normalise_code(part)
        for row in rows_of(reference / "cchi.csv")
        for part in expand_code_list(row["classification_code"])
    }
    for row in rows_of(reference / "ho_offence_codes.csv"):
        code = normalise_code(row["home_office_classification"])
        lowest = D(row["cchi_min_days"])
        if code in cchi_codes:  # shared with a 4/x or 37/x classification code
            assert table.entries[code].value <= lowest, row
        else:
            assert table.entries[code].value == lowest, row


# --- the public ONS CSS layout ---------------------------------------------------------------


def test_public_ons_layout_expands_the_homicide_group(reference: Path) -> None:
    table = load_harm_table(reference / "ons_css.csv", index="ons")
    assert table.layout == "ons_css"
    assert table.rows == 128
    assert len(table.entries) == 131  # "1, 4.1/2/10" is four codes
    for code in ("1", "4.1", "4.2", "4.10", "004/01"):
        assert table.value(code) == D("7973.393423"), code
    assert table.value("8N") == D("189.1538871")
    assert table.value("37/1") == table.value("37.1")
    assert table.value("803/10") is None  # CSS scores notifiable offences only
    assert table.several_values == ()


# --- the simple format -----------------------------------------------------------------------


def test_simple_layout_normalises_codes_and_takes_the_lowest(tmp_path: Path) -> None:
    path = write(
        tmp_path / "force_cchi.csv",
        "Offence_Code,HARM,Description,notes\n"
        "008/01,547.5,GBH serious wound,ignored\n"
        "8/1,19,GBH minor wound,\n"
        "92A,547.5,supply,\n"
        "4.1,730.0000000004,manslaughter,\n",
    )
    table = load_harm_table(path, index="cchi")
    assert table.layout == "simple"
    assert table.rows == 4
    assert table.value("8/01") == D("19")
    assert table.entries["8/01"].description == "GBH minor wound"
    assert table.several_values == ("8/01",)
    assert table.value("092A") == D("547.5")
    assert table.value("4/1") == D("730.000000000")  # 9 places, half to even


def test_to_frame_gives_unique_codes_and_decimal_values(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = write(tmp_path / "t.csv", "offence_code,harm\n8N,2\n008n,10\n92A,1.5\n")
    frame = load_harm_table(path, index="ons").to_frame(spark)
    assert frame.columns == ["code_normalised", "ons"]
    assert frame.schema["ons"].dataType == HARM_TYPE
    assert sorted(tuple(r) for r in frame.collect()) == [("8N", D("2")), ("92A", D("1.5"))]


# --- errors ----------------------------------------------------------------------------------


def test_missing_columns_name_the_file_the_missing_and_the_present(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", "code,value\n8N,2\n")
    with pytest.raises(HarmTableError) as caught:
        load_harm_table(path, index="cchi")
    message = str(caught.value)
    assert str(path) in message
    assert "missing required columns ['offence_code', 'harm']" in message
    assert "columns present: ['code', 'value']" in message


def test_missing_columns_of_a_named_public_layout(tmp_path: Path) -> None:
    path = write(tmp_path / "css.csv", "css_offence_code,css_offence\n8N,Assault\n")
    with pytest.raises(
        HarmTableError,
        match=r"ons_css layout\): missing required columns "
        r"\['css_weight'\]; columns present: \['css_offence', 'css_offence_code'\]",
    ):
        load_harm_table(path, index="ons", layout="ons_css")


@pytest.mark.parametrize("value", ["n/a", "1,095", "-3", "1e3", "12 days"])
def test_a_non_numeric_value_names_file_line_column_and_value(tmp_path: Path, value: str) -> None:
    path = write(tmp_path / "t.csv", f'offence_code,harm\n8N,2\n92A,"{value}"\n')
    with pytest.raises(HarmTableError) as caught:
        load_harm_table(path, index="cchi")
    assert str(caught.value) == (
        f"{path}, line 3, column 'harm': expected a plain number of at least 0 (digits and an "
        f"optional decimal point), found {value!r}"
    )


def test_an_empty_value_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "offence_code,harm\n8N,\n")
    with pytest.raises(HarmTableError, match=r"line 2, column 'harm': .* found an empty cell"):
        load_harm_table(path, index="cchi")


def test_a_public_layout_value_error_names_its_column(reference: Path, tmp_path: Path) -> None:
    header = (reference / "cchi.csv").read_text(encoding="utf-8").splitlines()[0]
    path = write(tmp_path / "cchi.csv", header + "\n" + "x," * 3 + "TBC" + ",x" * 18 + "\n")
    with pytest.raises(HarmTableError, match=r"line 2, column 'cchi_score_days': .* found 'TBC'"):
        load_harm_table(path, index="cchi")


def test_simple_layout_rejects_a_cell_that_is_not_a_code(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "offence_code,harm\n8N,2\nNN,3\n")
    with pytest.raises(HarmTableError, match=r"line 3, column 'offence_code': .* found 'NN'"):
        load_harm_table(path, index="cchi")


def test_missing_empty_and_headless_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(HarmTableError, match="does not exist"):
        load_harm_table(tmp_path / "nowhere.csv", index="cchi")
    with pytest.raises(HarmTableError, match="no data rows"):
        load_harm_table(write(tmp_path / "h.csv", "offence_code,harm\n"), index="cchi")
    with pytest.raises(HarmTableError, match="expected a header row"):
        load_harm_table(write(tmp_path / "e.csv", ""), index="cchi")
    with pytest.raises(HarmTableError, match=r"more than once: \['harm'\]"):
        load_harm_table(write(tmp_path / "d.csv", "offence_code,harm,HARM\n8N,1,2\n"), index="ons")


# --- settings and the demo tables ------------------------------------------------------------


def test_harm_config_defaults_and_validation() -> None:
    config = HarmConfig()
    assert config.harm_roles == ("suspect", "offender", "charged")
    assert config.recent_years == 3
    assert HarmConfig(harm_roles=(" Suspect ",)).harm_roles == ("suspect",)
    with pytest.raises(ValidationError):
        HarmConfig(recent_years=0)
    with pytest.raises(ValidationError):
        HarmConfig(harm_table="x.csv")


def demo_codes(*excluded: str) -> list[str]:
    return [code for kind, (_, codes) in OFFENCES.items() if kind not in excluded for code in codes]


def test_demo_tables_map_every_code_the_demo_generator_writes() -> None:
    cchi, ons = load_harm_tables(HarmConfig(), DEMO_DIR.parent)
    assert demo_codes("unmapped") != []
    assert [x for x in demo_codes("unmapped") if cchi.value(x) is None] == []
    assert [x for x in demo_codes("unmapped") if ons.value(x) is None] == []
    # the demo keeps one code that no table maps, to exercise the unmapped counts
    assert [x for x in demo_codes() if cchi.value(x) is None] == ["999/99"]
    assert [x for x in demo_codes() if ons.value(x) is None] == ["999/99"]


def test_demo_cchi_figures_are_the_public_cchi_values(reference: Path) -> None:
    public = load_harm_table(reference / "cchi.csv", index="cchi")
    demo = load_harm_table(DEMO_DIR / "demo_crime_harm_days.csv", index="cchi")
    assert {code: e.value for code, e in demo.entries.items()} == {
        code: public.entries[code].value for code in demo.entries
    }


def test_demo_ons_figures_are_the_public_css_weights(reference: Path) -> None:
    public = load_harm_table(reference / "ons_css.csv", index="ons")
    demo = load_harm_table(DEMO_DIR / "demo_severity_weights.csv", index="ons")
    # a Home Office classification takes the lowest weight of the codes CCHI 2020 files it under
    crosswalk: dict[str, set[str]] = {}
    for row in rows_of(reference / "cchi.csv"):
        code = normalise_code(row["home_office_classification"])
        crosswalk.setdefault(code, set()).update(
            c for c in map(normalise_code, expand_code_list(row["classification_code"])) if c
        )
    for code, entry in demo.entries.items():
        if code in public.entries:
            assert entry.value == public.entries[code].value, code
        else:
            assert entry.value == min(public.entries[x].value for x in crosswalk[code]), code
