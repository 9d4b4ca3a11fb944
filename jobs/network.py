"""spark-submit entry point: `spark-submit jobs/network.py ARGS` == `clnet network ARGS`."""

import sys

from clnet_spark.cli import main

if __name__ == "__main__":
    main(["network", *sys.argv[1:]])
