"""Group identifiers that survive from one run to the next (METHOD section 4)."""

from __future__ import annotations

import re
from collections.abc import Mapping

ID_PATTERN = re.compile(r"^([A-Za-z]*)(\d+)$")


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def assign_stable_ids(
    new_groups: Mapping[str, frozenset[str]],
    previous: Mapping[str, frozenset[str]],
    prefix: str = "G",
    min_jaccard: float = 0.5,
) -> dict[str, str]:
    """Map each new group's provisional key to an identifier.

    New groups are paired with previous groups in order of decreasing Jaccard similarity
    (ties: the smaller previous identifier first, then the smaller new key), each group used
    at most once; a pair with Jaccard >= ``min_jaccard`` keeps the previous identifier. The
    other new groups get fresh identifiers numbered after the largest previous number, in
    order of decreasing size then smallest member id (so a first run numbers the largest
    group ``G0001``).

    Parameters
    ----------
    new_groups
        Provisional key -> members of this run's groups.
    previous
        Identifier -> members of the previous run's groups (empty on a first run).
    """
    candidates = []
    for new_key, members in new_groups.items():
        for old_id, old_members in previous.items():
            if members & old_members:
                candidates.append((-_jaccard(members, old_members), old_id, new_key))
    candidates.sort()
    assigned: dict[str, str] = {}
    used: set[str] = set()
    for negative, old_id, new_key in candidates:
        if -negative < min_jaccard:
            break
        if old_id in used or new_key in assigned:
            continue
        assigned[new_key] = old_id
        used.add(old_id)

    numbers = [int(m.group(2)) for m in map(ID_PATTERN.match, previous) if m]
    next_number = max(numbers, default=0) + 1
    fresh = sorted(
        (key for key in new_groups if key not in assigned),
        key=lambda key: (-len(new_groups[key]), min(new_groups[key], default=""), key),
    )
    for key in fresh:
        assigned[key] = f"{prefix}{next_number:04d}"
        next_number += 1
    return assigned
