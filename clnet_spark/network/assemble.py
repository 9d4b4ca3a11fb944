"""One network build in order (METHOD section 3): the steps of :mod:`build`, checkpointed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame

from clnet_spark import columns as c
from clnet_spark.network.build import (
    deepening_edges,
    identified_links,
    line_links,
    linking_links,
    network_graph,
    nominal_evidence,
    propagate,
    provisional_edges,
    prune,
)


@dataclass(frozen=True)
class Network:
    """Every intermediate of one network build (METHOD section 3), for the stage and tests."""

    links: DataFrame
    lines: DataFrame | None
    evidence: DataFrame
    provisional: DataFrame
    vertices: DataFrame
    edges: DataFrame
    weighted: DataFrame
    propagated: DataFrame
    kept: DataFrame
    kept_edges: DataFrame


def build_network(
    record_nominals: DataFrame,
    record_matches: DataFrame,
    relationships: DataFrame,
    record_lines: DataFrame | None,
    *,
    linking_roles: Sequence[str],
    max_record_nominals: int,
    line_weight: float,
    adversarial_types: Sequence[str],
    rounds: int,
    threshold: float,
) -> Network:
    """Links, evidence, provisional edges, deepening, propagation and pruning, in order.

    The frames that several later steps read (links, line links, evidence, the deepened
    graph) are checkpointed, so each step's query plan starts from data rather than from a
    copy of every earlier step's plan (on any input size, planning the unbroken chain is what
    takes longest).
    """
    links = linking_links(record_nominals, linking_roles, max_record_nominals).checkpoint()
    identified = identified_links(links, record_matches)
    lines = None
    if record_lines is not None:
        lines = line_links(links, record_lines, record_matches).checkpoint()
    evidence = nominal_evidence(identified, lines, line_weight).checkpoint()
    provisional = provisional_edges(identified, lines, line_weight)
    deepened = deepening_edges(links, relationships, evidence.select(c.ID), adversarial_types)
    vertices, edges = network_graph(evidence, provisional, deepened)
    vertices, edges = vertices.checkpoint(), edges.checkpoint()
    weighted, propagated = propagate(vertices, edges, rounds)
    kept, kept_edges = prune(weighted, propagated, threshold)
    return Network(
        links, lines, evidence, provisional, vertices, edges, weighted, propagated, kept, kept_edges
    )
