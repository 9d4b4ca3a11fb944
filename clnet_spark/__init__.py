"""clnet: county-lines network analysis of police records on Apache Spark.

The stages, in the order ``clnet run`` executes them, each a module of this package and a
thin entry point under ``jobs/``:

1. :mod:`clnet_spark.ingest` -- source exports to Delta bronze tables plus a quarantine;
2. :mod:`clnet_spark.search` -- weighted term search over every record's free text;
3. :mod:`clnet_spark.network` -- provisional network, deepening, propagation, pruning;
4. :mod:`clnet_spark.groups` -- Walktrap groups on the pruned graph and SOC overlap;
5. :mod:`clnet_spark.report` -- run summary and CSV exports.

The output is advisory intelligence for human assessment, never a decision about a person.
"""

from __future__ import annotations

__version__ = "0.1.0"
