"""A rescan killed part-way (SIGKILL, in a real process) and restarted ends as one never
interrupted: the remaining partitions only, no duplicates, the same matches."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.config import REPO_ROOT, load_config
from clnet_spark.pipeline import run_all
from clnet_spark.rescan import KILL_AFTER_ENV, run_rescan
from clnet_spark.run import RunContext
from clnet_spark.update import CatalogueChangedError, run_update, stored_catalogue_hashes

pytestmark = pytest.mark.slow

TEXTS = (
    "Intelligence that a county line runs from Walsall.",
    "Cocaine found; believed part of a countyline operation.",
    "Shed broken into; nothing taken.",
    "Runner seen with a COUNTYLINE phone.",
)
YEARS = (2019, 2020, 2021)
SOURCES = ("crimes", "ims")  # 2 sources x 3 years = 6 partitions


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def tiny_export(folder: Path) -> None:
    folder.mkdir(parents=True)
    links = []
    for source in SOURCES:
        rows = []
        for y, year in enumerate(YEARS):
            for t, text in enumerate(TEXTS):
                rid = f"{source[:2].upper()}{y}{t}"
                row = [rid, f"{year}-0{t + 1}-15", "Walsall", text]
                rows.append(row[:2] + ["092/00"] + row[2:] if source == "crimes" else row)
                links += [[source, rid, f"N{t}", "suspect"], [source, rid, f"N{t + 1}", "suspect"]]
        header = ["record_id", "recorded_at", "area", "text"]
        if source == "crimes":
            header = ["record_id", "recorded_at", "offence_code", "area", "text"]
        _write(folder / f"{source}.csv", header, rows)
    _write(folder / "record_nominals.csv", ["source", "record_id", "nominal_id", "role"], links)
    people = [[f"N{i}", "1990-01-01", "M", "Walsall", "false"] for i in range(len(TEXTS) + 1)]
    _write(
        folder / "nominals.csv",
        ["nominal_id", "birth_date", "sex", "home_area", "looked_after_child"],
        people,
    )


def changed_catalogue(folder: Path) -> Path:
    """The default catalogue with the run-together form COUNTYLINE added."""
    text = (REPO_ROOT / "conf" / "search_terms.yaml").read_text(encoding="utf-8")
    assert "  terms: [COUNTY LINE]\n" in text
    path = folder / "search_terms.yaml"
    path.write_text(
        text.replace("  terms: [COUNTY LINE]\n", "  terms: [COUNTY LINE, COUNTYLINE]\n")
    )
    return path


@pytest.fixture(scope="module")
def scene(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("rescan")
    tiny_export(root / "export")
    run_all(spark, root / "export", RunContext(root / "before", load_config()))
    catalogue = changed_catalogue(root)
    for copy in ("uninterrupted", "killed"):
        shutil.copytree(root / "before", root / copy)
    return root, catalogue


def test_killed_rescan_restarts_with_the_remaining_partitions(spark: SparkSession, scene) -> None:
    root, catalogue = scene
    overrides = (f"search.catalogue={catalogue}",)
    config = load_config(overrides=overrides)
    old_hash = stored_catalogue_hashes(spark, root / "before")

    reference = RunContext(root / "uninterrupted", config, kind="rescan")
    assert run_rescan(spark, reference, analyse=False) == {}

    env = {**os.environ, KILL_AFTER_ENV: "2", "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-c", "from clnet_spark.cli import main; main()"]
    options = ["--set", f"search.catalogue={catalogue}", "--set", "spark.master=local[1]"]
    killed = subprocess.run(
        [*command, *options, "rescan", "--warehouse", str(root / "killed")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    progress = io.read_table(spark, root / "killed", Tables.RESCAN_PROGRESS)
    assert progress.count() == 2
    killed_run = {row[0] for row in progress.select("run_id").distinct().collect()}
    # Half rescanned: old and new hashes side by side, so an update is refused meanwhile.
    assert stored_catalogue_hashes(spark, root / "killed") == old_hash | {catalogue_hash_of(config)}
    with pytest.raises(CatalogueChangedError, match="clnet rescan"):
        run_update(spark, [root / "export"], RunContext(root / "killed", config, kind="update"))

    restart = RunContext(root / "killed", config, kind="rescan")
    exports = run_rescan(spark, restart)
    assert exports, "the restarted rescan recomputes the analysis and exports it"
    search = next(r for r in restart.reports if r.stage == "search")
    assert search.counts["partitions"] == 6
    assert search.counts["partitions finished before"] == 2
    assert search.counts["partitions searched"] == 4

    progress = io.read_table(spark, root / "killed", Tables.RESCAN_PROGRESS)
    keys = progress.groupBy("catalogue_hash", "source", "year").count()
    assert keys.count() == 6 and keys.where(F.col("count") > 1).isEmpty()
    by_run = dict(progress.groupBy("run_id").count().collect())
    assert by_run == {next(iter(killed_run)): 2, restart.run_id: 4}

    actual_df = io.read_table(spark, root / "killed", Tables.RECORD_MATCHES)
    expected_df = io.read_table(spark, root / "uninterrupted", Tables.RECORD_MATCHES)
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)
    # The new term matters: every "countyline" record now matches COUNTY_LINE.
    county = actual_df.where(F.array_contains("matched_groups", "COUNTY_LINE")).count()
    assert county == 3 * len(SOURCES) * len(YEARS)
    assert stored_catalogue_hashes(spark, root / "killed") == {catalogue_hash_of(config)}
    edges = io.last_commit_metadata(spark, root / "killed", Tables.CL_EDGES)
    assert edges["run_id"] == restart.run_id and edges["kind"] == "rescan"

    again = RunContext(root / "killed", config, kind="rescan")
    assert run_rescan(spark, again) is None  # nothing left to do


def catalogue_hash_of(config) -> str:
    from clnet_spark.search.catalogue import load_catalogue

    return load_catalogue(config.catalogue_path).hash
