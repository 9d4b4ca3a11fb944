"""What the background generator of one chunk works with, and its small shared helpers.

A :class:`ChunkContext` carries the chunk's generator, its text makers (one per source) and
its record batches. The helpers draw record days within a person's ages, areas, offence
codes in mixed notations, drug groups and secondary people on a record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clnet_spark.demo import population as pop
from clnet_spark.demo import vocab as v
from clnet_spark.demo.knobs import DemoKnobs
from clnet_spark.demo.planted import Members
from clnet_spark.demo.records import RecordBatch
from clnet_spark.demo.text import TextMaker


@dataclass
class ChunkContext:
    """What the background generator of one chunk works with."""

    seed: int
    n_total: int
    members: Members
    knobs: DemoKnobs
    rng: np.random.Generator
    makers: dict[str, TextMaker]
    batches: dict[str, RecordBatch]

    def strangers(self, n: int, avoid: np.ndarray | None = None) -> np.ndarray:
        """Random background people (-1 where a draw hit a planted member twice)."""
        out = self.rng.integers(0, self.n_total, size=n)
        for _ in range(2):
            bad = self.members.lookup(out)[0]
            if avoid is not None:
                bad |= out == avoid
            if not bad.any():
                break
            out = np.where(bad, self.rng.integers(0, self.n_total, size=n), out)
        bad = self.members.lookup(out)[0]
        if avoid is not None:
            bad |= out == avoid
        return np.where(bad, -1, out)

    def mates(self, idx: np.ndarray) -> np.ndarray:
        """One random circle mate per person (-1 when none is available)."""
        all_mates = pop.circle_mates(idx, self.n_total)
        pick = all_mates[np.arange(len(idx)), self.rng.integers(0, all_mates.shape[1], len(idx))]
        ok = pick >= 0
        ok[ok] = ~self.members.lookup(pick[ok])[0]
        return np.where(ok, pick, -1)


def pmf_counts(rng: np.random.Generator, pmf: tuple[float, ...], n: int) -> np.ndarray:
    """Counts 1, 2, ... with probabilities ``pmf`` (normalised)."""
    p = np.asarray(pmf) / sum(pmf)
    return 1 + rng.choice(len(p), size=n, p=p)


def draw_days(
    rng: np.random.Generator,
    birth: np.ndarray,
    min_age: float | np.ndarray,
    max_age: float | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """A day in 2015-2026 when each person was between ``min_age`` and ``max_age`` years old.

    Returns the days and whether each window was non-empty (drop the records where not).
    """

    def years(age: float | np.ndarray) -> np.ndarray:
        return (np.asarray(age) * pop.DAYS_PER_YEAR).astype(np.int64).astype("timedelta64[D]")

    lo_age = (birth + years(min_age)).astype("datetime64[D]")
    hi_age = (birth + years(max_age)).astype("datetime64[D]")
    lo = np.maximum(lo_age, pop.START)
    hi = np.minimum(hi_age, pop.END)
    span = (hi - lo).astype(np.int64)
    valid = span >= 0
    offset = (rng.random(len(birth)) * (np.maximum(span, 0) + 1)).astype(np.int64)
    return lo + offset.astype("timedelta64[D]"), valid


def record_area(ctx: ChunkContext, home: np.ndarray) -> list[str]:
    """Where each record happened: mostly the home area when it is inside the force."""
    n = len(home)
    r = ctx.rng.random(n)
    other = pop.force_area_index(ctx.rng.random(n))
    in_force = home < len(v.FORCE_AREAS)
    area = np.where(in_force & (r < 0.8), home, other)
    names = [pop.AREA_NAMES[a] for a in area.tolist()]
    empty = ctx.rng.random(n) < 0.01
    return ["" if e else a for a, e in zip(names, empty.tolist(), strict=True)]


def offence_code(ctx: ChunkContext, kind: str) -> str:
    """A Home Office code of offence ``kind`` in one of its notations (1% left empty)."""
    codes = v.OFFENCES[kind][1]
    if ctx.rng.random() < 0.01:
        return ""
    return codes[int(ctx.rng.integers(0, len(codes)))]


def drug_groups(ctx: ChunkContext, usual: np.ndarray) -> list[tuple[str, ...]]:
    """One or two drug groups per record; a person mostly names their usual drug."""
    n = len(usual)
    mix = np.cumsum(v.BACKGROUND_DRUG_MIX)
    random_group = np.searchsorted(mix, ctx.rng.random(n) * 0.999999, side="right")
    first = np.where(ctx.rng.random(n) < 0.7, usual, random_group)
    second = np.searchsorted(mix, ctx.rng.random(n) * 0.999999, side="right")
    two = (ctx.rng.random(n) < ctx.knobs.two_drug_share) & (second != first)
    return [
        (v.DRUG_GROUPS[a], v.DRUG_GROUPS[b]) if t else (v.DRUG_GROUPS[a],)
        for a, b, t in zip(first.tolist(), second.tolist(), two.tolist(), strict=True)
    ]


def fillers(ctx: ChunkContext) -> int:
    """How many neutral sentences pad a record: 0 (35%), 1 (45%) or 2 (20%)."""
    r = ctx.rng.random()
    return 0 if r < 0.35 else 1 if r < 0.8 else 2


def pick_offences(ctx: ChunkContext, n: int) -> list[str]:
    """``n`` ordinary offence kinds, weighted as in ``ORDINARY_OFFENCES``."""
    kinds = [k for k, _ in v.ORDINARY_OFFENCES]
    p = np.array([w for _, w in v.ORDINARY_OFFENCES])
    return [kinds[i] for i in ctx.rng.choice(len(kinds), size=n, p=p / p.sum()).tolist()]


def link_secondary(
    ctx: ChunkContext,
    batch: RecordBatch,
    recs: list[int],
    people: np.ndarray,
    probability: float,
    role: str,
) -> None:
    """Link ``people[i]`` to ``recs[i]`` with ``role`` with the given probability."""
    take = ctx.rng.random(len(recs)) < probability
    unlisted = ctx.rng.random(len(recs))
    for rec, person, t, u in zip(
        recs, people.tolist(), take.tolist(), unlisted.tolist(), strict=True
    ):
        if t and person >= 0:
            if u < ctx.knobs.unlisted_role_share:
                batch.link(rec, person, "informant")
            elif u < ctx.knobs.unlisted_role_share + ctx.knobs.other_role_share:
                batch.link(rec, person, "other")
            else:
                batch.link(rec, person, role)


def day_area(
    ctx: ChunkContext, p: pop.People, who: np.ndarray, min_age: float, max_age: float
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Keep the records whose person was of age; return their days and areas."""
    days, ok = draw_days(ctx.rng, p.birth[who], min_age, max_age)
    who = who[ok]
    return who, days[ok], record_area(ctx, p.home_area[who])
