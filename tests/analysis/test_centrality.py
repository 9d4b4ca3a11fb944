"""Centrality of the kept nominals: hand-computed graphs, an independent check on a real network.

Hand-computed values (normalised betweenness divides by the (n-1)(n-2)/2 pairs of others):

- star, centre C and leaves L1..L4: C lies on all 6 leaf pairs -> betweenness 6/6 = 1;
  eigenvector C = 1, each leaf 1/sqrt(4) = 0.5 (A x = 2 x with x = (1, 1/2, 1/2, 1/2, 1/2)).
- path A-B-C-D: B lies on A-C and A-D, C on A-D and B-D -> 2/3 each; eigenvector of the path
  of 4 is (sin 36, sin 72, sin 72, sin 36) degrees -> ends 1/phi = 0.618034, middle 1.
- triangle A-B-C with a tail C-D: A-B = B-C = 1, C-D = 0.5, A-C = w. Tie lengths are 1 / w:
  with w = 0.4 (length 2.5) the path A-B-C (length 2) is shorter and B brokers A-C and A-D;
  with w = 0.6 (length 1.67) the direct tie is shorter and B brokers nothing.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import igraph as ig
import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession

from clnet_spark import io
from clnet_spark.analysis.centrality import (
    CENTRALITY_COLUMNS,
    CentralityConfig,
    betweenness,
    centrality_table,
    measures,
    tie_lengths,
)
from clnet_spark.analysis.stage import CENTRALITY, run_centrality
from clnet_spark.columns import Tables
from clnet_spark.config import ClnetConfig
from clnet_spark.groups.walktrap import GraphInputError
from clnet_spark.run import RunContext


def edge_frame(rows: list[tuple[str, str, float]], rival: tuple[int, ...] = ()) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "src": [r[0] for r in rows],
            "dst": [r[1] for r in rows],
            "weight": [r[2] for r in rows],
            "adversarial_only": [i in rival for i in range(len(rows))],
        }
    )


def by_id(frame: pd.DataFrame, column: str) -> dict[str, float]:
    return dict(zip(frame["nominal_id"], frame[column], strict=True))


def triangle_tail(w: float) -> pd.DataFrame:
    return edge_frame([("A", "B", 1.0), ("B", "C", 1.0), ("A", "C", w), ("C", "D", 0.5)])


# --- hand-computed graphs ---------------------------------------------------------------------


def test_star_centre_brokers_every_pair_and_leaves_score_half() -> None:
    leaves = ["L1", "L2", "L3", "L4"]
    actual = measures(["C", *leaves], edge_frame([("C", leaf, 1.0) for leaf in leaves]))

    assert by_id(actual, "degree") == {"C": 4, "L1": 1, "L2": 1, "L3": 1, "L4": 1}
    assert by_id(actual, "strength") == {"C": 4.0, "L1": 1.0, "L2": 1.0, "L3": 1.0, "L4": 1.0}
    assert by_id(actual, "betweenness") == pytest.approx({"C": 1.0, **dict.fromkeys(leaves, 0)})
    assert by_id(actual, "eigenvector") == pytest.approx({"C": 1.0, **dict.fromkeys(leaves, 0.5)})
    assert set(actual["betweenness_method"]) == {"exact"}


def test_path_of_four_middle_vertices_broker_two_of_three_pairs() -> None:
    actual = measures(list("ABCD"), edge_frame([("A", "B", 1.0), ("B", "C", 1.0), ("C", "D", 1.0)]))

    assert by_id(actual, "degree") == {"A": 1, "B": 2, "C": 2, "D": 1}
    assert by_id(actual, "betweenness") == pytest.approx({"A": 0, "B": 2 / 3, "C": 2 / 3, "D": 0})
    golden = (1 + math.sqrt(5)) / 2
    assert by_id(actual, "eigenvector") == pytest.approx(
        {"A": 1 / golden, "B": 1.0, "C": 1.0, "D": 1 / golden}, abs=1e-9
    )


def test_weak_direct_tie_is_longer_than_two_strong_ties() -> None:
    actual = measures(list("ABCD"), triangle_tail(0.4))

    assert by_id(actual, "strength") == {"A": 1.4, "B": 2.0, "C": 1.9, "D": 0.5}
    assert by_id(actual, "betweenness") == pytest.approx({"A": 0, "B": 2 / 3, "C": 2 / 3, "D": 0})


def test_stronger_direct_tie_is_shorter_than_two_strong_ties() -> None:
    actual = measures(list("ABCD"), triangle_tail(0.6))

    assert by_id(actual, "betweenness") == pytest.approx({"A": 0, "B": 0, "C": 2 / 3, "D": 0})


def test_eigenvector_reads_weights_as_strengths() -> None:
    actual = by_id(measures(list("ABCD"), triangle_tail(0.4)), "eigenvector")

    adjacency = np.array(
        [[0, 1, 0.4, 0], [1, 0, 1, 0], [0.4, 1, 0, 0.5], [0, 0, 0.5, 0]], dtype=float
    )
    _, vectors = np.linalg.eigh(adjacency)
    leading = np.abs(vectors[:, -1])
    expected = dict(zip("ABCD", leading / leading.max(), strict=True))
    assert actual == pytest.approx(expected, abs=1e-9)
    assert actual["B"] == 1.0  # strength 2, the strongest ties


def test_tie_lengths_are_reciprocal_strengths() -> None:
    assert tie_lengths([1.0, 0.5, 0.2]) == pytest.approx([1.0, 2.0, 5.0])


def test_eigenvector_is_scaled_per_component_and_zero_without_ties() -> None:
    edges = edge_frame([("A", "B", 1.0), ("B", "C", 1.0), ("X", "Y", 0.1)])
    actual = by_id(measures(["A", "B", "C", "X", "Y", "Z"], edges), "eigenvector")

    assert actual["B"] == 1.0
    assert actual["A"] == pytest.approx(1 / math.sqrt(2))
    assert actual["X"] == actual["Y"] == 1.0  # a weak pair is still its own component's top
    assert actual["Z"] == 0.0


def test_betweenness_counts_pairs_of_the_whole_graph() -> None:
    # B brokers A-C; n = 5 (with the pair X-Y apart): 1 of the (4 x 3) / 2 = 6 pairs.
    edges = edge_frame([("A", "B", 1.0), ("B", "C", 1.0), ("X", "Y", 1.0)])
    actual = by_id(measures(["A", "B", "C", "X", "Y"], edges), "betweenness")

    assert actual == pytest.approx({"A": 0, "B": 1 / 6, "C": 0, "X": 0, "Y": 0})


def test_result_does_not_depend_on_input_order() -> None:
    rows = [("A", "B", 1.0), ("B", "C", 0.3), ("C", "A", 0.7), ("C", "D", 0.5), ("E", "D", 0.2)]
    shuffled = [rows[i] for i in (3, 0, 4, 2, 1)]
    flipped = [(b, a, w) for a, b, w in shuffled]

    expected = measures(list("ABCDE"), edge_frame(rows))
    actual = measures(list("EDCBA"), edge_frame(flipped))

    pd.testing.assert_frame_equal(actual, expected)


# --- the table: groups, adversarial ties --------------------------------------------------------


def test_group_measures_use_the_subgraph_of_the_group() -> None:
    # G1 = {A, B, C}: within it, A-C is direct (0.6), so nobody brokers; on the whole network
    # C brokers every pair with D. D is in G2 alone; U is in no group.
    edges = triangle_tail(0.6)
    actual = centrality_table(list("ABCDU"), edges, {"A": "G1", "B": "G1", "C": "G1", "D": "G2"})

    assert list(actual.columns) == list(CENTRALITY_COLUMNS)
    rows = actual.set_index("nominal_id")
    assert rows.loc["C", "degree"] == 3
    assert rows.loc["C", "group_degree"] == 2
    assert rows.loc["C", "group_strength"] == pytest.approx(1.6)
    assert rows.loc["C", "betweenness"] == pytest.approx(2 / 6)  # A-D, B-D of the 6 pairs
    assert rows.loc["C", "group_betweenness"] == 0.0
    assert rows.loc["D", "group_degree"] == 0
    assert rows.loc["D", "group_eigenvector"] == 0.0
    assert pd.isna(rows.loc["U", "group_id"])
    assert pd.isna(rows.loc["U", "group_degree"])
    assert pd.isna(rows.loc["U", "group_betweenness_method"])
    assert rows.loc["U", "degree"] == 0


def test_adversarial_ties_are_left_out_unless_configured() -> None:
    # A-B and C-D are ordinary; B-C is a rivalry only.
    edges = edge_frame([("A", "B", 1.0), ("B", "C", 1.0), ("C", "D", 1.0)], rival=(1,))
    groups = dict.fromkeys("ABCD", "G1")

    left_out = centrality_table(list("ABCD"), edges, groups).set_index("nominal_id")
    included = centrality_table(
        list("ABCD"), edges, groups, CentralityConfig(include_adversarial=True)
    ).set_index("nominal_id")

    assert left_out["degree"].to_dict() == {"A": 1, "B": 1, "C": 1, "D": 1}
    assert left_out["betweenness"].to_dict() == {"A": 0, "B": 0, "C": 0, "D": 0}
    assert left_out["adversarial_degree"].to_dict() == {"A": 0, "B": 1, "C": 1, "D": 0}
    assert included["degree"].to_dict() == {"A": 1, "B": 2, "C": 2, "D": 1}
    assert included["betweenness"].to_dict() == pytest.approx(
        {"A": 0, "B": 2 / 3, "C": 2 / 3, "D": 0}
    )
    assert included["group_betweenness"].to_dict() == pytest.approx(
        {"A": 0, "B": 2 / 3, "C": 2 / 3, "D": 0}
    )


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("A", "B", 1.0), ("B", "A", 0.5)], "undirected pair given more than once"),
        ([("A", "Q", 1.0)], "endpoint not among the vertices"),
        ([("A", "A", 1.0)], "self-loop"),
        ([("A", "B", 0.0)], "not a finite number > 0"),
    ],
)
def test_inconsistent_graphs_are_refused(rows: list[tuple[str, str, float]], message: str) -> None:
    with pytest.raises(GraphInputError, match=message):
        centrality_table(["A", "B"], edge_frame(rows), {})


def test_missing_adversarial_column_names_the_columns_present() -> None:
    edges = pd.DataFrame({"src": ["A"], "dst": ["B"], "weight": [1.0]})
    with pytest.raises(GraphInputError, match=r"adversarial_only.*\['dst', 'src', 'weight'\]"):
        centrality_table(["A", "B"], edges, {})


# --- sampled betweenness ------------------------------------------------------------------------


def test_sampling_above_the_limit_is_seeded_and_all_pivots_is_exact() -> None:
    graph = ig.Graph.Famous("Zachary")
    exact = betweenness(graph, None)

    sampled = betweenness(graph, None, exact_limit=10, pivots=8, seed=3)
    again = betweenness(graph, None, exact_limit=10, pivots=8, seed=3)
    other = betweenness(graph, None, exact_limit=10, pivots=8, seed=4)
    every = betweenness(graph, None, exact_limit=10, pivots=graph.vcount())

    assert exact.method == "exact"
    assert sampled.method == "sampled k=8 seed=3"
    assert sampled.values == again.values
    assert sampled.values != other.values
    assert every.method == "exact"
    assert every.values == pytest.approx(exact.values)


def test_sampled_estimate_is_unbiased_over_all_pivot_sets() -> None:
    # The mean of the estimates over every single pivot is the exact value (Brandes & Pich).
    graph = ig.Graph.Famous("Zachary")
    n = graph.vcount()
    exact = np.array(betweenness(graph, None).values)
    pairs = (n - 1) * (n - 2) / 2
    estimates = [
        np.array(graph.betweenness(directed=False, sources=[s])) * n / pairs for s in range(n)
    ]
    assert np.mean(estimates, axis=0) == pytest.approx(exact)


def generated_network(n: int, seed: int) -> tuple[ig.Graph, list[float]]:
    """Groups of 5-40 people, dense inside, 1-3 ties to earlier groups; strengths in (0, 1]."""
    rng = random.Random(seed)
    edges: set[tuple[int, int]] = set()
    groups: list[list[int]] = []
    start = 0
    while start < n:
        members = list(range(start, min(n, start + rng.randint(5, 40))))
        p = min(1.0, 4.0 / len(members))
        edges |= {(i, j) for i in members for j in members if i < j and rng.random() < p}
        for _ in range(rng.randint(1, 3) if groups else 0):
            a, b = rng.choice(members), rng.choice(rng.choice(groups))
            edges.add((min(a, b), max(a, b)))
        groups.append(members)
        start = members[-1] + 1
    ordered = sorted(edges)
    levels = (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9)
    strengths = [1.0 if rng.random() < 0.4 else rng.choice(levels) for _ in ordered]
    return ig.Graph(n=n, edges=ordered), strengths


@pytest.mark.slow
def test_default_sample_is_close_to_exact_on_an_8000_person_network() -> None:
    # docs/centrality.md reports these figures (k = 1000, 5 seeds): max abs error 0.0063 on
    # average (worst 0.0075) for a top value of 0.098, top-20 overlap 18 of 20.
    graph, strengths = generated_network(8000, seed=7)
    lengths = tie_lengths(strengths)
    exact = np.array(betweenness(graph, lengths, exact_limit=10_000).values)
    estimate = betweenness(graph, lengths)  # the defaults: 8000 > 5000 people -> sampled

    values = np.array(estimate.values)
    top_exact = set(np.argsort(-exact, kind="stable")[:20])
    top_estimate = set(np.argsort(-values, kind="stable")[:20])
    assert estimate.method == "sampled k=1000 seed=0"
    assert np.abs(values - exact).max() < 0.012
    assert np.abs(values - exact).mean() < 0.0006
    assert len(top_exact & top_estimate) >= 16


# --- an independent check on a real network -----------------------------------------------------


def brute_force_betweenness(n: int, edges: list[tuple[int, int, float]]) -> np.ndarray:
    """Normalised betweenness from all-pairs distances and path counts, without Brandes.

    Floyd-Warshall gives every distance d; shortest-path counts sigma are accumulated over
    vertices in order of distance from each source; v lies on a shortest s-t path exactly
    when d(s, v) + d(v, t) = d(s, t), on sigma(s, v) sigma(v, t) of the sigma(s, t) paths.
    """
    length = np.full((n, n), np.inf)
    np.fill_diagonal(length, 0.0)
    for a, b, w in edges:
        length[a, b] = length[b, a] = w
    dist = length.copy()
    for k in range(n):
        dist = np.minimum(dist, dist[:, [k]] + dist[[k], :])
    tol = 1e-9
    sigma = np.zeros((n, n))
    for s in range(n):
        sigma[s, s] = 1.0
        for v in sorted(range(n), key=lambda u: dist[s, u])[1:]:
            if np.isfinite(dist[s, v]):
                before = np.abs(dist[s] + length[:, v] - dist[s, v]) < tol
                before[v] = False
                sigma[s, v] = sigma[s, before].sum()
    result = np.zeros(n)
    for v in range(n):
        through = np.abs(dist[:, [v]] + dist[[v], :] - dist) < tol
        share = np.where(through & np.isfinite(dist), sigma[:, [v]] * sigma[[v], :], 0.0)
        share = share / np.where(sigma > 0, sigma, 1.0)
        share[v, :] = share[:, v] = 0.0
        result[v] = share.sum() / 2
    return result / ((n - 1) * (n - 2) / 2)


@pytest.fixture(scope="module")
def caviar(shared_dir: Path) -> pd.DataFrame:
    raw = pd.read_csv(shared_dir / "data/networks/caviar_full/edges_undirected.csv", dtype=str)
    counts = raw["weight"].astype(float)
    return pd.DataFrame(
        {"src": raw["source"], "dst": raw["target"], "weight": counts / counts.max()}
    )


def test_caviar_unweighted_matches_its_published_figures(caviar: pd.DataFrame) -> None:
    # ../shared/data/networks/caviar_full/README.md (networkx 3.6.1): degree of '1' is 60,
    # of '12' 28; normalised unweighted betweenness 0.637459 and 0.292142.
    vertices = sorted(set(caviar["src"]) | set(caviar["dst"]))
    actual = measures(vertices, caviar.assign(weight=1.0)).set_index("nominal_id")

    assert len(actual) == 110
    assert actual.loc[["1", "12", "3"], "degree"].tolist() == [60, 28, 27]
    assert actual.loc["1", "betweenness"] == pytest.approx(0.637459, abs=1e-6)
    assert actual.loc["12", "betweenness"] == pytest.approx(0.292142, abs=1e-6)
    assert actual.loc["87", "betweenness"] == pytest.approx(0.119279, abs=1e-6)


def test_caviar_weighted_matches_an_independent_implementation(caviar: pd.DataFrame) -> None:
    vertices = sorted(set(caviar["src"]) | set(caviar["dst"]))
    actual = measures(vertices, caviar)

    index = {v: i for i, v in enumerate(vertices)}
    triples = [
        (index[a], index[b], 1.0 / w)
        for a, b, w in zip(caviar["src"], caviar["dst"], caviar["weight"], strict=True)
    ]
    expected_between = brute_force_betweenness(len(vertices), triples)
    adjacency = np.zeros((len(vertices), len(vertices)))
    for a, b, w in zip(caviar["src"], caviar["dst"], caviar["weight"], strict=True):
        adjacency[index[a], index[b]] = adjacency[index[b], index[a]] = w
    _, vectors = np.linalg.eigh(adjacency)
    leading = np.abs(vectors[:, -1])

    np.testing.assert_allclose(actual["betweenness"], expected_between, atol=1e-12)
    np.testing.assert_allclose(actual["eigenvector"], leading / leading.max(), atol=1e-9)
    np.testing.assert_allclose(actual["strength"], adjacency.sum(axis=1), atol=1e-9)


# --- the stage ----------------------------------------------------------------------------------


def test_stage_writes_one_row_per_kept_nominal(spark: SparkSession, tmp_path: Path) -> None:
    # Groups come from cl_groups' member lists: U's group_id in cl_nominals ("nan", as a
    # pandas NaN can arrive) names no group.
    warehouse = tmp_path / "warehouse"
    nominals = spark.createDataFrame(
        [("A", "G1"), ("B", "G1"), ("C", "G1"), ("D", "G2"), ("U", "nan")],
        "nominal_id string, group_id string",
    )
    groups = spark.createDataFrame(
        [("G1", ["A", "B", "C"]), ("G2", ["D"])], "group_id string, members array<string>"
    )
    edges = spark.createDataFrame(
        [
            ("A", "B", "1.000000000", False),
            ("B", "C", "1.000000000", False),
            ("A", "C", "0.600000000", False),
            ("C", "D", "0.500000000", False),
            ("D", "U", "0.500000000", True),
        ],
        "src string, dst string, weight string, adversarial_only boolean",
    ).selectExpr("src", "dst", "cast(weight as decimal(12,9)) as weight", "adversarial_only")
    io.write_table(nominals, warehouse, Tables.CL_NOMINALS)
    io.write_table(groups, warehouse, Tables.CL_GROUPS)
    io.write_table(edges, warehouse, Tables.CL_EDGES)
    ctx = RunContext(warehouse, ClnetConfig())

    run_centrality(spark, ctx)

    actual = io.read_table(spark, warehouse, CENTRALITY).orderBy("nominal_id").collect()
    assert [row["nominal_id"] for row in actual] == list("ABCDU")
    assert actual[2]["betweenness"] == pytest.approx(2 / 6)  # C on A-D and B-D of 6 pairs
    assert actual[2]["group_betweenness"] == 0.0
    assert actual[4]["group_id"] is None
    assert actual[4]["group_degree"] is None
    assert actual[4]["adversarial_degree"] == 1
    assert ctx.reports[-1].counts["edges used"] == 4


def test_empty_network_gives_an_empty_table() -> None:
    edges = edge_frame([])
    actual = centrality_table([], edges, {})
    assert list(actual.columns) == list(CENTRALITY_COLUMNS)
    assert actual.empty
