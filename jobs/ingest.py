"""spark-submit entry point: `spark-submit jobs/ingest.py ARGS` == `clnet ingest ARGS`."""

import sys

from clnet_spark.cli import main

if __name__ == "__main__":
    main(["ingest", *sys.argv[1:]])
