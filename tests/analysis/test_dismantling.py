"""Dismantling (METHOD section 7): hand-checkable graphs, the infinite-cost rule, the robustness
measure, determinism, every baseline, and the edge-file helpers of the CLI."""

from __future__ import annotations

import math
from pathlib import Path

import igraph as ig
import pandas as pd
import pytest

from clnet_spark.analysis.dismantling import (
    METHODS,
    STEP_COLUMNS,
    DismantlingInputError,
    dismantle,
)
from clnet_spark.analysis.edgelist_cli import (
    EdgeFileError,
    dismantle_from_edge_file,
    groups_from_edge_file,
)


def edges_of(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["src", "dst"])


def star(centre: str, leaves: int) -> pd.DataFrame:
    return edges_of([(centre, f"leaf{i}") for i in range(leaves)])


def clique(prefix: str, size: int) -> list[tuple[str, str]]:
    return [(f"{prefix}{i}", f"{prefix}{j}") for i in range(size) for j in range(i + 1, size)]


PATH = edges_of([(f"p{i}", f"p{i + 1}") for i in range(6)])  # p0 - p1 - ... - p6
TWO_CLIQUES = edges_of(clique("a", 5) + clique("b", 5) + [("a0", "b0")])


@pytest.mark.parametrize("method", METHODS)
def test_every_method_removes_the_centre_of_a_star_first(method: str) -> None:
    result = dismantle(star("hub", 6), method=method)
    assert result.steps["nominal_id"].tolist() == ["hub"]
    assert result.steps["lcc_people"].tolist() == [1]
    assert result.removals_to_target == 1 and result.target_size == 1


@pytest.mark.parametrize("method", METHODS)
def test_every_method_removes_a_bridge_end_between_two_cliques_first(method: str) -> None:
    result = dismantle(TWO_CLIQUES, method=method, target_size=5)
    assert result.steps["nominal_id"].iloc[0] == "a0"  # a0 and b0 tie: the smaller id
    assert result.steps["lcc_people"].iloc[0] == 5
    assert result.removals_to_target == 1


def test_the_default_cuts_a_path_in_the_middle_then_halves_the_pieces() -> None:
    result = dismantle(PATH)
    assert result.steps["nominal_id"].iloc[0] == "p3"
    assert set(result.steps["nominal_id"]) == {"p1", "p3", "p5"}
    assert result.steps["lcc_people"].tolist() == [3, 3, 1]
    assert result.removals_to_target == 3
    # after the list: p0, p2, p4, p6 isolated; R = (3 + 3 + 1 + 1 + 1 + 1 + 0) / 7**2
    assert result.mean_lcc_fraction == pytest.approx(10 / 49)


def test_steps_table_columns_and_types() -> None:
    steps = dismantle(PATH, harm={"p0": 2.0}).steps
    assert steps.columns.tolist() == list(STEP_COLUMNS)
    assert steps["step"].tolist() == [1, 2, 3]
    assert steps["lcc_fraction"].tolist() == pytest.approx([3 / 7, 3 / 7, 1 / 7])
    assert str(steps["lcc_people"].dtype) == "int64" and str(steps["lcc_harm"].dtype) == "float64"


@pytest.mark.parametrize("method", METHODS)
def test_a_child_at_the_centre_of_a_star_is_never_removed_and_the_list_still_progresses(
    method: str,
) -> None:
    result = dismantle(star("child", 5), method=method, cost={"child": math.inf})
    assert "child" not in set(result.steps["nominal_id"])
    assert result.steps["lcc_people"].tolist() == [5, 4, 3, 2, 1]
    assert result.removals_to_target == 5 and result.protected == ("child",)


@pytest.mark.parametrize("method", METHODS)
def test_a_protected_bridge_end_is_worked_around(method: str) -> None:
    result = dismantle(TWO_CLIQUES, method=method, cost={"a0": math.inf}, target_size=5)
    assert "a0" not in set(result.steps["nominal_id"])
    assert result.steps["nominal_id"].iloc[0] == "b0"
    assert result.removals_to_target == 1


def test_protected_people_holding_a_component_together_make_the_target_unreachable() -> None:
    edges = edges_of([("kid1", "kid2"), ("kid2", "adult")])
    result = dismantle(edges, cost={"kid1": math.inf, "kid2": math.inf})
    assert result.steps["nominal_id"].tolist() == ["adult"]
    assert result.removals_to_target is None
    # s(1) = s(2) = s(3) = 2/3: held at the final value, nothing more is removable
    assert result.mean_lcc_fraction == pytest.approx(6 / 9)


