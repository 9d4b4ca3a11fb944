"""Stable group identifiers across runs (METHOD section 4)."""

from __future__ import annotations

from clnet_spark.groups.stable_ids import assign_stable_ids


def g(members: str) -> frozenset[str]:
    return frozenset(members)


def test_first_run_numbers_groups_by_size_then_smallest_member() -> None:
    ids = assign_stable_ids({"k1": g("xy"), "k2": g("abc"), "k3": g("pq")}, {})
    assert ids == {"k2": "G0001", "k3": "G0002", "k1": "G0003"}


def test_identifiers_carry_over_and_new_ones_continue_numbering() -> None:
    previous = {"G0001": g("abcd"), "G0007": g("pqr")}
    new = {"n1": g("abce"), "n2": g("xyz"), "n3": g("pqr")}
    # n1~G0001: Jaccard 3/5 = 0.6 keeps it; n3 = G0007 exactly; n2 is new.
    assert assign_stable_ids(new, previous) == {"n1": "G0001", "n3": "G0007", "n2": "G0008"}


def test_exactly_half_keeps_the_identifier_below_half_does_not() -> None:
    previous = {"G0001": g("abcd")}
    assert assign_stable_ids({"n": g("ab")}, previous) == {"n": "G0001"}  # 2/4
    assert assign_stable_ids({"n": g("abx")}, previous) == {"n": "G0002"}  # 2/5


def test_split_keeps_the_id_for_the_closer_half() -> None:
    previous = {"G0003": g("abcdef")}
    new = {"n1": g("abcd"), "n2": g("ef")}  # 4/6 and 2/6
    assert assign_stable_ids(new, previous) == {"n1": "G0003", "n2": "G0004"}


def test_merge_keeps_one_previous_id() -> None:
    previous = {"G0001": g("abc"), "G0002": g("def")}
    new = {"n": g("abcdef")}  # Jaccard 0.5 with each: tie -> the smaller previous id
    assert assign_stable_ids(new, previous) == {"n": "G0001"}


def test_tie_between_new_groups_goes_to_the_smaller_key() -> None:
    previous = {"G0001": g("ab")}
    new = {"n2": g("a"), "n1": g("b")}  # both Jaccard 0.5
    assert assign_stable_ids(new, previous) == {"n1": "G0001", "n2": "G0002"}
