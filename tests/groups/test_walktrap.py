"""Walktrap groups (METHOD section 4): a hand-made graph, igraph's behaviour on a disconnected
graph, and invariants on real criminal networks read from ../shared."""

from __future__ import annotations

from pathlib import Path

import igraph as ig
import pandas as pd
import pytest

from clnet_spark.groups.walktrap import GROUP_COLUMNS, GraphInputError, find_groups

REAL_NETWORKS = ("caviar_full", "montagna_meetings", "london_gang", "italian_gangs", "crimenet")


def load_network(shared_dir: Path, name: str) -> tuple[list[str], pd.DataFrame]:
    """An edge list as the grouping stage gets it: direction ignored, weights summed per pair."""
    folder = shared_dir / "data" / "networks"
    if name == "crimenet":
        raw = pd.read_csv(
            folder / "crimenet_moreno" / "edges_space_separated.txt",
            sep=r"\s+",
            header=None,
            names=["source", "target"],
            dtype=str,
        ).assign(weight=1.0)
    else:
        raw = pd.read_csv(folder / name / "edges.csv", dtype={"source": str, "target": str})
    low = raw[["source", "target"]].min(axis=1)
    high = raw[["source", "target"]].max(axis=1)
    edges = (
        pd.DataFrame({"src": low, "dst": high, "weight": raw["weight"].astype(float)})
        .loc[lambda e: e["src"] != e["dst"]]
        .groupby(["src", "dst"], as_index=False)["weight"]
        .sum()
    )
    return sorted(set(edges["src"]) | set(edges["dst"])), edges


def partition(result: pd.DataFrame) -> set[frozenset[str]]:
    linked = result[result["kind"] != "unlinked"]
    return {frozenset(group["nominal_id"]) for _, group in linked.groupby("group_key")}


def components_of(result: pd.DataFrame) -> set[frozenset[str]]:
    linked = result[result["kind"] != "unlinked"]
    return {frozenset(comp["nominal_id"]) for _, comp in linked.groupby("component")}


TWO_TRIANGLES = pd.DataFrame(
    [
        ("a", "b", 1.0), ("a", "c", 1.0), ("b", "c", 1.0),
        ("d", "e", 1.0), ("d", "f", 1.0), ("e", "f", 1.0),
        ("c", "d", 0.1),
        ("p", "q", 0.8),
    ],
    columns=["src", "dst", "weight"],
)  # fmt: skip


def test_two_triangles_a_pair_and_an_isolate_give_the_expected_groups_and_kinds() -> None:
    actual_df = find_groups(["q", "p", "f", "e", "d", "c", "b", "a", "z"], TWO_TRIANGLES)

    expected_df = pd.DataFrame(
        [
            ("a", "a", "a", "main"), ("b", "a", "a", "main"), ("c", "a", "a", "main"),
            ("d", "d", "a", "main"), ("e", "d", "a", "main"), ("f", "d", "a", "main"),
            ("p", "p", "p", "peripheral"), ("q", "p", "p", "peripheral"),
            ("z", None, None, "unlinked"),
        ],
        columns=list(GROUP_COLUMNS),
        dtype="object",
    )  # fmt: skip
    pd.testing.assert_frame_equal(actual_df, expected_df)


def test_igraph_walktrap_on_a_disconnected_graph_stops_short_but_cuts_a_full_partition() -> None:
    # What find_groups relies on: one dendrogram per component (n - components merges), and the
    # modularity cut assigning every vertex.
    graph = ig.Graph(n=9, edges=[(0, 1), (0, 2), (1, 2), (3, 4), (3, 5), (4, 5), (2, 3), (6, 7)])
    dendrogram = graph.community_walktrap(weights=[1, 1, 1, 1, 1, 1, 0.1, 1], steps=4)
    assert len(dendrogram.merges) == 9 - 3
    membership = dendrogram.as_clustering().membership
    assert len(membership) == 9
    assert {frozenset(v for v, m in enumerate(membership) if m == g) for g in set(membership)} == {
        frozenset({0, 1, 2}),
        frozenset({3, 4, 5}),
        frozenset({6, 7}),
        frozenset({8}),
    }


