"""The network picture: groups as coloured clusters, peripheral groups around the main body.

Positions are computed on the server with igraph (Fruchterman-Reingold inside each group from a
circle start, so the picture is reproducible) and drawn as SVG in which each group is a link
to its page. Main-body groups sit in the middle, peripheral groups on a ring around them, and
nominals in no group on an outer ring in grey.
"""

from __future__ import annotations

import math

import igraph as ig
import pandas as pd
from markupsafe import Markup, escape

from clnet_spark import columns as c

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
)  # fmt: skip
UNGROUPED = "#b0b0b0"
SIZE = 900.0


def group_colours(group_ids: list[str]) -> dict[str, str]:
    """A colour per group, in sorted group order."""
    return {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(sorted(group_ids))}


def _cluster(members: list[str], edges: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Unit-radius positions of one group's members (sorted, so reproducible)."""
    members = sorted(members)
    if len(members) == 1:
        return {members[0]: (0.0, 0.0)}
    index = {m: i for i, m in enumerate(members)}
    inside = edges[edges[c.SRC].isin(index) & edges[c.DST].isin(index)]
    graph = ig.Graph(
        n=len(members),
        edges=[(index[s], index[d]) for s, d in zip(inside[c.SRC], inside[c.DST], strict=True)],
    )
    start = graph.layout_circle().coords
    coords = graph.layout_fruchterman_reingold(seed=start, niter=300).coords
    xs, ys = [p[0] for p in coords], [p[1] for p in coords]
    cx, cy = sum(xs) / len(xs), sum(ys) / len(ys)
    radius = max(math.hypot(x - cx, y - cy) for x, y in coords) or 1.0
    return {
        m: ((x - cx) / radius, (y - cy) / radius) for m, (x, y) in zip(members, coords, strict=True)
    }


def network_positions(
    nominals: pd.DataFrame, groups: pd.DataFrame, edges: pd.DataFrame
) -> pd.DataFrame:
    """Picture coordinates of every county-lines nominal.

    Parameters
    ----------
    nominals
        ``nominal_id``, ``group_id`` (null: in no group).
    groups
        ``group_id``, ``group_kind`` (``main`` or ``peripheral``), ``size``.
    edges
        ``src``, ``dst``.

    Returns
    -------
    pandas.DataFrame
        ``nominal_id``, ``group_id``, ``x``, ``y`` in a ``SIZE`` x ``SIZE`` box.
    """
    centre = SIZE / 2
    main = groups[groups[c.GROUP_KIND] == "main"].sort_values(c.GROUP_ID)
    outer = groups[groups[c.GROUP_KIND] != "main"].sort_values(c.GROUP_ID)
    largest = max([1, *groups["size"].tolist()])

    def cluster_radius(size: int) -> float:
        return 25.0 + 70.0 * math.sqrt(size / largest)

    centres: dict[str, tuple[float, float, float]] = {}
    for ring, frame, distance in ((0, main, 110.0), (1, outer, 310.0)):
        count = len(frame)
        for i, (gid, size) in enumerate(zip(frame[c.GROUP_ID], frame["size"], strict=True)):
            if ring == 0 and count == 1:
                centres[gid] = (centre, centre, cluster_radius(size) * 1.4)
                continue
            angle = 2 * math.pi * i / max(count, 1) - math.pi / 2
            centres[gid] = (
                centre + distance * math.cos(angle),
                centre + distance * math.sin(angle),
                cluster_radius(size),
            )
    rows = []
    for gid, (gx, gy, radius) in centres.items():
        members = nominals.loc[nominals[c.GROUP_ID] == gid, c.NOMINAL_ID].tolist()
        for node, (x, y) in _cluster(members, edges).items():
            rows.append((node, gid, gx + radius * x, gy + radius * y))
    loose = sorted(nominals.loc[nominals[c.GROUP_ID].isna(), c.NOMINAL_ID])
    for i, node in enumerate(loose):
        angle = 2 * math.pi * i / max(len(loose), 1)
        rows.append((node, None, centre + 420 * math.cos(angle), centre + 420 * math.sin(angle)))
    return pd.DataFrame(rows, columns=[c.NOMINAL_ID, c.GROUP_ID, "x", "y"])


def network_svg(nominals: pd.DataFrame, groups: pd.DataFrame, edges: pd.DataFrame) -> Markup:
    """The SVG picture; each group's nodes are one ``<a>`` to ``/groups/<group_id>``."""
    pos = network_positions(nominals, groups, edges)
    where = {n: (x, y) for n, x, y in zip(pos[c.NOMINAL_ID], pos["x"], pos["y"], strict=True)}
    colours = group_colours(groups[c.GROUP_ID].tolist())
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="network" viewBox="0 0 {SIZE:.0f} {SIZE:.0f}" '
        'width="100%" role="img" aria-label="county-lines network by group">'
    ]
    parts.append('<g stroke="#999" stroke-opacity="0.5">')
    for src, dst, adversarial in zip(
        edges[c.SRC], edges[c.DST], edges[c.ADVERSARIAL_ONLY], strict=True
    ):
        if src in where and dst in where:
            (x1, y1), (x2, y2) = where[src], where[dst]
            dash = ' stroke-dasharray="4 3" stroke="#d62728"' if adversarial else ""
            parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"{dash}/>')
    parts.append("</g>")
    for gid, members in pos.groupby(c.GROUP_ID, dropna=False, sort=True):
        is_group = isinstance(gid, str)
        colour = colours.get(gid, UNGROUPED) if is_group else UNGROUPED
        if is_group:
            kind = groups.loc[groups[c.GROUP_ID] == gid, c.GROUP_KIND].iloc[0]
            parts.append(
                f'<a href="/groups/{escape(gid)}" class="group-link" data-group="{escape(gid)}">'
                f"<title>{escape(gid)} ({escape(kind)}, {len(members)} nominals)</title>"
            )
        parts.append(f'<g fill="{colour}">')
        for x, y in zip(members["x"], members["y"], strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6"/>')
        parts.append("</g>")
        if is_group:
            lx, ly = members["x"].mean(), members["y"].min() - 12
            parts.append(
                f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle" font-size="16" '
                f'font-weight="bold" fill="{colour}">{escape(gid)}</text></a>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
