"""spark-submit entry point: `spark-submit jobs/groups.py ARGS` == `clnet groups ARGS`."""

import sys

from clnet_spark.cli import main

if __name__ == "__main__":
    main(["groups", *sys.argv[1:]])
