"""Shared fixtures: one SparkSession for the whole test run, and paths to ../shared data."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from clnet_spark.config import SparkConfig
from clnet_spark.session import build_session

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
TEST_PSEUDONYM_KEY = "clnet-test-key-not-secret-0123456789"
"""The fixed pseudonym key of the tests (env, inherited by subprocesses and Spark workers)."""
os.environ["CLNET_PSEUDONYM_KEY"] = TEST_PSEUDONYM_KEY


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    settings = SparkConfig(
        master="local[2]",
        app_name="clnet-tests",
        shuffle_partitions=2,
        driver_memory="3g",
        extra={
            "spark.ui.enabled": "false",
            "spark.default.parallelism": "2",
            # A whole test run is one long-lived session: keep its status history short and
            # let the context cleaner free unreferenced checkpoints and shuffles often.
            "spark.sql.ui.retainedExecutions": "20",
            "spark.ui.retainedJobs": "50",
            "spark.ui.retainedStages": "50",
            "spark.ui.retainedTasks": "2000",
            "spark.cleaner.periodicGC.interval": "2min",
        },
    )
    session = build_session(settings, checkpoint_dir=tmp_path_factory.mktemp("checkpoints"))
    yield session
    session.stop()


@pytest.fixture(autouse=True, scope="module")
def _release_spark_memory() -> Iterator[None]:
    """After each module: drop cached frames and Delta's table snapshots, then collect.

    The whole run shares one session; without this, cached frames, Delta's snapshot cache of
    every table a module wrote and the local checkpoints of earlier modules pile up in the
    driver and starve later modules' tasks of memory.
    """
    yield
    session = SparkSession.getActiveSession()
    if session is not None:
        session.catalog.clearCache()
        session.sparkContext._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()
        gc.collect()  # Python's references to JVM frames go first, then the JVM's garbage
        session.sparkContext._jvm.System.gc()  # the context cleaner frees what is unreferenced


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the checkout (reference data; never copied into the repo)."""
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: tests read reference data from ../shared")
    return SHARED


@pytest.fixture(scope="session")
def demo_outputs(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Warehouse of one pipeline run on a tiny demo corpus (scale 0.02, seed 7), made once.

    Tests that change a table copy the warehouse first; the dashboard tests add the restricted
    ``nominal_identity`` table when the pipeline writes none.
    """
    from clnet_spark.config import load_config
    from clnet_spark.demo import write_demo_corpus
    from clnet_spark.pipeline import run_all
    from clnet_spark.run import RunContext

    root = tmp_path_factory.mktemp("demo_outputs")
    write_demo_corpus(root / "input", scale=0.02, seed=7)
    run_all(spark, root / "input", RunContext(root / "warehouse", load_config()))
    return root / "warehouse"
