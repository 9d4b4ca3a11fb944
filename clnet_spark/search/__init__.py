"""Search: a weight for every record from the catalogue of weighted search terms (METHOD 2).

- :mod:`clnet_spark.search.catalogue` reads and validates ``conf/search_terms.yaml`` (groups,
  weights, phrases and safe raw regexes) and fixes the matching semantics of a phrase;
- :mod:`clnet_spark.search.hyperscan_engine` (the default engine) matches records against it
  with one multi-pattern Hyperscan scan per Arrow batch and an exact Python check of each
  candidate (:mod:`clnet_spark.search.translate` writes the patterns);
- :mod:`clnet_spark.search.native` (the fallback) does the same with Spark built-in functions;
  both give each matching record its weight, groups and the offset of every matched term, and
  give exactly the same rows. ``search.engine`` in ``conf/clnet.yaml`` chooses.

``docs/search.md`` describes the semantics, the safety rule for raw regexes and the choice of
street names.
"""

from __future__ import annotations

from clnet_spark.search.catalogue import (
    Catalogue,
    SearchGroup,
    Term,
    check_regex,
    load_catalogue,
    parse_catalogue,
    phrase_pattern,
)
from clnet_spark.search.native import MATCHES_TYPE, match_records

__all__ = [
    "MATCHES_TYPE",
    "Catalogue",
    "SearchGroup",
    "Term",
    "check_regex",
    "load_catalogue",
    "match_records",
    "parse_catalogue",
    "phrase_pattern",
]