def test_robustness_of_a_star_is_the_schneider_area() -> None:
    result = dismantle(star("hub", 3))
    assert result.mean_lcc_fraction == pytest.approx((1 + 1 + 1 + 0) / 16)


def test_lcc_harm_is_the_largest_summed_harm_of_any_remaining_component() -> None:
    result = dismantle(
        PATH, harm={"p0": 1.0, "p1": 1.0, "p2": 1.0, "p6": 5.0}, method="corehd+reinsertion"
    )
    assert result.initial_lcc_harm == 8.0
    first_cut = result.steps.iloc[0]
    assert first_cut["nominal_id"] == "p3" and first_cut["lcc_harm"] == 5.0
    assert dismantle(PATH).steps["lcc_harm"].isna().all()


def test_isolated_vertices_count_in_n_and_the_target() -> None:
    result = dismantle(PATH, vertices=[f"p{i}" for i in range(7)] + ["x", "y", "z"])
    assert result.n_vertices == 10 and result.target_size == 1
    assert result.steps["lcc_fraction"].iloc[0] == pytest.approx(0.3)


def test_an_igraph_graph_and_an_edge_table_give_the_same_list() -> None:
    names = sorted(set(TWO_CLIQUES["src"]) | set(TWO_CLIQUES["dst"]))
    index = {name: i for i, name in enumerate(names)}
    graph = ig.Graph(n=len(names), edges=[(index[a], index[b]) for a, b in TWO_CLIQUES.to_numpy()])
    graph.vs["name"] = names
    from_graph = dismantle(graph, target_size=2).steps
    from_table = dismantle(TWO_CLIQUES, target_size=2).steps
    pd.testing.assert_frame_equal(from_graph, from_table)


def load_network(shared_dir: Path, name: str) -> pd.DataFrame:
    raw = pd.read_csv(
        shared_dir / "data" / "networks" / name / "edges.csv", dtype={"source": str, "target": str}
    )
    return raw.rename(columns={"source": "src", "target": "dst"})


def test_the_default_is_deterministic_and_independent_of_input_order(shared_dir: Path) -> None:
    edges = load_network(shared_dir, "london_gang")
    first = dismantle(edges)
    shuffled = edges.sample(frac=1.0, random_state=11).reset_index(drop=True)
    shuffled[["src", "dst"]] = shuffled[["dst", "src"]].to_numpy()
    second = dismantle(shuffled)
    pd.testing.assert_frame_equal(first.steps, second.steps)
    assert first.mean_lcc_fraction == second.mean_lcc_fraction


def test_the_default_needs_no_more_removals_than_any_baseline(shared_dir: Path) -> None:
    edges = load_network(shared_dir, "montagna_meetings")
    results = {method: dismantle(edges, method=method) for method in METHODS}
    assert all(r.removals_to_target is not None for r in results.values())
    best = min(r.removals_to_target for m, r in results.items() if m != "default")
    assert results["default"].removals_to_target <= best
    for result in results.values():  # each list is a valid removal sequence
        assert result.steps["nominal_id"].is_unique
        assert result.steps["lcc_people"].is_monotonic_decreasing


