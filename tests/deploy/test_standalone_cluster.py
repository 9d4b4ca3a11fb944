"""The whole pipeline on a real Spark standalone cluster equals a local-mode run.

A master and two workers (1 core, 1 GB each) run on 127.0.0.1 (``conftest.py``);
``deploy/submit.sh --master spark://127.0.0.1:PORT jobs/run.py`` runs every stage on a demo
corpus (scale 0.02) with 4 shuffle partitions; the shared local-mode run of the same corpus
(``demo_outputs``: local[2], 2 partitions) is the reference. Every output table must be
equal, row order aside; groups are matched by their members, so that a renumbering would not
hide or fake a difference.

The executors here use this test's interpreter and checkout (``PYSPARK_PYTHON``,
``spark.executorEnv.PYTHONPATH``), as on a cluster whose nodes share one environment;
``test_packed_env.py`` tests the packed environment on the same cluster.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from chispa import assert_approx_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.config import load_config

if TYPE_CHECKING:
    from tests.deploy.conftest import Cluster

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]

# Output tables and their columns that hold a CL group id.
GROUP_COLUMNS = {
    Tables.CL_NOMINALS: ["group_id"],
    Tables.CL_EDGES: [],
    Tables.CL_GROUPS: ["group_id"],
    Tables.SOC_OVERLAP: ["group_id"],
    Tables.RECORD_MATCHES: [],
    Tables.SEARCH_GROUP_REPORT: [],
    Tables.INGEST_COUNTS: [],
    Tables.QUARANTINE: [],
    Tables.HARM_CRIMES: [],
    Tables.NOMINAL_HARM: [],
    Tables.GROUP_HARM: ["group_id"],
    Tables.SAFEGUARDING_FLAGS: ["group_id"],
    Tables.SAFEGUARDING_LIST: ["group_id"],
    Tables.MISSING_PERSONS: ["group_id"],
    Tables.DISPROPORTIONALITY: [],
    Tables.CENTRALITY: ["group_id"],
    Tables.GROUP_PRIORITY: ["group_id"],
    Tables.DISMANTLING: ["scope"],  # "network" or a group id
}


@pytest.fixture(scope="module")
def corpus(demo_outputs: Path) -> Path:
    """The corpus of the shared demo run (scale 0.02, seed 7)."""
    return demo_outputs.parent / "input"


@pytest.fixture(scope="module")
def cluster_warehouse(
    standalone_cluster: Cluster,
    corpus: Path,
    submit_env: Callable[..., dict[str, str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    warehouse = tmp_path_factory.mktemp("cluster-run") / "warehouse"
    started = time.monotonic()
    result = subprocess.run(
        [
            *("bash", str(REPO / "deploy" / "submit.sh")),
            *("--master", standalone_cluster.master_url, "--no-env"),
            *("--conf", f"spark.executorEnv.PYTHONPATH={REPO}"),
            *("--conf", "spark.driver.memory=1g", "--conf", "spark.executor.memory=1g"),
            *("--conf", "spark.sql.shuffle.partitions=4", "--conf", "spark.ui.enabled=false"),
            "jobs/run.py",
            *("--input", str(corpus), "--warehouse", str(warehouse)),
        ],
        env=submit_env(PYTHONPATH=str(REPO), PYSPARK_PYTHON=sys.executable),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    standalone_cluster.timings["pipeline on the cluster"] = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-4000:] + standalone_cluster.log_tail()
    return warehouse


@pytest.fixture(scope="module")
def local_warehouse(demo_outputs: Path) -> Path:
    """The shared demo run: the same corpus in the local[2] test session (read only)."""
    return demo_outputs


def group_memberships(spark: SparkSession, warehouse: Path) -> dict[frozenset[str], str]:
    rows = io.read_table(spark, warehouse, Tables.CL_GROUPS).select("group_id", "members")
    return {frozenset(r["members"]): r["group_id"] for r in rows.collect()}


def test_pipeline_ran_on_the_cluster(standalone_cluster: Cluster, cluster_warehouse: Path) -> None:
    apps = standalone_cluster.state()["completedapps"]
    runs = [app for app in apps if app["name"] == load_config().spark.app_name]
    assert len(runs) == 1, [app["name"] for app in apps]
    assert runs[0]["cores"] == 2  # one executor on each worker


def test_cluster_groups_have_the_local_members(
    spark: SparkSession, cluster_warehouse: Path, local_warehouse: Path
) -> None:
    local = group_memberships(spark, local_warehouse)
    cluster = group_memberships(spark, cluster_warehouse)
    assert len(local) >= 2
    assert set(cluster) == set(local)


def comparable(df: DataFrame, table: str) -> DataFrame:
    """``df`` without what differs between any two runs, and without restricted text.

    A quarantined row keeps its run id and its raw input (restricted: never printed, so a
    failing comparison shows its hash).
    """
    if table != Tables.QUARANTINE:
        return df
    kept = [c for c in df.columns if c not in {"run_id", "raw"}]
    return df.select(*kept, F.sha2(F.col("raw"), 256).alias("raw_sha256"))


def in_local_group_ids(df: DataFrame, columns: list[str], renumber: dict[str, str]) -> DataFrame:
    """``df`` with each cluster group id replaced by the local id of the same members."""
    return df.replace(renumber, subset=columns) if columns and renumber else df


@pytest.mark.parametrize("table", sorted(GROUP_COLUMNS))
def test_cluster_table_equals_local_mode(
    spark: SparkSession, cluster_warehouse: Path, local_warehouse: Path, table: str
) -> None:
    local = group_memberships(spark, local_warehouse)
    cluster = group_memberships(spark, cluster_warehouse)
    renumber = {cluster[members]: local[members] for members in cluster}

    expected_df = comparable(io.read_table(spark, local_warehouse, table), table)
    actual_df = in_local_group_ids(
        comparable(io.read_table(spark, cluster_warehouse, table), table),
        GROUP_COLUMNS[table],
        renumber,
    )
    assert expected_df.count() > 0 or table == Tables.QUARANTINE, table
    assert_approx_df_equality(
        actual_df,
        expected_df,
        precision=1e-9,
        ignore_row_order=True,
        ignore_column_order=True,
        ignore_nullable=True,
    )
