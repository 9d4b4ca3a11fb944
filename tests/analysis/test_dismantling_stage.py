"""Removal steps per scope, as the dismantling stage writes them."""

from __future__ import annotations

import math

import pandas as pd

from clnet_spark.analysis.dismantling_stage import removal_steps

STAR = pd.DataFrame({"src": ["hub"] * 4, "dst": ["a", "b", "c", "d"]})


def test_star_centre_is_removed_first_and_rows_carry_the_scope() -> None:
    rows = removal_steps("G0001", ["a", "b", "c", "d", "hub"], STAR, {}, {"hub": 10.0}, 0.2)
    scope, step, first, lcc_people, lcc_fraction, lcc_harm, people, to_target, _ = rows[0]
    assert (scope, step, first, people) == ("G0001", 1, "hub", 5)
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
