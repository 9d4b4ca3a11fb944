"""Stable group identifiers across runs (METHOD section 4), with hand-computed Jaccards."""

from __future__ import annotations

import pytest

from clnet_spark.groups.stable_ids import GroupIdError, assign_stable_ids


def g(members: str) -> frozenset[str]:
    """A group whose members are the letters of ``members``."""
    return frozenset(members)


def test_first_run_numbers_groups_by_decreasing_size_then_smallest_member() -> None:
    ids = assign_stable_ids({"k1": g("xy"), "k2": g("abc"), "k3": g("pq")}, {})
    # abc is largest; pq and xy tie on size, p < x
    assert ids == {"k2": "G0001", "k3": "G0002", "k1": "G0003"}


def test_kept_identifiers_and_new_ones_numbered_after_the_largest_previous() -> None:
    previous = {"G0001": g("abcd"), "G0007": g("pqr")}
    new = {"n1": g("abce"), "n2": g("xyz"), "n3": g("pqr")}
    # n1 ~ G0001: 3 shared / 5 in the union = 0.6, kept; n3 = G0007; n2 touches nothing
    assert assign_stable_ids(new, previous) == {"n1": "G0001", "n3": "G0007", "n2": "G0008"}


def test_jaccard_of_exactly_one_half_keeps_the_identifier_and_just_below_does_not() -> None:
    previous = {"G0001": g("abcd")}
    assert assign_stable_ids({"n": g("ab")}, previous) == {"n": "G0001"}  # 2/4
    assert assign_stable_ids({"n": g("abcdef")}, previous) == {"n": "G0001"}  # 4/6
    assert assign_stable_ids({"n": g("abx")}, previous) == {"n": "G0002"}  # 2/5


def test_a_split_keeps_the_identifier_for_the_closer_part_only() -> None:
    previous = {"G0003": g("abcdef")}
    new = {"n1": g("abcd"), "n2": g("ef")}  # 4/6 and 2/6
    assert assign_stable_ids(new, previous) == {"n1": "G0003", "n2": "G0004"}


def test_a_split_into_two_equal_halves_keeps_it_for_the_smaller_new_key() -> None:
    previous = {"G0001": g("abcd")}
    new = {"n2": g("ab"), "n1": g("cd")}  # both 2/4: tie -> the smaller new key
    assert assign_stable_ids(new, previous) == {"n1": "G0001", "n2": "G0002"}


def test_a_merge_keeps_the_smaller_previous_identifier_and_retires_the_other() -> None:
    previous = {"G0002": g("def"), "G0001": g("abc")}
    new = {"n": g("abcdef")}  # 3/6 with each: tie -> the smaller previous identifier
    assert assign_stable_ids(new, previous) == {"n": "G0001"}


def test_a_merge_goes_to_the_closer_previous_group_before_any_tie_rule() -> None:
    previous = {"G0001": g("ab"), "G0002": g("cdef")}
    new = {"n": g("abcdef")}  # 2/6 with G0001, 4/6 with G0002
    assert assign_stable_ids(new, previous) == {"n": "G0002"}


def test_previous_identifiers_tie_by_number_not_by_text() -> None:
    previous = {"G10000": g("ab"), "G9999": g("cd")}
    new = {"n": g("abcd")}  # 2/4 with each; as text "G10000" < "G9999", as numbers 9999 first
    assert assign_stable_ids(new, previous) == {"n": "G9999"}


def test_each_previous_group_is_used_once_the_best_pair_first() -> None:
    previous = {"G0001": g("abcdefgh")}
    new = {"n1": g("abcde"), "n2": g("fgh")}  # 5/8 first; then G0001 is taken
    assert assign_stable_ids(new, previous) == {"n1": "G0001", "n2": "G0002"}


def test_numbering_continues_after_issued_up_to_when_it_is_higher() -> None:
    previous = {"G0002": g("ab")}
    ids = assign_stable_ids({"n1": g("ab"), "n2": g("xy")}, previous, issued_up_to=9)
    assert ids == {"n1": "G0002", "n2": "G0010"}


def test_another_prefix() -> None:
    assert assign_stable_ids({"n": g("ab")}, {"CL0041": g("abc")}, prefix="CL") == {"n": "CL0041"}


@pytest.mark.parametrize(
    ("new", "previous", "prefix", "message"),
    [
        ({"n": g("ab")}, {"X0001": g("a")}, "G", "'X0001' is not 'G' followed by digits"),
        ({"n": frozenset()}, {}, "G", "a group has no members"),
        ({"n": g("ab")}, {}, "G1", "prefix"),
    ],
)
def test_bad_input_is_rejected(
    new: dict[str, frozenset[str]], previous: dict[str, frozenset[str]], prefix: str, message: str
) -> None:
    with pytest.raises(GroupIdError, match=message):
        assign_stable_ids(new, previous, prefix=prefix)
