"""Walktrap groups: a hand-made graph, and invariants on real criminal networks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from clnet_spark.groups.walktrap import GraphInputError, find_groups

REAL_NETWORKS = ("caviar_full", "montagna_meetings", "london_gang", "italian_gangs")


def undirected(frame: pd.DataFrame) -> pd.DataFrame:
    """Direction ignored, weights summed per pair, ids as zero-padded text."""
    a = frame["source"].astype(str).str.zfill(6)
    b = frame["target"].astype(str).str.zfill(6)
    weight = frame.get("weight", 1.0)
    pairs = pd.DataFrame({"src": a.where(a < b, b), "dst": b.where(a < b, a), "weight": weight})
    pairs = pairs[pairs["src"] != pairs["dst"]]
    return pairs.groupby(["src", "dst"], as_index=False)["weight"].sum()


def load(shared_dir: Path, name: str) -> tuple[list[str], pd.DataFrame]:
    edges = undirected(pd.read_csv(shared_dir / "data" / "networks" / name / "edges.csv"))
    vertices = sorted(set(edges["src"]) | set(edges["dst"]))
    return vertices, edges


def as_partition(result: pd.DataFrame) -> set[frozenset[str]]:
    linked = result[result["kind"] != "unlinked"]
    return {frozenset(g["nominal_id"]) for _, g in linked.groupby("group_key")}


def test_hand_made_graph_groups_and_kinds() -> None:
    # Two triangles joined by one weak edge, a separate pair, and an isolate.
    edges = pd.DataFrame(
        [
            ("a", "b", 1.0), ("a", "c", 1.0), ("b", "c", 1.0),
            ("d", "e", 1.0), ("d", "f", 1.0), ("e", "f", 1.0),
            ("c", "d", 0.1),
            ("p", "q", 0.8),
        ],
        columns=["src", "dst", "weight"],
    )  # fmt: skip
    result = find_groups(["q", "p", "f", "e", "d", "c", "b", "a", "z"], edges).set_index(
        "nominal_id"
    )
    assert as_partition(result.reset_index()) == {
        frozenset("abc"),
        frozenset("def"),
        frozenset("pq"),
    }
    assert result.loc[list("abcdef"), "kind"].eq("main").all()
    assert result.loc[["p", "q"], "kind"].eq("peripheral").all()
    assert result.loc["z", "kind"] == "unlinked" and pd.isna(result.loc["z", "group_key"])
    assert result.loc["e", "group_key"] == "d" and result.loc["e", "component"] == "a"


@pytest.mark.parametrize("name", REAL_NETWORKS)
def test_real_network_partition_is_valid_and_reproducible(shared_dir: Path, name: str) -> None:
    vertices, edges = load(shared_dir, name)
    first = find_groups(vertices, edges)
    shuffled = edges.sample(frac=1.0, random_state=3).reset_index(drop=True)
    second = find_groups(list(reversed(vertices)), shuffled)
    assert as_partition(first) == as_partition(second)
    # a valid partition: every vertex exactly once, every linked vertex in one group
    assert sorted(first["nominal_id"]) == vertices
    assert first["kind"].ne("unlinked").all()
    groups = as_partition(first)
    assert sum(len(g) for g in groups) == len(vertices)
    assert 1 < len(groups) < len(vertices)
    # peripheral groups are exactly the whole components other than the largest
    components = {frozenset(g["nominal_id"]) for _, g in first.groupby("component")}
    largest = max(components, key=lambda c: (len(c), -min(map(ord, min(c)))))
    peripheral = as_partition(first[first["kind"] == "peripheral"])
    assert peripheral == {c for c in components if c != largest and c in groups}


def test_montagna_meetings_has_peripheral_components(shared_dir: Path) -> None:
    vertices, edges = load(shared_dir, "montagna_meetings")
    result = find_groups(vertices, edges)
    assert result["component"].nunique() == 5  # per the dataset's README
    assert (result["kind"] == "peripheral").any()


@pytest.mark.parametrize(
    ("edges", "message"),
    [
        (pd.DataFrame({"src": ["a"], "dst": ["a"], "weight": [1.0]}), "self-loops"),
        (pd.DataFrame({"src": ["b"], "dst": ["a"], "weight": [1.0]}), "src < dst"),
        (pd.DataFrame({"src": ["a"], "dst": ["x"], "weight": [1.0]}), "not among the vertices"),
        (pd.DataFrame({"src": ["a"], "dst": ["b"], "weight": [0.0]}), "positive"),
        (pd.DataFrame({"src": ["a"], "dst": ["b"]}), r"missing columns \['weight'\]"),
    ],
)
def test_bad_edges_are_rejected(edges: pd.DataFrame, message: str) -> None:
    with pytest.raises(GraphInputError, match=message):
        find_groups(["a", "b"], edges)
