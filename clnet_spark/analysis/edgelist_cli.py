"""Groups and dismantling of any edge list given as a CSV file (the CLI's ``--edges`` mode).

Edge file: columns ``source``, ``target`` and optionally ``weight`` (default 1); ids are read as
text. Rows are undirected edges: direction is ignored, the weights of a pair (in either
direction, on any number of rows) are summed, and self loops are dropped. Node cost file:
columns ``nominal_id`` (or ``node``) and ``cost``, where ``inf`` marks a person never to be
removed (a child, a vulnerable adult).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pandas as pd

from clnet_spark.analysis.dismantling import (
    DEFAULT,
    LCC_FRACTION,
    LCC_PEOPLE,
    STEP,
    DismantlingResult,
    dismantle,
)
from clnet_spark.columns import DST, NOMINAL_ID, SRC, WEIGHT
from clnet_spark.errors import InputContractError
from clnet_spark.groups.stable_ids import assign_stable_ids
from clnet_spark.groups.walktrap import GROUP_COLUMNS, GROUP_KEY, KIND, UNLINKED, find_groups
from clnet_spark.io import write_text_atomic

logger = logging.getLogger(__name__)

SOURCE, TARGET, COST, NODE = "source", "target", "cost", "node"
TARGET_REACHED = "target_reached"


class EdgeFileError(InputContractError):
    """An edge or node-cost file is missing, unreadable or lacks the columns required."""


def _read(path: Path, required: list[list[str]]) -> pd.DataFrame:
    """Read a CSV as text; ``required`` lists, per needed column, the names accepted for it."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError as err:
        raise EdgeFileError(f"{path}: no such file") from err
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise EdgeFileError(f"{path}: not a readable CSV file ({type(err).__name__})") from err
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [names for names in required if not any(n in frame.columns for n in names)]
    if missing:
        wanted = [" or ".join(names) for names in missing]
        raise EdgeFileError(
            f"{path}: missing column(s) {wanted}; columns present: {list(frame.columns)}"
        )
    return frame


def _numbers(path: Path, frame: pd.DataFrame, column: str) -> pd.Series:
    """A text column as floats; an unparseable value is an error naming the file and row."""
    values = pd.to_numeric(frame[column].str.strip(), errors="coerce")
    bad = values.isna()
    if bad.any():
        first = int(bad.to_numpy().nonzero()[0][0])
        raise EdgeFileError(
            f"{path}: column {column!r} has {int(bad.sum())} value(s) that are not numbers "
            f"(first at data row {first + 1})"
        )
    return values.astype("float64")


def read_edge_file(path: Path | str) -> tuple[list[str], pd.DataFrame]:
    """Vertices and undirected edges (``src < dst``, summed ``weight``) of an edge CSV.

    Raises
    ------
    EdgeFileError
        For a missing or unreadable file, missing ``source``/``target`` columns (the columns
        present are listed), empty ids, or weights that are not finite numbers > 0.
    """
    path = Path(path)
    frame = _read(path, [[SOURCE], [TARGET]])
    ends = frame[[SOURCE, TARGET]].apply(lambda col: col.str.strip())
    if (ends == "").any().any():
        raise EdgeFileError(f"{path}: {int((ends == '').any(axis=1).sum())} row(s) lack an id")
    weight = _numbers(path, frame, WEIGHT) if WEIGHT in frame.columns else 1.0
    edges = pd.DataFrame(
        {SRC: ends.min(axis=1), DST: ends.max(axis=1), WEIGHT: weight}, index=frame.index
    )
    if not (edges[WEIGHT].map(math.isfinite) & (edges[WEIGHT] > 0)).all():
        raise EdgeFileError(f"{path}: column 'weight' must hold finite numbers > 0")
    vertices = sorted(set(edges[SRC]) | set(edges[DST]))
    loops = edges[SRC] == edges[DST]
    if loops.any():
        logger.info("%s: %d self loop(s) dropped", path, int(loops.sum()))
    summed = edges[~loops].groupby([SRC, DST], as_index=False, sort=True)[WEIGHT].sum()
    logger.info(
        "%s: %d rows, %d vertices, %d undirected edges",
        path,
        len(frame),
        len(vertices),
        len(summed),
    )
    return vertices, summed


