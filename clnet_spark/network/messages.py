"""Message passing over a graph held as two DataFrames, with GraphFrames' column contract.

Vertices have an ``id`` column, edges ``src`` and ``dst``; both may carry any attributes.
:func:`aggregate_messages` has the semantics of GraphFrames' ``aggregateMessages``: every edge
(as a triplet of struct columns ``src``, ``edge``, ``dst``) sends a message to one or both of
its ends, and the messages arriving at a vertex are aggregated into ``msg``. Vertices that
receive nothing are absent from the result.

This module expresses those operations as DataFrame joins and aggregations -- the plan that
GraphFrames itself executes for ``aggregateMessages`` -- so the stage runs with Delta's jars
alone (see ``docs/network.md`` on why the GraphFrames JVM package is not a runtime dependency).
The column names and struct layout match GraphFrames', so a message expression written for
one reads the same in the other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from clnet_spark import columns as c

log = logging.getLogger(__name__)


def src(field: str) -> Column:
    """An attribute of the source vertex in a message expression."""
    return F.col(c.SRC)[field]


def dst(field: str) -> Column:
    """An attribute of the destination vertex in a message expression."""
    return F.col(c.DST)[field]


def edge(field: str) -> Column:
    """An attribute of the edge in a message expression."""
    return F.col("edge")[field]


def triplets(vertices: DataFrame, edges: DataFrame) -> DataFrame:
    """Edges with their end vertices: struct columns ``src``, ``edge`` and ``dst``.

    Edges whose ends are not both in ``vertices`` are dropped (an inner join each side).
    """
    vertex = F.struct(*(F.col(name) for name in vertices.columns))
    ends = vertices.select(F.col(c.ID).alias("_vid"), vertex.alias("_vertex"))
    edge = F.struct(*(F.col(name) for name in edges.columns))
    with_edge = edges.select(F.col(c.SRC).alias("_s"), F.col(c.DST).alias("_d"), edge.alias("edge"))
    return (
        with_edge.join(ends.withColumnRenamed("_vertex", c.SRC), F.col("_s") == F.col("_vid"))
        .drop("_vid")
        .join(ends.withColumnRenamed("_vertex", c.DST), F.col("_d") == F.col("_vid"))
        .select(c.SRC, "edge", c.DST)
    )


def aggregate_messages(
    vertices: DataFrame,
    edges: DataFrame,
    agg: Callable[[Column], Column],
    *,
    to_src: Column | None = None,
    to_dst: Column | None = None,
) -> DataFrame:
    """Send a message along every edge and aggregate the messages at each vertex.

    Parameters
    ----------
    vertices, edges
        The graph (``id``; ``src``, ``dst``).
    agg
        Aggregate applied to the messages of a vertex, e.g. ``F.sum``.
    to_src, to_dst
        Message expressions over the triplet, built with :func:`src`, :func:`edge` and
        :func:`dst` (e.g. ``edge("weight")``); at least one must be given.

    Returns
    -------
    DataFrame
        ``id``, ``msg``: one row per vertex that received at least one message.
    """
    if to_src is None and to_dst is None:
        raise ValueError("aggregate_messages: give to_src, to_dst or both")
    trip = triplets(vertices, edges)
    parts = []
    if to_src is not None:
        parts.append(trip.select(src(c.ID).alias(c.ID), to_src.alias(c.MSG)))
    if to_dst is not None:
        parts.append(trip.select(dst(c.ID).alias(c.ID), to_dst.alias(c.MSG)))
    messages = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
    return messages.groupBy(c.ID).agg(agg(F.col(c.MSG)).alias(c.MSG))
