"""Every run records who ran it, where, with which inputs, and what it wrote."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.config import load_config
from clnet_spark.pipeline import input_digest, warehouse_versions
from clnet_spark.run import RunContext, current_user
from clnet_spark.search.catalogue import load_catalogue

from .conftest import History

pytestmark = pytest.mark.slow


def test_the_user_comes_from_clnet_user_when_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CLNET_USER", "nightly-scheduler")
    assert RunContext(tmp_path, load_config()).user == "nightly-scheduler"
    monkeypatch.delenv("CLNET_USER")
    assert current_user() != "nightly-scheduler" and current_user()


def _files(folder: Path) -> list[dict[str, object]]:
    return [
        {
            "folder": str(folder),
            "file": path.name,
            "bytes": path.stat().st_size,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
        for path in sorted(folder.glob("*.csv"))
    ]


def test_each_run_has_one_row_with_its_inputs_outputs_and_outcome(
    spark: SparkSession, history: History
) -> None:
    rows = {
        row["run_id"]: row
        for row in io.read_table(spark, history.update.warehouse, Tables.RUN_LOG).collect()
    }
    assert set(rows) == {history.baseline.run_id, history.update.run_id}
    config = load_config()
    for ctx, folders in (
        (history.baseline, [history.split.baseline]),
        (history.update, list(history.split.batches)),
    ):
        row = rows[ctx.run_id]
        assert (row["kind"], row["outcome"]) == (ctx.kind, "succeeded")
        assert row["user"] == current_user() and row["host"] == socket.gethostname()
        assert row["started_at"] <= row["ended_at"]
        assert row["catalogue_hash"] == load_catalogue(config.catalogue_path).hash
        assert row["config_hash"] == config.config_hash()
        assert row["input"] == ";".join(str(f) for f in folders)
        expected_files = [entry for folder in folders for entry in _files(folder)]
        assert json.loads(row["input_files"]) == expected_files
        listing = json.dumps(expected_files, sort_keys=True).encode()
        assert row["input_digest"] == hashlib.sha256(listing).hexdigest()
        written = {name: v for report in ctx.reports for name, v in report.tables.items()}
        assert json.loads(row["tables"]) == written
        counts = json.loads(row["counts"])
        assert counts["network"]["kept nominals"] > 0
        assert row["reference_date"].isoformat() == counts["harm"]["harm reference date"]

    # The analysis read the tables as the update's last batch left them.
    versions = json.loads(rows[history.update.run_id]["input_versions"])
    last_ingest = next(r for r in history.update.reports if r.stage == "ingest 3")
    assert versions[Tables.RECORDS] == last_ingest.tables[Tables.RECORDS]
    last_search = next(r for r in history.update.reports if r.stage == "search 3")
    assert versions[Tables.RECORD_MATCHES] == last_search.tables[Tables.RECORD_MATCHES]
    assert (
        versions[Tables.CL_GROUPS]
        == json.loads(rows[history.baseline.run_id]["tables"])[Tables.CL_GROUPS]
    )


def test_every_commit_carries_its_run_id_kind_and_user(
    spark: SparkSession, history: History
) -> None:
    kinds = {history.baseline.run_id: "full", history.update.run_id: "update"}
    seen: set[str] = set()
    for name in warehouse_versions(history.update.warehouse):
        path = str(io.table_path(history.update.warehouse, name))
        for commit in DeltaTable.forPath(spark, path).history().collect():
            meta = io.parse_metadata(commit["userMetadata"])
            where = f"{name} v{commit['version']} ({commit['operation']})"
            assert meta.get("run_id") in kinds, where
            assert meta["kind"] == kinds[meta["run_id"]], where
            assert meta["user"] == current_user(), where
            seen.add(meta["run_id"])
    assert seen == set(kinds)


def test_the_input_digest_changes_with_any_byte_and_skips_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "crimes.csv").write_text("record_id\nC1\n")
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / "ground_truth").mkdir()
    (tmp_path / "ground_truth" / "members.csv").write_text("x\n")
    digest, files = input_digest(tmp_path)
    assert files == [
        {
            "folder": str(tmp_path),
            "file": "crimes.csv",
            "bytes": 13,
            "sha256": hashlib.sha256(b"record_id\nC1\n").hexdigest(),
        }
    ]
    (tmp_path / "crimes.csv").write_text("record_id\nC2\n")
    assert input_digest(tmp_path)[0] != digest
    assert input_digest(None) == (None, [])


def test_commit_metadata_round_trips() -> None:
    meta = {"run_id": "abc123", "stage": "ingest", "kind": "update", "user": "svc-clnet"}
    assert io.parse_metadata(io.metadata_text(meta)) == meta
    assert io.parse_metadata(None) == {}
