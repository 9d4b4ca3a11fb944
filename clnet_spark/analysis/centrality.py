"""Centrality of the kept nominals, on the whole kept network and within each group.

METHOD section 7. Four measures per nominal, each computed twice: on the whole kept network
and on the subgraph induced by the nominal's group (its members and the edges between them):

- **degree**: the number of distinct people the nominal has a tie with;
- **strength**: the sum of the tie strengths ``e`` of those ties (weighted degree);
- **betweenness**: the share of shortest paths between pairs of other people that pass
  through the nominal (Freeman, 1977), normalised by the number of pairs, so it lies in
  [0, 1]. Shortest paths read edge weights as lengths, and a tie strength is the opposite of
  a length, so each tie has length ``1 / e``: a tie of strength 1 is one step, a tie of
  strength 0.5 two steps. (``-log e`` is the other common conversion; it gives every tie of
  strength 1 -- most kept ties, since ``e`` is capped at 1 -- length 0, so paths of any
  number of such ties would tie and betweenness would depend on hop counts no longer.)
  Computed exactly (Brandes, 2001) up to ``exact_limit`` people, else estimated from
  ``pivots`` source vertices drawn uniformly with a fixed seed (Brandes & Pich, 2007);
- **eigenvector**: the leading eigenvector of the weighted adjacency matrix (weights are
  strengths), computed per connected component and scaled so that its largest entry is 1
  in every component. A nominal without ties (an unlinked nominal, a component of one) has
  eigenvector 0: there is nobody to be central among.

References
----------
Freeman, L. C. (1977). A set of measures of centrality based on betweenness. *Sociometry*
40(1), 35-41.
Brandes, U. (2001). A faster algorithm for betweenness centrality. *Journal of Mathematical
Sociology* 25(2), 163-177.
Brandes, U. and Pich, C. (2007). Centrality estimation in large networks. *International
Journal of Bifurcation and Chaos* 17(7), 2303-2318.
Bonacich, P. (1987). Power and centrality: a family of measures. *American Journal of
Sociology* 92(5), 1170-1182.

Complexity: exact betweenness is O(n m + n^2 log n) time (one Dijkstra per vertex) and
O(n + m) memory; the estimate is O(k (m + n log n)) for ``k`` pivots. Degree and strength
are O(n + m); eigenvector centrality is a few ARPACK iterations of O(m) each.
"""

from __future__ import annotations

import logging
import random
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import igraph as ig
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from clnet_spark.columns import ADVERSARIAL_ONLY, DST, GROUP_ID, NOMINAL_ID, SRC, WEIGHT
from clnet_spark.groups.walktrap import GraphInputError

log = logging.getLogger(__name__)

DEGREE: Final = "degree"
STRENGTH: Final = "strength"
BETWEENNESS: Final = "betweenness"
EIGENVECTOR: Final = "eigenvector"
MEASURES: Final = (DEGREE, STRENGTH, BETWEENNESS, EIGENVECTOR)
GROUP_PREFIX: Final = "group_"
BETWEENNESS_METHOD: Final = "betweenness_method"
GROUP_BETWEENNESS_METHOD: Final = "group_betweenness_method"
ADVERSARIAL_DEGREE: Final = "adversarial_degree"
EXACT: Final = "exact"

CENTRALITY_COLUMNS: Final = (
    NOMINAL_ID,
    GROUP_ID,
    *MEASURES,
    *(GROUP_PREFIX + name for name in MEASURES),
    BETWEENNESS_METHOD,
    GROUP_BETWEENNESS_METHOD,
    ADVERSARIAL_DEGREE,
)
"""The columns of the ``centrality`` table, in order."""

CENTRALITY_SCHEMA: Final = (
    "nominal_id string, group_id string, degree long, strength double, betweenness double, "
    "eigenvector double, group_degree long, group_strength double, group_betweenness double, "
    "group_eigenvector double, betweenness_method string, group_betweenness_method string, "
    "adversarial_degree long"
)

_STRENGTH_PLACES: Final = 9  # tie strengths are DECIMAL(12, 9): their sums round back exactly
_EIGENVECTOR_PLACES: Final = 12  # ARPACK's last bits: symmetric vertices then agree exactly


