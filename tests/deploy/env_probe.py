"""spark-submit app for ``test_packed_env.py``: what Python do the executors run?

Each task reports its working folder (that of its executor), interpreter, prefix, where
``clnet_spark`` came from, and the installed version of every runtime dependency of the
``clnet`` distribution after importing its top-level modules. Usage: ``env_probe.py OUTPUT_JSON``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator

import pyarrow as pa
from pyspark.sql import SparkSession

TASKS = 4


def probe(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    import importlib
    import importlib.metadata as metadata
    import os
    import re

    from pyspark import TaskContext

    import clnet_spark

    for _ in batches:
        pass
    modules = metadata.packages_distributions()
    versions = {}
    for requirement in metadata.requires("clnet") or []:
        if "extra ==" in requirement:
            continue
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]
        wanted = name.lower().replace("_", "-")
        for module, dists in modules.items():
            owners = {d.lower().replace("_", "-") for d in dists}
            if wanted in owners and not module.startswith("_"):
                importlib.import_module(module)
        versions[name] = metadata.version(name)
    time.sleep(2)  # hold the core, so the tasks spread over both executors
    report = {
        # A Python worker runs in its executor's folder: <work dir>/<app id>/<executor id>.
        "cwd": os.getcwd(),
        "partition": TaskContext.get().partitionId(),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "clnet_spark": clnet_spark.__file__,
        "versions": versions,
    }
    yield pa.RecordBatch.from_pydict({"report": [json.dumps(report)]})


def main(out: str) -> None:
    spark = SparkSession.builder.appName("clnet-env-probe").getOrCreate()
    reports = (
        spark.range(0, TASKS, numPartitions=TASKS).mapInArrow(probe, "report string").collect()
    )
    with open(out, "w") as f:
        json.dump([json.loads(r["report"]) for r in reports], f)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])
