"""spark-submit entry point: `spark-submit jobs/update.py ARGS` == `clnet update ARGS`."""

import sys

from clnet_spark.cli import main

if __name__ == "__main__":
    main(["update", *sys.argv[1:]])