class CentralityConfig(BaseModel):
    """The ``centrality`` settings (``docs/centrality.md``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exact_limit: int = Field(5000, ge=3)
    """Exact betweenness on graphs of at most this many people; estimated above it."""
    pivots: int = Field(1000, ge=1)
    """Source vertices of the estimate (Brandes & Pich): error falls as 1/sqrt(pivots)."""
    seed: int = 0
    """Seed of the pivot draw, so an estimate is reproducible."""
    include_adversarial: bool = False
    """Count ties whose only support is an adversarial relationship (rivalry) as paths."""


@dataclass(frozen=True)
class Betweenness:
    """Normalised betweenness of every vertex, and how it was obtained."""

    values: list[float]
    method: str
    """``exact``, or ``sampled k=<pivots> seed=<seed>``."""


def validate_graph(vertices: Sequence[str], edges: pd.DataFrame) -> None:
    """Check a graph given as vertex ids and an edge table; raise :class:`GraphInputError`.

    The contract of :func:`clnet_spark.groups.walktrap.find_groups`: unique ids; columns
    ``src``, ``dst``, ``weight``; no nulls, unknown ends or self-loops; weights finite and
    > 0; each undirected pair once. Messages give row positions, never ids.
    """
    if len(set(vertices)) != len(vertices):
        raise GraphInputError("vertices: nominal ids are not unique")
    missing = [col for col in (SRC, DST, WEIGHT) if col not in edges.columns]
    if missing:
        raise GraphInputError(
            f"edges: missing column(s) {missing}; columns present: {sorted(edges.columns)}"
        )
    known = set(vertices)
    weights = pd.to_numeric(edges[WEIGHT], errors="coerce").astype("float64")
    low = edges[[SRC, DST]].min(axis=1)
    high = edges[[SRC, DST]].max(axis=1)
    problems = {
        "endpoint not among the vertices": ~(edges[SRC].isin(known) & edges[DST].isin(known)),
        "self-loop": edges[SRC] == edges[DST],
        f"{WEIGHT} not a finite number > 0": ~(np.isfinite(weights) & (weights > 0)),
        "undirected pair given more than once": pd.DataFrame({"a": low, "b": high}).duplicated(),
    }
    for problem, mask in problems.items():
        rows = np.flatnonzero(mask.to_numpy())
        if len(rows):
            raise GraphInputError(f"edges: {problem} in {len(rows)} row(s), first at row {rows[0]}")


def tie_lengths(strengths: Sequence[float]) -> list[float]:
    """Path lengths of ties for shortest-path algorithms: ``1 / e`` for a tie of strength ``e``.

    >>> tie_lengths([1.0, 0.5, 0.25])
    [1.0, 2.0, 4.0]
    """
    return [1.0 / s for s in strengths]


def betweenness(
    graph: ig.Graph,
    lengths: Sequence[float] | None,
    *,
    exact_limit: int = 5000,
    pivots: int = 1000,
    seed: int = 0,
) -> Betweenness:
    """Normalised betweenness of an undirected graph: exact, or estimated from pivots.

    Parameters
    ----------
    graph
        Undirected, simple.
    lengths
        One path length per edge (:func:`tie_lengths`), or None for hop counts.
    exact_limit
        Graphs with at most this many vertices get exact values (Brandes, 2001).
    pivots, seed
        Above the limit, ``pivots`` distinct source vertices are drawn uniformly at random
        (``random.Random(seed)`` over the vertex order) and each vertex's betweenness is
        estimated as ``n / pivots`` times its dependency on those sources (Brandes & Pich,
        2007), an unbiased estimate. With ``pivots >= n`` the result is exact.

    Returns
    -------
    Betweenness
        ``values[i]`` for vertex ``i``: the sum over unordered pairs ``{s, t}`` of other
        vertices of the share of shortest s-t paths through ``i``, divided by
        ``(n - 1)(n - 2) / 2`` (0 for graphs of fewer than 3 vertices). Pairs in different
        components have no path and add nothing, so a small component's brokers score low
        on the whole network: their ``group_betweenness`` shows them within the group.

    Notes
    -----
    Complexity O(n m + n^2 log n), or O(k (m + n log n)) for ``k`` pivots. Paths of equal
    length are all counted; igraph compares weighted lengths with a relative tolerance.
    """
    n = graph.vcount()
    if n < 3:
        return Betweenness([0.0] * n, EXACT)
    pairs = (n - 1) * (n - 2) / 2
    if n <= exact_limit or pivots >= n:
        raw = graph.betweenness(directed=False, weights=lengths)
        return Betweenness([b / pairs for b in raw], EXACT)
    sources = sorted(random.Random(seed).sample(range(n), pivots))
    # igraph's subset betweenness of undirected paths from `sources` to every vertex counts
    # half of each source's dependencies; summed over all n sources it is the exact value.
    raw = graph.betweenness(directed=False, weights=lengths, sources=sources)
    scale = n / pivots / pairs
    log.debug("betweenness of %d vertices estimated from %d pivots", n, pivots)
    return Betweenness([b * scale for b in raw], f"sampled k={pivots} seed={seed}")


def eigenvector_by_component(graph: ig.Graph, weights: Sequence[float] | None) -> list[float]:
    """Eigenvector centrality per connected component, the largest 1 in each.

    Parameters
    ----------
    graph
        Undirected, simple.
    weights
        One strength per edge, or None (all 1).

    Returns
    -------
    list of float
        One value per vertex; 0 for a vertex without edges. Rounded to 12 decimal places.

    Notes
    -----
    The leading eigenvector of a disconnected graph lives on the component with the largest
    eigenvalue only, so each component is solved on its own (igraph's ARPACK solver, which
    igraph scales to a maximum of 1). O(m) per iteration.
    """
    values = [0.0] * graph.vcount()
    if weights is not None:
        graph = graph.copy()
        graph.es[WEIGHT] = list(weights)
    for members in graph.connected_components():
        if len(members) < 2:
            continue
        members = sorted(members)
        part = graph.induced_subgraph(members)
        with warnings.catch_warnings():
            # igraph warns when some values are nearly zero, advising to split the graph into
            # components: this is one component already; a vertex far from its core is
            # genuinely near zero.
            warnings.filterwarnings("ignore", "Some eigenvector centralities are nearly zero")
            scores = part.eigenvector_centrality(weights=WEIGHT if weights is not None else None)
        top = max(scores)
        for vertex, score in zip(members, scores, strict=True):
            values[vertex] = round(score / top, _EIGENVECTOR_PLACES)
    return values


def _graph(vertices: Sequence[str], edges: pd.DataFrame) -> ig.Graph:
    """The graph on ``sorted(vertices)``, its edges in (smaller, larger) id order, with weights."""
    order = sorted(vertices)
    index = {v: i for i, v in enumerate(order)}
    ends = pd.DataFrame(
        {
            "a": np.minimum(edges[SRC].map(index), edges[DST].map(index)),
            "b": np.maximum(edges[SRC].map(index), edges[DST].map(index)),
            WEIGHT: edges[WEIGHT].astype("float64"),
        }
    ).sort_values(["a", "b"], kind="mergesort")
    graph = ig.Graph(n=len(order), edges=list(zip(ends["a"], ends["b"], strict=True)))
    graph.vs[NOMINAL_ID] = order
    graph.es[WEIGHT] = ends[WEIGHT].tolist()
    return graph


def _measures(graph: ig.Graph, cfg: CentralityConfig) -> pd.DataFrame:
    strengths = graph.es[WEIGHT] if graph.ecount() else []
    between = betweenness(
        graph,
        tie_lengths(strengths),
        exact_limit=cfg.exact_limit,
        pivots=cfg.pivots,
        seed=cfg.seed,
    )
    return pd.DataFrame(
        {
            NOMINAL_ID: pd.Series(graph.vs[NOMINAL_ID] if graph.vcount() else [], dtype=object),
            DEGREE: graph.degree(),
            STRENGTH: [round(s, _STRENGTH_PLACES) for s in graph.strength(weights=strengths)],
            BETWEENNESS: between.values,
            EIGENVECTOR: eigenvector_by_component(graph, strengths),
            BETWEENNESS_METHOD: between.method,
        }
    )


def measures(
    vertices: Sequence[str], edges: pd.DataFrame, config: CentralityConfig | None = None
) -> pd.DataFrame:
    """Degree, strength, betweenness and eigenvector of every vertex of one graph.

    Parameters
    ----------
    vertices
        Every nominal id of the graph (isolated ones included), unique.
    edges
        Columns ``src``, ``dst``, ``weight`` (tie strength > 0): each undirected pair once
        (in either direction), both ends among ``vertices``.
    config
        Betweenness settings; the defaults when None.

    Returns
    -------
    pandas.DataFrame
        One row per vertex, sorted by ``nominal_id``: ``nominal_id, degree, strength,
        betweenness, eigenvector, betweenness_method``.

    Raises
    ------
    GraphInputError
        Inconsistent input (unknown ends, self-loops, repeated pairs, non-positive weights).

    Notes
    -----
    Vertices are sorted by id and edges by their ends' ids before the graph is built, so
    the result (the pivot draw included) does not depend on input order.
    """
    validate_graph(vertices, edges)
    return _measures(_graph(vertices, edges), config or CentralityConfig())


def centrality_table(
    vertices: Sequence[str],
    edges: pd.DataFrame,
    group_of: Mapping[str, str | None],
    config: CentralityConfig | None = None,
) -> pd.DataFrame:
    """The rows of the ``centrality`` table: whole-network and within-group measures.

    Parameters
    ----------
    vertices
        Every kept nominal id.
    edges
        Kept edges: ``src``, ``dst``, ``weight`` as for :func:`measures`, and a boolean
        ``adversarial_only``. Adversarial-only ties are left out of every measure unless
        ``config.include_adversarial``; each nominal's count of them is kept beside.
    group_of
        Nominal id -> group id (None or absent for a nominal in no group).
    config
        The settings; the defaults when None.

    Returns
    -------
    pandas.DataFrame
        :data:`CENTRALITY_COLUMNS`, one row per vertex sorted by ``nominal_id``. The
        ``group_*`` measures are computed on the subgraph induced by the group's members
        (the same ties, those between members); they are null for a nominal in no group.

    Raises
    ------
    GraphInputError
        As :func:`measures`; also when ``adversarial_only`` is missing.
    """
    cfg = config or CentralityConfig()
    if ADVERSARIAL_ONLY not in edges.columns:
        raise GraphInputError(
            f"edges: missing column {ADVERSARIAL_ONLY!r}; columns present: {sorted(edges.columns)}"
        )
    validate_graph(vertices, edges)
    rival = edges[ADVERSARIAL_ONLY].astype(bool)
    graph = _graph(vertices, edges if cfg.include_adversarial else edges[~rival])
    whole = _measures(graph, cfg)

    group_map = {v: g for v, g in group_of.items() if g is not None}
    members: dict[str, list[int]] = {}
    for position, nominal in enumerate(whole[NOMINAL_ID]):
        if nominal in group_map:
            members.setdefault(group_map[nominal], []).append(position)
    parts = [_measures(graph.induced_subgraph(members[g]), cfg) for g in sorted(members)]
    renamed = {name: GROUP_PREFIX + name for name in MEASURES}
    renamed[BETWEENNESS_METHOD] = GROUP_BETWEENNESS_METHOD
    within = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({name: pd.Series(dtype=object) for name in whole.columns})
    ).rename(columns=renamed)

    rival_ends = pd.concat([edges.loc[rival, SRC], edges.loc[rival, DST]]).value_counts()
    table = whole.merge(within, on=NOMINAL_ID, how="left", validate="one_to_one")
    table[GROUP_ID] = table[NOMINAL_ID].map(group_map)
    table[ADVERSARIAL_DEGREE] = table[NOMINAL_ID].map(rival_ends).fillna(0).astype("int64")
    table[GROUP_PREFIX + DEGREE] = table[GROUP_PREFIX + DEGREE].astype("Int64")
    log.info(
        "centrality: %d nominals, %d ties used (%d adversarial-only %s), %d groups; betweenness %s",
        len(whole),
        graph.ecount(),
        int(rival.sum()),
        "included" if cfg.include_adversarial else "left out",
        len(parts),
        whole[BETWEENNESS_METHOD].iloc[0] if len(whole) else EXACT,
    )
    return table.loc[:, list(CENTRALITY_COLUMNS)]
