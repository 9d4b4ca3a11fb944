"""The ``ground_truth/`` folder: what was planted, for scoring a pipeline run.

The pipeline never reads these files. Columns are described in ``docs/demo-corpus.md``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from clnet_spark.demo import population as pop
from clnet_spark.demo.planted import TIER_CUCKOOED, TIER_NAMES, Planted

MALFORMED_REASONS: Final = {
    **{
        source: (
            "empty_record_id",
            "unparseable_recorded_at",
            "future_recorded_at",
            "duplicate_exact",
            "duplicate_conflicting",
        )
        for source in ("crimes", "ims", "icis", "pins", "compact")
    },
    "record_nominals": ("unknown_record", "unknown_nominal", "unknown_source"),
    "relationships": ("unknown_nominal", "self_relationship"),
    "soc_groups": ("unknown_nominal",),
    "nominals": ("empty_nominal_id",),
}
"""Every table and reason of ``malformed.csv`` (written even when a count is zero)."""

HEADERS: Final = {
    "cl_nominals": (
        "nominal_id",
        "planted_group",
        "tier",
        "is_child_now",
        "looked_after_child",
        "vulnerable_adult",
    ),
    "groups": (
        "planted_group",
        "line_name",
        "deal_line_phone",
        "home_area",
        "destinations",
        "soc_group_id",
        "size",
    ),
    "soc_groups": ("soc_group_id", "has_cl_activity", "size"),
    "malformed": ("table", "reason", "rows"),
    "background_links": ("nominal_id", "planted_group", "member_id", "relationship_type"),
}


@dataclass(frozen=True)
class Truth:
    """Counts the summary takes from the ground truth."""

    rows: dict[str, int]
    children_now: int
    cuckooed: int
    soc_groups_with_cl: int


def under_18_on(birth: np.datetime64, day: np.datetime64) -> bool:
    """Whether someone born on ``birth`` is under 18 on ``day`` (calendar birthdays)."""
    b = dt.date.fromisoformat(str(birth.astype("datetime64[D]")))
    d = dt.date.fromisoformat(str(day.astype("datetime64[D]")))
    try:
        adult = b.replace(year=b.year + 18)
    except ValueError:  # born on 29 February: adult on 1 March
        adult = dt.date(b.year + 18, 3, 1)
    return d < adult


def _bool(flag: int | bool) -> str:
    if isinstance(flag, bool | np.bool_):
        return "true" if flag else "false"
    return {1: "true", 0: "false", -1: ""}[int(flag)]


def _write(path: Path, header: Iterable[str], rows: list[list[str]]) -> int:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return len(rows)


def write_json(path: Path, data: Mapping[str, object]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_ground_truth(
    out: Path,
    planted: Planted,
    nid: Callable[[Iterable[int]], list[str]],
    malformed: Mapping[str, Counter[str]],
) -> Truth:
    """Write the ground-truth tables (all but ``summary.json``) under ``out/ground_truth``."""
    folder = out / "ground_truth"
    members = planted.members
    soc_of = dict(zip(planted.soc_idx.tolist(), planted.soc_number.tolist(), strict=True))

    cl_rows: list[list[str]] = []
    group_rows: list[list[str]] = []
    children = 0
    for group in planted.groups:
        _, pos = members.lookup(group.members)
        order = np.argsort(group.members)
        for i, nominal_id in zip(order.tolist(), nid(group.members[order]), strict=True):
            p = int(pos[i])
            child = under_18_on(members.birth[p], pop.REFERENCE_DATE)
            children += child
            cl_rows.append(
                [
                    nominal_id,
                    group.group_id,
                    TIER_NAMES[int(members.tier[p])],
                    _bool(child),
                    _bool(bool(members.looked_after[p])),
                    _bool(int(members.vulnerable[p])),
                ]
            )
        held = Counter(soc_of[m] for m in group.members.tolist() if m in soc_of)
        best = held.most_common(1)
        soc = planted.soc_ids[best[0][0]] if best and 2 * best[0][1] > len(group.members) else ""
        group_rows.append(
            [
                group.group_id,
                f"{group.nickname} line",
                group.phone_digits,
                group.home,
                ";".join(group.destinations),
                soc,
                str(len(group.members)),
            ]
        )

    is_member = set(members.idx.tolist())
    sizes = Counter(planted.soc_number.tolist())
    with_cl = {s for m, s in soc_of.items() if m in is_member}
    soc_rows = [
        [soc_id, _bool(number in with_cl), str(sizes[number])]
        for number, soc_id in enumerate(planted.soc_ids)
    ]
    malformed_rows = [
        [table, reason, str(malformed.get(table, Counter())[reason])]
        for table, reasons in MALFORMED_REASONS.items()
        for reason in reasons
    ]
    link_rows = [
        [n, link.group_id, m, link.kind]
        for link, n, m in zip(
            planted.background_links,
            nid(link.nominal for link in planted.background_links),
            nid(link.member for link in planted.background_links),
            strict=True,
        )
    ]
    tables = {
        "cl_nominals": cl_rows,
        "groups": group_rows,
        "soc_groups": soc_rows,
        "malformed": malformed_rows,
        "background_links": link_rows,
    }
    rows = {
        f"ground_truth/{name}.csv": _write(folder / f"{name}.csv", HEADERS[name], table)
        for name, table in tables.items()
    }
    return Truth(
        rows=rows,
        children_now=children,
        cuckooed=int((members.tier == TIER_CUCKOOED).sum()),
        soc_groups_with_cl=len(with_cl),
    )
