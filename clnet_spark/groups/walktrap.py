"""Walktrap groups of the pruned network, with peripheral and unlinked nominals marked.

Pons, P. and Latapy, M. (2005). Computing communities in large networks using random walks.
*Computer and Information Sciences - ISCIS 2005*, LNCS 3733, 284-293 (journal version:
J. Graph Algorithms Appl. 10(2), 2006). igraph's implementation is used; the dendrogram is cut
where modularity is highest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import igraph as ig
import pandas as pd

from clnet_spark.columns import DST, NOMINAL_ID, SRC, WEIGHT
from clnet_spark.errors import ClnetError

log = logging.getLogger(__name__)

MAIN, PERIPHERAL, UNLINKED = "main", "peripheral", "unlinked"
GROUP_COLUMNS = (NOMINAL_ID, "group_key", "component", "kind")


class GraphInputError(ClnetError):
    """The vertices or edges given to a graph algorithm are inconsistent."""


def _validate(vertices: Sequence[str], edges: pd.DataFrame) -> None:
    missing = [col for col in (SRC, DST, WEIGHT) if col not in edges.columns]
    if missing:
        raise GraphInputError(
            f"edges: missing columns {missing}; columns present: {sorted(edges.columns)}"
        )
    if len(set(vertices)) != len(vertices):
        raise GraphInputError("vertices: ids must be unique")
    known = set(vertices)
    unknown = sorted((set(edges[SRC]) | set(edges[DST])) - known)
    if unknown:
        raise GraphInputError(f"edges: {len(unknown)} end(s) are not among the vertices")
    if (edges[SRC] == edges[DST]).any():
        raise GraphInputError("edges: self-loops are not allowed")
    if not (edges[SRC] < edges[DST]).all():
        raise GraphInputError("edges: each undirected pair must be given once with src < dst")
    if edges.duplicated([SRC, DST]).any():
        raise GraphInputError("edges: a (src, dst) pair appears more than once")
    if not (edges[WEIGHT] > 0).all():
        raise GraphInputError("edges: weights must be positive tie strengths")


def find_groups(vertices: Sequence[str], edges: pd.DataFrame, steps: int = 4) -> pd.DataFrame:
    """Walktrap groups of a weighted undirected graph.

    Parameters
    ----------
    vertices
        Every nominal id of the graph (isolated ones included).
    edges
        Columns src, dst, weight: each undirected pair once with ``src < dst``, weight > 0.
    steps
        Length of the random walks.

    Returns
    -------
    pandas.DataFrame
        One row per vertex: nominal_id, group_key (the group's smallest member id; null for
        unlinked vertices), component (the smallest member id of its connected component),
        kind (``main``: a group in the largest component; ``peripheral``: a group that is a
        whole smaller component; ``unlinked``: no edge). Rows are sorted by nominal_id.

    Raises
    ------
    GraphInputError
        Inconsistent input (unknown ends, self-loops, repeated pairs, non-positive weights).

    Notes
    -----
    Vertices are sorted by id before the graph is built, and edges by (src, dst), so the
    result does not depend on input order. The walk runs on the whole graph at once, not per
    component. The largest component is the one with most vertices, ties broken by the
    smallest member id. The groups of a smaller component that Walktrap splits in several are
    not whole components, so METHOD does not call them peripheral: they are marked ``main``.
    """
    _validate(vertices, edges)
    order = sorted(vertices)
    linked_ids = sorted(set(edges[SRC]) | set(edges[DST]))
    result = pd.DataFrame(
        {NOMINAL_ID: order, "group_key": None, "component": None, "kind": UNLINKED}
    )
    if not linked_ids:
        return result.loc[:, list(GROUP_COLUMNS)]
    sub_index = {v: i for i, v in enumerate(linked_ids)}
    ordered = edges.sort_values([SRC, DST], kind="mergesort")
    graph = ig.Graph(
        n=len(linked_ids),
        edges=list(zip(ordered[SRC].map(sub_index), ordered[DST].map(sub_index), strict=True)),
    )
    graph.es[WEIGHT] = ordered[WEIGHT].astype(float).tolist()
    membership = graph.community_walktrap(weights=WEIGHT, steps=steps).as_clustering().membership
    components = graph.connected_components().membership

    frame = pd.DataFrame(
        {NOMINAL_ID: linked_ids, "_community": membership, "_component": components}
    )
    group_key = frame.groupby("_community")[NOMINAL_ID].transform("min")
    component_key = frame.groupby("_component")[NOMINAL_ID].transform("min")
    component_size = frame.groupby("_component")[NOMINAL_ID].transform("size")
    frame = frame.assign(group_key=group_key, component=component_key, _size=component_size)
    largest = frame.sort_values(["_size", "component"], ascending=[False, True]).iloc[0]
    groups_per_component = frame.groupby("component")["group_key"].transform("nunique")
    whole_component = groups_per_component == 1
    is_largest = frame["component"] == largest["component"]
    frame["kind"] = MAIN
    frame.loc[whole_component & ~is_largest, "kind"] = PERIPHERAL

    linked = frame.set_index(NOMINAL_ID)
    rows = result.set_index(NOMINAL_ID)
    rows.loc[linked.index, ["group_key", "component", "kind"]] = linked[
        ["group_key", "component", "kind"]
    ]
    log.info(
        "walktrap: %d vertices, %d edges, %d groups (%d peripheral), %d unlinked",
        len(order),
        len(ordered),
        frame["group_key"].nunique(),
        frame.loc[frame["kind"] == PERIPHERAL, "group_key"].nunique(),
        len(order) - len(linked_ids),
    )
    return rows.reset_index().loc[:, list(GROUP_COLUMNS)]
