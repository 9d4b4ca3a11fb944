"""Group identifiers that survive from one run to the next (METHOD section 4)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from clnet_spark.errors import ClnetError

logger = logging.getLogger(__name__)

KEEP_AT: Fraction = Fraction(1, 2)
"""A new group keeps a previous identifier when their Jaccard similarity is at least this."""
DIGITS = 4


class GroupIdError(ClnetError):
    """The groups or identifiers given to :func:`assign_stable_ids` are not usable."""


def _number(identifier: str, prefix: str) -> int:
    match = re.fullmatch(re.escape(prefix) + r"(\d+)", identifier)
    if match is None:
        raise GroupIdError(
            f"previous: identifier {identifier!r} is not {prefix!r} followed by digits "
            f"(e.g. {prefix}0001)"
        )
    return int(match.group(1))


def assign_stable_ids(
    new_groups: Mapping[str, frozenset[str]],
    previous: Mapping[str, frozenset[str]],
    prefix: str = "G",
    *,
    issued_up_to: int = 0,
) -> dict[str, str]:
    """Give each of this run's groups an identifier, keeping the previous run's where it fits.

    Every (new, previous) pair of groups sharing a member is taken in order of decreasing
    Jaccard similarity ``|A & B| / |A | B|`` (computed exactly, as a fraction), ties going to
    the smaller previous identifier (by its number), then to the smaller new key. A pair whose
    groups are both still free and whose Jaccard is at least 1/2 gives the new group the
    previous identifier; each group is used at most once. Every other new group gets a new
    identifier, numbered after the largest number among the previous identifiers and
    ``issued_up_to``, in order of decreasing size, then smallest member id. On a first run
    (``previous`` empty) that numbers the largest group ``G0001``.

    Parameters
    ----------
    new_groups : mapping of str to frozenset of str
        Provisional key (e.g. ``group_key`` of :func:`~clnet_spark.groups.walktrap.find_groups`)
        -> the group's members. Groups must be non-empty.
    previous : mapping of str to frozenset of str
        The previous run's identifier -> members (empty on a first run). Identifiers are
        ``prefix`` followed by digits.
    prefix : str
        Letters before the number (default ``"G"``).
    issued_up_to : int
        The highest number ever issued (the groups stage keeps it in the
        ``group_id_register`` table, see :func:`highest_number`). Without it only the previous
        run's largest number is known, and the number of a group that dissolved earlier could
        be issued again.

    Returns
    -------
    dict of str to str
        New key -> identifier: ``prefix`` and the number zero-padded to 4 digits
        (``G0001``); identifiers sort as text while numbers stay below 10,000.

    Raises
    ------
    GroupIdError
        For an empty group, a bad prefix or a previous identifier not in the format.
    """
    if not re.fullmatch(r"[A-Za-z_-]+", prefix):
        raise GroupIdError(f"prefix: expected letters, '_' or '-', got {prefix!r}")
    if any(not members for members in new_groups.values()):
        raise GroupIdError("new_groups: a group has no members")
    numbers = {identifier: _number(identifier, prefix) for identifier in previous}

    holders: dict[str, list[str]] = {}
    for identifier, members in previous.items():
        for member in members:
            holders.setdefault(member, []).append(identifier)
    candidates = []
    for key, members in new_groups.items():
        shared: dict[str, int] = {}
        for member in members:
            for identifier in holders.get(member, ()):
                shared[identifier] = shared.get(identifier, 0) + 1
        for identifier, inter in shared.items():
            jaccard = Fraction(inter, len(members) + len(previous[identifier]) - inter)
            candidates.append((-jaccard, numbers[identifier], identifier, key))
    candidates.sort()

    assigned: dict[str, str] = {}
    taken: set[str] = set()
    for negative, _, identifier, key in candidates:
        if -negative < KEEP_AT:
            break
        if identifier not in taken and key not in assigned:
            assigned[key] = identifier
            taken.add(identifier)

    kept = len(assigned)
    number = max([issued_up_to, *numbers.values()])
    fresh = sorted(
        (key for key in new_groups if key not in assigned),
        key=lambda key: (-len(new_groups[key]), min(new_groups[key]), key),
    )
    for key in fresh:
        number += 1
        assigned[key] = f"{prefix}{number:0{DIGITS}d}"
    logger.info(
        "group ids: %d kept from the previous run's %d, %d new", kept, len(previous), len(fresh)
    )
    return assigned


def highest_number(identifiers: Iterable[str], prefix: str = "G", issued_up_to: int = 0) -> int:
    """The largest number among ``identifiers`` and ``issued_up_to``: what to persist as the
    next run's ``issued_up_to``, so a number is never issued twice (even for a group that
    dissolved before the previous run)."""
    return max([issued_up_to, *(_number(identifier, prefix) for identifier in identifiers)])


CHANGES: Final = ("appeared", "disappeared", "merged", "split", "continued")
"""The kinds of change between two runs' groups, in the order the report lists them."""


@dataclass(frozen=True)
class GroupChange:
    """One line of the group change report (see :func:`group_changes`)."""

    change: str
    previous_id: str | None
    group_id: str | None
    shared: int
    previous_size: int
    size: int


def group_changes(
    previous: Mapping[str, frozenset[str]], current: Mapping[str, frozenset[str]]
) -> list[GroupChange]:
    """What became of the previous run's groups: the change report.

    Two groups are linked when they share at least one member. Then:

    - ``appeared``: a current group linked to no previous group (``previous_id`` null);
    - ``disappeared``: a previous group linked to no current group (``group_id`` null);
    - ``merged``: a current group linked to two or more previous groups, one line per
      previous group (also when that previous group split as well);
    - ``split``: a previous group linked to two or more current groups, one line per current
      group, unless the current group is a merger (reported as ``merged``);
    - ``continued``: a previous and a current group linked only to each other.

    Whether the identifier carried over is seen by comparing ``previous_id`` and
    ``group_id`` (METHOD section 4 decides it, by Jaccard similarity).

    Parameters
    ----------
    previous, current
        Identifier -> members, of the previous run and of this one.

    Returns
    -------
    list of GroupChange
        Sorted by change (in :data:`CHANGES` order), then identifiers.
    """
    holders: dict[str, set[str]] = {}
    for identifier, members in previous.items():
        for member in members:
            holders.setdefault(member, set()).add(identifier)
    links: dict[tuple[str, str], int] = {}
    for identifier, members in current.items():
        for member in members:
            for before in holders.get(member, ()):
                links[(before, identifier)] = links.get((before, identifier), 0) + 1
    sources: dict[str, set[str]] = {}
    targets: dict[str, set[str]] = {}
    for before, now in links:
        sources.setdefault(now, set()).add(before)
        targets.setdefault(before, set()).add(now)

    rows = [
        GroupChange("appeared", None, now, 0, 0, len(members))
        for now, members in current.items()
        if now not in sources
    ]
    rows += [
        GroupChange("disappeared", before, None, 0, len(members), 0)
        for before, members in previous.items()
        if before not in targets
    ]
    for (before, now), shared in links.items():
        if len(sources[now]) > 1:
            change = "merged"
        elif len(targets[before]) > 1:
            change = "split"
        else:
            change = "continued"
        rows.append(
            GroupChange(change, before, now, shared, len(previous[before]), len(current[now]))
        )
    order = {change: index for index, change in enumerate(CHANGES)}
    return sorted(rows, key=lambda r: (order[r.change], r.previous_id or "", r.group_id or ""))
