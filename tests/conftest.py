"""Shared fixtures: one SparkSession for the whole test run, and paths to ../shared data."""

from __future__ import annotations

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
        driver_memory="2g",
        extra={"spark.ui.enabled": "false", "spark.default.parallelism": "2"},
    )
    session = build_session(settings, checkpoint_dir=tmp_path_factory.mktemp("checkpoints"))
    yield session
    session.stop()


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
