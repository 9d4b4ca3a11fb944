"""When a rerun may skip the stages an interrupted run completed (no Spark needed)."""

from __future__ import annotations

import os
from pathlib import Path

from clnet_spark.config import load_config
from clnet_spark.recovery import _resumable, fingerprint, latest_version_on_disk
from clnet_spark.run import RunContext

STAGES = ("ingest", "search", "network", "report")


def _table(warehouse: Path, name: str, versions: int) -> None:
    log = warehouse / name / "_delta_log"
    log.mkdir(parents=True)
    for v in range(versions):
        (log / f"{v:020d}.json").write_text("{}")
    (log / "00000000000000000000.checkpoint.parquet").write_text("")


def _journal(current: str, *stages: tuple[str, dict[str, int]]) -> dict:
    return {
        "run_id": "killed",
        "fingerprint": current,
        "stages": [
            {"stage": s, "seconds": 1.0, "tables": tables, "counts": {}} for s, tables in stages
        ],
    }


def test_latest_version_is_read_from_the_log_file_names(tmp_path: Path) -> None:
    _table(tmp_path, "records", 3)
    assert latest_version_on_disk(tmp_path / "records") == 2
    assert latest_version_on_disk(tmp_path / "absent") is None


def test_completed_stages_are_restored_when_nothing_changed(tmp_path: Path) -> None:
    _table(tmp_path, "records", 1)
    _table(tmp_path, "record_matches", 4)
    journal = _journal("fp", ("ingest", {"records": 0}), ("search", {"record_matches": 3}))
    restored = _resumable(journal, "fp", STAGES, tmp_path)
    assert [(r.stage, r.tables) for r in restored] == [
        ("ingest", {"records": 0}),
        ("search", {"record_matches": 3}),
    ]


def test_a_table_two_stages_write_is_checked_at_the_last_write(tmp_path: Path) -> None:
    _table(tmp_path, "records", 1)
    _table(tmp_path, "cl_nominals", 2)  # the network stage wrote version 0, groups version 1
    journal = _journal(
        "fp",
        ("ingest", {"records": 0}),
        ("network", {"cl_nominals": 0}),
        ("groups", {"cl_nominals": 1}),
    )
    restored = _resumable(journal, "fp", ("ingest", "network", "groups", "report"), tmp_path)
    assert [r.stage for r in restored] == ["ingest", "network", "groups"]


def test_the_stage_whose_output_moved_on_runs_again_with_every_later_one(tmp_path: Path) -> None:
    stages = ("ingest", "search", "network", "groups", "report")
    _table(tmp_path, "records", 1)
    _table(tmp_path, "record_matches", 1)
    _table(tmp_path, "cl_nominals", 2)  # a killed groups stage wrote version 1 after network
    journal = _journal(
        "fp",
        ("ingest", {"records": 0}),
        ("search", {"record_matches": 0}),
        ("network", {"cl_nominals": 0}),
    )
    assert [r.stage for r in _resumable(journal, "fp", stages, tmp_path)] == ["ingest", "search"]


def test_every_stage_runs_when_anything_differs(tmp_path: Path) -> None:
    _table(tmp_path, "records", 2)  # written again after the killed run: version 1, not 0
    journal = _journal("fp", ("ingest", {"records": 0}))
    assert _resumable(journal, "fp", STAGES, tmp_path) == []  # a table moved on
    _table(tmp_path, "nominals", 1)
    journal = _journal("fp", ("ingest", {"nominals": 0}))
    assert len(_resumable(journal, "fp", STAGES, tmp_path)) == 1
    assert _resumable(journal, "other inputs", STAGES, tmp_path) == []
    assert _resumable(None, "fp", STAGES, tmp_path) == []  # no earlier run
    out_of_order = _journal("fp", ("search", {}))
    assert _resumable(out_of_order, "fp", STAGES, tmp_path) == []
    finished = _journal("fp", *((s, {}) for s in STAGES))
    assert _resumable(finished, "fp", STAGES, tmp_path) == []  # a complete run: run again


def test_the_fingerprint_follows_inputs_settings_and_key(tmp_path: Path, monkeypatch) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "crimes.csv").write_text("a\n")
    monkeypatch.setenv("CLNET_PSEUDONYM_KEY", "k1")
    ctx = RunContext(tmp_path / "wh", load_config())
    first = fingerprint(ctx, inputs, "cat")
    assert fingerprint(ctx, inputs, "cat") == first
    assert fingerprint(ctx, inputs, "other catalogue") != first
    other = RunContext(tmp_path / "wh", load_config(overrides=("network.threshold=0.6",)))
    assert fingerprint(other, inputs, "cat") != first
    monkeypatch.setenv("CLNET_PSEUDONYM_KEY", "k2")
    assert fingerprint(ctx, inputs, "cat") != first
    monkeypatch.setenv("CLNET_PSEUDONYM_KEY", "k1")
    (inputs / "crimes.csv").write_text("a\nb\n")  # same name, new content
    os.utime(inputs / "crimes.csv", ns=(1, 1))
    assert fingerprint(ctx, inputs, "cat") != first
