"""Group priority: a transparent, configurable score from named factors (METHOD section 7).

Every group gets one raw value per factor, a normalised value in [0, 1], and a contribution
``weight x normalised``; its score is the sum of the contributions (out of 100 with the
default weights), its rank orders the groups by score (ties: the smaller ``group_id`` first),
and its band is high / medium / low by score or by rank cut-offs. ``docs/priority.md`` gives
every factor's definition and rationale, and the YAML of :class:`PriorityConfig`.

The score is a weighted linear composite of normalised indicators, the construction the
OECD/JRC *Handbook on Constructing Composite Indicators* (Nardo et al., 2008) describes; the
factors follow what UK schemes weigh (harm, vulnerability of victims, violence and weapons,
geographic reach, organised-crime links: MoRiLE, OCGM, the NCA county-lines assessments).
It is advisory: it orders groups for a human tasking decision and shows why.

The raw factors are gathered in Spark (:func:`group_factors`): one row per group, a bounded
table. Scoring (:func:`score_groups`) and the reason line run on that table in pandas.
Complexity: the gathering is a few joins over the members' record links; scoring is
O(g log g) for g groups.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark.errors import ClnetError
from clnet_spark.harm.codes import normalise_code, normalise_code_column
from clnet_spark.safeguarding import flags as sg
from clnet_spark.search.catalogue import phrase_pattern

log = logging.getLogger(__name__)

# --- factor names: raw-value columns of the factor table and of ``group_priority`` ----------
CCHI_ALL: Final = "cchi_all"
CCHI_RECENT: Final = "cchi_recent"
ONS_ALL: Final = "ons_all"
ONS_RECENT: Final = "ons_recent"
CHILDREN: Final = "children"
VULNERABLE_ADULTS: Final = "vulnerable_adults"
MISSING_EPISODES: Final = "missing_episodes"
LOOKED_AFTER_CHILDREN: Final = "looked_after_children"
CUCKOOED_VICTIMS: Final = "cuckooed_victims"
WEAPONS_VIOLENCE: Final = "weapons_violence"
SOC_ASSOCIATED: Final = "soc_associated"
REACH_OUTSIDE_FORCE: Final = "reach_outside_force"
SIZE: Final = "size"
FACTORS: Final = (
    CCHI_ALL,
    CCHI_RECENT,
    ONS_ALL,
    ONS_RECENT,
    CHILDREN,
    VULNERABLE_ADULTS,
    MISSING_EPISODES,
    LOOKED_AFTER_CHILDREN,
    CUCKOOED_VICTIMS,
    WEAPONS_VIOLENCE,
    SOC_ASSOCIATED,
    REACH_OUTSIDE_FORCE,
    SIZE,
)
"""The factors, in the order of the output columns."""
CONTRIBUTION_SUFFIX: Final = "_contribution"
_HARM_FACTORS: Final = (CCHI_ALL, CCHI_RECENT, ONS_ALL, ONS_RECENT)
_PEOPLE_FACTORS: Final = (
    CHILDREN,
    VULNERABLE_ADULTS,
    MISSING_EPISODES,
    LOOKED_AFTER_CHILDREN,
    CUCKOOED_VICTIMS,
)
MEMBERS: Final = "members"

# --- detail columns (shown in the reason, kept beside the factors) ---------------------------
GROUP_KIND: Final = "group_kind"
BEST_SOC_GROUP_ID: Final = "best_soc_group_id"
BEST_SOC_OVERLAP: Final = "best_soc_overlap"
WEAPONS_VIOLENCE_CODED: Final = "weapons_violence_coded"
WEAPONS_VIOLENCE_TEXT: Final = "weapons_violence_text"
WEAPON_TERMS: Final = "weapon_terms"
OUTSIDE_AREAS: Final = "outside_areas"
DETAILS: Final = (
    GROUP_KIND,
    BEST_SOC_GROUP_ID,
    BEST_SOC_OVERLAP,
    WEAPONS_VIOLENCE_CODED,
    WEAPONS_VIOLENCE_TEXT,
    WEAPON_TERMS,
    OUTSIDE_AREAS,
)
FACTOR_TABLE_COLUMNS: Final = (c.GROUP_ID, *FACTORS, *DETAILS)
"""The columns of :func:`group_factors` (the input of :func:`score_groups`)."""

RANK: Final = "rank"
SCORE: Final = "score"
BAND: Final = "band"
REASON: Final = "reason"
HIGH, MEDIUM, LOW = "high", "medium", "low"
BANDS: Final = (HIGH, MEDIUM, LOW)
PRIORITY_COLUMNS: Final = (
    c.GROUP_ID,
    RANK,
    BAND,
    SCORE,
    REASON,
    *(name for factor in FACTORS for name in (factor, factor + CONTRIBUTION_SUFFIX)),
    *DETAILS,
)
"""The columns of ``group_priority``, in order."""

_COUNT_FACTORS: Final = frozenset(FACTORS) - set(_HARM_FACTORS)
PRIORITY_SCHEMA: Final = ", ".join(
    [
        "group_id string, rank int, band string, score double, reason string",
        *(
            f"{factor} {'long' if factor in _COUNT_FACTORS else 'double'}, "
            f"{factor}{CONTRIBUTION_SUFFIX} double"
            for factor in FACTORS
        ),
        "group_kind string, best_soc_group_id string, best_soc_overlap double, "
        "weapons_violence_coded long, weapons_violence_text long, "
        "weapon_terms array<string>, outside_areas array<string>",
    ]
)

_PLACES: Final = 4
"""Contributions are rounded to 4 places and the score is their sum, so a CSV adds up."""


class PriorityInputError(ClnetError):
    """The factor table given to :func:`score_groups` lacks a column or holds a bad value."""


# --- configuration ---------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Normalisation = Literal["percentile", "max", "cap"]


class FactorConfig(_Model):
    """How one factor counts: its weight and how its raw value is brought to [0, 1].

    - ``percentile``: the share of groups whose value is at most this group's (the
      empirical distribution function among this run's groups); 0 for a value of 0;
    - ``max``: the value over the largest value among the groups (0 when all are 0);
    - ``cap``: ``min(1, value / cap)``, an absolute scale that does not move with the other
      groups (``cap`` required).
    """

    weight: float = Field(ge=0)
    normalise: Normalisation = "percentile"
    cap: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _cap_with_cap(self) -> FactorConfig:
        if (self.normalise == "cap") != (self.cap is not None):
            raise ValueError("give `cap` (> 0) exactly when `normalise` is `cap`")
        return self


class PriorityFactors(_Model):
    """One :class:`FactorConfig` per factor; the default weights sum to 100."""

    cchi_all: FactorConfig = FactorConfig(weight=10)
    cchi_recent: FactorConfig = FactorConfig(weight=5)
    ons_all: FactorConfig = FactorConfig(weight=10)
    ons_recent: FactorConfig = FactorConfig(weight=5)
    children: FactorConfig = FactorConfig(weight=14, normalise="cap", cap=5)
    vulnerable_adults: FactorConfig = FactorConfig(weight=6, normalise="cap", cap=3)
    missing_episodes: FactorConfig = FactorConfig(weight=8, normalise="cap", cap=10)
    looked_after_children: FactorConfig = FactorConfig(weight=6, normalise="cap", cap=3)
    cuckooed_victims: FactorConfig = FactorConfig(weight=8, normalise="cap", cap=5)
    weapons_violence: FactorConfig = FactorConfig(weight=12)
    soc_associated: FactorConfig = FactorConfig(weight=5, normalise="max")
    reach_outside_force: FactorConfig = FactorConfig(weight=7)
    size: FactorConfig = FactorConfig(weight=4)

    def of(self, factor: str) -> FactorConfig:
        return getattr(self, factor)

    @property
    def total_weight(self) -> float:
        return sum(self.of(f).weight for f in FACTORS)


class PriorityConfig(_Model):
    """The ``priority`` settings (``docs/priority.md`` has the YAML and the rationale)."""

    factors: PriorityFactors = PriorityFactors()
    band_by: Literal["score", "rank"] = "score"
    high_score: float = Field(60.0, ge=0)
    medium_score: float = Field(35.0, ge=0)
    high_rank: int = Field(5, ge=0)
    medium_rank: int = Field(15, ge=0)
    marker_roles: tuple[str, ...] | None = None
    """Roles through which a member's records count for weapons, violence and reach; None:
    the network's linking roles (``network.linking_roles``)."""
    violence_codes: tuple[str, ...] = ("1", "2", "3", "4", "5", "8", "10", "34", "81", "90")
    """Home Office code families: a class alone (``8``) takes every code of that class
    (``8N``, ``8/01``); a full code (``8N``, ``10D``, ``8/26``) only itself."""
    weapon_terms: tuple[str, ...] = (
        "knife",
        "knives",
        "machete",
        "bladed",
        "firearm",
        "gun",
        "handgun",
        "shotgun",
        "pistol",
        "shot",
        "shooting",
        "stab",
        "stabbed",
        "stabbing",
        "knuckleduster",
        "baseball bat",
        "corrosive",
    )
    """Phrases matched in the text of members' records as the search terms are (whole words,
    any case, an optional plural ``s``)."""
    reason_topics: int = Field(4, ge=1)
    """At most this many topics in the reason line (children and vulnerable adults always)."""

    @field_validator("marker_roles")
    @classmethod
    def _lower(cls, values: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if values is None else tuple(v.strip().lower() for v in values)

    @field_validator("violence_codes")
    @classmethod
    def _codes(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        canonical = []
        for raw in values:
            code = normalise_code(raw)
            if code is None:
                raise ValueError(f"violence_codes: {raw!r} is not a Home Office offence code")
            canonical.append(code)
        return tuple(canonical)

    @model_validator(mode="after")
    def _ordered_bands(self) -> PriorityConfig:
        if self.high_score < self.medium_score:
            raise ValueError(
                f"high_score ({self.high_score}) is below medium_score ({self.medium_score})"
            )
        if self.high_rank > self.medium_rank:
            raise ValueError(
                f"high_rank ({self.high_rank}) is above medium_rank ({self.medium_rank})"
            )
        return self


# --- scoring ---------------------------------------------------------------------------------


def normalise(values: np.ndarray, factor: FactorConfig) -> np.ndarray:
    """Raw values of one factor over all groups -> values in [0, 1] (:class:`FactorConfig`).

    >>> normalise(np.array([0.0, 5.0, 5.0, 20.0]), FactorConfig(weight=1)).tolist()
    [0.0, 0.75, 0.75, 1.0]
    >>> normalise(np.array([0.0, 5.0, 20.0]), FactorConfig(weight=1, normalise="max")).tolist()
    [0.0, 0.25, 1.0]
    """
    if factor.normalise == "cap":
        assert factor.cap is not None  # the model guarantees it
        return np.minimum(1.0, values / factor.cap)
    if factor.normalise == "max":
        top = values.max(initial=0.0)
        return values / top if top > 0 else np.zeros_like(values)
    at_most = np.searchsorted(np.sort(values), values, side="right") / max(len(values), 1)
    return np.where(values > 0, at_most, 0.0)


def top_share(values: np.ndarray) -> np.ndarray:
    """Per group, the share of groups whose value is at least its own ("top 5%")."""
    ordered = np.sort(values)
    return (len(values) - np.searchsorted(ordered, values, side="left")) / max(len(values), 1)


def _band(score: float, rank: int, cfg: PriorityConfig) -> str:
    if cfg.band_by == "rank":
        return HIGH if rank <= cfg.high_rank else MEDIUM if rank <= cfg.medium_rank else LOW
    return HIGH if score >= cfg.high_score else MEDIUM if score >= cfg.medium_score else LOW


def score_groups(
    factors: pd.DataFrame, config: PriorityConfig | None = None, recent_years: int = 3
) -> pd.DataFrame:
    """Score, rank, band and explain every group.

    Parameters
    ----------
    factors
        :data:`FACTOR_TABLE_COLUMNS`, one row per group (:func:`group_factors`); raw values
        non-negative, ``group_id`` unique.
    config
        Weights, normalisations and bands; the defaults when None.
    recent_years
        The harm window, for the reason text only.

    Returns
    -------
    pandas.DataFrame
        :data:`PRIORITY_COLUMNS`, sorted by rank. ``score`` is the sum of the contributions
        (each rounded to 4 places); rank 1 is the highest score, ties broken by the smaller
        ``group_id``; ``band`` is ``high`` / ``medium`` / ``low``.

    Raises
    ------
    PriorityInputError
        A column is missing, a raw value is null or negative, or a group id repeats.
    """
    cfg = config or PriorityConfig()
    missing = [col for col in FACTOR_TABLE_COLUMNS if col not in factors.columns]
    if missing:
        raise PriorityInputError(
            f"factors: missing columns {missing}; columns present: {sorted(factors.columns)}"
        )
    if factors[c.GROUP_ID].duplicated().any():
        raise PriorityInputError("factors: group_id is not unique")
    out = factors.loc[:, list(FACTOR_TABLE_COLUMNS)].reset_index(drop=True).copy()
    contributions = np.zeros(len(out))
    for factor in FACTORS:
        raw = pd.to_numeric(out[factor], errors="coerce").astype("float64").to_numpy()
        if np.isnan(raw).any() or (raw < 0).any():
            raise PriorityInputError(f"factors: {factor} holds a null or negative value")
        spec = cfg.factors.of(factor)
        part = np.round(spec.weight * normalise(raw, spec), _PLACES)
        out[factor + CONTRIBUTION_SUFFIX] = part
        contributions = contributions + part
    out[SCORE] = np.round(contributions, _PLACES)
    out = out.sort_values([SCORE, c.GROUP_ID], ascending=[False, True], kind="mergesort")
    out[RANK] = np.arange(1, len(out) + 1, dtype="int32")
    out[BAND] = [_band(s, r, cfg) for s, r in zip(out[SCORE], out[RANK], strict=True)]
    shares = {f: top_share(out[f].astype("float64").to_numpy()) for f in (CCHI_ALL, ONS_ALL)}
    out[REASON] = [
        reason_text(row, {f: s[i] for f, s in shares.items()}, cfg, recent_years)
        for i, row in enumerate(out.to_dict("records"))
    ]
    return out.loc[:, list(PRIORITY_COLUMNS)].reset_index(drop=True)


# --- the reason line -------------------------------------------------------------------------

_TOPICS: Final = (
    ("cchi", (CCHI_ALL, CCHI_RECENT)),
    ("ons", (ONS_ALL, ONS_RECENT)),
    ("safeguarding", (CHILDREN, VULNERABLE_ADULTS, MISSING_EPISODES)),
    ("looked_after", (LOOKED_AFTER_CHILDREN,)),
    ("cuckooed", (CUCKOOED_VICTIMS,)),
    ("weapons", (WEAPONS_VIOLENCE,)),
    ("soc", (SOC_ASSOCIATED,)),
    ("reach", (REACH_OUTSIDE_FORCE,)),
    ("size", (SIZE,)),
)
"""Factors explained together; topics are listed by their summed contribution."""


def _n(count: float, noun: str, plural: str | None = None) -> str:
    value = int(count)
    return f"{value:,} {noun if value == 1 else plural or noun + 's'}"


def _top(share: float) -> str:
    return f"top {max(1, math.ceil(100 * share))}%"


def _items(values: Sequence[str] | None) -> list[str]:
    return [] if values is None else [str(v) for v in values]


def _listing(items: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" +{len(items) - limit} more" if len(items) > limit else "")


def _phrase(topic: str, row: dict[str, Any], shares: dict[str, float], recent_years: int) -> str:
    """The words of one topic of a group's reason."""
    if topic in ("cchi", "ons"):
        everything, recent = (CCHI_ALL, CCHI_RECENT) if topic == "cchi" else (ONS_ALL, ONS_RECENT)
        notes = [_top(shares[everything])] if shares[everything] <= 0.5 else []
        if row[recent] != row[everything]:
            notes.append(f"{row[recent]:,.0f} in the last {recent_years} years")
        head = (
            f"harm {row[CCHI_ALL]:,.0f} CCHI days"
            if topic == "cchi"
            else f"ONS severity {row[ONS_ALL]:,.0f}"
        )
        return head + (f" ({'; '.join(notes)})" if notes else "")
    if topic == "safeguarding":
        people = [
            _n(row[CHILDREN], "child", "children") if row[CHILDREN] else "",
            _n(row[VULNERABLE_ADULTS], "vulnerable adult") if row[VULNERABLE_ADULTS] else "",
        ]
        who = " and ".join(p for p in people if p)
        episodes = _n(row[MISSING_EPISODES], "missing episode") if row[MISSING_EPISODES] else ""
        return f"{who} with {episodes}" if who and episodes else who or episodes
    if topic == "looked_after":
        return _n(row[LOOKED_AFTER_CHILDREN], "looked-after child", "looked-after children")
    if topic == "cuckooed":
        return _n(row[CUCKOOED_VICTIMS], "cuckooed-address victim")
    if topic == "weapons":
        terms = _items(row[WEAPON_TERMS])
        where = _n(row[WEAPONS_VIOLENCE], "record")
        return f"weapons or violence on {where}" + (f" ({_listing(terms)})" if terms else "")
    if topic == "soc":
        return f"SOC group {row[BEST_SOC_GROUP_ID]} ({row[BEST_SOC_OVERLAP]:.0%} of members)"
    if topic == "reach":
        areas = _items(row[OUTSIDE_AREAS])
        count = _n(row[REACH_OUTSIDE_FORCE], "area")
        return f"reach into {count} outside the force" + (f" ({_listing(areas)})" if areas else "")
    return _n(row[SIZE], "member")


def reason_text(
    row: dict[str, Any], shares: dict[str, float], config: PriorityConfig, recent_years: int = 3
) -> str:
    """One line an analyst can read: the band, then the topics that weigh most.

    Topics with a positive contribution are listed by contribution (ties: the order of
    :data:`_TOPICS`), at most ``config.reason_topics``; children and vulnerable adults are
    always named when the group has any, even at weight 0 (safeguarding comes first).
    """
    weighted = []
    for position, (topic, members) in enumerate(_TOPICS):
        points = sum(row[f + CONTRIBUTION_SUFFIX] for f in members)
        if points > 0:
            weighted.append((-points, position, topic))
    chosen = [topic for _, _, topic in sorted(weighted)[: config.reason_topics]]
    if (row[CHILDREN] or row[VULNERABLE_ADULTS]) and "safeguarding" not in chosen:
        chosen.append("safeguarding")
    words = [_phrase(topic, row, shares, recent_years) for topic in chosen]
    body = ", ".join(words) if words else "no priority factor recorded"
    return f"{row[BAND].capitalize()}: {body}"


# --- gathering the raw factors (Spark) -------------------------------------------------------


def _require(frame: DataFrame, name: str, columns: Sequence[str]) -> None:
    missing = [col for col in columns if col not in frame.columns]
    if missing:
        raise PriorityInputError(
            f"{name}: missing columns {missing}; columns present: {sorted(frame.columns)}"
        )


def violence_code(code: Column, families: Sequence[str]) -> Column:
    """True when a canonical offence code belongs to one of the code families.

    A family that is a class alone (``8``) takes every code of the class (``8N``, ``8/01``,
    not ``80``); any other family (``8N``, ``8/26``) takes only itself.
    """
    classes = [f for f in families if f.isdigit()]
    codes = [f for f in families if not f.isdigit()]
    klass = F.regexp_extract(code, r"^([0-9]+)", 1)
    hit = F.lit(False)
    if classes:
        hit = hit | klass.isin(*classes)
    if codes:
        hit = hit | code.isin(*codes)
    return F.coalesce(hit & code.isNotNull(), F.lit(False))


def weapon_terms_in(text: Column, terms: Sequence[str]) -> Column:
    """The weapon terms (lower case) that occur in a text, as an array (empty when none)."""
    found = [F.when(text.rlike(phrase_pattern(t)), F.lit(t.lower())) for t in terms]
    if not found:
        return F.array().cast("array<string>")
    return F.filter(F.array(*found), lambda term: term.isNotNull())


def group_factors(
    groups: DataFrame,
    group_harm: DataFrame,
    safeguarding: DataFrame,
    records: DataFrame,
    record_nominals: DataFrame,
    missing_episodes: DataFrame,
    *,
    force_areas: Sequence[str],
    reference_date: dt.date,
    linking_roles: Sequence[str],
    config: PriorityConfig | None = None,
) -> DataFrame:
    """The raw priority factors of every group (:data:`FACTOR_TABLE_COLUMNS`).

    Parameters
    ----------
    groups
        ``cl_groups``: ``group_id`` (unique), ``group_kind``, ``size``, ``members``
        (``array<string>``), ``best_soc_group_id``, ``best_soc_overlap``, ``soc_associated``.
    group_harm
        ``group_id``, ``cchi_all``, ``cchi_recent``, ``ons_all``, ``ons_recent``.
    safeguarding
        ``safeguarding_flags``: ``nominal_id`` (unique), ``child``, ``vulnerable_adult``,
        ``looked_after_child``, ``cuckooed_victim`` (booleans), ``missing_episodes`` (int).
    records
        ``source, record_id`` (unique), ``recorded_at``, ``text``, ``offence_code``,
        ``area``.
    record_nominals
        ``source, record_id, nominal_id, role``.
    missing_episodes
        ``nominal_id, started_at, found_area``.
    force_areas
        The force's areas; any other non-blank area is outside (case-insensitive).
    reference_date
        Records and missing episodes after it are left out.
    linking_roles
        The network's linking roles (``network.linking_roles``): the marker roles when
        ``config.marker_roles`` is None.
    config
        The settings (marker roles, violence codes, weapon terms); defaults when None.

    Returns
    -------
    DataFrame
        One row per group of ``groups``: harm as doubles (0 when the group has no
        ``group_harm`` row); counts of members who are children, vulnerable adults,
        looked-after children, cuckooed-address victims; ``missing_episodes``: the episodes
        of the members who are children, vulnerable adults or looked after;
        ``weapons_violence``: distinct records of members (through ``marker_roles``) that
        are a crime whose code is in ``violence_codes`` or whose text holds a weapon term,
        with the two kinds counted beside and the terms found; ``soc_associated`` (1 or 0);
        ``reach_outside_force``: distinct areas outside the force among the members'
        records and the places their missing episodes ended, with the areas (each as its
        smallest spelling as text); ``size``. Members with no safeguarding row count as
        unflagged.
    """
    cfg = config or PriorityConfig()
    _require(groups, "cl_groups", (c.GROUP_ID, GROUP_KIND, SIZE, MEMBERS, SOC_ASSOCIATED))
    _require(group_harm, "group_harm", (c.GROUP_ID, CCHI_ALL, CCHI_RECENT, ONS_ALL, ONS_RECENT))
    flag_columns = (sg.CHILD, c.VULNERABLE_ADULT, c.LOOKED_AFTER_CHILD, sg.CUCKOOED_VICTIM)
    _require(safeguarding, "safeguarding_flags", (c.NOMINAL_ID, *flag_columns, sg.MISSING_EPISODES))
    _require(
        records, "records", (c.SOURCE, c.RECORD_ID, c.RECORDED_AT, c.TEXT, c.OFFENCE_CODE, c.AREA)
    )
    _require(record_nominals, "record_nominals", (c.SOURCE, c.RECORD_ID, c.NOMINAL_ID, c.ROLE))
    _require(missing_episodes, "missing_episodes", (c.NOMINAL_ID, sg.STARTED_AT, c.FOUND_AREA))
    day = F.lit(reference_date)
    membership = F.broadcast(groups.select(c.GROUP_ID, F.explode(MEMBERS).alias(c.NOMINAL_ID)))

    flags = safeguarding.select(
        c.NOMINAL_ID,
        *(F.coalesce(F.col(f).cast("boolean"), F.lit(False)).alias(f) for f in flag_columns),
        F.coalesce(F.col(sg.MISSING_EPISODES), F.lit(0)).cast("long").alias("episodes"),
    )
    protected = F.col(sg.CHILD) | F.col(c.VULNERABLE_ADULT) | F.col(c.LOOKED_AFTER_CHILD)
    people = (
        membership.join(flags, on=c.NOMINAL_ID, how="left")
        .groupBy(c.GROUP_ID)
        .agg(
            F.count(F.when(F.col(sg.CHILD), 1)).alias(CHILDREN),
            F.count(F.when(F.col(c.VULNERABLE_ADULT), 1)).alias(VULNERABLE_ADULTS),
            F.sum(F.when(protected, F.col("episodes")).otherwise(0)).alias(MISSING_EPISODES),
            F.count(F.when(F.col(c.LOOKED_AFTER_CHILD), 1)).alias(LOOKED_AFTER_CHILDREN),
            F.count(F.when(F.col(sg.CUCKOOED_VICTIM), 1)).alias(CUCKOOED_VICTIMS),
        )
    )

    dated = records.where(F.to_date(c.RECORDED_AT) <= day).select(
        c.SOURCE, c.RECORD_ID, c.TEXT, c.OFFENCE_CODE, c.AREA
    )
    member_records = (
        record_nominals.where(F.col(c.ROLE).isin(*(cfg.marker_roles or linking_roles)))
        .join(membership, on=c.NOMINAL_ID, how="inner")
        .select(c.GROUP_ID, c.SOURCE, c.RECORD_ID)
        .dropDuplicates([c.GROUP_ID, c.SOURCE, c.RECORD_ID])  # a record once per group
        .join(dated, on=[c.SOURCE, c.RECORD_ID], how="inner")
    )
    code = normalise_code_column(F.col(c.OFFENCE_CODE))
    coded = (F.col(c.SOURCE) == c.CRIMES) & violence_code(code, cfg.violence_codes)
    marked = member_records.select(
        c.GROUP_ID,
        coded.alias("coded"),
        weapon_terms_in(F.coalesce(F.col(c.TEXT), F.lit("")), cfg.weapon_terms).alias("terms"),
    )
    texted = F.size("terms") > 0
    markers = marked.groupBy(c.GROUP_ID).agg(
        F.count(F.when(F.col("coded") | texted, 1)).alias(WEAPONS_VIOLENCE),
        F.count(F.when(F.col("coded"), 1)).alias(WEAPONS_VIOLENCE_CODED),
        F.count(F.when(texted, 1)).alias(WEAPONS_VIOLENCE_TEXT),
        F.array_sort(F.array_distinct(F.flatten(F.collect_list("terms")))).alias(WEAPON_TERMS),
    )

    found = (
        missing_episodes.where(F.to_date(sg.STARTED_AT) <= day)
        .join(membership, on=c.NOMINAL_ID, how="inner")
        .select(c.GROUP_ID, F.col(c.FOUND_AREA).alias(c.AREA))
    )
    places = member_records.select(c.GROUP_ID, c.AREA).unionByName(found)
    outside = (
        places.where(sg.outside_force(F.col(c.AREA), force_areas))
        .groupBy(c.GROUP_ID, F.lower(F.trim(c.AREA)).alias("key"))
        .agg(F.min(F.trim(c.AREA)).alias("shown"))
        .groupBy(c.GROUP_ID)
        .agg(
            F.count(F.lit(1)).alias(REACH_OUTSIDE_FORCE),
            F.array_sort(F.collect_list("shown")).alias(OUTSIDE_AREAS),
        )
    )

    harm = group_harm.select(c.GROUP_ID, *(F.col(h).cast("double").alias(h) for h in _HARM_FACTORS))
    joined = (
        groups.select(
            c.GROUP_ID, GROUP_KIND, SIZE, SOC_ASSOCIATED, BEST_SOC_GROUP_ID, BEST_SOC_OVERLAP
        )
        .join(harm, on=c.GROUP_ID, how="left")
        .join(people, on=c.GROUP_ID, how="left")
        .join(markers, on=c.GROUP_ID, how="left")
        .join(outside, on=c.GROUP_ID, how="left")
    )
    empty = F.array().cast("array<string>")
    filled = {
        **{h: F.coalesce(F.col(h), F.lit(0.0)) for h in _HARM_FACTORS},
        **{
            n: F.coalesce(F.col(n), F.lit(0)).cast("long")
            for n in (*_PEOPLE_FACTORS, WEAPONS_VIOLENCE, REACH_OUTSIDE_FORCE, SIZE)
        },
        SOC_ASSOCIATED: F.coalesce(F.col(SOC_ASSOCIATED), F.lit(False)).cast("long"),
        WEAPONS_VIOLENCE_CODED: F.coalesce(F.col(WEAPONS_VIOLENCE_CODED), F.lit(0)).cast("long"),
        WEAPONS_VIOLENCE_TEXT: F.coalesce(F.col(WEAPONS_VIOLENCE_TEXT), F.lit(0)).cast("long"),
        WEAPON_TERMS: F.coalesce(F.col(WEAPON_TERMS), empty),
        OUTSIDE_AREAS: F.coalesce(F.col(OUTSIDE_AREAS), empty),
        BEST_SOC_OVERLAP: F.coalesce(F.col(BEST_SOC_OVERLAP), F.lit(0.0)),
    }
    return joined.select(
        *(
            filled[name].alias(name) if name in filled else F.col(name)
            for name in FACTOR_TABLE_COLUMNS
        )
    )
