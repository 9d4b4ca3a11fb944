"""Stage 4: groups in the pruned network (Walktrap), stable group ids, SOC overlap.

Driver-side code on the collected pruned graph: :mod:`~clnet_spark.groups.walktrap`,
:mod:`~clnet_spark.groups.stable_ids`, :mod:`~clnet_spark.groups.soc`; the stage that reads and
writes the tables is :mod:`~clnet_spark.groups.stage`.
"""
