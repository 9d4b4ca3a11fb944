"""Removal steps per scope, as the dismantling stage writes them."""

from __future__ import annotations

import math

import pandas as pd

from clnet_spark.analysis.dismantling_stage import inputs_hash, removal_steps, scope_edges

STAR = pd.DataFrame({"src": ["hub"] * 4, "dst": ["a", "b", "c", "d"]})


def test_star_centre_is_removed_first_and_rows_carry_the_scope() -> None:
    rows = removal_steps("G0001", ["a", "b", "c", "d", "hub"], STAR, {}, {"hub": 10.0}, 0.2)
    scope, step, first, lcc_people, lcc_fraction, lcc_harm, people, to_target, _, key = rows[0]
    assert (scope, step, first, people) == ("G0001", 1, "hub", 5)
    assert len(key) == 64 and all(row[-1] == key for row in rows)
    assert (lcc_people, lcc_fraction, lcc_harm) == (1, 0.2, 0.0)
    assert to_target == 1


def test_a_protected_child_at_the_centre_is_never_listed() -> None:
    cost = {"hub": math.inf}
    rows = removal_steps("G0001", ["a", "b", "c", "d", "hub"], STAR, cost, {}, 0.2)
    listed = [row[2] for row in rows]
    assert "hub" not in listed
    assert sorted(listed) == ["a", "b", "c", "d"]  # progress is still made, leaf by leaf
    assert rows[-1][3] == 1  # in the end the child stands alone


def test_scopes_without_edges_give_no_rows() -> None:
    assert removal_steps("G0002", ["x", "y"], STAR, {}, {}, 0.1) == []


MEMBERS = ["a", "b", "c", "d", "hub"]


def test_the_inputs_hash_reads_connectivity_not_edge_order_or_direction() -> None:
    shuffled = pd.DataFrame(
        {
            "src": ["d", "hub", "hub", "c", "b", "hub", "a"],
            "dst": ["hub", "c", "b", "hub", "hub", "hub", "hub"],
        }
    )  # reversed, repeated, a self loop
    assert scope_edges(MEMBERS, shuffled) == scope_edges(MEMBERS, STAR)
    base = inputs_hash(MEMBERS, scope_edges(MEMBERS, STAR), {}, {"hub": 10.0}, 0.2)
    assert base == inputs_hash(MEMBERS, scope_edges(MEMBERS, shuffled), {}, {"hub": 10.0}, 0.2)
    changed = [
        inputs_hash(MEMBERS, scope_edges(MEMBERS, STAR), {}, {"hub": 11.0}, 0.2),  # harm
        inputs_hash(MEMBERS, scope_edges(MEMBERS, STAR), {"a": math.inf}, {"hub": 10.0}, 0.2),
        inputs_hash(MEMBERS, scope_edges(MEMBERS, STAR), {}, {"hub": 10.0}, 0.4),  # target
        inputs_hash(MEMBERS, scope_edges(MEMBERS, STAR)[1:], {}, {"hub": 10.0}, 0.2),  # an edge
    ]
    assert len({base, *changed}) == 5


def test_a_scope_with_the_previous_runs_inputs_takes_its_rows() -> None:
    rows = removal_steps("G0001", MEMBERS, STAR, {}, {"hub": 10.0}, 0.2)
    key = rows[0][-1]
    # what a previous run stored for these inputs (changed, to show it is taken, not redone)
    stored = [(1, "stored", 1, 0.2, 0.0, 5, 1, 0.25, key)]
    reused = removal_steps("G0042", MEMBERS, STAR, {}, {"hub": 10.0}, 0.2, {key: stored})
    assert reused == [("G0042", *stored[0])]
    # other inputs (more harm on a leaf): dismantled again, equal to a run without previous rows
    again = removal_steps("G0042", MEMBERS, STAR, {}, {"hub": 10.0, "a": 1.0}, 0.2, {key: stored})
    assert again == removal_steps("G0042", MEMBERS, STAR, {}, {"hub": 10.0, "a": 1.0}, 0.2)
    assert again[0][2] == "hub" and again[0][-1] != key