def test_a_network_too_large_to_refine_gets_its_best_greedy_order(
    shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Beyond _REFINE_EDGES the default returns the best candidate with reinsertion by
    # (removals to target, area), unrefined: here every network counts as large.
    from clnet_spark.analysis import dismantling

    edges = load_network(shared_dir, "montagna_meetings")
    refined = dismantle(edges)
    monkeypatch.setattr(dismantling, "_REFINE_EDGES", 0)
    unrefined = dismantle(edges)
    # the candidates the default tries on a network this small
    names = ["corehd+reinsertion", "hda+reinsertion", "ci+reinsertion", "betweenness+reinsertion"]
    candidates = {name: dismantle(edges, method=name) for name in [*names, "betweenness"]}
    orders = {name: r.steps["nominal_id"].tolist() for name, r in candidates.items()}
    assert unrefined.steps["nominal_id"].tolist() in orders.values()
    best = min((r.removals_to_target, r.mean_lcc_fraction) for r in candidates.values())
    assert (unrefined.removals_to_target, unrefined.mean_lcc_fraction) == best
    assert refined.removals_to_target <= unrefined.removals_to_target


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "pagerank"}, "method: expected one of"),
        ({"target_fraction": 0.0}, "target_fraction"),
        ({"target_size": 0}, "target_size"),
        ({"cost": {"p1": 0.0}}, r"cost: 1 value\(s\) not > 0 \(inf = protected\)"),
        ({"cost": {"p1": math.nan, "p2": -1}}, r"cost: 2 value\(s\) not > 0"),
        ({"harm": {"p1": -1.0}}, r"harm: 1 value\(s\) not finite, >= 0"),
        ({"harm": {"p1": math.inf}}, r"harm: 1 value\(s\) not finite"),
        ({"vertices": ["p0"]}, "not in vertices"),
        ({"ci_radius": 0}, "ci_radius"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DismantlingInputError, match=message):
        dismantle(PATH, **kwargs)  # type: ignore[arg-type]


def test_bad_graphs_are_rejected() -> None:
    with pytest.raises(DismantlingInputError, match=r"columns present: \['source', 'target'\]"):
        dismantle(pd.DataFrame({"source": ["a"], "target": ["b"]}))
    with pytest.raises(DismantlingInputError, match="null"):
        dismantle(edges_of([("a", None)]))  # type: ignore[list-item]
    with pytest.raises(DismantlingInputError, match="got list"):
        dismantle([("a", "b")])  # type: ignore[arg-type]


def test_edge_files_give_groups_and_a_removal_list(tmp_path: Path) -> None:
    edges_csv = tmp_path / "edges.csv"
    edges_csv.write_text(
        "source,target,weight\na,b,1\nb,a,2\na,c,1\nb,c,1\nc,d,0.1\nd,e,1\nd,f,1\ne,f,1\n"
        "x,y,1\nz,z,1\n"
    )
    groups = groups_from_edge_file(edges_csv, tmp_path / "groups.csv")
    written = pd.read_csv(tmp_path / "groups.csv", dtype=str, keep_default_na=False)
    assert written.columns.tolist() == ["nominal_id", "group_id", "group_key", "component", "kind"]
    assert groups.set_index("nominal_id")["group_id"].to_dict() == {
        "a": "G0001", "b": "G0001", "c": "G0001", "d": "G0002", "e": "G0002", "f": "G0002",
        "x": "G0003", "y": "G0003", "z": None,
    }  # fmt: skip

    costs_csv = tmp_path / "costs.csv"
    costs_csv.write_text("node,cost\nc,inf\n")
    result = dismantle_from_edge_file(edges_csv, tmp_path / "order.csv", costs_csv)
    order = pd.read_csv(tmp_path / "order.csv", dtype={"nominal_id": str})
    assert order.columns.tolist() == [
        "step", "nominal_id", "lcc_people", "lcc_fraction", "target_reached",
    ]  # fmt: skip
    assert "c" not in set(order["nominal_id"]) and result.protected == ("c",)
    assert order["nominal_id"].iloc[0] == "d"  # c is protected: cut the bridge at d


def test_bad_edge_files_name_the_file_and_the_columns(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("from,to\na,b\n")
    expected = r"wrong.csv: missing column\(s\) \['source', 'target'\]; columns present: \['from',"
    with pytest.raises(EdgeFileError, match=expected):
        groups_from_edge_file(wrong, tmp_path / "out.csv")
    bad_weight = tmp_path / "weights.csv"
    bad_weight.write_text("source,target,weight\na,b,heavy\n")
    with pytest.raises(EdgeFileError, match="weights.csv: column 'weight' has 1 value"):
        dismantle_from_edge_file(bad_weight, tmp_path / "out.csv")
    good = tmp_path / "good.csv"
    good.write_text("source,target\na,b\n")
    costs = tmp_path / "costs.csv"
    costs.write_text("id,cost\na,1\n")
    with pytest.raises(EdgeFileError, match=r"costs.csv: missing column\(s\) \['nominal_id or"):
        dismantle_from_edge_file(good, tmp_path / "out.csv", costs)
    with pytest.raises(EdgeFileError, match="missing.csv: no such file"):
        dismantle_from_edge_file(tmp_path / "missing.csv", tmp_path / "out.csv")
