"""spark-submit entry point: `spark-submit jobs/report.py ARGS` == `clnet report ARGS`."""

import sys

from clnet_spark.cli import main

if __name__ == "__main__":
    main(["report", *sys.argv[1:]])
