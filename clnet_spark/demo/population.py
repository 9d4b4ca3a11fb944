"""The background population: attributes of any person computed from (seed, index) alone.

No table of the population is ever held. A person's attributes are pure functions of the seed
and their index (a counter-based hash, splitmix64), so the chunk that writes ``nominals.csv``
and the chunks that write that person's records agree without sharing state, and a corpus
of millions of people costs no memory.

People live in "circles" of three (a household or a close group of friends). Circles come
from a fixed permutation of the indices, so circle mates have scattered ids. Co-offenders,
reporting parents and family relationships are drawn from a person's circle, which keeps
every background person's number of neighbours small (METHOD section 3 propagates weight
over neighbours; a background person with many neighbours would be kept).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from clnet_spark.demo import vocab as v
from clnet_spark.demo.knobs import DemoKnobs

START: Final = np.datetime64("2015-01-01", "D")
END: Final = np.datetime64("2026-11-30", "D")
REFERENCE_DATE: Final = END
"""The day ages are measured on: ``is_child_now`` means under 18 on this day."""

CIRCLE_SIZE: Final = 3
_MULTIPLIER: Final = 2_147_483_647  # a prime; any N below it gives a bijection mod N
_OFFSET_STREAM: Final = 97

AGE_CHILD, AGE_YOUNG, AGE_ADULT, AGE_ELDERLY = 0, 1, 2, 3
DRUG_NONE, DRUG_LIGHT, DRUG_REGULAR, DRUG_DEALER = 0, 1, 2, 3
DAYS_PER_YEAR: Final = 365.25


def _splitmix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def hash_uniform(seed: int, idx: np.ndarray, stream: int) -> np.ndarray:
    """Uniform numbers in [0, 1), one per index, fixed by ``(seed, idx, stream)``."""
    key = _splitmix(np.array([seed * 1_000_003 + stream], dtype=np.uint64))[0]
    mixed = _splitmix(idx.astype(np.uint64) ^ key)
    return (mixed >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


@dataclass(frozen=True)
class People:
    """Attributes of a batch of background people (arrays aligned with ``idx``)."""

    idx: np.ndarray
    age_class: np.ndarray
    birth: np.ndarray
    """Birth dates, ``datetime64[D]``."""
    sex: np.ndarray
    home_area: np.ndarray
    looked_after: np.ndarray
    vulnerable: np.ndarray
    """1 true, 0 false, -1 unknown."""
    drug_level: np.ndarray
    offending: np.ndarray
    """0 none, 1 occasional, 2 prolific."""
    misper_prone: np.ndarray
    drug_group: np.ndarray
    """Index into :data:`~clnet_spark.demo.vocab.DRUG_GROUPS` of the person's usual drug."""


AREA_NAMES: Final = tuple(a for a, _ in v.FORCE_AREAS) + v.COUNTY_TOWNS
_AREA_CUM: Final = np.cumsum([w for _, w in v.FORCE_AREAS]) / sum(w for _, w in v.FORCE_AREAS)


def force_area_index(u: np.ndarray) -> np.ndarray:
    """Map uniforms to force areas, weighted by population."""
    return np.minimum(np.searchsorted(_AREA_CUM, u, side="right"), len(v.FORCE_AREAS) - 1)


def people(seed: int, idx: np.ndarray, n_total: int, knobs: DemoKnobs) -> People:
    """Attributes of the background people ``idx`` (any batch, any order)."""
    u = [hash_uniform(seed, idx, stream) for stream in range(12)]
    k = knobs
    age_class = np.select(
        [u[0] < k.child_share, u[0] < k.child_share + k.young_share, u[0] < 1 - k.elderly_share],
        [AGE_CHILD, AGE_YOUNG, AGE_ADULT],
        AGE_ELDERLY,
    )
    lo = np.array([10.0, 18.0, 30.0, 60.0])[age_class]
    hi = np.array([18.0, 30.0, 60.0, 95.0])[age_class]
    age_days = ((lo + (hi - lo) * u[1]) * DAYS_PER_YEAR).astype(np.int64)
    birth = REFERENCE_DATE - age_days.astype("timedelta64[D]")

    scale_drug = np.array([0.35, 1.3, 1.0, 0.12])[age_class]
    d = u[2] / scale_drug
    drug_level = np.select(
        [
            d < k.drug_dealer_share,
            d < k.drug_dealer_share + k.drug_regular_share,
            d < k.drug_dealer_share + k.drug_regular_share + k.drug_light_share,
        ],
        [DRUG_DEALER, DRUG_REGULAR, DRUG_LIGHT],
        DRUG_NONE,
    )
    offend_boost = np.where(drug_level >= DRUG_REGULAR, 1.0, 1.0) / np.where(
        age_class == AGE_ELDERLY, 4.0, 1.0
    )
    o = u[3] / offend_boost
    offending = np.select(
        [
            o < k.offender_prolific_share,
            o < k.offender_prolific_share + k.offender_occasional_share,
        ],
        [2, 1],
        0,
    )
    prone_share = np.array(
        [
            k.misper_prone_child_share,
            k.misper_prone_adult_share,
            k.misper_prone_adult_share,
            k.misper_prone_elderly_share,
        ]
    )[age_class]
    misper_prone = u[4] < prone_share
    looked_after = (age_class == AGE_CHILD) & (
        u[5] < np.where(misper_prone, 5 * k.looked_after_child_share, k.looked_after_child_share)
    )
    va_share = np.where(drug_level >= DRUG_REGULAR, 2.5, 1.0) * k.vulnerable_adult_share
    va_share = np.where(age_class == AGE_ELDERLY, 2.5 * va_share, va_share)
    vulnerable = np.where(
        u[6] < va_share, 1, np.where(u[6] > 1 - k.vulnerable_unknown_share, -1, 0)
    )
    vulnerable = np.where(age_class == AGE_CHILD, 0, vulnerable)

    circle = circle_of(idx, n_total)
    u_home = hash_uniform(seed, circle, 50)
    outside = hash_uniform(seed, circle, 51) < k.outside_force_home_share
    home = np.where(
        outside,
        len(v.FORCE_AREAS) + (u_home * len(v.COUNTY_TOWNS)).astype(np.int64),
        force_area_index(u_home),
    )
    drug_group = np.searchsorted(np.cumsum(v.BACKGROUND_DRUG_MIX), u[7] * 0.999999, side="right")
    sex = np.where(u[8] < 0.52, 0, np.where(u[8] < 0.995, 1, 2))
    return People(
        idx=idx,
        age_class=age_class,
        birth=birth,
        sex=sex,
        home_area=home,
        looked_after=looked_after,
        vulnerable=vulnerable,
        drug_level=drug_level,
        offending=offending,
        misper_prone=misper_prone,
        drug_group=drug_group,
    )


