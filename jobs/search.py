"""spark-submit entry point: `spark-submit jobs/search.py ARGS` == `clnet search ARGS`."""

import sys

from clnet_spark.cli import main

if __name__ == "__main__":
    main(["search", *sys.argv[1:]])
