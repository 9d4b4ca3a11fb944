"""Walktrap groups of the kept network (METHOD section 4).

Driver-side: the Spark stage collects the grouping graph (the kept nominals, and the kept edges
less those supported only by an adversarial relationship) and calls :func:`find_groups`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Final

import igraph as ig
import numpy as np
import pandas as pd

from clnet_spark.columns import DST, NOMINAL_ID, SRC, WEIGHT
from clnet_spark.errors import ClnetError

logger = logging.getLogger(__name__)

GROUP_KEY: Final = "group_key"
COMPONENT: Final = "component"
KIND: Final = "kind"
GROUP_COLUMNS: Final = (NOMINAL_ID, GROUP_KEY, COMPONENT, KIND)

MAIN: Final = "main"
"""A group inside the largest connected component (or inside a smaller one it splits)."""
PERIPHERAL: Final = "peripheral"
"""A group that is a whole connected component other than the largest."""
UNLINKED: Final = "unlinked"
"""A kept nominal with no edge in the grouping graph: no group."""
KINDS: Final = (MAIN, PERIPHERAL, UNLINKED)


class GraphInputError(ClnetError):
    """The vertices or edges given to :func:`find_groups` break its input contract."""


def _rows(mask: pd.Series) -> str:
    """'N row(s) (first at row i)' for a boolean mask over an edge table, values left out."""
    hits = [i for i, bad in enumerate(mask.tolist()) if bad]
    return f"{len(hits)} row(s) (first at row {hits[0]})"


def _validated_edges(
    vertices: Sequence[str], edges: pd.DataFrame, order_key: Mapping[str, str] | None = None
) -> list[str]:
    """Check the input contract; return the vertices sorted as text (by ``order_key``)."""
    if not all(isinstance(v, str) for v in vertices):
        raise GraphInputError("vertices: expected nominal ids as str")
    if len(set(vertices)) != len(vertices):
        raise GraphInputError("vertices: nominal ids are not unique")
    if order_key is None:
        ordered = sorted(vertices)
    else:
        if any(v not in order_key for v in vertices):
            raise GraphInputError("order_key: a vertex has no sort key")
        if len({order_key[v] for v in vertices}) != len(vertices):
            raise GraphInputError("order_key: sort keys are not unique")
        ordered = sorted(vertices, key=order_key.__getitem__)
    missing = [c for c in (SRC, DST, WEIGHT) if c not in edges.columns]
    if missing:
        raise GraphInputError(
            f"edges: missing column(s) {missing}; expected {SRC}, {DST}, {WEIGHT}; "
            f"columns present: {list(edges.columns)}"
        )
    nulls = edges[[SRC, DST, WEIGHT]].isna().any(axis=1)
    if nulls.any():
        raise GraphInputError(f"edges: null {SRC}, {DST} or {WEIGHT} in {_rows(nulls)}")
    known = set(ordered)
    unknown = ~(edges[SRC].isin(known) & edges[DST].isin(known))
    if unknown.any():
        raise GraphInputError(f"edges: endpoint not among vertices in {_rows(unknown)}")
    loops = edges[SRC] == edges[DST]
    if loops.any():
        raise GraphInputError(f"edges: self loop in {_rows(loops)}")
    weights = pd.to_numeric(edges[WEIGHT], errors="coerce").astype("float64")
    bad = ~(np.isfinite(weights) & (weights > 0))
    if bad.any():
        raise GraphInputError(f"edges: {WEIGHT} not a finite number > 0 in {_rows(bad)}")
    low = edges[[SRC, DST]].min(axis=1)
    high = edges[[SRC, DST]].max(axis=1)
    repeated = pd.DataFrame({"a": low, "b": high}).duplicated(keep="first")
    if repeated.any():
        raise GraphInputError(
            f"edges: undirected pair given more than once (in either direction) in "
            f"{_rows(repeated)}; give each pair once, its weights already combined"
        )
    return ordered


def _members(labels: Sequence[int]) -> dict[int, list[int]]:
    """Label -> its vertices in increasing order."""
    out: dict[int, list[int]] = {}
    for v, label in enumerate(labels):
        out.setdefault(label, []).append(v)
    return out


def find_groups(
    vertices: Sequence[str],
    edges: pd.DataFrame,
    steps: int = 4,
    order_key: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Group the kept network by Walktrap, cut at maximum modularity.

    Pons & Latapy, "Computing communities in large networks using random walks", Journal of
    Graph Algorithms and Applications 10(2):191-218 (2006); via igraph's
    ``community_walktrap``. The whole graph is clustered at once, not component by component;
    the dendrogram is cut where modularity (weighted) is highest, ties going to fewer groups.

    Parameters
    ----------
    vertices : sequence of str
        Every kept nominal id (unique), linked or not.
    edges : pandas.DataFrame
        The grouping graph, one row per undirected pair: ``src``, ``dst`` (nominal ids among
        ``vertices``; direction is ignored) and ``weight`` (tie strength, any finite number
        > 0; the network stage's weights are in (0, 1]). Each pair appears once -- a pair given
        twice, in either direction, is an error rather than summed, since the network stage
        has already combined its support and capped it at 1.
    steps : int
        Length of the random walks (METHOD default 4).
    order_key : mapping of str to str, optional
        Vertex -> the text it is ordered by (unique): the source nominal id of a pseudonym,
        so the groups do not depend on the pseudonym key (METHOD section 4). Without it the
        vertices are ordered by their own ids. "Smallest member" below means first in this
        order.

    Returns
    -------
    pandas.DataFrame
        One row per vertex, sorted by ``nominal_id``: ``nominal_id``; ``group_key`` (the
        group's smallest member id as text, a provisional key for
        :func:`~clnet_spark.groups.stable_ids.assign_stable_ids`; null when unlinked);
        ``component`` (the smallest member id of its connected component; null when
        unlinked); ``kind``: ``peripheral`` (a group that is a whole connected component
        other than the largest -- most vertices, ties to the smallest member id), ``unlinked``
        (no edge) or ``main`` (every other group: those of the largest component, and those of
        a smaller component that Walktrap splits, which METHOD does not call peripheral).

    Raises
    ------
    GraphInputError
        For non-str or repeated vertex ids, missing edge columns, nulls, an endpoint not among
        the vertices, a self loop, a weight that is not a finite number > 0, or a repeated
        pair. Messages give row positions, never nominal ids.

    Notes
    -----
    Deterministic and independent of input order: the vertices are sorted as text and the
    edges by their sorted endpoints before the igraph graph is built, so the vertex and
    adjacency orders igraph's tie-breaking sees are fixed. On a disconnected graph igraph's
    dendrogram stops with one tree per component (fewer than n - 1 merges) and its cut at
    maximum modularity is still a full partition; this is checked.
    """
    if not isinstance(steps, int) or steps < 1:
        raise GraphInputError(f"steps: expected an int >= 1, got {steps!r}")
    ordered = _validated_edges(vertices, edges, order_key)
    index = {v: i for i, v in enumerate(ordered)}
    pairs = sorted(
        (min(index[a], index[b]), max(index[a], index[b]), float(w))
        for a, b, w in zip(edges[SRC], edges[DST], edges[WEIGHT], strict=True)
    )
    graph = ig.Graph(n=len(ordered), edges=[(a, b) for a, b, _ in pairs], directed=False)
    weights = [w for _, _, w in pairs]
    if pairs:
        clustering = graph.community_walktrap(weights=weights, steps=steps).as_clustering()
        membership = clustering.membership
        modularity = clustering.modularity
    else:
        membership, modularity = list(range(len(ordered))), math.nan
    components = graph.connected_components().membership
    if len(membership) != len(ordered):
        raise RuntimeError("igraph walktrap returned a partial membership")

    groups = _members(membership)
    comps = _members(components)
    # Vertices are numbered in id order, so a member list's first entry is its smallest id.
    largest = min(
        (c for c, vs in comps.items() if len(vs) > 1),
        key=lambda c: (-len(comps[c]), comps[c][0]),
        default=None,
    )
    degree = graph.degree()
    rows = []
    kinds: dict[str, int] = {}
    for group in groups.values():
        comp = components[group[0]]
        if any(components[v] != comp for v in group):
            raise RuntimeError("igraph walktrap returned a group spanning two components")
        if degree[group[0]] == 0:
            kind, key, comp_key = UNLINKED, None, None
        else:
            whole = comp != largest and len(group) == len(comps[comp])
            kind = PERIPHERAL if whole else MAIN
            key, comp_key = ordered[group[0]], ordered[comps[comp][0]]
        kinds[kind] = kinds.get(kind, 0) + 1
        rows.extend((ordered[v], key, comp_key, kind) for v in group)
    rows.sort(key=lambda row: row[0])
    logger.info(
        "walktrap (steps %d) on %d vertices, %d edges: modularity %.4f, groups by kind %s",
        steps,
        len(ordered),
        len(pairs),
        modularity,
        dict(sorted(kinds.items())),
    )
    return pd.DataFrame(rows, columns=list(GROUP_COLUMNS), dtype="object")
