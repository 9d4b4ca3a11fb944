"""Group identifiers that survive from one run to the next (METHOD section 4)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from fractions import Fraction

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
        The highest number ever issued, if the caller keeps it. The previous run's largest
        number is used otherwise, so the number of a group that dissolved in the previous run
        can be issued again (identifiers from older runs are not known here).

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
