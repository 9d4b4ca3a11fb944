"""The one SparkSession factory of clnet.

Local mode by default (``conf/clnet.yaml``: ``spark.master``), with the Delta extension and
catalog, the explicit jar list from ``deploy/jars.txt``, a checkpoint directory under the
warehouse and ``PYSPARK_PYTHON`` pinned to the running interpreter. Under ``spark-submit``
every setting the submitter gave (master, jars, ``--conf``) wins: this module only fills in
what is missing.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

from clnet_spark.config import REPO_ROOT, SparkConfig
from clnet_spark.errors import ConfigError

log = logging.getLogger(__name__)

JAR_DIR = REPO_ROOT / "deploy" / "jars" / "lib"
JAR_LIST = REPO_ROOT / "deploy" / "jars.txt"


def local_jars() -> list[Path]:
    """The JVM jars resolved by ``deploy/resolve_jars.sh``, in the order of ``jars.txt``.

    Raises
    ------
    ConfigError
        The list or one of its jars is missing (run ``make jars`` once).
    """
    if not JAR_LIST.exists():
        raise ConfigError(f"{JAR_LIST} is missing: run `make jars` (resolves Delta from Maven)")
    names = [line.strip() for line in JAR_LIST.read_text().splitlines() if line.strip()]
    jars = [JAR_DIR / name for name in names]
    missing = [str(j) for j in jars if not j.exists()]
    if missing:
        raise ConfigError(f"jars listed in {JAR_LIST} are missing: {missing}; run `make jars`")
    return jars


def _submitted_conf() -> SparkConf:
    """The settings spark-submit was given (master, jars, ``--conf``); empty outside it.

    A ``SparkConf`` holds the JVM's ``spark.*`` properties only once Python is connected to
    the JVM. Under spark-submit (``PYSPARK_GATEWAY_PORT`` set) that JVM is already running
    with the submitter's settings, so connect first; without this the session's defaults,
    ``spark.master`` among them, would override them. Outside spark-submit no JVM is started
    here: the builder starts it with the defaults, as driver memory is fixed at launch.
    """
    if "PYSPARK_GATEWAY_PORT" in os.environ:
        SparkContext._ensure_initialized()
    return SparkConf()


def build_session(settings: SparkConfig, checkpoint_dir: Path | None = None) -> SparkSession:
    """Return the active SparkSession, or create one from ``settings``.

    Parameters
    ----------
    settings
        The ``spark`` section of the configuration.
    checkpoint_dir
        Where iterative stages checkpoint; defaults to ``<tmp>/clnet-checkpoints``.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    active = SparkSession.getActiveSession()
    if active is not None:
        return active

    submitted = _submitted_conf()
    builder = SparkSession.builder.appName(settings.app_name)
    defaults = {
        "spark.master": settings.master,
        "spark.jars": ",".join(str(j) for j in local_jars()),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.driver.memory": settings.driver_memory,
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.adaptive.enabled": "true",
        "spark.databricks.delta.snapshotPartitions": "2",
        # Delta lists a table's folders (VACUUM, snapshots) with this many tasks; Spark's
        # default of 10,000 made each VACUUM of a small table take 30-90 s instead of 4.
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": str(
            max(2, settings.shuffle_partitions)
        ),
        **settings.extra,
    }
    for key, value in defaults.items():
        if not submitted.contains(key):
            builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    checkpoints = checkpoint_dir or Path(os.environ.get("TMPDIR", "/tmp")) / "clnet-checkpoints"
    spark.sparkContext.setCheckpointDir(str(checkpoints))
    log.info("spark %s session up: master=%s", spark.version, spark.sparkContext.master)
    return spark
