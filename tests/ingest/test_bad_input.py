"""Bad input mixed into good: one ingest run on a small hand-written export folder.

Every case of the bad-input table in docs/ingest.md is here: the run finishes, every unusable
row is in the quarantine with its reason, and per file rows read = accepted + quarantined.
The fatal cases (a file that is not UTF-8 and not declared, an empty required file, a bad
catalogue) stop before anything is written, with an error naming the file and what was
expected.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from clnet_spark import io, privacy
from clnet_spark.columns import Tables
from clnet_spark.config import load_config
from clnet_spark.errors import CatalogueError, InputContractError
from clnet_spark.ingest.stage import run_ingest
from clnet_spark.pipeline import run_all
from clnet_spark.run import RunContext

BIG_TEXT = "county line " * (1_048_576 // 12 + 1)  # a text field over 1 MB
CP1252_TEXT = "café Zoë “quoted” €5"

# Columns swapped against the contract, a BOM and an extra (restricted) column.
CRIMES = (
    "\ufeffrecord_id,area,offence_code,recorded_at,text,officer\n"
    "C1,Walsall,92A,2020-01-05,county line to Shrewsbury,PC One\n"
    'C2,Dudley,092A,07/03/2020,"line one\nline two",\n'
    'C3,Walsall,92/1,2020-01-06,"unclosed quote,PC Two\n'
    "C4,Walsall,8N,2020-01-07,swallowed by the quote above,PC Three\n"
    'C5,Walsall,8N,2020-01-08,"where the quote closes",PC Four\n'
    "C6,Walsall,8N,2020-01-09,te\x00xt,\n"
    f"C7,Coventry,ZZZ,2020-01-10,{BIG_TEXT},\n"
    "C8,Walsall,8N,2020-01-11,one field too many,PC Five,extra\n"
    "C9,Walsall,8N,yesterday,an unparseable date,\n"
    "C10,Walsall,8N,2099-01-01,a future date,\n"
    "C11,Walsall,8N,1850-06-01,before 1900,\n"
    "C12,Walsall,8N,03/04/2020,day first: 3 April,\n"
    "C13,Walsall,8N,03/13/2020,month first: not accepted,\n"
    "C1,Walsall,92A,2020-01-05,county line to Shrewsbury,PC One\n"
    "C12,Walsall,8N,03/04/2020,another text for the same id,\n"
)
FILES: dict[str, bytes] = {
    "crimes.csv": CRIMES.encode("utf-8"),
    "ims.csv": f"record_id,recorded_at,area,text\nI1,2020-02-01,Walsall,{CP1252_TEXT}\n".encode(
        "cp1252"
    ),
    "pins.csv": b"",  # 0 bytes: an optional source, read as empty
    "icis.csv": b"record_id,recorded_at,offence_code,area,text\n",  # header only
    # compact.csv is missing (optional)
    "nominals.csv": (
        "\ufeffsex,nominal_id,birth_date,home_area,looked_after_child,name\n"
        "M,A,1990-01-01,Birmingham,false,Alpha One\n"
        "F,B,2008,Coventry,true,Beta Two\n"
        "M,C,31/02/2001,Dudley,false,Gamma Three\n"
        "M,D,2090-05-05,Dudley,false,Delta Four\n"
        "M,A,1990-01-01,Birmingham,false,Alpha One\n"
        "F,E,1980-01-01,Walsall,false,Echo Five\n"
        "M,E,1980-01-01,Walsall,false,Echo Five\n"
    ).encode("utf-8"),
    "record_nominals.csv": (
        b"source,record_id,nominal_id,role\n"
        b"crimes,C1,A,suspect\n"
        b"crimes,C1,ZZ,suspect\n"
        b"crimes,C404,A,suspect\n"
        b"crimes,C3,A,suspect\n"
        b"ims,I1,B,subject\n"
    ),
    "relationships.csv": (
        b"nominal_a,nominal_b,relationship_type,source,recorded_at\n"
        b"A,B,associate,ims,2020-01-01\n"
        b"B,A,associate,ims,2020-01-01\n"
        b"A,A,family,ims,2020-01-01\n"
        b"A,ZZ,family,ims,2020-01-01\n"
        b"A,C,rival,ims,2099-01-01\n"
    ),
    "soc_groups.csv": b"nominal_id,soc_group_id\nA,S1\nA,S2\nB,S1\nZZ,S1\n",
}

QUARANTINED = {
    "crimes": [
        "NUL byte in text",
        "broken CSV quoting in text: an unclosed quote merged the following rows into this one",
        "conflicting duplicate source/record_id (another version kept)",
        "exact duplicate",
        "future-dated recorded_at",
        "malformed CSV row: expected 6 fields",
        "recorded_at before 1900",
        "unparseable recorded_at",
        "unparseable recorded_at",
    ],
    "nominals": ["conflicting duplicate nominal_id (another version kept)", "exact duplicate"],
    "record_nominals": ["nominal not found", "record not found", "record not found"],
    "relationships": [
        "exact duplicate",
        "future-dated recorded_at",
        "nominal not found",
        "self-relationship",
    ],
    "soc_groups": ["nominal not found"],
}


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


@pytest.fixture(scope="module")
def bad_run(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> RunContext:
    root = tmp_path_factory.mktemp("bad_input")
    config = load_config(overrides=("ingest.encoding={ims: windows-1252}",))
    ctx = RunContext(root / "warehouse", config)
    run_ingest(spark, write_folder(root / "in", FILES), ctx)
    return ctx


def table(spark: SparkSession, ctx: RunContext, name: str) -> list[dict]:
    return [r.asDict() for r in io.read_table(spark, ctx.warehouse, name).collect()]


def test_counts_reconcile_per_file(bad_run: RunContext) -> None:
    counts = {row["table"]: row for row in bad_run.reports[0].counts["tables"]}
    assert "compact" not in counts  # a missing optional file is not read
    read_accepted = {name: (row["read"], row["accepted"]) for name, row in counts.items()}
    assert read_accepted == {
        "nominals": (7, 5),
        "crimes": (13, 4),  # C3-C5 are one merged row
        "ims": (1, 1),
        "icis": (0, 0),
        "pins": (0, 0),
        "record_nominals": (5, 2),
        "relationships": (5, 1),
        "soc_groups": (4, 3),
    }
    for row in counts.values():
        assert row["read"] == row["accepted"] + row["quarantined"] + row["deleted"]


def test_every_unusable_row_is_quarantined_with_its_reason(
    spark: SparkSession, bad_run: RunContext
) -> None:
    rows = table(spark, bad_run, Tables.QUARANTINE)
    reasons: dict[str, list[str]] = {}
    for row in rows:
        reasons.setdefault(row["table"], []).append(row["reason"])
    assert {name: sorted(found) for name, found in reasons.items()} == QUARANTINED
    merged = next(r for r in rows if r["reason"].startswith("broken CSV quoting"))
    assert "C4,Walsall" in merged["raw"]  # the swallowed rows are kept in the quarantine
    per_file = Counter((r["table"], r["file"]) for r in rows)
    assert per_file[("crimes", "crimes.csv")] == len(QUARANTINED["crimes"])


def test_accepted_records_keep_their_text_and_codes(
    spark: SparkSession, bad_run: RunContext
) -> None:
    records = {r["record_id"]: r for r in table(spark, bad_run, Tables.RECORDS)}
    assert sorted(records) == ["C1", "C12", "C2", "C7", "I1"]
    assert records["C2"]["text"] == "line one\nline two"  # embedded newline kept
    assert records["C7"]["text"] == BIG_TEXT  # a 1 MB field read whole
    assert records["I1"]["text"] == CP1252_TEXT  # declared Windows-1252, decoded right
    assert str(records["C12"]["recorded_at"].date()) == "2020-04-03"  # day first
    # of two versions, one is kept (the smallest content hash) and the other quarantined
    texts = {"day first: 3 April", "another text for the same id"}
    (conflict,) = [
        r
        for r in table(spark, bad_run, Tables.QUARANTINE)
        if r["table"] == "crimes" and "conflicting" in r["reason"]
    ]
    (other,) = texts - {records["C12"]["text"]}
    assert other in conflict["raw"]
    assert records["C1"]["restricted"] == {"officer": "PC One"}  # BOM, swapped columns
    # codes in any notation (and unknown ones) are kept as written; harm normalises them
    assert {records[r]["offence_code"] for r in ("C1", "C2", "C7")} == {"92A", "092A", "ZZZ"}


def test_nominals_are_pseudonymous_and_identity_is_restricted(
    spark: SparkSession, bad_run: RunContext
) -> None:
    key = privacy.load_key()
    identity = {r["source_nominal_id"]: r for r in table(spark, bad_run, Tables.NOMINAL_IDENTITY)}
    assert sorted(identity) == ["A", "B", "C", "D", "E"]
    for source_id, row in identity.items():
        assert row["nominal_id"] == privacy.python_pseudonym(key, source_id)
    assert identity["A"]["name"] == "Alpha One"
    nominals = {r["nominal_id"]: r for r in table(spark, bad_run, Tables.NOMINALS)}
    assert set(nominals) == {row["nominal_id"] for row in identity.values()}
    assert "name" not in next(iter(nominals.values())) and "restricted" not in nominals
    # bad birth dates make the age unknown, never drop the person
    pseudo = {s: r["nominal_id"] for s, r in identity.items()}
    assert nominals[pseudo["C"]]["birth_date"] is None
    assert nominals[pseudo["D"]]["birth_date"] is None
    assert str(nominals[pseudo["B"]]["birth_date"]) == "2008-12-31"
    assert bad_run.reports[0].counts["birth dates set to unknown"] == {
        "unparseable birth_date": 1,
        "future birth_date": 1,
    }
    links = table(spark, bad_run, Tables.RECORD_NOMINALS)
    assert sorted(r["nominal_id"] for r in links) == sorted([pseudo["A"], pseudo["B"]])
    (relationship,) = table(spark, bad_run, Tables.RELATIONSHIPS)
    assert relationship["nominal_a"] < relationship["nominal_b"]
    assert {relationship["nominal_a"], relationship["nominal_b"]} == {pseudo["A"], pseudo["B"]}
    soc = sorted((r["nominal_id"], r["soc_group_id"]) for r in table(spark, bad_run, "soc_groups"))
    assert soc == sorted([(pseudo["A"], "S1"), (pseudo["A"], "S2"), (pseudo["B"], "S1")])


def test_undeclared_windows_1252_file_stops_before_writing(
    spark: SparkSession, tmp_path: Path
) -> None:
    ctx = RunContext(tmp_path / "warehouse", load_config())
    with pytest.raises(InputContractError) as caught:
        run_ingest(spark, write_folder(tmp_path / "in", FILES), ctx)
    message = str(caught.value)
    assert "ims.csv: not UTF-8 (first invalid byte on line 2, byte offset 57)" in message
    assert "--set ingest.encoding.ims=windows-1252" in message
    assert "Zo" not in message and "caf" not in message  # the value is never shown
    assert not ctx.warehouse.exists()


def test_empty_required_file_stops_before_writing(spark: SparkSession, tmp_path: Path) -> None:
    files = dict(FILES, **{"nominals.csv": b"", "ims.csv": b""})
    ctx = RunContext(tmp_path / "warehouse", load_config())
    with pytest.raises(InputContractError) as caught:
        run_ingest(spark, write_folder(tmp_path / "in", files), ctx)
    assert "nominals.csv: the file is empty (0 bytes); expected a header row" in str(caught.value)
    assert not ctx.warehouse.exists()


@pytest.mark.parametrize(
    ("terms", "weight", "message"),
    [
        ("[{regex: '(abc', label: t}]", 0.5, r"group 'CL', term #1 't': .*missing '\)'"),
        ("[{regex: '(a+)+$', label: t}]", 0.5, "nested unbounded quantifiers"),
        ("[county line]", 1.5, r"group 'CL': weight must be a number in \(0, 1\] .*, got 1.5"),
        ("[]", 0.5, "group 'CL': the group is empty"),
    ],
)
def test_bad_catalogue_stops_before_any_data_is_read(
    spark: SparkSession, tmp_path: Path, terms: str, weight: float, message: str
) -> None:
    catalogue = tmp_path / "terms.yaml"
    catalogue.write_text(f"- name: CL\n  weight: {weight}\n  terms: {terms}\n")
    config = load_config(overrides=(f"search.catalogue={catalogue}",))
    ctx = RunContext(tmp_path / "warehouse", config)
    with pytest.raises(CatalogueError, match=message) as caught:
        run_all(spark, tmp_path / "no-such-input", ctx)  # the input is never looked at
    assert str(catalogue) in str(caught.value)
    assert not ctx.warehouse.exists()
