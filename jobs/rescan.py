"""spark-submit entry point: `spark-submit jobs/rescan.py ARGS` == `clnet rescan ARGS`."""

import sys

from clnet_spark.cli import main

if __name__ == "__main__":
    main(["rescan", *sys.argv[1:]])
