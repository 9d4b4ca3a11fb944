"""Shared by the fault tests: one tiny demo corpus, one uninterrupted baseline run, and the
means to run the CLI in a subprocess and compare a warehouse with the baseline."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from chispa import assert_approx_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import MapType

from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.config import load_config
from clnet_spark.demo import write_demo_corpus
from clnet_spark.pipeline import run_all
from clnet_spark.recovery import latest_version_on_disk
from clnet_spark.run import RunContext

REPO = Path(__file__).resolve().parents[2]
SCALE, SEED = 0.01, 5
# The subprocess runs use the test session's Spark settings (2 cores, 2 shuffle partitions).
CLI = [
    sys.executable,
    "-c",
    "from clnet_spark.cli import main; main()",
    "--set",
    "spark.master=local[2]",
    "--set",
    "spark.shuffle_partitions=2",
    "--set",
    "spark.driver_memory=1g",
]
NOT_COMPARED = {Tables.RUN_LOG}
RUN_DEPENDENT_COLUMNS = ("run_id",)  # quarantine rows name the run that quarantined them


@dataclass(frozen=True)
class Baseline:
    input_dir: Path
    warehouse: Path
    versions: dict[tuple[str, str], int]
    """(table, stage that wrote it) -> the baseline's version of that write."""


def delta_tables(warehouse: Path) -> dict[str, int]:
    """Every Delta table of a warehouse -> its latest committed version (from the log)."""
    found: dict[str, int] = {}
    for folder in sorted(warehouse.iterdir()):
        version = latest_version_on_disk(folder)
        if (folder / "_delta_log").is_dir() and version is not None:
            found[folder.name] = version
    return found


def commit_stage(table: Path, version: int) -> str:
    """The stage named in the user metadata of one Delta commit."""
    for line in (table / "_delta_log" / f"{version:020d}.json").read_text().splitlines():
        info = json.loads(line).get("commitInfo")
        if info is not None:
            pairs = dict(p.split("=", 1) for p in info.get("userMetadata", "").split(";") if p)
            return pairs.get("stage", "")
    return ""


@pytest.fixture(scope="session")
def kit() -> ModuleType:
    """The helpers of this file, for the test modules (conftest is not importable)."""
    return sys.modules[__name__]


@pytest.fixture(scope="session")
def baseline(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    """The demo corpus and one uninterrupted run on it (in this process)."""
    root = tmp_path_factory.mktemp("faults-baseline")
    write_demo_corpus(root / "input", scale=SCALE, seed=SEED)
    ctx = RunContext(root / "warehouse", load_config())
    run_all(spark, root / "input", ctx)
    versions: dict[tuple[str, str], int] = {}
    for table, latest in delta_tables(ctx.warehouse).items():
        for version in range(latest + 1):
            versions[(table, commit_stage(ctx.warehouse / table, version))] = version
    return Baseline(root / "input", ctx.warehouse, versions)


def run_cli(
    args: list[str], log_to: Path, env: dict[str, str] | None = None, wait: bool = True
) -> subprocess.Popen:
    """Start ``clnet ARGS`` in its own process group (so a test kill takes its JVM too)."""
    out = log_to.open("w")
    proc = subprocess.Popen(
        [*CLI, *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "400", **(env or {})},
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out.close()
    if wait:
        finish(proc)
    return proc


def finish(proc: subprocess.Popen, timeout: float = 1500) -> int:
    """Wait for a CLI process; then make sure nothing of its process group is left."""
    try:
        return proc.wait(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group this test started, by its id


def _comparable(frame: DataFrame, groups: dict[str, str]) -> DataFrame:
    """Maps as sorted entry arrays (sortable), run ids dropped, group ids translated."""
    frame = frame.drop(*[c for c in RUN_DEPENDENT_COLUMNS if c in frame.columns])
    for field in frame.schema.fields:
        if isinstance(field.dataType, MapType):
            frame = frame.withColumn(field.name, F.array_sort(F.map_entries(field.name)))
    if groups:
        mapping = F.create_map(*[F.lit(x) for pair in groups.items() for x in pair])
        for name in ("group_id", "scope"):
            if name in frame.columns:
                frame = frame.withColumn(name, F.coalesce(mapping[F.col(name)], F.col(name)))
    return frame


def group_translation(spark: SparkSession, warehouse: Path, base: Path) -> dict[str, str]:
    """This warehouse's group ids -> the baseline's, matched by membership."""
    if not (warehouse / Tables.CL_GROUPS).is_dir():
        return {}

    def by_members(where: Path) -> dict[frozenset[str], str]:
        rows = io.read_table(spark, where, Tables.CL_GROUPS).select("group_id", "members")
        return {frozenset(r["members"]): r["group_id"] for r in rows.collect()}

    ours, theirs = by_members(warehouse), by_members(base)
    assert set(ours) == set(theirs), "the groups' memberships differ from the baseline's"
    return {ours[m]: theirs[m] for m in ours if ours[m] != theirs[m]}


def assert_table_equal(
    spark: SparkSession,
    name: str,
    actual: DataFrame,
    expected: DataFrame,
    groups: dict[str, str],
) -> None:
    """Same rows in any order (floats to 1e-9); group ids compared through membership."""
    assert sorted(actual.columns) == sorted(expected.columns), name
    left = _comparable(actual, groups)
    right = _comparable(expected, {})
    assert_approx_df_equality(
        left.select(*sorted(left.columns)),
        right.select(*sorted(right.columns)),
        1e-9,
        ignore_nullable=True,
        allow_nan_equality=True,
        ignore_row_order=True,
    )


@pytest.fixture(scope="session")
def compare_with_baseline(spark: SparkSession, baseline: Baseline) -> Callable[[Path], None]:
    """Assert every table and every export of a completed warehouse equals the baseline's."""

    def compare(warehouse: Path) -> None:
        ours, theirs = delta_tables(warehouse), delta_tables(baseline.warehouse)
        assert set(ours) == set(theirs)
        groups = group_translation(spark, warehouse, baseline.warehouse)
        for name in sorted(set(theirs) - NOT_COMPARED):
            assert_table_equal(
                spark,
                name,
                io.read_table(spark, warehouse, name),
                io.read_table(spark, baseline.warehouse, name),
                groups,
            )
        assert_same_exports(warehouse / "exports", baseline.warehouse / "exports", groups)

    return compare


def _csv_lines(path: Path) -> list[str]:
    """The rows of an exported CSV as text, without the run-dependent columns (run ids)."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return []
    keep = [i for i, name in enumerate(rows[0]) if name not in RUN_DEPENDENT_COLUMNS]
    return [",".join(row[i] for i in keep if i < len(row)) for row in rows]


def assert_same_exports(ours: Path, theirs: Path, groups: dict[str, str]) -> None:
    """The same CSV files, each with the same header and the same lines in any order."""
    assert ours.is_symlink(), "exports are published as a link to a complete version"
    assert sorted(p.name for p in ours.iterdir()) == sorted(p.name for p in theirs.iterdir())
    for theirs_file in theirs.iterdir():
        mine = _csv_lines(ours / theirs_file.name)
        expected = _csv_lines(theirs_file)
        assert mine[:1] == expected[:1], theirs_file.name
        if groups:  # ids differ: the tables were compared through membership already
            assert len(mine) == len(expected), theirs_file.name
        else:
            assert sorted(mine) == sorted(expected), theirs_file.name
