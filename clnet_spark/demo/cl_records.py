"""Records of one planted county-lines group.

Each group gets, from its own generator seeded from ``(seed, "cl", group number)``:

- core records that cover every member: members are dealt into blocks of 2-5, and each block
  shares a record with a COUNTY_LINE or DRUGS_LINE form; every cuckooed member is the victim
  or subject of a record with a CUCKOO form beside one or two members who exploit them;
- further records with 2-5 members each (1-2 on prison records) and a mix of forms drawn
  with the ``cl_*`` knobs, weak-only intelligence included;
- missing episodes of the child runners (``compact``, role ``missing person``), mostly found
  in a destination town;
- ordinary records of line holders and middle-tier members (violence, weapons) that carry no
  county-lines wording, for the harm stage.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import numpy as np

from clnet_spark import columns as c
from clnet_spark.demo import population as pop
from clnet_spark.demo import sentences as s
from clnet_spark.demo import vocab as v
from clnet_spark.demo.knobs import DemoKnobs
from clnet_spark.demo.planted import (
    TIER_CUCKOOED,
    TIER_HOLDER,
    TIER_MIDDLE,
    TIER_RUNNER,
    Group,
    Members,
)
from clnet_spark.demo.records import RecordBatch
from clnet_spark.demo.text import TextMaker

CL_STREAM = 0xC1C1
_TIER_WEIGHT = np.array([0.6, 1.5, 1.4, 0.3])
_EXTRA_SOURCES = (c.IMS, c.CRIMES, c.ICIS, c.PINS)
_EXTRA_SOURCE_P = (0.45, 0.22, 0.23, 0.10)
_CL_CRIME_OFFENCES = (
    ("pwits_class_a", 0.45),
    ("supply_class_a", 0.25),
    ("possession_class_a", 0.1),
    ("modern_slavery", 0.08),
    ("weapon", 0.07),
    ("robbery", 0.05),
)
_LEADER_CRIME_ROLES = (("suspect", 0.5), ("charged", 0.8), ("offender", 1.0))
_ROLES: dict[str, dict[int | None, tuple[tuple[str, float], ...]]] = {
    c.IMS: {
        TIER_CUCKOOED: (("victim", 0.6), ("subject", 1.0)),
        TIER_RUNNER: (("subject", 0.6), ("associate", 0.9), ("victim", 1.0)),
        TIER_HOLDER: (("subject", 1.0),),
        None: (("subject", 0.6), ("associate", 1.0)),
    },
    c.CRIMES: {
        TIER_CUCKOOED: (("victim", 1.0),),
        TIER_RUNNER: (("suspect", 0.55), ("victim", 0.8), ("charged", 0.9), ("offender", 1.0)),
        None: _LEADER_CRIME_ROLES,
    },
    c.ICIS: {None: (("arrested", 1.0),)},
    c.PINS: {TIER_RUNNER: (("associate", 1.0),), None: (("subject", 1.0),)},
}
"""Cumulative role probabilities per source and tier (``None``: any other tier)."""
_MEMBER_OFFENCES = ("assault_injury", "weapon", "robbery", "weapon_other", "criminal_damage")


class _GroupWriter:
    """Builds one group's records into the chunk's batches."""

    def __init__(
        self,
        seed: int,
        group: Group,
        members: Members,
        n_total: int,
        knobs: DemoKnobs,
        batches: dict[str, RecordBatch],
    ) -> None:
        self.rng = np.random.default_rng([seed, CL_STREAM, group.number])
        self.maker = TextMaker(random.Random(int(self.rng.integers(1 << 62))), knobs)
        self.group = group
        self.knobs = knobs
        self.batches = batches
        self.n_total = n_total
        self.members = members
        _, pos = members.lookup(group.members)
        self.birth = members.birth[pos]
        self.home = members.home_area[pos]
        self.stats: Counter[str] = Counter()

    # --- helpers ------------------------------------------------------------------------
    def day(self) -> np.datetime64:
        span = int((self.group.end - self.group.start).astype(np.int64))
        return self.group.start + np.timedelta64(int(self.rng.integers(0, span + 1)), "D")

    def role(self, source: str, tier: int) -> str:
        """A linking role for a member of ``tier`` on a record of ``source``."""
        if source == c.COMPACT:
            return "missing person"
        table = _ROLES[source]
        roles = table.get(tier, table[None])
        r = self.maker.rnd.random()
        for role, cumulative in roles:
            if r < cumulative:
                return role
        return roles[-1][0]

    def pick_members(self, k: int, allow_cuckooed: bool) -> list[int]:
        w = _TIER_WEIGHT[self.group.tiers].copy()
        if not allow_cuckooed:
            w[self.group.tiers == TIER_CUCKOOED] = 0
        k = min(k, int((w > 0).sum()))
        return self.rng.choice(len(w), size=k, replace=False, p=w / w.sum()).tolist()

    def context(self, area: str, found: str = "") -> dict[str, Any]:
        g = self.group
        dest = g.destinations[int(self.rng.integers(0, len(g.destinations)))]
        return {
            "area": area,
            "dest": dest,
            "home": g.home,
            "found": found or dest,
            "nickname": g.nickname,
            "phone_digits": g.phone_digits,
            "day": self.day(),
        }

    def drugs(self) -> tuple[str, ...]:
        n = 1 if self.rng.random() < 0.6 else 2
        return tuple(
            self.rng.choice(v.DRUG_GROUPS, size=n, replace=False, p=v.CL_DRUG_MIX).tolist()
        )

    def emit(
        self, source: str, parts: list[str], ctx: dict[str, Any], offence: str, positions: list[int]
    ) -> int:
        self.maker.rnd.shuffle(parts)
        r = self.rng.random()
        fillers = 0 if r < 0.4 else 1 if r < 0.8 else 2
        text = self.maker.compose(source, parts, ctx, fillers)
        codes = v.OFFENCES[offence][1] if offence else ("",)
        code = codes[int(self.rng.integers(0, len(codes)))] if source in (c.CRIMES, c.ICIS) else ""
        batch = self.batches[source]
        rec = batch.add(text, ctx["day"], ctx["area"], code)
        for p in positions:
            batch.link(rec, int(self.group.members[p]), self.role(source, int(self.group.tiers[p])))
        if self.rng.random() < self.knobs.witness_member_share:
            others = [i for i in range(len(self.group.members)) if i not in positions]
            if others:
                w = others[int(self.rng.integers(0, len(others)))]
                batch.link(rec, int(self.group.members[w]), "witness")
        self.stats["cl_records"] += 1
        return rec

    def area(self) -> str:
        g = self.group
        if self.rng.random() < 0.55:
            return g.destinations[int(self.rng.integers(0, len(g.destinations)))]
        return g.home

    def offence(self) -> str:
        kinds = [k for k, _ in _CL_CRIME_OFFENCES]
        p = np.array([w for _, w in _CL_CRIME_OFFENCES])
        return kinds[int(self.rng.choice(len(kinds), p=p / p.sum()))]

    # --- record kinds -------------------------------------------------------------------
    def parts_for(self, source: str, features: dict[str, bool], ctx: dict[str, Any]) -> list[str]:
        m = self.maker
        parts: list[str] = []
        pools = (
            ("code", s.CL_CODE),
            ("cl", s.CL_COUNTY_LINE),
            ("dl", s.CL_DRUGS_LINE),
            ("cuckoo", s.CL_CUCKOO),
            ("miss", s.CL_MISS),
            ("other", s.CL_OTHER),
            ("misper", s.CL_MISPER),
        )
        for name, pool in pools:
            if features.get(name):
                parts.append(m.choice(pool))
        if features.get("drug"):
            if self.rng.random() < 0.12:
                ctx["pair"] = int(self.rng.integers(0, len(v.CL_DRUG_PAIRS)))
                parts.append(m.choice(s.CL_DRUG_PAIR))
            else:
                ctx["drugs"] = self.drugs()
                parts.append(m.choice(s.CL_DRUG_TWO if len(ctx["drugs"]) == 2 else s.CL_DRUG))
        if (features.get("phone") or features.get("line")) and not features.get("dl"):
            parts.append(m.choice(s.CL_LINE))
        if source == c.PINS:
            release = ctx["day"] + np.timedelta64(int(self.rng.integers(30, 900)), "D")
            ctx["date"] = str(release)
            parts.append(m.choice(s.CL_PRISON))
        if not parts:
            parts.append(m.choice(s.CL_LINE))
        return parts

    def features(self) -> dict[str, bool]:
        k = self.knobs
        r = self.rng.random(10)
        return {
            "cl": bool(r[0] < k.cl_county_line_share),
            "dl": bool(r[1] < k.cl_drugs_line_share),
            "code": bool(r[2] < k.cl_code_share),
            "miss": bool(r[3] < k.cl_miss_share),
            "other": bool(r[4] < k.cl_other_share),
            "misper": bool(r[5] < k.cl_misper_share),
            "drug": bool(r[6] < k.cl_drug_word_share),
            "phone": bool(r[7] < k.cl_phone_share),
            "line": bool(r[8] < k.cl_line_name_share),
        }

    def core_records(self) -> int:
        tiers = self.group.tiers
        order = [int(i) for i in self.rng.permutation(np.flatnonzero(tiers != TIER_CUCKOOED))]
        pmf = np.asarray(self.knobs.members_per_record_pmf)
        blocks: list[list[int]] = []
        i = 0
        while i < len(order):
            k = 1 + int(self.rng.choice(len(pmf), p=pmf / pmf.sum()))
            block = order[i : i + k]
            i += k
            if len(block) == 1 and blocks:
                blocks[-1].extend(block)
            else:
                blocks.append(block)
        for block in blocks:
            source = str(self.rng.choice([c.IMS, c.CRIMES, c.ICIS], p=[0.5, 0.25, 0.25]))
            features = self.features()
            strong = "cl" if self.rng.random() < 0.7 else "dl"
            features[strong] = True
            ctx = self.context(self.area())
            offence = self.offence() if source != c.IMS else ""
            self.emit(source, self.parts_for(source, features, ctx), ctx, offence, block)
        exploiters = np.flatnonzero((tiers == TIER_MIDDLE) | (tiers == TIER_RUNNER))
        for victim in np.flatnonzero(tiers == TIER_CUCKOOED).tolist():
            k = min(len(exploiters), int(self.rng.integers(1, 3)))
            positions = [victim, *self.rng.choice(exploiters, size=k, replace=False).tolist()]
            source = c.CRIMES if self.rng.random() < 0.5 else c.IMS
            features = self.features()
            features["cuckoo"] = True
            features["cl"] = self.rng.random() < 0.5
            ctx = self.context(self.group.destinations[0])
            ctx["area"] = ctx["dest"]
            offence = (
                ("modern_slavery" if self.rng.random() < 0.4 else "pwits_class_a")
                if source == c.CRIMES
                else ""
            )
            self.emit(source, self.parts_for(source, features, ctx), ctx, offence, positions)
            self.stats["cuckoo_records"] += 1
        return len(blocks) + int((tiers == TIER_CUCKOOED).sum())

    def extra_records(self, n: int) -> None:
        pmf = np.asarray(self.knobs.members_per_record_pmf)
        for _ in range(n):
            source = str(self.rng.choice(_EXTRA_SOURCES, p=_EXTRA_SOURCE_P))
            k = (
                int(self.rng.integers(1, 3))
                if source == c.PINS
                else 1 + int(self.rng.choice(len(pmf), p=pmf / pmf.sum()))
            )
            positions = self.pick_members(k, allow_cuckooed=source in (c.IMS, c.CRIMES))
            features = self.features()
            has_cuckooed = any(self.group.tiers[p] == TIER_CUCKOOED for p in positions)
            features["cuckoo"] = has_cuckooed and self.rng.random() < 0.6
            has_runner = any(self.group.tiers[p] == TIER_RUNNER for p in positions)
            features["misper"] = features["misper"] and has_runner
            ctx = self.context(self.area())
            offence = self.offence() if source in (c.CRIMES, c.ICIS) else ""
            self.emit(source, self.parts_for(source, features, ctx), ctx, offence, positions)

    def missing_episodes(self) -> None:
        k = self.knobs
        pmf = np.asarray(k.missing_episodes_pmf)
        batch = self.batches[c.COMPACT]
        for p in np.flatnonzero(self.group.tiers == TIER_RUNNER).tolist():
            adult_at = self.birth[p] + np.timedelta64(int(18 * pop.DAYS_PER_YEAR), "D")
            hi = min(self.group.end, adult_at - np.timedelta64(1, "D"))
            if hi < self.group.start:
                continue
            for _ in range(1 + int(self.rng.choice(len(pmf), p=pmf / pmf.sum()))):
                span = int((hi - self.group.start).astype(np.int64))
                day = self.group.start + np.timedelta64(int(self.rng.integers(0, span + 1)), "D")
                age = int((day - self.birth[p]).astype(np.int64) / pop.DAYS_PER_YEAR)
                home = pop.AREA_NAMES[int(self.home[p])]
                dest = self.group.destinations[
                    int(self.rng.integers(0, len(self.group.destinations)))
                ]
                found = dest if self.rng.random() < 0.8 else home
                ctx = {**self.context(home, found), "age": age}
                with_cl = self.rng.random() < k.cl_misper_county_line_share
                pool = s.CL_MISPER_COUNTY_LINE if with_cl else s.CL_MISPER_REPORT
                if not with_cl and self.rng.random() > k.misper_form_share:
                    pool = tuple(t for t in pool if "{misper}" not in t)
                parts = [self.maker.choice(pool)]
                if self.rng.random() < 0.4:
                    parts.append(self.maker.choice(s.CL_MISPER_RETURN))
                text = self.maker.compose(c.COMPACT, parts, ctx, 0)
                ended = day + np.timedelta64(int(self.rng.integers(1, 11)), "D")
                rec = batch.add(text, day, home, ended=ended, found=found)
                batch.link(rec, int(self.group.members[p]), "missing person")
                carer = pop.circle_mates(self.group.members[p : p + 1], self.n_total)[0, 0]
                if carer >= 0 and not self.members.lookup(np.array([carer]))[0][0]:
                    batch.link(rec, int(carer), "reporting person")
                self.stats["missing_episodes"] += 1

    def member_ordinary_records(self) -> None:
        leaders = np.flatnonzero(self.group.tiers <= TIER_MIDDLE).tolist()
        for p in leaders:
            for _ in range(int(self.rng.poisson(self.knobs.member_ordinary_records_mean))):
                source = c.CRIMES if self.rng.random() < 0.6 else c.ICIS
                offence = _MEMBER_OFFENCES[int(self.rng.integers(0, len(_MEMBER_OFFENCES)))]
                positions = [p]
                if self.rng.random() < 0.3:
                    other = leaders[int(self.rng.integers(0, len(leaders)))]
                    positions += [other] if other != p else []
                area = self.area()
                pool = s.OFFENCE_SENTENCES[offence] if source == c.CRIMES else s.CUSTODY
                ctx = {"area": area, "day": self.day()}
                self.emit(source, [self.maker.choice(pool)], ctx, offence, positions)
                self.stats["member_ordinary_records"] += 1


def group_records(
    seed: int,
    group: Group,
    members: Members,
    n_total: int,
    knobs: DemoKnobs,
    batches: dict[str, RecordBatch],
) -> tuple[Counter[str], TextMaker]:
    """Write the records of ``group`` into ``batches``; return counts and the text maker."""
    writer = _GroupWriter(seed, group, members, n_total, knobs, batches)
    n_core = writer.core_records()
    target = round(len(group.members) * knobs.cl_records_per_member)
    writer.extra_records(max(0, target - n_core))
    writer.missing_episodes()
    writer.member_ordinary_records()
    return writer.stats, writer.maker
