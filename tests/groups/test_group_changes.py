"""The group change report and the persisted ``issued_up_to`` (METHOD section 4)."""

from __future__ import annotations

from clnet_spark.groups.stable_ids import (
    GroupChange,
    assign_stable_ids,
    group_changes,
    highest_number,
)


def g(*members: str) -> frozenset[str]:
    return frozenset(members)


BEFORE = {
    "G0001": g("a", "b", "c", "d"),  # continues as G0001 with one member fewer
    "G0002": g("e", "f", "g", "h"),  # splits into {e, f} and {g, h}
    "G0003": g("i", "j"),  # merges with G0004
    "G0004": g("k", "l"),
    "G0005": g("m", "n"),  # disappears
}
AFTER_GROUPS = {
    "k1": g("a", "b", "c"),
    "k2": g("e", "f"),
    "k3": g("g", "h"),
    "k4": g("i", "j", "k", "l"),
    "k5": g("x", "y"),  # appears
}


def test_every_kind_of_change_is_reported_with_both_identifiers() -> None:
    ids = assign_stable_ids(AFTER_GROUPS, BEFORE, issued_up_to=9)
    # Jaccard 3/4 keeps G0001; {e,f} and {g,h} have 1/2 with G0002 (the first, by key, keeps
    # it); {i,j,k,l} has 1/2 with both G0003 and G0004 (the smaller id wins). New numbers
    # follow issued_up_to = 9, by size then smallest member: {g,h} before {x,y}.
    assert ids == {"k1": "G0001", "k2": "G0002", "k3": "G0010", "k4": "G0003", "k5": "G0011"}
    after = {ids[key]: members for key, members in AFTER_GROUPS.items()}

    assert group_changes(BEFORE, after) == [
        GroupChange("appeared", None, "G0011", 0, 0, 2),
        GroupChange("disappeared", "G0005", None, 0, 2, 0),
        GroupChange("merged", "G0003", "G0003", 2, 2, 4),
        GroupChange("merged", "G0004", "G0003", 2, 2, 4),
        GroupChange("split", "G0002", "G0002", 2, 4, 2),
        GroupChange("split", "G0002", "G0010", 2, 4, 2),
        GroupChange("continued", "G0001", "G0001", 3, 4, 3),
    ]


def test_a_first_run_reports_every_group_as_appeared() -> None:
    assert group_changes({}, {"G0001": g("a", "b")}) == [
        GroupChange("appeared", None, "G0001", 0, 0, 2)
    ]


def test_a_group_both_split_and_merged_is_reported_as_merged() -> None:
    before = {"G0001": g("a", "b", "c", "d"), "G0002": g("e", "f")}
    after = {"G0003": g("a", "b", "e", "f"), "G0004": g("c", "d")}
    kinds = {(r.previous_id, r.group_id): r.change for r in group_changes(before, after)}
    assert kinds == {
        ("G0001", "G0003"): "merged",
        ("G0002", "G0003"): "merged",
        ("G0001", "G0004"): "split",
    }


def test_numbers_are_never_reused_once_the_register_is_kept() -> None:
    # Run 1 issues G0001-G0003; run 2 keeps only G0001 (G0003 dissolved); run 3 must not
    # issue G0003 again although no previous group holds it any more.
    run1 = assign_stable_ids({"a": g("1", "2", "3"), "b": g("4", "5"), "c": g("6")}, {})
    issued = highest_number(run1.values())
    assert issued == 3
    run2 = assign_stable_ids(
        {"a": g("1", "2", "3")}, {"G0001": g("1", "2", "3")}, issued_up_to=issued
    )
    issued = highest_number(run2.values(), issued_up_to=issued)
    run3 = assign_stable_ids(
        {"a": g("1", "2", "3"), "n": g("7", "8")}, {"G0001": g("1", "2", "3")}, issued_up_to=issued
    )
    assert run3 == {"a": "G0001", "n": "G0004"}
    # Without the register, the previous run's largest number (1) is all that is known.
    assert assign_stable_ids({"n": g("7", "8")}, {"G0001": g("1", "2", "3")}) == {"n": "G0002"}
