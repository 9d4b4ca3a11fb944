"""The planted structure: county-lines groups, their members, SOC groups, planted links.

This is the only part of the corpus held in memory (about 15 people per group and a few
links each, so some 2 MB at scale 100). Everything is drawn from one generator seeded from
``(seed, "plant")``, in a fixed order, so it is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from clnet_spark.demo import population as pop
from clnet_spark.demo import vocab as v
from clnet_spark.demo.knobs import GROUPS_PER_SCALE, MIN_GROUPS, DemoKnobs

TIER_HOLDER, TIER_MIDDLE, TIER_RUNNER, TIER_CUCKOOED = 0, 1, 2, 3
TIER_NAMES: Final = ("line_holder", "middle", "runner", "cuckooed")
REL_SOURCES: Final = ("ims", "crimes", "icis", "pins", "compact")
_REL_SOURCE_P: Final = (0.4, 0.3, 0.2, 0.05, 0.05)
PLANT_STREAM: Final = 0x91A7


@dataclass(frozen=True)
class Group:
    """One planted county-lines group."""

    number: int
    group_id: str
    home: str
    destinations: tuple[str, ...]
    nickname: str
    phone_digits: str
    start: np.datetime64
    end: np.datetime64
    members: np.ndarray
    """Nominal indices of the members."""
    tiers: np.ndarray
    chunk: int
    """The chunk whose files carry the group's records."""


