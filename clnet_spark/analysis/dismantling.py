"""Network dismantling: which nominals to remove, in what order, to break a network up fastest.

METHOD section 7. For a network (the whole kept network, or one group's induced subgraph) the
functions here produce an ordered removal list and, after every removal, the size of the
largest connected remainder by people and by summed harm.

Protected nominals -- children on the reference date and vulnerable adults, who carry an
infinite removal cost -- stay in the graph but are never chosen: no method here can return
them. The caller decides who is protected (and logs any override) before calling.

Everything is deterministic: vertices are ordered by their identifier as text before any work,
and every tie is broken by that order. The algorithms read connectivity only; edge weights are
accepted and ignored (a weak tie still connects two people).
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import igraph as ig
import pandas as pd

from clnet_spark.columns import DST, NOMINAL_ID, SRC
from clnet_spark.errors import ClnetError

logger = logging.getLogger(__name__)

STEP = "step"
LCC_PEOPLE = "lcc_people"
LCC_FRACTION = "lcc_fraction"
LCC_HARM = "lcc_harm"
STEP_COLUMNS = (STEP, NOMINAL_ID, LCC_PEOPLE, LCC_FRACTION, LCC_HARM)


class DismantlingInputError(ClnetError):
    """The graph, the cost or the harm given to :func:`dismantle` is not usable."""


# --------------------------------------------------------------------------------------------
# The graph as the algorithms see it
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Net:
    """A simple undirected graph on vertices ``0..n-1``, numbered in text order of their names."""

    names: list[str]
    adj: list[list[int]]
    removable: list[bool]
    cost: list[float]
    harm: list[float]

    @property
    def n(self) -> int:
        return len(self.names)


class _UnionFind:
    """Disjoint sets with component size and summed harm, for growing graphs."""

    def __init__(self, harm: list[float]) -> None:
        self.parent = list(range(len(harm)))
        self.size = [1] * len(harm)
        self.harm = list(harm)

    def find(self, v: int) -> int:
        parent = self.parent
        root = v
        while parent[root] != root:
            root = parent[root]
        while parent[v] != root:
            parent[v], v = root, parent[v]
        return root

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        self.harm[ra] += self.harm[rb]
        return ra


def _profile(net: _Net, order: Sequence[int]) -> tuple[list[int], list[float]]:
    """Largest component by people and by harm after each prefix of ``order``.

    Returns two lists indexed ``0..len(order)``: entry ``q`` is the state after the first ``q``
    removals. Computed backwards, re-inserting the removed vertices into a union-find, in
    O((n + m) alpha(n)).
    """
    present = [True] * net.n
    for v in order:
        present[v] = False
    uf = _UnionFind(net.harm)
    for v in range(net.n):
        if present[v]:
            for u in net.adj[v]:
                if u < v and present[u]:
                    uf.union(u, v)
    roots = [uf.find(v) for v in range(net.n) if present[v]]
    best_people = max((uf.size[r] for r in roots), default=0)
    best_harm = max((uf.harm[r] for r in roots), default=0.0)
    people = [0] * (len(order) + 1)
    harm = [0.0] * (len(order) + 1)
    for q in range(len(order), -1, -1):
        people[q], harm[q] = best_people, best_harm
        if q == 0:
            break
        v = order[q - 1]
        present[v] = True
        root = uf.find(v)
        for u in net.adj[v]:
            if present[u]:
                root = uf.union(root, u)
        best_people = max(best_people, uf.size[root])
        best_harm = max(best_harm, uf.harm[root])
    return people, harm


def _components(net: _Net, alive: list[bool], nodes: Sequence[int]) -> list[list[int]]:
    """Connected components of the alive subgraph spanned from ``nodes``, each sorted."""
    seen: set[int] = set()
    out = []
    adj = net.adj
    for s in nodes:
        if not alive[s] or s in seen:
            continue
        seen.add(s)
        comp = [s]
        stack = [s]
        while stack:
            v = stack.pop()
            for u in adj[v]:
                if alive[u] and u not in seen:
                    seen.add(u)
                    comp.append(u)
                    stack.append(u)
        comp.sort()
        out.append(comp)
    return out


# --------------------------------------------------------------------------------------------
# Removal pickers for the component-by-component driver
# --------------------------------------------------------------------------------------------

_Picker = Callable[[_Net, list[bool], list[int]], "int | None"]


def _largest_piece_after_removal(net: _Net, alive: list[bool], comp: list[int]) -> dict[int, int]:
    """For each vertex of a connected component, the largest piece left when it is removed.

    One depth-first search with Tarjan's low-points (articulation points): removing ``v``
    separates each DFS child subtree ``c`` with ``low[c] >= disc[v]``; everything else stays
    with the parent side. O(size + edges of the component).
    """
    adj = net.adj
    disc: dict[int, int] = {}
    low: dict[int, int] = {}
    sub: dict[int, int] = {}
    sep_max: dict[int, int] = {}
    sep_sum: dict[int, int] = {}
    root = comp[0]
    disc[root] = low[root] = 0
    sub[root], sep_max[root], sep_sum[root] = 1, 0, 0
    timer = 1
    stack: list[tuple[int, int, int]] = [(root, -1, 0)]
    while stack:
        v, parent, i = stack[-1]
        nbrs = adj[v]
        while i < len(nbrs):
            u = nbrs[i]
            i += 1
            if not alive[u] or u == parent:
                continue
            if u in disc:
                if disc[u] < low[v]:
                    low[v] = disc[u]
                continue
            stack[-1] = (v, parent, i)
            disc[u] = low[u] = timer
            timer += 1
            sub[u], sep_max[u], sep_sum[u] = 1, 0, 0
            stack.append((u, v, 0))
            break
        else:
            stack.pop()
            if parent >= 0:
                if low[v] < low[parent]:
                    low[parent] = low[v]
                sub[parent] += sub[v]
                if low[v] >= disc[parent]:
                    sep_sum[parent] += sub[v]
                    if sub[v] > sep_max[parent]:
                        sep_max[parent] = sub[v]
    size = len(comp)
    return {v: max(sep_max[v], size - 1 - sep_sum[v]) for v in comp}


def _pick_best_split(net: _Net, alive: list[bool], comp: list[int]) -> int | None:
    """The removable vertex whose removal leaves the smallest largest piece (ties: degree)."""
    pieces = _largest_piece_after_removal(net, alive, comp)
    best: tuple[float, float, int] | None = None
    for v in comp:
        if net.removable[v]:
            degree = sum(1 for u in net.adj[v] if alive[u])
            key = (pieces[v] * net.cost[v], -degree / net.cost[v], v)
            if best is None or key < best:
                best = key
    return None if best is None else best[2]


def _pick_highest_degree(net: _Net, alive: list[bool], comp: list[int]) -> int | None:
    best: tuple[float, int] | None = None
    for v in comp:
        if net.removable[v]:
            key = (-sum(1 for u in net.adj[v] if alive[u]) / net.cost[v], v)
            if best is None or key < best:
                best = key
    return None if best is None else best[1]


def _pick_betweenness(net: _Net, alive: list[bool], comp: list[int]) -> int | None:
    """Highest betweenness in the component (igraph, unweighted); highest degree if all zero."""
    local = {v: i for i, v in enumerate(comp)}
    edges = [(local[v], local[u]) for v in comp for u in net.adj[v] if u > v and alive[u]]
    scores = ig.Graph(n=len(comp), edges=edges).betweenness(directed=False)
    best: tuple[float, int] | None = None
    for v in comp:
        if net.removable[v] and scores[local[v]] > 0:
            key = (-scores[local[v]] / net.cost[v], v)
            if best is None or key < best:
                best = key
    if best is None:
        return _pick_highest_degree(net, alive, comp)
    return best[1]


def _component_driver(net: _Net, alive: list[bool], pick: _Picker, stop_size: int = 1) -> list[int]:
    """Remove vertices from the current largest component until every component is small.

    The largest component with a removable vertex is taken each time (ties: smallest member);
    ``pick`` chooses the vertex. Only the component that lost a vertex is recomputed, so the
    total work is the sum of the sizes of the components visited. ``alive`` is updated.
    """
    heap = [(-len(c), c[0], c) for c in _components(net, alive, range(net.n)) if len(c) > stop_size]
    heapq.heapify(heap)
    order: list[int] = []
    while heap:
        _, _, comp = heapq.heappop(heap)
        v = pick(net, alive, comp)
        if v is None:
            continue
        alive[v] = False
        order.append(v)
        for piece in _components(net, alive, comp):
            if len(piece) > stop_size:
                heapq.heappush(heap, (-len(piece), piece[0], piece))
    return order


# --------------------------------------------------------------------------------------------
# Greedy removal orders. Each takes the alive mask (updated in place) and returns the order.
# --------------------------------------------------------------------------------------------


def _degrees(net: _Net, alive: list[bool]) -> list[int]:
    return [sum(1 for u in nbrs if alive[u]) if alive[v] else 0 for v, nbrs in enumerate(net.adj)]


def _hda(net: _Net, alive: list[bool]) -> list[int]:
    """Adaptive highest degree: remove the removable vertex of highest current degree."""
    deg = _degrees(net, alive)
    heap = [
        (-deg[v] / net.cost[v], v, deg[v]) for v in range(net.n) if alive[v] and net.removable[v]
    ]
    heapq.heapify(heap)
    order = []
    while heap:
        _, v, d = heapq.heappop(heap)
        if not alive[v] or d != deg[v]:
            continue
        if d == 0:
            break
        alive[v] = False
        order.append(v)
        for u in net.adj[v]:
            if alive[u]:
                deg[u] -= 1
                if net.removable[u]:
                    heapq.heappush(heap, (-deg[u] / net.cost[u], u, deg[u]))
    return order


def _corehd(net: _Net, alive: list[bool]) -> list[int]:
    """CoreHD (Zdeborova, Zhang & Zhou 2016): highest degree within the 2-core, then tree breaking.

    The 2-core is kept up to date by peeling; when it holds no removable vertex the remaining
    forest (and any cycle made only of protected vertices) is broken by :func:`_pick_best_split`,
    which for a tree removes its centroid.
    """
    in_core = list(alive)
    cdeg = _degrees(net, alive)
    heap: list[tuple[float, int, int]] = []

    def peel(start: int) -> None:
        stack = [start]
        in_core[start] = False
        while stack:
            v = stack.pop()
            for u in net.adj[v]:
                if in_core[u]:
                    cdeg[u] -= 1
                    if cdeg[u] < 2:
                        in_core[u] = False
                        stack.append(u)
                    elif net.removable[u]:
                        heapq.heappush(heap, (-cdeg[u] / net.cost[u], u, cdeg[u]))

    for v in range(net.n):
        if in_core[v] and cdeg[v] < 2:
            peel(v)
    heap.extend((-cdeg[v] / net.cost[v], v, cdeg[v]) for v in range(net.n) if in_core[v])
    heap = [item for item in heap if net.removable[item[1]]]
    heapq.heapify(heap)
    order = []
    while heap:
        _, v, d = heapq.heappop(heap)
        if not in_core[v] or d != cdeg[v]:
            continue
        alive[v] = False
        order.append(v)
        peel(v)
    order += _component_driver(net, alive, _pick_best_split)
    return order


def _collective_influence(net: _Net, alive: list[bool], radius: int = 2) -> list[int]:
    """Adaptive collective influence (Morone & Makse 2015) with ball radius ``radius``.

    ``CI(i) = (k_i - 1) * sum of (k_j - 1) over the vertices j at distance exactly ``radius``
    from i``. After a removal, CI is recomputed within distance ``radius + 1`` of the removed
    vertex. When no removable vertex has positive CI the rest is broken by
    :func:`_pick_best_split`.
    """
    adj = net.adj
    deg = _degrees(net, alive)

    def ball(v: int, depth: int) -> tuple[list[int], list[int]]:
        seen = {v}
        frontier = [v]
        inside = [v]
        for _ in range(depth):
            nxt = []
            for w in frontier:
                for u in adj[w]:
                    if alive[u] and u not in seen:
                        seen.add(u)
                        nxt.append(u)
            inside += nxt
            frontier = nxt
        return inside, frontier

    def ci(v: int) -> int:
        if deg[v] <= 1:
            return 0
        return (deg[v] - 1) * sum(deg[u] - 1 for u in ball(v, radius)[1])

    score = [ci(v) if alive[v] else 0 for v in range(net.n)]
    version = [0] * net.n
    heap = [(-score[v] / net.cost[v], v, 0) for v in range(net.n) if alive[v] and net.removable[v]]
    heapq.heapify(heap)
    order = []
    while heap:
        key, v, ver = heapq.heappop(heap)
        if not alive[v] or ver != version[v]:
            continue
        if key >= 0:
            break
        touched, _ = ball(v, radius + 1)
        alive[v] = False
        order.append(v)
        for u in adj[v]:
            if alive[u]:
                deg[u] -= 1
        for u in touched:
            if alive[u] and net.removable[u]:
                new = ci(u)
                if new != score[u]:
                    score[u] = new
                    version[u] += 1
                    heapq.heappush(heap, (-new / net.cost[u], u, version[u]))
    order += _component_driver(net, alive, _pick_best_split)
    return order


def _betweenness(net: _Net, alive: list[bool]) -> list[int]:
    """Adaptive betweenness, recomputed on the current largest component after each removal."""
    return _component_driver(net, alive, _pick_betweenness)


# --------------------------------------------------------------------------------------------
# Reinsertion (Braunstein, Dall'Asta, Semerjian & Zdeborova 2016)
# --------------------------------------------------------------------------------------------


def _reinsert(net: _Net, alive: list[bool], removed: Sequence[int], threshold: int) -> list[int]:
    """Put back removed vertices that rejoin the smallest clusters, while the LCC <= threshold.

    ``alive`` is the state after ``removed`` (it is updated in place with the vertices put back).
    At each step the removed vertex whose return would create the smallest cluster is put back
    (ties: the one removed last), as long as the largest component stays within
    ``max(threshold, current largest)``. Cluster sizes only grow, so a lazy heap is exact.
    Returns the vertices still removed, in their original order.
    """
    uf = _UnionFind(net.harm)
    for v in range(net.n):
        if alive[v]:
            for u in net.adj[v]:
                if u < v and alive[u]:
                    uf.union(u, v)
    limit = max([threshold] + [uf.size[uf.find(v)] for v in range(net.n) if alive[v]])

    def joined(v: int) -> int:
        roots = {uf.find(u) for u in net.adj[v] if alive[u]}
        return 1 + sum(uf.size[r] for r in roots)

    heap = [(joined(v), -i, v) for i, v in enumerate(removed)]
    heapq.heapify(heap)
    while heap:
        size, neg_pos, v = heapq.heappop(heap)
        current = joined(v)
        if current != size:
            heapq.heappush(heap, (current, neg_pos, v))
            continue
        if size > limit:
            break
        alive[v] = True
        for u in net.adj[v]:
            if alive[u]:
                uf.union(v, u)
    return [v for v in removed if not alive[v]]


# --------------------------------------------------------------------------------------------
# Sequences
# --------------------------------------------------------------------------------------------

_Greedy = Callable[[_Net, list[bool]], list[int]]

_GREEDY: dict[str, _Greedy] = {
    "hda": _hda,
    "betweenness": _betweenness,
    "corehd": _corehd,
    "ci": _collective_influence,
}


def _first_at_most(people: Sequence[int], size: int) -> int | None:
    return next((q for q, p in enumerate(people) if p <= size), None)


def _greedy_with_reinsertion(net: _Net, greedy: _Greedy, target: int) -> list[int]:
    """Greedy to the target, reinsertion at the target, then greedy and reinsertion to the end.

    Stage 1 runs the greedy order until the largest component is at most ``target`` and thins
    that prefix by reinsertion; stage 2 restarts the greedy on what is left until every
    component is a single vertex (or cannot be reduced) and thins it the same way.
    """
    alive = [True] * net.n
    order = greedy(net, list(alive))
    people, _ = _profile(net, order)
    k = _first_at_most(people, target)
    prefix = order if k is None else order[:k]
    for v in prefix:
        alive[v] = False
    first = _reinsert(net, alive, prefix, target)
    rest = greedy(net, list(alive))
    for v in rest:
        alive[v] = False
    second = _reinsert(net, alive, rest, 1)
    return first + second


def _robustness(people: Sequence[int], n: int, n_removable: int) -> float:
    """Schneider et al. (2011) robustness R of a removal sequence (see :class:`DismantlingResult`)."""
    if n == 0:
        return 0.0
    done = len(people) - 1
    final = people[-1]
    total = sum(people[1:]) + final * (n - done)
    if n_removable == n and done < n:
        total -= final
    return total / (n * n)
