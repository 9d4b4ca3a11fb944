"""spark-submit app for ``test_submit_settings.py``: the settings a clnet session ends with.

Usage: ``session_probe.py OUTPUT_JSON``; writes the master, the shuffle partitions, the jars
and the Delta extension of the session ``clnet_spark.session.build_session`` returns.
"""

from __future__ import annotations

import json
import sys

from clnet_spark.config import load_config
from clnet_spark.session import build_session


def main(out: str) -> None:
    spark = build_session(load_config().spark)
    conf = spark.sparkContext.getConf()
    settings = {
        key: conf.get(key, None)
        for key in ("spark.master", "spark.sql.shuffle.partitions", "spark.jars")
    }
    settings["spark.sql.extensions"] = spark.conf.get("spark.sql.extensions")
    with open(out, "w") as f:
        json.dump(settings, f)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])
