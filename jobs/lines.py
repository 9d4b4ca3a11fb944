"""spark-submit entry point: `spark-submit jobs/lines.py ARGS` == `clnet lines ARGS`."""

import sys

from clnet_spark.cli import main

if __name__ == "__main__":
    main(["lines", *sys.argv[1:]])
