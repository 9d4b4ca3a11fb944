"""Overlap of CL groups with SOC groups (METHOD section 5), hand-computed."""

from __future__ import annotations

import pandas as pd
import pytest

from clnet_spark.groups.soc import PAIR_COLUMNS, SocInputError, soc_overlap

# G1 = abcd, G2 = efg, G3 = h.  S1 = abc, S2 = a e x (a is in S1 and S2), S3 = f, S4 = y.
MEMBERSHIP = pd.DataFrame(
    {
        "nominal_id": ["a", "b", "c", "d", "e", "f", "g", "h"],
        "group_id": ["G1", "G1", "G1", "G1", "G2", "G2", "G2", "G3"],
    }
)
SOC = pd.DataFrame(
    {
        "nominal_id": ["a", "b", "c", "a", "e", "x", "f", "y"],
        "soc_group_id": ["S1", "S1", "S1", "S2", "S2", "S2", "S3", "S4"],
    }
)


def test_pairs_hold_every_shared_pair_and_one_empty_row_per_untouched_group() -> None:
    actual_df = soc_overlap(MEMBERSHIP, SOC).pairs

    expected_df = pd.DataFrame(
        [
            ("G1", "S1", 3, 4, 3, 0.75, True, True),
            ("G1", "S2", 1, 4, 3, 0.25, False, False),
            ("G2", "S2", 1, 3, 3, 1 / 3, False, True),  # tie with S3: the smaller id
            ("G2", "S3", 1, 3, 1, 1 / 3, False, False),
            ("G3", None, 0, 1, 0, 0.0, False, True),
        ],
        columns=list(PAIR_COLUMNS),
    ).astype({"shared": "int64", "group_size": "int64", "soc_group_size": "int64"})
    pd.testing.assert_frame_equal(actual_df, expected_df)


def test_overlap_of_exactly_one_half_is_not_associated() -> None:
    membership = pd.DataFrame({"nominal_id": ["a", "b", "c", "d"], "group_id": ["G1"] * 4})
    soc = pd.DataFrame({"nominal_id": ["a", "b", "c"], "soc_group_id": ["S1", "S1", "S2"]})
    pairs = soc_overlap(membership, soc).pairs.set_index("soc_group_id")
    assert pairs.loc["S1", "overlap"] == 0.5 and not pairs.loc["S1", "associated"]
    assert soc_overlap(membership, soc, threshold=0.49).pairs["associated"].tolist() == [
        True,
        False,
    ]


def test_a_threshold_is_compared_exactly_as_the_decimal_it_is_written_as() -> None:
    # 29/100 is not above 0.29, though 0.29 * 100 is 28.999999999999996 in binary floats.
    members = [f"n{i:03d}" for i in range(100)]
    membership = pd.DataFrame({"nominal_id": members, "group_id": ["G1"] * 100})
    soc = pd.DataFrame({"nominal_id": members[:29], "soc_group_id": ["S1"] * 29})
    assert not soc_overlap(membership, soc, threshold=0.29).pairs.loc[0, "associated"]
    assert soc_overlap(membership, soc, threshold=0.28).pairs.loc[0, "associated"]


def test_per_soc_lists_every_soc_group_with_the_cl_groups_touching_it() -> None:
    actual_df = soc_overlap(MEMBERSHIP, SOC).per_soc

    expected_df = pd.DataFrame(
        {
            "soc_group_id": ["S1", "S2", "S3", "S4"],
            "cl_groups": [["G1"], ["G1", "G2"], ["G2"], []],
            "cl_members": [3, 2, 1, 0],
        }
    )
    pd.testing.assert_frame_equal(actual_df, expected_df)


def test_not_in_soc_lists_the_cl_nominals_the_soc_analysis_has_not_identified() -> None:
    actual_df = soc_overlap(MEMBERSHIP, SOC).not_in_soc

    expected_df = pd.DataFrame({"nominal_id": ["d", "g", "h"], "group_id": ["G1", "G2", "G3"]})
    pd.testing.assert_frame_equal(actual_df, expected_df)


def test_no_soc_groups_at_all() -> None:
    result = soc_overlap(MEMBERSHIP, SOC.iloc[:0])
    assert result.pairs["soc_group_id"].isna().all() and result.pairs["is_best"].all()
    assert len(result.per_soc) == 0 and len(result.not_in_soc) == len(MEMBERSHIP)


@pytest.mark.parametrize(
    ("membership", "soc", "threshold", "message"),
    [
        (MEMBERSHIP.set_axis(["nominal_id", "g"], axis=1), SOC, 0.5, r"present: \[.*, 'g'\]"),
        (MEMBERSHIP, SOC.set_axis(["nominal_id", "s"], axis=1), 0.5, r"\['soc_group_id'\]"),
        (pd.concat([MEMBERSHIP, MEMBERSHIP.iloc[:1]]), SOC, 0.5, "listed more than once"),
        (MEMBERSHIP, pd.concat([SOC, SOC.iloc[:1]]), 0.5, "repeated"),
        (MEMBERSHIP.assign(group_id=None), SOC, 0.5, "null"),
        (MEMBERSHIP, SOC, 1.5, "threshold"),
    ],
)  # fmt: skip
def test_bad_input_is_rejected(
    membership: pd.DataFrame, soc: pd.DataFrame, threshold: float, message: str
) -> None:
    with pytest.raises(SocInputError, match=message):
        soc_overlap(membership, soc, threshold=threshold)
