"""spark-submit entry point: `spark-submit jobs/run.py ARGS` == `clnet run ARGS`."""

import sys

from clnet_spark.cli import main

if __name__ == "__main__":
    main(["run", *sys.argv[1:]])