def read_cost_file(path: Path | str) -> dict[str, float]:
    """Removal cost per node from a CSV with ``nominal_id`` (or ``node``) and ``cost``.

    Raises
    ------
    EdgeFileError
        For a missing or unreadable file, missing columns, a repeated node, or a cost that is
        not a number > 0 (``inf`` is allowed).
    """
    path = Path(path)
    frame = _read(path, [[NOMINAL_ID, NODE], [COST]])
    ids = frame[NOMINAL_ID if NOMINAL_ID in frame.columns else NODE].str.strip()
    costs = _numbers(path, frame, COST)
    if not (costs > 0).all():
        raise EdgeFileError(f"{path}: column 'cost' must hold numbers > 0 (or inf)")
    if ids.duplicated().any():
        raise EdgeFileError(f"{path}: {int(ids.duplicated().sum())} node(s) listed more than once")
    return dict(zip(ids, costs, strict=True))


def groups_from_edge_file(
    edges_csv: Path | str, out_csv: Path | str, steps: int = 4
) -> pd.DataFrame:
    """Walktrap groups of an edge list, written to ``out_csv`` and returned.

    Output columns: ``nominal_id``, ``group_id`` (``G0001`` ... by decreasing group size, as on
    a first pipeline run; empty when unlinked), then ``group_key``, ``component``, ``kind`` of
    :func:`~clnet_spark.groups.walktrap.find_groups`.
    """
    vertices, edges = read_edge_file(edges_csv)
    found = find_groups(vertices, edges, steps=steps)
    grouped = found[found[KIND] != UNLINKED]
    members = {
        key: frozenset(rows[NOMINAL_ID]) for key, rows in grouped.groupby(GROUP_KEY, sort=True)
    }
    ids = assign_stable_ids(members, {})
    found.insert(1, "group_id", [None if k is None else ids[k] for k in found[GROUP_KEY]])
    found = found.loc[:, [NOMINAL_ID, "group_id", *GROUP_COLUMNS[1:]]]
    write_text_atomic(Path(out_csv), found.to_csv(index=False))
    logger.info("%d groups of %d vertices written to %s", len(ids), len(found), out_csv)
    return found


def dismantle_from_edge_file(
    edges_csv: Path | str,
    out_csv: Path | str,
    node_cost_csv: Path | str | None = None,
    method: str = DEFAULT,
    target_fraction: float = 0.1,
) -> DismantlingResult:
    """Removal order of an edge list (see :func:`~clnet_spark.analysis.dismantling.dismantle`).

    Writes ``out_csv`` with one row per removal: ``step``, ``nominal_id``, ``lcc_people``,
    ``lcc_fraction`` and ``target_reached`` (the largest component is within the target from
    this step on). Nodes with infinite cost never appear.
    """
    vertices, edges = read_edge_file(edges_csv)
    cost = read_cost_file(node_cost_csv) if node_cost_csv is not None else None
    result = dismantle(
        edges, method=method, target_fraction=target_fraction, cost=cost, vertices=vertices
    )
    table = result.steps.loc[:, [STEP, NOMINAL_ID, LCC_PEOPLE, LCC_FRACTION]]
    table[TARGET_REACHED] = table[LCC_PEOPLE] <= result.target_size
    write_text_atomic(Path(out_csv), table.to_csv(index=False))
    logger.info(
        "%d removals written to %s (%s to reach at most %d people, R %.4f)",
        len(table),
        out_csv,
        result.removals_to_target,
        result.target_size,
        result.mean_lcc_fraction,
    )
    return result