@dataclass(frozen=True)
class Members:
    """Attributes of every planted member, sorted by nominal index."""

    idx: np.ndarray
    group: np.ndarray
    tier: np.ndarray
    birth: np.ndarray
    sex: np.ndarray
    home_area: np.ndarray
    looked_after: np.ndarray
    vulnerable: np.ndarray

    def lookup(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(is_member, position)`` of each index in this table."""
        pos = np.searchsorted(self.idx, idx)
        pos_c = np.minimum(pos, len(self.idx) - 1)
        found = (len(self.idx) > 0) & (self.idx[pos_c] == idx)
        return found, pos_c


@dataclass(frozen=True)
class Relationship:
    a: int
    b: int
    kind: str
    source: str
    day: np.datetime64
    chunk: int


@dataclass(frozen=True)
class BackgroundLink:
    """A planted link from a member to a background person (kept by propagation)."""

    nominal: int
    group_id: str
    member: int
    kind: str


@dataclass(frozen=True)
class Planted:
    groups: tuple[Group, ...]
    members: Members
    soc_idx: np.ndarray
    soc_number: np.ndarray
    soc_ids: tuple[str, ...]
    relationships: tuple[Relationship, ...]
    background_links: tuple[BackgroundLink, ...]


def group_count(scale: float) -> int:
    """Planted groups at ``scale``: proportional, never fewer than ``MIN_GROUPS``."""
    return max(MIN_GROUPS, round(GROUPS_PER_SCALE * scale))


def _day_between(rng: np.random.Generator, lo: np.datetime64, hi: np.datetime64) -> np.datetime64:
    span = int((hi - lo).astype(int))
    return lo + np.timedelta64(int(rng.integers(0, max(span, 1))), "D")


def _draw_members(
    rng: np.random.Generator, n_total: int, n_needed: int, taken: set[int]
) -> list[int]:
    out: list[int] = []
    while len(out) < n_needed:
        for c in rng.integers(0, n_total, size=2 * (n_needed - len(out)) + 8).tolist():
            if c not in taken:
                taken.add(c)
                out.append(c)
                if len(out) == n_needed:
                    break
    return out


def _tiers(rng: np.random.Generator, size: int) -> np.ndarray:
    holders = 2 if size >= 12 and rng.random() < 0.5 else 1
    middle = max(1, round(size * 0.25))
    cuckooed = int(np.clip(round(size * 0.12 + rng.normal(0, 0.5)), 1, 3))
    cuckooed = max(1, min(cuckooed, size - holders - middle - 2))
    runners = size - holders - cuckooed - middle
    return np.repeat(
        [TIER_HOLDER, TIER_MIDDLE, TIER_RUNNER, TIER_CUCKOOED], [holders, middle, runners, cuckooed]
    )


def _member_attributes(
    rng: np.random.Generator, group: Group, knobs: DemoKnobs
) -> dict[str, np.ndarray]:
    n = len(group.members)
    tier = group.tiers
    age_lo = np.array([21.0, 18.0, 13.0, 30.0])[tier]
    age_hi = np.array([38.0, 30.0, 16.9, 65.0])[tier]
    adult_runner = (tier == TIER_RUNNER) & (rng.random(n) > knobs.child_runner_share)
    age_lo = np.where(adult_runner, 18.0, age_lo)
    age_hi = np.where(adult_runner, 22.0, age_hi)
    age_days = ((age_lo + (age_hi - age_lo) * rng.random(n)) * pop.DAYS_PER_YEAR).astype(np.int64)
    birth = group.start - age_days.astype("timedelta64[D]")
    home_idx = pop.AREA_NAMES.index(group.home)
    other_force = rng.integers(0, len(v.FORCE_AREAS), n)
    home = np.where(rng.random(n) < 0.8, home_idx, other_force)
    dest_idx = np.array([pop.AREA_NAMES.index(d) for d in group.destinations])
    home = np.where(tier == TIER_CUCKOOED, dest_idx[rng.integers(0, len(dest_idx), n)], home)
    child_runner = (tier == TIER_RUNNER) & ~adult_runner
    looked_after = child_runner & (rng.random(n) < knobs.runner_looked_after_share)
    vulnerable = np.where(tier == TIER_CUCKOOED, 1, np.where(rng.random(n) < 0.1, -1, 0))
    vulnerable = np.where(child_runner, 0, vulnerable)
    male_p = np.array([0.95, 0.85, 0.8, 0.55])[tier]
    sex = np.where(rng.random(n) < male_p, 1, 0)
    return {
        "birth": birth,
        "home_area": home,
        "looked_after": looked_after,
        "vulnerable": vulnerable,
        "sex": sex,
    }


def _phone(rng: np.random.Generator, used: set[str]) -> str:
    while True:
        digits = (
            "07"
            + str(rng.choice([4, 5, 7, 8, 9]))
            + "".join(str(d) for d in rng.integers(0, 10, 8))
        )
        if digits not in used:
            used.add(digits)
            return digits


def plant(seed: int, scale: float, n_total: int, n_chunks: int, knobs: DemoKnobs) -> Planted:
    """Draw the planted structure for a corpus of ``n_total`` people in ``n_chunks`` chunks."""
    rng = np.random.default_rng([seed, PLANT_STREAM])
    n_groups = group_count(scale)
    taken: set[int] = set()
    phones: set[str] = set()
    nick_order = rng.permutation(len(v.LINE_NICKNAMES))
    groups: list[Group] = []
    attrs: list[dict[str, np.ndarray]] = []
    last_start = np.datetime64("2026-03-01", "D")
    width = max(3, len(str(n_groups)))
    for g in range(n_groups):
        shape, scale_ = knobs.group_size_gamma
        size = int(
            np.clip(knobs.group_size_min + rng.gamma(shape, scale_), 0, knobs.group_size_max)
        )
        size = max(size, knobs.group_size_min)
        base = v.LINE_NICKNAMES[nick_order[g % len(nick_order)]]
        nickname = base if g < len(nick_order) else f"{base} {g // len(nick_order) + 1}"
        # county lines grew after 2017: starts lean towards recent years
        span = int((last_start - pop.START).astype(np.int64))
        start = pop.START + np.timedelta64(int(span * rng.random() ** 0.6), "D")
        years = 1 + 3 * rng.random()
        end = min(start + np.timedelta64(int(years * pop.DAYS_PER_YEAR), "D"), pop.END)
        n_dest = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
        dest = tuple(rng.choice(v.COUNTY_TOWNS, size=n_dest, replace=False).tolist())
        home = v.FORCE_AREAS[int(pop.force_area_index(rng.random(1))[0])][0]
        group = Group(
            number=g,
            group_id=f"L{g + 1:0{width}d}",
            home=home,
            destinations=dest,
            nickname=nickname,
            phone_digits=_phone(rng, phones),
            start=start,
            end=end,
            members=np.array(_draw_members(rng, n_total, size, taken), dtype=np.int64),
            tiers=_tiers(rng, size),
            chunk=int(rng.integers(0, n_chunks)),
        )
        groups.append(group)
        attrs.append(_member_attributes(rng, group, knobs))

    members = _members_table(groups, attrs)
    soc_idx, soc_number, soc_ids = _soc_groups(rng, groups, n_total, taken, scale, knobs)
    relationships, links = _relationships(rng, groups, n_total, members, knobs)
    return Planted(
        groups=tuple(groups),
        members=members,
        soc_idx=soc_idx,
        soc_number=soc_number,
        soc_ids=soc_ids,
        relationships=tuple(relationships),
        background_links=tuple(links),
    )


def _members_table(groups: list[Group], attrs: list[dict[str, np.ndarray]]) -> Members:
    if not groups:
        empty = np.array([], dtype=np.int64)
        return Members(
            empty,
            empty,
            empty,
            empty.astype("datetime64[D]"),
            empty,
            empty,
            empty.astype(bool),
            empty,
        )
    idx = np.concatenate([g.members for g in groups])
    order = np.argsort(idx, kind="stable")

    def cat(key: str) -> np.ndarray:
        return np.concatenate([a[key] for a in attrs])[order]

    return Members(
        idx=idx[order],
        group=np.concatenate([np.full(len(g.members), g.number) for g in groups])[order],
        tier=np.concatenate([g.tiers for g in groups])[order],
        birth=cat("birth"),
        sex=cat("sex"),
        home_area=cat("home_area"),
        looked_after=cat("looked_after"),
        vulnerable=cat("vulnerable"),
    )


def _soc_groups(
    rng: np.random.Generator,
    groups: list[Group],
    n_total: int,
    taken: set[int],
    scale: float,
    knobs: DemoKnobs,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    n = len(groups)
    order = rng.permutation(n)
    n_assoc = max(1, round(knobs.soc_associated_group_share * n))
    n_partial = max(1, round(knobs.soc_partial_group_share * n))
    n_background = max(2, round(knobs.soc_background_groups_per_scale * scale))
    soc_taken = set(taken)
    memberships: list[list[int]] = []
    for rank, g in enumerate(order.tolist()):
        members = groups[g].members
        size = len(members)
        if rank < n_assoc:
            k = int(rng.integers(size // 2 + 1, size + 1))
        elif rank < n_assoc + n_partial:
            k = int(rng.integers(1, size // 2 + 1))
        else:
            continue
        chosen = rng.choice(members, size=k, replace=False).tolist()
        lo, hi = knobs.soc_extra_members
        extra = _draw_members(rng, n_total, int(rng.integers(lo, hi + 1)), soc_taken)
        memberships.append(chosen + extra)
    for _ in range(n_background):
        memberships.append(_draw_members(rng, n_total, int(rng.integers(5, 26)), soc_taken))
    numbering = rng.permutation(len(memberships))
    width = max(3, len(str(len(memberships))))
    ids = tuple(f"S{i + 1:0{width}d}" for i in range(len(memberships)))
    soc_idx = np.array([m for ms in memberships for m in ms], dtype=np.int64)
    soc_number = np.array(
        [numbering[i] for i, ms in enumerate(memberships) for _ in ms], dtype=np.int64
    )
    return soc_idx, soc_number, ids


def _rel(rng: np.random.Generator, group: Group, a: int, b: int, kind: str) -> Relationship:
    source = str(rng.choice(REL_SOURCES, p=_REL_SOURCE_P))
    return Relationship(a, b, kind, source, _day_between(rng, group.start, group.end), group.chunk)


_PARTNER_TIERS: Final = {
    TIER_HOLDER: ((TIER_MIDDLE, TIER_HOLDER), (0.8, 0.2)),
    TIER_MIDDLE: ((TIER_HOLDER, TIER_MIDDLE, TIER_RUNNER), (0.4, 0.3, 0.3)),
    TIER_RUNNER: ((TIER_MIDDLE, TIER_RUNNER, TIER_HOLDER), (0.6, 0.3, 0.1)),
    TIER_CUCKOOED: ((TIER_MIDDLE, TIER_RUNNER), (0.6, 0.4)),
}


def _relationships(
    rng: np.random.Generator,
    groups: list[Group],
    n_total: int,
    members: Members,
    knobs: DemoKnobs,
) -> tuple[list[Relationship], list[BackgroundLink]]:
    rels: list[Relationship] = []
    links: list[BackgroundLink] = []
    for group in groups:
        by_tier = {t: group.members[group.tiers == t] for t in range(4)}
        for m, t in zip(group.members.tolist(), group.tiers.tolist(), strict=True):
            tiers, p = _PARTNER_TIERS[t]
            for _ in range(int(rng.poisson(knobs.within_group_associates_mean))):
                pool = by_tier[int(rng.choice(tiers, p=p))]
                other = int(rng.choice(pool))
                if other != m:
                    kind = str(
                        rng.choice(
                            ["associate", "co-accused", "family", "partner"],
                            p=[0.8, 0.12, 0.05, 0.03],
                        )
                    )
                    rels.append(_rel(rng, group, m, other, kind))
        if len(groups) > 1 and rng.random() < knobs.rival_pair_share:
            rival = groups[int((group.number + rng.integers(1, len(groups))) % len(groups))]
            for _ in range(int(rng.integers(1, 4))):
                a = int(rng.choice(group.members[group.tiers <= TIER_MIDDLE]))
                b = int(rng.choice(rival.members[rival.tiers <= TIER_MIDDLE]))
                rels.append(_rel(rng, group, a, b, "rival"))
        for _ in range(int(rng.poisson(knobs.cross_group_associates_per_group))):
            if len(groups) > 1:
                other_group = groups[
                    int((group.number + rng.integers(1, len(groups))) % len(groups))
                ]
                a = int(rng.choice(group.members))
                b = int(rng.choice(other_group.members))
                rels.append(_rel(rng, group, a, b, "associate"))
        for _ in range(int(rng.poisson(knobs.background_links_per_group_mean))):
            m = int(rng.choice(group.members))
            mates = pop.circle_mates(np.array([m]), n_total)[0]
            is_member, _ = members.lookup(mates)
            mates = mates[(mates >= 0) & ~is_member]
            if len(mates) and rng.random() < 0.6:
                person, kind = int(rng.choice(mates)), "family"
            else:
                person = int(rng.integers(0, n_total))
                if members.lookup(np.array([person]))[0][0]:
                    continue
                kind = "partner" if rng.random() < 0.3 else "associate"
            rels.append(_rel(rng, group, m, person, kind))
            links.append(BackgroundLink(person, group.group_id, m, kind))
    return rels, links
