"""Stage 3: the weighted network of nominals (METHOD section 3).

:mod:`~clnet_spark.network.build` holds the pure transforms (evidence, provisional edges,
deepening, pruning), :mod:`~clnet_spark.network.messages` the message passing that propagates
weights, :mod:`~clnet_spark.network.stage` the stage that reads and writes the tables.
"""
