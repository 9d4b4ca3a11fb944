"""The ingest stage on small hand-written export folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.config import load_config
from clnet_spark.errors import InputContractError
from clnet_spark.ingest.stage import run_ingest
from clnet_spark.run import RunContext

FILES = {
    "crimes.csv": (
        "record_id,recorded_at,offence_code,area,text\n"
        'R1,2020-01-05,92A,Birmingham,"running a county line\nto Shrewsbury"\n'
        "R2,07/03/2020,8N,Dudley,found with cocaine\n"
        ",2020-01-01,1,Walsall,no id\n"
    ),
    "record_nominals.csv": (
        "source,record_id,nominal_id,role\n"
        "crimes,R1,A,suspect\ncrimes,R1,B,offender\ncrimes,R2,C,suspect\n"
        "crims,R2,C,suspect\ncrimes,R404,C,victim\n"
    ),
    "nominals.csv": (
        "\ufeffnominal_id,birth_date,sex,home_area,looked_after_child,name\n"
        "A,1990-01-01,M,Birmingham,false,Alpha One\n"
        "B,2008,F,Coventry,true,Beta Two\n"
        "C,12/12/1985,M,Dudley,false,Gamma Three\n"
    ),
}


def write_folder(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_text(content, encoding="utf-8")
    return folder


def context(tmp_path: Path) -> RunContext:
    return RunContext(tmp_path / "warehouse", load_config())


def test_counts_reconcile_and_extra_columns_are_restricted(
    spark: SparkSession, tmp_path: Path
) -> None:
    ctx = context(tmp_path)
    reference = run_ingest(spark, write_folder(tmp_path / "in", FILES), ctx)
    counts = {row["table"]: row for row in ctx.reports[0].counts["tables"]}
    assert (counts["crimes"]["read"], counts["crimes"]["accepted"]) == (3, 2)
    assert (counts["record_nominals"]["accepted"], counts["record_nominals"]["quarantined"]) == (
        3,
        2,
    )
    for row in counts.values():
        assert row["read"] == row["accepted"] + row["quarantined"] + row["deleted"]
    assert str(reference) == "2020-03-07"
    nominals = io.read_table(spark, ctx.warehouse, Tables.NOMINALS)
    assert "name" not in nominals.columns and "restricted" not in nominals.columns
    identity = io.read_table(spark, ctx.warehouse, Tables.NOMINAL_IDENTITY)
    # the BOM-prefixed header still maps to nominal_id
    names = {r["source_nominal_id"]: r["name"] for r in identity.collect()}
    assert names == {"A": "Alpha One", "B": "Beta Two", "C": "Gamma Three"}
    assert {r["nominal_id"] for r in nominals.collect()} == {
        r["nominal_id"] for r in identity.collect()
    }
    text = io.read_table(spark, ctx.warehouse, Tables.RECORDS).where("record_id = 'R1'").first()
    assert text["text"] == "running a county line\nto Shrewsbury"
    quarantine = io.read_table(spark, ctx.warehouse, Tables.QUARANTINE)
    assert sorted(r["reason"] for r in quarantine.collect()) == [
        "missing record_id",
        "record not found",
        "unknown source",
    ]


def test_missing_required_column_names_file_columns_and_present(
    spark: SparkSession, tmp_path: Path
) -> None:
    files = dict(FILES)
    files["crimes.csv"] = "record_id,recorded_at,area,text\nR1,2020-01-05,Walsall,x\n"
    folder = write_folder(tmp_path / "in", files)
    ctx = context(tmp_path)
    with pytest.raises(InputContractError) as caught:
        run_ingest(spark, folder, ctx)
    message = str(caught.value)
    assert "crimes.csv" in message
    assert "missing required columns ['offence_code']" in message
    assert "columns present: ['area', 'record_id', 'recorded_at', 'text']" in message
    assert not (ctx.warehouse / Tables.NOMINALS).exists()  # nothing written


def test_missing_nominals_file_stops_before_writing(spark: SparkSession, tmp_path: Path) -> None:
    files = {k: v for k, v in FILES.items() if k != "nominals.csv"}
    ctx = context(tmp_path)
    with pytest.raises(InputContractError, match="no nominals.csv or nominals.parquet"):
        run_ingest(spark, write_folder(tmp_path / "in", files), ctx)
    assert not ctx.warehouse.exists()


def test_parquet_input_reads_like_csv(spark: SparkSession, tmp_path: Path) -> None:
    csv_folder = write_folder(tmp_path / "csv", FILES)
    parquet_folder = tmp_path / "parquet"
    for name in FILES:
        table = name.removesuffix(".csv")
        frame = (
            spark.read.option("header", True).option("multiLine", True).csv(str(csv_folder / name))
        )
        frame.write.parquet(str(parquet_folder / f"{table}.parquet"))
    ctx = context(tmp_path)
    run_ingest(spark, parquet_folder, ctx)
    counts = {row["table"]: row["accepted"] for row in ctx.reports[0].counts["tables"]}
    assert counts == {"nominals": 3, "crimes": 2, "record_nominals": 3}
