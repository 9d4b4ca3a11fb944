"""Stage 4: groups of the kept network and their overlap with the SOC groups (METHOD 4-5).

Driver-side code on the collected grouping graph: :mod:`~clnet_spark.groups.walktrap` (Walktrap
groups and their kinds), :mod:`~clnet_spark.groups.stable_ids` (identifiers kept across runs),
:mod:`~clnet_spark.groups.soc` (overlap with the SOC groups); :mod:`~clnet_spark.groups.stage`
reads and writes the tables.
"""
