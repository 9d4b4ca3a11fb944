"""Pure transforms of the network stage (METHOD section 3).

Identifiers: a record is ``(source, record_id)``, written ``source:record_id`` in evidence
lists; an undirected edge is ``(src, dst)`` with ``src < dst`` (as text). Weights are
``DECIMAL(12, 9)`` (:mod:`clnet_spark.weights`): sums are exact in any order and every step
rounds half to even to 9 places, so results do not depend on partitioning.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark.lines.extract import active_lines
from clnet_spark.network.messages import aggregate_messages, edge
from clnet_spark.weights import WEIGHT_TYPE, as_weight, capped_sum, round9

log = logging.getLogger(__name__)

RECORD_KEY = "record_key"
N_NOMINALS = "n_nominals"
PAIRABLE = "pairable"


def record_key() -> Column:
    return F.concat_ws(":", F.col(c.SOURCE), F.col(c.RECORD_ID))


def linking_links(
    record_nominals: DataFrame, linking_roles: Sequence[str], max_record_nominals: int
) -> DataFrame:
    """One row per (record, nominal) linked through a linking role.

    A nominal holding several roles on a record is linked to it once. Output columns:
    source, record_id, record_key, nominal_id, n_nominals (linked nominals on the record),
    pairable (``n_nominals <= max_record_nominals``: the record may connect pairs).
    """
    per_nominal = (
        record_nominals.where(F.col(c.ROLE).isin(*linking_roles))
        .groupBy(c.SOURCE, c.RECORD_ID, c.NOMINAL_ID)
        .agg(F.count(F.lit(1)).alias("_roles"))
    )
    sizes = per_nominal.groupBy(c.SOURCE, c.RECORD_ID).agg(F.count(F.lit(1)).alias(N_NOMINALS))
    return per_nominal.join(sizes, on=[c.SOURCE, c.RECORD_ID], how="inner").select(
        c.SOURCE,
        c.RECORD_ID,
        record_key().alias(RECORD_KEY),
        c.NOMINAL_ID,
        N_NOMINALS,
        (F.col(N_NOMINALS) <= max_record_nominals).alias(PAIRABLE),
    )


def identified_links(links: DataFrame, record_matches: DataFrame) -> DataFrame:
    """Links of identified records (``w(r) > 0``), with the record's weight and groups.

    Output columns: the columns of ``links`` plus record_weight and matched_groups.
    """
    identified = record_matches.where(F.col(c.RECORD_WEIGHT) > 0).select(
        c.SOURCE, c.RECORD_ID, c.RECORD_WEIGHT, c.MATCHED_GROUPS
    )
    return links.join(identified, on=[c.SOURCE, c.RECORD_ID], how="inner")


def line_links(links: DataFrame, record_lines: DataFrame, record_matches: DataFrame) -> DataFrame:
    """One row per (active line, nominal) the line links (METHOD section 3, step 2).

    A line is active when at least one identified record (``w(r) > 0``, any size) mentions
    it. A nominal is linked to the line through any pairable record (at most
    ``max_record_nominals`` nominals), identified or not, that mentions it; several such
    records link it once. Input columns: ``links`` as :func:`linking_links` returns;
    ``record_lines``: source, record_id, line_id; ``record_matches``: source, record_id,
    record_weight. Output columns: line_id, nominal_id.
    """
    mentions = record_lines.select(c.SOURCE, c.RECORD_ID, c.LINE_ID)
    active_mentions = mentions.join(
        active_lines(mentions, record_matches), on=c.LINE_ID, how="left_semi"
    )
    return (
        links.where(F.col(PAIRABLE))
        .join(active_mentions, on=[c.SOURCE, c.RECORD_ID], how="inner")
        .select(c.LINE_ID, c.NOMINAL_ID)
        .dropDuplicates()  # once per line, however many of its records link the nominal
    )


_AMOUNT = "_amount"


def _record_contributions(frame: DataFrame, key: list[str]) -> DataFrame:
    return frame.select(
        *key,
        F.col(c.RECORD_WEIGHT).cast(WEIGHT_TYPE).alias(_AMOUNT),
        F.col(RECORD_KEY),
        F.col(c.MATCHED_GROUPS),
        F.lit(None).cast("string").alias(c.LINE_ID),
    )


def _line_contributions(frame: DataFrame, key: list[str], line_weight: float) -> DataFrame:
    return frame.select(
        *key,
        as_weight(line_weight).alias(_AMOUNT),
        F.lit(None).cast("string").alias(RECORD_KEY),
        F.lit(None).cast("array<string>").alias(c.MATCHED_GROUPS),
        F.col(c.LINE_ID),
    )


def _capped_evidence(contributions: DataFrame, key: list[str]) -> DataFrame:
    """Capped sum of the contributions per ``key``, with the records, groups and lines."""
    return contributions.groupBy(*key).agg(
        capped_sum(F.col(_AMOUNT)).alias("_capped"),
        F.array_sort(F.collect_set(RECORD_KEY)).alias(c.EVIDENCE_RECORDS),
        F.array_sort(F.array_distinct(F.flatten(F.collect_list(c.MATCHED_GROUPS)))).alias(
            c.EVIDENCE_GROUPS
        ),
        F.array_sort(F.collect_set(c.LINE_ID)).alias(c.EVIDENCE_LINES),
    )


def nominal_evidence(
    identified: DataFrame, lines: DataFrame | None = None, line_weight: float = 0.0
) -> DataFrame:
    """``x(v) = min(1, sum of w(r) over identified records linked to v + line evidence)``.

    Line evidence (``lines`` from :func:`line_links`): ``line_weight`` per active line linked
    to ``v``, added before the cap. Without ``lines`` (or with ``line_weight`` 0) this is the
    record evidence alone.

    Output columns: id, evidence, evidence_records (sorted ``source:record_id``),
    evidence_groups (sorted search groups of those records), evidence_lines (sorted line ids).
    """
    key = [c.NOMINAL_ID]
    contributions = _record_contributions(identified, key)
    if lines is not None and line_weight > 0:
        contributions = contributions.unionByName(_line_contributions(lines, key, line_weight))
    return _capped_evidence(contributions, key).select(
        F.col(c.NOMINAL_ID).alias(c.ID),
        F.col("_capped").alias(c.EVIDENCE),
        c.EVIDENCE_RECORDS,
        c.EVIDENCE_GROUPS,
        c.EVIDENCE_LINES,
    )


def record_pairs(links: DataFrame) -> DataFrame:
    """Every pair of nominals on the same pairable record, once, with ``src < dst``.

    Output columns: the columns of ``links`` other than nominal_id, plus src and dst.
    """
    pairable = links.where(F.col(PAIRABLE))
    left = pairable.select(*(F.col(n).alias(n) for n in pairable.columns))
    right = pairable.select(c.SOURCE, c.RECORD_ID, F.col(c.NOMINAL_ID).alias("_other"))
    return (
        left.join(right, on=[c.SOURCE, c.RECORD_ID], how="inner")
        .where(F.col(c.NOMINAL_ID) < F.col("_other"))
        .withColumnsRenamed({c.NOMINAL_ID: c.SRC, "_other": c.DST})
    )


def line_pairs(lines: DataFrame) -> DataFrame:
    """Every pair of nominals linked to the same active line, once per line, ``src < dst``.

    Input columns: line_id, nominal_id (:func:`line_links`). Output columns: line_id, src, dst.
    """
    right = lines.select(c.LINE_ID, F.col(c.NOMINAL_ID).alias(c.DST))
    return (
        lines.join(right, on=c.LINE_ID, how="inner")
        .where(F.col(c.NOMINAL_ID) < F.col(c.DST))
        .select(c.LINE_ID, F.col(c.NOMINAL_ID).alias(c.SRC), c.DST)
    )


def provisional_edges(
    identified: DataFrame, lines: DataFrame | None = None, line_weight: float = 0.0
) -> DataFrame:
    """``e(u,v) = min(1, sum of w(r) over identified records that link both + line weight)``.

    Line weight (``lines`` from :func:`line_links`): ``line_weight`` per active line that
    links both ``u`` and ``v``, added before the cap.

    Output columns: src, dst, edge_weight, evidence_records, evidence_groups, evidence_lines.
    """
    key = [c.SRC, c.DST]
    contributions = _record_contributions(record_pairs(identified), key)
    if lines is not None and line_weight > 0:
        contributions = contributions.unionByName(
            _line_contributions(line_pairs(lines), key, line_weight)
        )
    return _capped_evidence(contributions, key).select(
        c.SRC,
        c.DST,
        F.col("_capped").alias(c.EDGE_WEIGHT),
        c.EVIDENCE_RECORDS,
        c.EVIDENCE_GROUPS,
        c.EVIDENCE_LINES,
    )


def deepening_edges(
    links: DataFrame,
    relationships: DataFrame,
    provisional: DataFrame,
    adversarial_types: Sequence[str],
) -> DataFrame:
    """Every relationship touching a provisional nominal (one hop).

    Co-appearance through linking roles on any pairable record, identified or not, and
    explicit relationships, adversarial ones included. A pair of two non-provisional nominals
    is not connected. ``provisional`` holds the ids (column id) of nominals with ``x > 0``.

    Output columns: src, dst, co_records (sorted ``source:record_id``), relationship_types
    (sorted), adversarial_only (the pair's only support is adversarial relationships).
    """
    ids = provisional.select(F.col(c.ID).alias(c.NOMINAL_ID))
    touched = links.join(ids, on=c.NOMINAL_ID, how="left_semi").select(c.SOURCE, c.RECORD_ID)
    touched = touched.dropDuplicates()  # a record may touch several provisional nominals
    relevant = links.join(touched, on=[c.SOURCE, c.RECORD_ID], how="left_semi")
    co = record_pairs(relevant).select(c.SRC, c.DST, RECORD_KEY)

    flagged = provisional.select(F.col(c.ID).alias("_pid"), F.lit(True).alias("_p"))

    def touching(frame: DataFrame) -> DataFrame:
        return (
            frame.join(flagged, F.col(c.SRC) == F.col("_pid"), "left")
            .drop("_pid")
            .withColumnRenamed("_p", "_ps")
            .join(flagged, F.col(c.DST) == F.col("_pid"), "left")
            .where(F.col("_ps").isNotNull() | F.col("_p").isNotNull())
            .drop("_pid", "_p", "_ps")
        )

    co_edges = (
        touching(co)
        .groupBy(c.SRC, c.DST)
        .agg(F.array_sort(F.collect_set(RECORD_KEY)).alias(c.CO_RECORDS))
    )
    rel = relationships.select(
        F.col(c.NOMINAL_A).alias(c.SRC),
        F.col(c.NOMINAL_B).alias(c.DST),
        F.col(c.RELATIONSHIP_TYPE),
    )
    rel_edges = (
        touching(rel)
        .groupBy(c.SRC, c.DST)
        .agg(F.array_sort(F.collect_set(c.RELATIONSHIP_TYPE)).alias(c.RELATIONSHIP_TYPES))
    )
    adversarial = F.array(*(F.lit(t) for t in adversarial_types)) if adversarial_types else None
    only_adversarial = (
        F.col(c.CO_RECORDS).isNull()
        & F.col(c.RELATIONSHIP_TYPES).isNotNull()
        & (F.size(F.array_except(F.col(c.RELATIONSHIP_TYPES), adversarial)) == 0)
        if adversarial is not None
        else F.lit(False)
    )
    return co_edges.join(rel_edges, on=[c.SRC, c.DST], how="full").select(
        c.SRC,
        c.DST,
        F.coalesce(c.CO_RECORDS, F.array().cast("array<string>")).alias(c.CO_RECORDS),
        F.coalesce(c.RELATIONSHIP_TYPES, F.array().cast("array<string>")).alias(
            c.RELATIONSHIP_TYPES
        ),
        F.coalesce(only_adversarial, F.lit(False)).alias(c.ADVERSARIAL_ONLY),
    )


def network_graph(
    evidence: DataFrame, provisional: DataFrame, deepened: DataFrame
) -> tuple[DataFrame, DataFrame]:
    """The deepened network: vertices (id, evidence, ...) and edges (src, dst, edge_weight, ...).

    An edge supported by identified records keeps its provisional weight and is never
    adversarial-only; an edge added by deepening alone starts at 0; a nominal added by
    deepening starts with ``x = 0`` and empty evidence.
    """
    empty = F.array().cast("array<string>")
    edges = provisional.join(deepened, on=[c.SRC, c.DST], how="full").select(
        c.SRC,
        c.DST,
        F.coalesce(c.EDGE_WEIGHT, as_weight(0.0)).alias(c.EDGE_WEIGHT),
        F.coalesce(c.EVIDENCE_RECORDS, empty).alias(c.EVIDENCE_RECORDS),
        F.coalesce(c.EVIDENCE_GROUPS, empty).alias(c.EVIDENCE_GROUPS),
        F.coalesce(c.EVIDENCE_LINES, empty).alias(c.EVIDENCE_LINES),
        F.coalesce(c.CO_RECORDS, empty).alias(c.CO_RECORDS),
        F.coalesce(c.RELATIONSHIP_TYPES, empty).alias(c.RELATIONSHIP_TYPES),
        (F.coalesce(c.ADVERSARIAL_ONLY, F.lit(False)) & F.col(c.EDGE_WEIGHT).isNull()).alias(
            c.ADVERSARIAL_ONLY
        ),
    )
    ends = edges.select(F.col(c.SRC).alias(c.ID)).unionByName(
        edges.select(F.col(c.DST).alias(c.ID))
    )
    vertices = (
        ends.unionByName(evidence.select(c.ID))
        .dropDuplicates()  # an id appears once per incident edge
        .join(evidence, on=c.ID, how="left")
        .select(
            c.ID,
            F.coalesce(c.EVIDENCE, as_weight(0.0)).alias(c.EVIDENCE),
            F.coalesce(c.EVIDENCE_RECORDS, empty).alias(c.EVIDENCE_RECORDS),
            F.coalesce(c.EVIDENCE_GROUPS, empty).alias(c.EVIDENCE_GROUPS),
            F.coalesce(c.EVIDENCE_LINES, empty).alias(c.EVIDENCE_LINES),
        )
    )
    return vertices, edges


def _nominal_update(vertices: DataFrame, edges: DataFrame) -> DataFrame:
    """``n(v) = max(x(v), min(1, sum of e(u,v)))``: vertices with a new ``weight`` column."""
    sums = aggregate_messages(
        vertices.select(c.ID),
        edges.select(c.SRC, c.DST, c.EDGE_WEIGHT),
        capped_sum,
        to_src=edge(c.EDGE_WEIGHT),
        to_dst=edge(c.EDGE_WEIGHT),
    )
    return (
        vertices.drop(c.WEIGHT)
        .join(sums, on=c.ID, how="left")
        .withColumn(
            c.WEIGHT,
            F.greatest(F.col(c.EVIDENCE), F.coalesce(F.col(c.MSG), as_weight(0.0))).cast(
                WEIGHT_TYPE
            ),
        )
        .drop(c.MSG)
    )


def _edge_update(vertices: DataFrame, edges: DataFrame) -> DataFrame:
    """``e(u,v) = (n(u) + n(v)) / 2``, rounded half to even to 9 places."""
    weights = vertices.select(c.ID, c.WEIGHT)
    return (
        edges.join(weights.withColumnsRenamed({c.ID: c.SRC, c.WEIGHT: "_ns"}), c.SRC, "inner")
        .join(weights.withColumnsRenamed({c.ID: c.DST, c.WEIGHT: "_nd"}), c.DST, "inner")
        .withColumn(c.EDGE_WEIGHT, round9((F.col("_ns") + F.col("_nd")) / 2))
        .drop("_ns", "_nd")
    )


def propagate(vertices: DataFrame, edges: DataFrame, rounds: int) -> tuple[DataFrame, DataFrame]:
    """Propagate weights ``rounds`` times, then compute the final nominal weights.

    Each round updates every nominal from its incident edges, then every edge from its two
    nominals (METHOD section 3, steps 4-5). Each round's result is checkpointed so the query
    plan does not grow with the number of rounds.

    Returns vertices with a ``weight`` column (the final ``n``) and edges whose
    ``edge_weight`` is the propagated ``e``.
    """
    for number in range(1, rounds + 1):
        vertices = _nominal_update(vertices, edges).checkpoint()
        edges = _edge_update(vertices, edges).checkpoint()
        log.debug("propagation round %d checkpointed", number)
    return _nominal_update(vertices, edges), edges


def prune(vertices: DataFrame, edges: DataFrame, threshold: float) -> tuple[DataFrame, DataFrame]:
    """Keep nominals with ``n(v) >= threshold`` and the edges between kept nominals.

    Kept edges have ``e > 0``. Output vertices gain ``provisional`` (``x > 0``) and
    ``linked`` (at least one kept edge).
    """
    kept = vertices.where(F.col(c.WEIGHT) >= F.lit(str(threshold)).cast(WEIGHT_TYPE))
    ids = kept.select(c.ID)
    kept_edges = (
        edges.join(ids.withColumnRenamed(c.ID, c.SRC), on=c.SRC, how="left_semi")
        .join(ids.withColumnRenamed(c.ID, c.DST), on=c.DST, how="left_semi")
        .where(F.col(c.EDGE_WEIGHT) > 0)
    )
    ends = kept_edges.select(F.col(c.SRC).alias(c.ID)).unionByName(
        kept_edges.select(F.col(c.DST).alias(c.ID))
    )
    linked = ends.dropDuplicates().withColumn("linked", F.lit(True))
    kept = kept.join(linked, on=c.ID, how="left").select(
        c.ID,
        c.EVIDENCE,
        c.WEIGHT,
        (F.col(c.EVIDENCE) > 0).alias(c.PROVISIONAL),
        F.coalesce(F.col("linked"), F.lit(False)).alias("linked"),
        c.EVIDENCE_RECORDS,
        c.EVIDENCE_GROUPS,
        c.EVIDENCE_LINES,
    )
    return kept, kept_edges
