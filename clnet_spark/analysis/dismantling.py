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
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
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
# Refinement of a removal order: local search and simulated annealing
# --------------------------------------------------------------------------------------------

_SNAPSHOT_CELLS = 8_000_000
"""Memory bound of the order search's union-find snapshots (list entries, 8 bytes each)."""


class _OrderSearch:
    """Improve a removal order by local search and by simulated annealing.

    The order is a permutation of every removable vertex. State ``q`` is the graph after the
    first ``q`` removals, and ``lcc[q]`` its largest component. Past ``end`` -- the first
    state where every component is a single vertex, or as small as protected vertices allow
    -- the order can be shuffled freely, so moving a vertex from there forward changes the
    *set* removed, not only the order.

    Orders are compared lexicographically by (states above the target, area), where the area
    ``sum_q lcc[q]`` is ``n**2`` times the robustness R up to a constant; the first number is
    the count of removals to the target. Any move permutes a window ``order[a..b]`` and changes
    only the states ``a+1..b``. Union-find snapshots of the states (every ``stride``-th one,
    within ``_SNAPSHOT_CELLS``) let a move be evaluated by replaying the window alone.
    """

    _TAIL_REACH = 16.0
    _SHUFFLE_EVERY = 500
    _PILOT = 100
    _REACH = 0.05
    _REACH_MAX = 32.0

    def __init__(self, net: _Net, order: Sequence[int], target: int) -> None:
        self.net, self.target = net, target
        chosen = set(order)
        self.order = list(order) + [v for v in range(net.n) if net.removable[v] and v not in chosen]
        self.m = len(self.order)
        self.pos = [self.m + 1] * net.n
        for i, v in enumerate(self.order):
            self.pos[v] = i
        self.stride = max(1, math.ceil(2 * (self.m + 1) * net.n / _SNAPSHOT_CELLS))
        self.lcc = [0] * (self.m + 1)
        self.snaps: dict[int, tuple[list[int], list[int]]] = {}
        self._initial_snapshot()
        self._replay(self.m, 0, None)
        # Once every component is a single vertex nothing more is gained, even though removing
        # the last ones empties the graph.
        self.final = max(1, self.lcc[self.m])
        self.end = self._end()

    def _initial_snapshot(self) -> None:
        n, adj, m = self.net.n, self.net.adj, self.m
        uf = _UnionFind([0.0] * n)
        for v in range(n):
            if self.pos[v] > m:
                for u in adj[v]:
                    if u < v and self.pos[u] > m:
                        uf.union(u, v)
        parent = [uf.find(v) for v in range(n)]
        self.lcc[m] = max((uf.size[parent[v]] for v in range(n) if self.pos[v] > m), default=0)
        self.snaps[m] = (parent, uf.size)

    def _end(self) -> int:
        return next(q for q in range(self.m + 1) if self.lcc[q] <= self.final)

    def _checkpoint(self, q: int) -> int:
        return min(-(-q // self.stride) * self.stride, self.m)

    def _states(
        self, start: int, stop: int, skip: int = -1
    ) -> Iterator[tuple[int, int, list[int], list[int]]]:
        """Walk from the snapshot of state ``start`` back to state ``stop``.

        Yields ``(q, lcc, parent, size)`` for state ``start`` and then each state ``q`` down to
        ``stop`` after putting back ``order[q]``; ``parent`` and ``size`` are the live
        union-find (copy them to keep them). ``skip`` stays removed throughout.
        """
        parent, size = self.snaps[start]
        parent, size = list(parent), list(size)
        lcc = self.lcc[start]
        adj, order, pos = self.net.adj, self.order, self.pos
        yield start, lcc, parent, size
        for q in range(start - 1, stop - 1, -1):
            v = order[q]
            if v != skip:
                root = v
                parent[v], size[v] = v, 1
                for u in adj[v]:
                    if pos[u] > q and u != skip:
                        r = u
                        while parent[r] != r:
                            r = parent[r]
                        while parent[u] != r:
                            parent[u], u = r, parent[u]
                        if r != root:
                            if size[r] > size[root]:
                                r, root = root, r
                            parent[r] = root
                            size[root] += size[r]
                if size[root] > lcc:
                    lcc = size[root]
            yield q, lcc, parent, size

    def _replay(self, start: int, stop: int, out: dict[int, int] | None) -> None:
        """Recompute states ``start-1 .. stop``: into ``out`` (a trial) or stored (a commit)."""
        states = self._states(start, stop)
        next(states)
        for q, lcc, parent, size in states:
            if out is not None:
                out[q] = lcc
            else:
                self.lcc[q] = lcc
                if q % self.stride == 0:
                    self.snaps[q] = (list(parent), list(size))

    def _place(self, a: int, segment: list[int]) -> None:
        self.order[a : a + len(segment)] = segment
        for k, v in enumerate(segment):
            self.pos[v] = a + k

    def _bring_forward(self, rng: random.Random) -> None:
        """Swap a vertex from near the start of the tail into the first tail slot.

        Free: every tail state keeps the final largest component. The snapshots of the states
        in between are refreshed.
        """
        k = min(self.m - 1, self.end + int(rng.expovariate(1.0 / self._TAIL_REACH)))
        if k > self.end:
            x, y = self.order[self.end], self.order[k]
            self._place(self.end, [y])
            self._place(k, [x])
            self._replay(self._checkpoint(k + 1), self.end + 1, None)

    def _shuffle_tail(self, rng: random.Random) -> None:
        tail = self.order[self.end :]
        rng.shuffle(tail)
        self._place(self.end, tail)
        self._replay(self.m, self.end + 1, None)

    def _propose(self, rng: random.Random, reach: float) -> tuple[int, int, list[int]] | None:
        """A random window move: (a, b, old window), with the new window already in place."""
        i = rng.randrange(self.end)
        dist = 1 + int(rng.expovariate(1.0 / reach))
        j = i + dist if rng.random() < 0.5 else i - dist
        if j < 0 or (j >= self.end and self.end >= self.m):
            return None
        if j >= self.end:
            j = self.end
            self._bring_forward(rng)
        a, b = min(i, j), max(i, j)
        old = self.order[a : b + 1]
        if rng.random() < 0.5:
            new = [old[-1], *old[1:-1], old[0]]
        elif i < j:
            new = [*old[1:], old[0]]
        else:
            new = [old[-1], *old[:-1]]
        self._place(a, new)
        return a, b, old

    def _evaluate(self, a: int, b: int) -> tuple[int, int, int]:
        """Energy change, change in removals above target, change in area of the placed move."""
        out: dict[int, int] = {}
        self._replay(self._checkpoint(b + 1), a + 1, out)
        target, lcc = self.target, self.lcc
        above = sum((new > target) - (lcc[q] > target) for q, new in out.items())
        area = sum(new - lcc[q] for q, new in out.items())
        return area + self.net.n * above, above, area

    def _commit(self, a: int, b: int) -> None:
        self._replay(self._checkpoint(b + 1), a + 1, None)
        if self.end > a:
            first = next((q for q in range(a + 1, b + 1) if self.lcc[q] <= self.final), None)
            if first is not None:
                self.end = first
            elif self.end <= b:
                self.end = b + 1

    def _gain(self, q: int, new: int) -> tuple[int, int]:
        was = self.lcc[q]
        return (new > self.target) - (was > self.target), new - was

    def _best_advance(self, j: int, window: int) -> tuple[tuple[int, int], int] | None:
        """Best earlier position for ``order[j]``: one replay with it kept removed.

        With ``order[j]`` moved to position ``k``, state ``q+1`` (``k <= q < j``) is state ``q``
        without it -- exactly what the replay holds after putting back ``order[q]``.
        """
        lo = max(0, j - window)
        above = area = 0
        best = None
        for q, lcc, _, _ in self._states(self._checkpoint(j + 1), lo, skip=self.order[j]):
            if q < j:
                d_above, d_area = self._gain(q + 1, lcc)
                above, area = above + d_above, area + d_area
                if (above, area) < (0, 0) and (best is None or (above, area) < best[0]):
                    best = ((above, area), q)
        return best

    def _best_delay(self, i: int, window: int) -> tuple[tuple[int, int], int] | None:
        """Best later position for ``order[i]``, from the clusters it would rejoin.

        With ``order[i]`` moved to position ``j``, state ``q`` (``i < q <= j``) is state
        ``q+1`` with it put back: its largest component is the larger of ``lcc(q+1)`` and the
        cluster it joins there.
        """
        hi = min(self.m - 1, i + window)
        if hi <= i:
            return None
        adj, pos = self.net.adj[self.order[i]], self.pos
        joined: dict[int, int] = {}
        for q, lcc, parent, size in self._states(self._checkpoint(hi + 1), i + 2):
            if q <= hi + 1:
                roots = set()
                for u in adj:
                    if pos[u] >= q:
                        while parent[u] != u:
                            u = parent[u]
                        roots.add(u)
                joined[q] = max(lcc, 1 + sum(size[r] for r in roots))
        above = area = 0
        best = None
        for q in range(i + 1, hi + 1):
            d_above, d_area = self._gain(q, joined[q + 1])
            above, area = above + d_above, area + d_area
            if (above, area) < (0, 0) and (best is None or (above, area) < best[0]):
                best = ((above, area), q)
        return best

    def descend(self, window: int, max_sweeps: int) -> list[int]:
        """Local search: move single vertices earlier or later while that improves the order.

        Each sweep visits every position of the list once, moving its vertex to the best place
        within ``window`` positions earlier, then later (first improvement), lexicographic in
        (removals above target, area). Stops after a sweep with no move or ``max_sweeps``.
        """
        for _ in range(max_sweeps):
            moved = False
            i = 0
            while i < self.end:
                advance = self._best_advance(i, window)
                if advance is not None:
                    k = advance[1]
                    self._place(k, [self.order[i], *self.order[k:i]])
                    self._commit(k, i)
                    moved = True
                delay = self._best_delay(i, window) if i < self.end else None
                if delay is not None:
                    j = delay[1]
                    self._place(i, [*self.order[i + 1 : j + 1], self.order[i]])
                    self._commit(i, j)
                    moved = True
                i += 1
            if not moved:
                break
        return self.order[: self.end]

    def anneal(self, iterations: int, seed: int = 0) -> list[int]:
        """Simulated annealing (Kirkpatrick, Gelatt & Vecchi 1983); returns the best list seen.

        A proposal picks a position ``i`` and another ``j`` at a distance drawn from an
        exponential law (mean ``_REACH`` of the list, at most ``_REACH_MAX``), and swaps them or
        rotates the window between them by one; a ``j`` past ``end`` brings a tail vertex in.
        The energy is ``area + n * (states above the target)``, so a move that costs a removal
        to the target is almost never taken. The starting temperature is the median energy
        rise of ``_PILOT`` trial proposals (evaluated, not applied); it falls geometrically to
        0.3 person-steps. ``seed`` fixes every random choice.
        """
        rng = random.Random(seed)
        above = sum(1 for x in self.lcc if x > self.target)
        area = sum(self.lcc[1:])
        best_score, best = (above, area), self.order[: self.end]
        reach = min(self._REACH_MAX, max(2.0, self.end * self._REACH))
        rises = []
        for _ in range(self._PILOT):
            move = self._propose(rng, reach) if self.end else None
            if move is not None:
                delta = self._evaluate(move[0], move[1])[0]
                self._place(move[0], move[2])
                if delta > 0:
                    rises.append(delta)
        rises.sort()
        t0 = max(1.0, rises[len(rises) // 2]) if rises else 1.0
        t1 = min(0.3, t0)
        logger.debug("annealing: %d moves, reach %.1f, t0 %.1f", iterations, reach, t0)
        for it in range(iterations):
            if it % self._SHUFFLE_EVERY == 0 and self.end < self.m:
                self._shuffle_tail(rng)
            move = self._propose(rng, reach) if self.end else None
            if move is None:
                continue
            a, b, old = move
            delta, d_above, d_area = self._evaluate(a, b)
            temperature = t0 * (t1 / t0) ** (it / iterations)
            if delta <= 0 or rng.random() < math.exp(-delta / temperature):
                self._commit(a, b)
                above, area = above + d_above, area + d_area
                if (above, area) < best_score:
                    best_score, best = (above, area), self.order[: self.end]
            else:
                self._place(a, old)
        return best


# --------------------------------------------------------------------------------------------
# Methods
# --------------------------------------------------------------------------------------------

_Greedy = Callable[[_Net, list[bool]], list[int]]

_GREEDY: dict[str, _Greedy] = {
    "hda": _hda,
    "betweenness": _betweenness,
    "corehd": _corehd,
    "ci": _collective_influence,
}

REINSERTION_SUFFIX = "+reinsertion"
DEFAULT = "default"
METHODS: tuple[str, ...] = (
    DEFAULT,
    *(f"{name}{suffix}" for name in _GREEDY for suffix in ("", REINSERTION_SUFFIX)),
)
"""Every value :func:`dismantle` accepts for ``method``."""

_BETWEENNESS_WORK = 5_000_000
"""The default tries adaptive betweenness only when ``n * m`` is at most this."""
_CI_WORK = 2_000_000
"""The default tries collective influence only when ``sum of degree^2`` is at most this."""
_REFINE_EDGES = 200_000
"""The default refines its best greedy order (local search, annealing) only when the network
has at most this many edges; beyond, each refinement step costs too much (a 22,000-person
network with 1.8 million edges ran for over 20 minutes) and the best greedy order with
reinsertion is returned as it is (8 s on that network)."""
_ANNEAL_PER_VERTEX, _ANNEAL_MAX = 400, 20_000
_WINDOW, _SWEEPS, _DESCENT_PROBES = 64, 20, 50_000
_RESTART_VERTICES, _RESTARTS_MAX = 1000, 4


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
    return first + _reinsert(net, alive, rest, 1)


def _score(net: _Net, order: Sequence[int], target: int) -> tuple[int, int]:
    """(removals until the largest component is at most ``target``, ``n**2`` times R)."""
    people, _ = _profile(net, order)
    return sum(1 for p in people if p > target), _area(people, net.n, sum(net.removable))


def _default(net: _Net, target: int) -> list[int]:
    """The default method: a portfolio of greedy orders, refined by local search and annealing.

    1. Candidates: CoreHD, adaptive degree and (when affordable: ``_CI_WORK``,
       ``_BETWEENNESS_WORK``) collective influence and adaptive betweenness, each followed by
       reinsertion; plain adaptive betweenness too, whose order is often the best at every
       step on small networks.
    2. Starts: the best candidate by (removals to target, area) and the best by area alone.
    3. Each start is polished by :meth:`_OrderSearch.descend`, then annealed
       (:meth:`_OrderSearch.anneal`, ``min(_ANNEAL_MAX, _ANNEAL_PER_VERTEX * removable)``
       proposals; ``min(_RESTARTS_MAX, _RESTART_VERTICES // removable)`` independent runs on
       small networks) and polished again.
    4. The best list by (removals to target, area) is returned; it is never worse than the
       best candidate by that ranking.

    A network with more than ``_REFINE_EDGES`` edges skips steps 2-3: the best candidate is
    returned unrefined.

    Deterministic: every random choice comes from a generator seeded with a constant.
    """
    m = sum(len(a) for a in net.adj) // 2
    names = ["corehd", "hda"]
    if sum(len(a) ** 2 for a in net.adj) <= _CI_WORK:
        names.append("ci")
    candidates = {}
    if net.n * m <= _BETWEENNESS_WORK:
        names.append("betweenness")
        candidates["betweenness"] = _betweenness(net, [True] * net.n)
    for name in names:
        candidates[name + REINSERTION_SUFFIX] = _greedy_with_reinsertion(net, _GREEDY[name], target)
    scores = {name: _score(net, order, target) for name, order in candidates.items()}
    logger.debug("default method candidates (removals to target, area): %s", scores)
    by_target = min(scores, key=lambda name: (scores[name], name))
    if m > _REFINE_EDGES:
        logger.info(
            "dismantling: %d edges > %d, the best greedy order (%s) is not refined",
            m,
            _REFINE_EDGES,
            by_target,
        )
        return candidates[by_target]
    by_area = min(scores, key=lambda name: (scores[name][1], scores[name][0], name))
    starts = [by_target] if by_area == by_target else [by_target, by_area]
    removable = sum(net.removable)
    budget = min(_ANNEAL_MAX, _ANNEAL_PER_VERTEX * removable)
    restarts = min(_RESTARTS_MAX, max(1, _RESTART_VERTICES // max(1, removable)))
    sweeps = min(_SWEEPS, max(1, _DESCENT_PROBES // max(1, 2 * len(candidates[by_target]))))
    best, best_score = candidates[by_target], scores[by_target]
    for s, name in enumerate(starts):
        polished = _OrderSearch(net, candidates[name], target).descend(_WINDOW, sweeps)
        for r in range(restarts):
            refined = _OrderSearch(net, polished, target).anneal(budget, seed=100 * s + r)
            refined = _OrderSearch(net, refined, target).descend(_WINDOW, sweeps)
            score = _score(net, refined, target)
            logger.debug("refined from %s (run %d): %s -> %s", name, r, scores[name], score)
            if score < best_score:
                best, best_score = refined, score
    return best


def _run_method(net: _Net, method: str, target: int, ci_radius: int) -> list[int]:
    if method == DEFAULT:
        return _default(net, target)
    name, _, suffix = method.partition("+")
    greedy = _GREEDY[name]
    if name == "ci":

        def greedy(net: _Net, alive: list[bool]) -> list[int]:
            return _collective_influence(net, alive, ci_radius)

    if suffix:
        return _greedy_with_reinsertion(net, greedy, target)
    return greedy(net, [True] * net.n)


def _area(people: Sequence[int], n: int, n_removable: int) -> int:
    """``sum_{q=1..n} lcc(q)``, the numerator of R (see :class:`DismantlingResult`)."""
    done = len(people) - 1
    final = people[-1]
    total = sum(people[1:]) + final * (n - done)
    if n_removable == n and done < n:
        total -= final
    return total


def _robustness(people: Sequence[int], n: int, n_removable: int) -> float:
    """Robustness R (Schneider et al. 2011) of a removal list; see :class:`DismantlingResult`."""
    return _area(people, n, n_removable) / (n * n) if n else 0.0


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DismantlingResult:
    """An ordered removal list and how the network falls apart along it.

    Attributes
    ----------
    steps : pandas.DataFrame
        One row per removal, in order: ``step`` (1-based), ``nominal_id``, ``lcc_people`` (size
        of the largest connected component left), ``lcc_fraction`` (``lcc_people`` over all
        vertices, protected ones included), ``lcc_harm`` (the largest summed harm of any one
        component left; null when no harm was given). The list runs until no removal can
        shrink the largest component any further: every component is a single person, or
        what is left is held together by protected people only.
    method : str
        The method that produced the list.
    n_vertices : int
        Vertices of the network, protected and isolated ones included.
    target_size : int
        The largest component size that counts as broken up.
    removals_to_target : int or None
        The fewest leading steps after which the largest component has at most
        ``target_size`` people (0 if it already had); None if protected people alone hold a
        larger component together.
    mean_lcc_fraction : float
        The robustness R of Schneider et al. (2011), the area under the largest-component
        curve: ``R = (1/N) * sum_{q=1..N} s(q)`` with ``s(q)`` the largest-component fraction
        after ``q`` removals. Past the end of ``steps`` the remaining removable people are
        removed in any order (which cannot shrink the largest component, except that removing
        the last vertex of a network with no protected person leaves it empty, ``s(N) = 0``);
        past the last removable person ``s`` stays at its final value. Lower is better; with
        no protected people this is exactly Schneider's R.
    initial_lcc_people : int
        Largest component before any removal.
    initial_lcc_harm : float or None
        Largest summed harm of a component before any removal (None without harm).
    protected : tuple of str
        Vertices with infinite removal cost: kept in the graph, never in ``steps``.
    """

    steps: pd.DataFrame
    method: str
    n_vertices: int
    target_size: int
    removals_to_target: int | None
    mean_lcc_fraction: float
    initial_lcc_people: int
    initial_lcc_harm: float | None
    protected: tuple[str, ...]

    @property
    def to_target(self) -> list[str]:
        """The removal list cut where the target is reached (the whole list if it never is)."""
        ids = self.steps[NOMINAL_ID].tolist()
        return ids if self.removals_to_target is None else ids[: self.removals_to_target]


def _per_vertex(
    values: Mapping[str, float] | None,
    index: Mapping[str, int],
    default: float,
    name: str,
    valid: Callable[[float], bool],
    expected: str,
) -> list[float]:
    """A per-nominal mapping as a list in vertex order; ids not in the graph are ignored."""
    out = [default] * len(index)
    bad = 0
    for key, value in (values or {}).items():
        number = float(value)
        if not valid(number):
            bad += 1
        elif str(key) in index:
            out[index[str(key)]] = number
    if bad:
        raise DismantlingInputError(f"{name}: {bad} value(s) not {expected} (NaN included)")
    return out


def _net_from_input(
    graph: ig.Graph | pd.DataFrame,
    vertices: Sequence[str] | None,
    cost: Mapping[str, float] | None,
    harm: Mapping[str, float] | None,
) -> _Net:
    if isinstance(graph, ig.Graph):
        if "name" in graph.vs.attributes():
            labels = [str(x) for x in graph.vs["name"]]
        else:
            labels = [str(i) for i in range(graph.vcount())]
        if len(set(labels)) != len(labels):
            raise DismantlingInputError("graph: vertex names are not unique")
        pairs = [(labels[a], labels[b]) for a, b in graph.get_edgelist()]
        names = set(labels)
    elif isinstance(graph, pd.DataFrame):
        missing = [c for c in (SRC, DST) if c not in graph.columns]
        if missing:
            raise DismantlingInputError(
                f"edges: missing column(s) {missing}; expected {SRC}, {DST} (and optionally "
                f"weight, ignored); columns present: {list(graph.columns)}"
            )
        ends = graph[[SRC, DST]]
        if ends.isna().any().any():
            bad = int(ends.isna().any(axis=1).sum())
            raise DismantlingInputError(f"edges: {bad} row(s) with a null {SRC} or {DST}")
        pairs = list(zip(ends[SRC].astype(str), ends[DST].astype(str), strict=True))
        names = {x for pair in pairs for x in pair}
    else:
        raise DismantlingInputError(
            f"graph: expected an igraph.Graph or a pandas DataFrame of edges, "
            f"got {type(graph).__name__}"
        )
    if vertices is not None:
        given = [str(v) for v in vertices]
        if len(set(given)) != len(given):
            raise DismantlingInputError("vertices: identifiers are not unique")
        unknown = names - set(given)
        if unknown:
            raise DismantlingInputError(f"edges: {len(unknown)} endpoint(s) not in vertices")
        names = set(given)
    ordered = sorted(names)
    index = {name: i for i, name in enumerate(ordered)}
    neighbours: list[set[int]] = [set() for _ in ordered]
    for a, b in pairs:
        if a != b:
            neighbours[index[a]].add(index[b])
            neighbours[index[b]].add(index[a])
    costs = _per_vertex(cost, index, 1.0, "cost", lambda c: c > 0, "> 0 (inf = protected)")
    harms = _per_vertex(harm, index, 0.0, "harm", lambda h: 0 <= h < math.inf, "finite, >= 0")
    return _Net(
        names=ordered,
        adj=[sorted(s) for s in neighbours],
        removable=[math.isfinite(c) for c in costs],
        cost=costs,
        harm=harms,
    )


def dismantle(
    graph: ig.Graph | pd.DataFrame,
    *,
    method: str = DEFAULT,
    target_fraction: float = 0.1,
    target_size: int | None = None,
    cost: Mapping[str, float] | None = None,
    harm: Mapping[str, float] | None = None,
    vertices: Sequence[str] | None = None,
    ci_radius: int = 2,
) -> DismantlingResult:
    """Order the nominals whose removal breaks a network up fastest.

    Parameters
    ----------
    graph : igraph.Graph or pandas.DataFrame
        The network, undirected (direction is ignored); ids are read as text. A graph's vertex
        attribute ``name`` holds the nominal ids (vertex indices are used without it). A
        DataFrame has one row per edge with columns ``src`` and ``dst``; any other column
        (``weight``) is ignored, as are self loops and repeated pairs: removal only reads
        connectivity.
    method : str
        One of :data:`METHODS`. ``"default"`` (see :func:`_default`): a portfolio of the greedy
        methods with reinsertion, refined by simulated annealing of the removal order. The
        baselines: ``"hda"`` adaptive highest degree; ``"betweenness"`` adaptive betweenness,
        recomputed on the current largest component; ``"corehd"`` CoreHD (Zdeborova, Zhang &
        Zhou 2016, "Fast and simple decycling and dismantling of networks", Sci. Rep. 6:37954);
        ``"ci"`` collective influence (Morone & Makse 2015, "Influence maximization in complex
        networks through optimal percolation", Nature 524:65), ball radius ``ci_radius``. Each
        with ``"+reinsertion"``: the greedy order is cut at the target and thinned by putting
        back the removed vertices that rejoin the smallest clusters (Braunstein, Dall'Asta,
        Semerjian & Zdeborova 2016, "Network dismantling", PNAS 113:12368), then continued and
        thinned the same way down to single vertices.
    target_fraction : float
        The network counts as broken up when its largest component has at most
        ``floor(target_fraction * n)`` people (at least 1). Ignored if ``target_size`` is set.
    target_size : int, optional
        The target as a number of people.
    cost : mapping of nominal id to float, optional
        Removal cost (default 1). ``inf`` marks a protected person (a child on the reference
        date, a vulnerable adult): kept in the graph, never removed. Finite costs divide the
        greedy scores, so a costlier person is chosen later; the default method's refinement
        counts removals, not cost. Ids not in the graph are ignored.
    harm : mapping of nominal id to float, optional
        Harm per nominal (default 0); ``lcc_harm`` sums it per component. This sums nominal
        harms, so a crime shared by two members of one component counts twice -- unlike the
        group harm of METHOD section 6, which counts distinct crimes.
    vertices : sequence of str, optional
        All vertices, to include people with no edge (they count in ``n``).
    ci_radius : int
        Ball radius of collective influence (default 2).

    Returns
    -------
    DismantlingResult

    Raises
    ------
    DismantlingInputError
        For an unknown method, a target out of range, missing edge columns, null endpoints,
        endpoints missing from ``vertices``, a cost <= 0 or NaN, or a negative or non-finite
        harm.

    Notes
    -----
    Deterministic: vertices are numbered in text order of their ids and every tie goes to the
    smaller id; the default's annealing uses a fixed seed. Costs O(n + m) per removal for the
    degree and core methods, O(n m) per removal for betweenness; the default's refinement runs
    a bounded number of moves (at most 60,000), each replaying a window of the order.
    """
    if method not in METHODS:
        raise DismantlingInputError(f"method: expected one of {list(METHODS)}, got {method!r}")
    if target_size is None and not 0 < target_fraction <= 1:
        raise DismantlingInputError(
            f"target_fraction: expected a number in (0, 1], got {target_fraction!r}"
        )
    if target_size is not None and (not isinstance(target_size, int) or target_size < 1):
        raise DismantlingInputError(f"target_size: expected an int >= 1, got {target_size!r}")
    if not isinstance(ci_radius, int) or ci_radius < 1:
        raise DismantlingInputError(f"ci_radius: expected an int >= 1, got {ci_radius!r}")
    net = _net_from_input(graph, vertices, cost, harm)
    target = target_size if target_size is not None else max(1, int(target_fraction * net.n))
    order = _run_method(net, method, target, ci_radius)
    people, harms = _profile(net, order)
    # Trim removals that no longer change anything (an order ends where its curve stops).
    end = next(q for q in range(len(people)) if people[q] == people[-1] and harms[q] == harms[-1])
    order, people, harms = order[:end], people[: end + 1], harms[: end + 1]
    with_harm = harm is not None
    lcc_harm = harms[1:] if with_harm else [math.nan] * len(order)
    steps = pd.DataFrame(
        {
            STEP: pd.Series(range(1, len(order) + 1), dtype="int64"),
            NOMINAL_ID: pd.Series([net.names[v] for v in order], dtype="object"),
            LCC_PEOPLE: pd.Series(people[1:], dtype="int64"),
            LCC_FRACTION: pd.Series([p / net.n for p in people[1:]], dtype="float64"),
            LCC_HARM: pd.Series(lcc_harm, dtype="float64"),
        },
        columns=list(STEP_COLUMNS),
    )
    reached = _first_at_most(people, target)
    result = DismantlingResult(
        steps=steps,
        method=method,
        n_vertices=net.n,
        target_size=target,
        removals_to_target=reached,
        mean_lcc_fraction=_robustness(people, net.n, sum(net.removable)),
        initial_lcc_people=people[0],
        initial_lcc_harm=harms[0] if with_harm else None,
        protected=tuple(name for name, ok in zip(net.names, net.removable, strict=True) if not ok),
    )
    logger.debug(
        "dismantling (%s): %d vertices, %d protected, target %d: %s removals to target, R %.4f",
        method,
        net.n,
        len(result.protected),
        target,
        reached,
        result.mean_lcc_fraction,
    )
    return result