def test_a_smaller_component_split_in_two_is_main_not_peripheral() -> None:
    big = [(f"a{i}", f"a{j}", 1.0) for i in range(4) for j in range(i + 1, 4)]
    big += [(f"b{i}", f"b{j}", 1.0) for i in range(4) for j in range(i + 1, 4)]
    big += [("a0", "b0", 0.1)]
    small = [("x1", "x2", 1.0), ("x1", "x3", 1.0), ("x2", "x3", 1.0)]
    small += [("y1", "y2", 1.0), ("y1", "y3", 1.0), ("y2", "y3", 1.0), ("x1", "y1", 0.1)]
    edges = pd.DataFrame(big + small, columns=["src", "dst", "weight"])
    vertices = sorted(set(edges["src"]) | set(edges["dst"]))

    result = find_groups(vertices, edges).set_index("nominal_id")

    assert partition(result.reset_index()) == {
        frozenset({"a0", "a1", "a2", "a3"}),
        frozenset({"b0", "b1", "b2", "b3"}),
        frozenset({"x1", "x2", "x3"}),
        frozenset({"y1", "y2", "y3"}),
    }
    assert result.loc[["x1", "x2", "x3", "y1", "y2", "y3"], "kind"].eq("main").all()
    assert result.loc[["y1", "y2", "y3"], "component"].eq("x1").all()


def test_no_edges_leaves_everyone_unlinked_and_no_vertices_gives_an_empty_table() -> None:
    empty_edges = pd.DataFrame({"src": [], "dst": [], "weight": []})
    result = find_groups(["b", "a"], empty_edges)
    assert result["nominal_id"].tolist() == ["a", "b"]
    assert result["kind"].eq("unlinked").all() and result["group_key"].isna().all()
    assert find_groups([], empty_edges).columns.tolist() == list(GROUP_COLUMNS)


@pytest.mark.parametrize("name", REAL_NETWORKS)
def test_real_network_gives_a_valid_partition_whatever_the_input_order(
    shared_dir: Path, name: str
) -> None:
    vertices, edges = load_network(shared_dir, name)
    first = find_groups(vertices, edges)

    flipped = edges.sample(frac=1.0, random_state=7).reset_index(drop=True)
    swap = flipped.index % 2 == 0
    flipped.loc[swap, ["src", "dst"]] = flipped.loc[swap, ["dst", "src"]].to_numpy()
    second = find_groups(list(reversed(vertices)), flipped)

    pd.testing.assert_frame_equal(first, second)
    assert first["nominal_id"].tolist() == vertices
    groups = partition(first)
    assert sum(len(g) for g in groups) == len(vertices)  # every linked vertex exactly once
    assert 1 < len(groups) < len(vertices)
    components = components_of(first)
    assert all(any(g <= c for c in components) for g in groups)
    largest = min(components, key=lambda c: (-len(c), min(c)))
    peripheral = partition(first[first["kind"] == "peripheral"])
    assert peripheral == {c for c in components if c != largest and c in groups}


def test_montagna_meetings_small_components_are_peripheral_groups(shared_dir: Path) -> None:
    vertices, edges = load_network(shared_dir, "montagna_meetings")
    result = find_groups(vertices, edges)
    sizes = sorted((len(c) for c in components_of(result)), reverse=True)
    assert sizes == [92, 3, 2, 2, 2]  # per the dataset's README
    peripheral = partition(result[result["kind"] == "peripheral"])
    assert sorted(len(g) for g in peripheral) == [2, 2, 2, 3]


@pytest.mark.parametrize(
    ("edges", "message"),
    [
        (pd.DataFrame({"src": ["a"], "dst": ["b"]}), r"missing column\(s\) \['weight'\]"),
        (pd.DataFrame({"src": ["a"], "dst": [None], "weight": [1.0]}), "null src, dst or weight"),
        (pd.DataFrame({"src": ["a"], "dst": ["x"], "weight": [1.0]}), "not among vertices"),
        (pd.DataFrame({"src": ["a"], "dst": ["a"], "weight": [1.0]}), "self loop"),
        (pd.DataFrame({"src": ["a"], "dst": ["b"], "weight": [0.0]}), "finite number > 0"),
        (pd.DataFrame({"src": ["a"], "dst": ["b"], "weight": [float("inf")]}), "finite"),
        (pd.DataFrame({"src": ["a"], "dst": ["b"], "weight": ["strong"]}), "finite"),
        (
            pd.DataFrame({"src": ["a", "b"], "dst": ["b", "a"], "weight": [0.5, 0.5]}),
            r"given more than once .* \(first at row 1\)",
        ),
    ],
)
def test_bad_edges_are_rejected_with_the_problem_named(edges: pd.DataFrame, message: str) -> None:
    with pytest.raises(GraphInputError, match=message):
        find_groups(["a", "b"], edges)


def test_bad_vertices_and_steps_are_rejected() -> None:
    with pytest.raises(GraphInputError, match="not unique"):
        find_groups(["a", "a"], TWO_TRIANGLES.iloc[:0])
    with pytest.raises(GraphInputError, match="as str"):
        find_groups([1, 2], TWO_TRIANGLES.iloc[:0])  # type: ignore[list-item]
    with pytest.raises(GraphInputError, match="steps"):
        find_groups(["a"], TWO_TRIANGLES.iloc[:0], steps=0)