def _permutation(n_total: int) -> tuple[int, int, int]:
    if n_total >= _MULTIPLIER:
        raise ValueError(f"n_total must be below {_MULTIPLIER}, got {n_total}")
    a = _MULTIPLIER % n_total or 1
    b = (_OFFSET_STREAM * 7919) % n_total
    return a, b, pow(a, -1, n_total) if n_total > 1 else 0


def circle_of(idx: np.ndarray, n_total: int) -> np.ndarray:
    """The circle number of each person."""
    a, b, _ = _permutation(n_total)
    return ((idx.astype(np.int64) * a + b) % n_total) // CIRCLE_SIZE


def circle_mates(idx: np.ndarray, n_total: int) -> np.ndarray:
    """The other members of each person's circle, shape ``(len(idx), CIRCLE_SIZE - 1)``.

    A slot past the end of the population holds -1.
    """
    a, b, a_inv = _permutation(n_total)
    pos = (idx.astype(np.int64) * a + b) % n_total
    base = (pos // CIRCLE_SIZE) * CIRCLE_SIZE
    slots = base[:, None] + np.arange(CIRCLE_SIZE)[None, :]
    others = np.where(slots == pos[:, None], -1, slots)
    others = np.sort(others, axis=1)[:, 1:]  # drop the person's own slot (now -1, sorted first)
    valid = (others >= 0) & (others < n_total)
    mates = ((others - b) % n_total) * a_inv % n_total
    return np.where(valid, mates, -1)


def names(seed: int, idx: np.ndarray, n_total: int) -> list[str]:
    """Clearly synthetic names; circle mates often share a surname."""
    syl = np.array(v.SYLLABLES)
    ends = np.array(v.SURNAME_ENDINGS)
    u = [hash_uniform(seed, idx, 20 + i) for i in range(4)]
    circle = circle_of(idx, n_total)
    own_surname = hash_uniform(seed, idx, 24) < 0.35
    sur_key = np.where(own_surname, idx + 10 * n_total, circle)
    s = [hash_uniform(seed, sur_key, 30 + i) for i in range(3)]
    first = np.char.add(syl[(u[0] * len(syl)).astype(int)], syl[(u[1] * len(syl)).astype(int)])
    odd = u[2] < 0.03
    accent = np.array(v.NON_ASCII_SYLLABLES)[(u[3] * len(v.NON_ASCII_SYLLABLES)).astype(int)]
    first = np.where(odd, np.char.add(first, accent), first)
    last = np.char.add(
        np.char.add(syl[(s[0] * len(syl)).astype(int)], syl[(s[1] * len(syl)).astype(int)]),
        ends[(s[2] * len(ends)).astype(int)],
    )
    return [f"{f.capitalize()} {la.capitalize()}" for f, la in zip(first, last, strict=True)]


def addresses(seed: int, idx: np.ndarray, n_total: int, home_area: np.ndarray) -> list[str]:
    """Clearly synthetic addresses ("17 Quorvel Grove, Walsall"), shared within a circle."""
    circle = circle_of(idx, n_total)
    syl = v.SYLLABLES
    u = [hash_uniform(seed, circle, 40 + i) for i in range(4)]
    number = 1 + (u[0] * 180).astype(int)
    a = (u[1] * len(syl)).astype(int)
    b = (u[2] * len(syl)).astype(int)
    t = (u[3] * len(v.STREET_TYPES)).astype(int)
    return [
        f"{n} {(syl[i] + syl[j]).capitalize()} {v.STREET_TYPES[k]}, {AREA_NAMES[h]}"
        for n, i, j, k, h in zip(number, a, b, t, home_area, strict=True)
    ]
