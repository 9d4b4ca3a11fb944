"""Overlap of CL groups with SOC groups (METHOD section 5), hand-computed."""

from __future__ import annotations

import pandas as pd

from clnet_spark.groups.soc import soc_overlap

MEMBERSHIP = pd.DataFrame(
    {
        "nominal_id": ["a", "b", "c", "d", "e", "f", "g", "h"],
        "group_id": ["G1", "G1", "G1", "G1", "G2", "G2", "G2", "G3"],
    }
)
SOC = pd.DataFrame(
    {
        "nominal_id": ["a", "b", "c", "a", "e", "x", "f"],
        "soc_group_id": ["S1", "S1", "S1", "S2", "S2", "S2", "S3"],
    }
)


def test_overlap_association_and_best() -> None:
    result = soc_overlap(MEMBERSHIP, SOC)
    pairs = result.pairs.set_index(["group_id", "soc_group_id"], drop=False)
    # G1: S1 shares a, b, c -> 3/4 = 0.75 associated; S2 shares a (in two SOC groups) -> 0.25
    assert pairs.loc[("G1", "S1"), "overlap"] == 0.75 and pairs.loc[("G1", "S1"), "associated"]
    assert pairs.loc[("G1", "S2"), "overlap"] == 0.25
    assert bool(pairs.loc[("G1", "S1"), "is_best"]) and not pairs.loc[("G1", "S2"), "is_best"]
    assert pairs.loc[("G1", "S2"), "soc_group_size"] == 3
    # G2: S2 and S3 each 1/3 -> not associated; best is the smaller id S2
    assert not pairs.loc[("G2", "S2"), "associated"]
    assert bool(pairs.loc[("G2", "S2"), "is_best"]) and not pairs.loc[("G2", "S3"), "is_best"]
    g3 = result.pairs[result.pairs["group_id"] == "G3"].iloc[0]
    assert g3["soc_group_id"] is None and g3["overlap"] == 0.0 and not g3["associated"]


def test_exactly_half_is_not_associated() -> None:
    membership = pd.DataFrame({"nominal_id": ["a", "b"], "group_id": ["G1", "G1"]})
    soc = pd.DataFrame({"nominal_id": ["a"], "soc_group_id": ["S1"]})
    pairs = soc_overlap(membership, soc).pairs
    assert pairs.loc[0, "overlap"] == 0.5 and not pairs.loc[0, "associated"]


def test_per_soc_and_nominals_not_in_soc() -> None:
    result = soc_overlap(MEMBERSHIP, SOC)
    per_soc = result.per_soc.set_index("soc_group_id")
    assert per_soc.loc["S2", "cl_groups"] == ["G1", "G2"] and per_soc.loc["S2", "cl_members"] == 2
    assert list(result.not_in_soc["nominal_id"]) == ["d", "g", "h"]
