"""Safeguarding flags of the kept nominals (METHOD section 7), as Spark transforms.

Every flag carries the record(s) that raised it, in an ``evidence`` array of
``struct<flag, source, record_id>``; a flag read from the ``nominals`` table (child, age
unknown, looked-after child, vulnerable adult) points at the nominal itself
(``source = "nominals"``, ``record_id = nominal_id``).

Ages are whole years by calendar birthdays: someone born on 29 February turns 18 on 1 March
of a common year. A birth date given as a year alone is stored by ingest as 31 December of
that year, so a possible child counts as one. A record dated before a birth date (a
year-only birth date, or a data error) gives age 0, not a negative age.

Record-based flags read only records dated (as a UTC day) on or before the reference date, so
a run with ``--as-of-date`` sees what was known then. Transforms read only the columns they
name; none reads record text or the ``restricted`` map of ``nominals``, and no output holds a
birth date (only the age it gives).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType, StructField, StructType

from clnet_spark import columns as c
from clnet_spark.errors import ClnetError, ConfigError

log = logging.getLogger(__name__)

# --- output columns ------------------------------------------------------------------------
AGE_ON_REFERENCE: Final = "age_on_reference"
CHILD: Final = "child"
WAS_CHILD_WHEN_LINKED: Final = "was_child_when_linked"
AGE_UNKNOWN: Final = "age_unknown"
CUCKOOED_VICTIM: Final = "cuckooed_victim"
MISSING_EPISODES: Final = "missing_episodes"
LAST_MISSING_AT: Final = "last_missing_at"
FOUND_OUTSIDE_FORCE: Final = "found_outside_force"
VICTIM_OFFENDER_OVERLAP: Final = "victim_offender_overlap"
REMOVAL_COST: Final = "removal_cost"
SAFEGUARDING_LISTED: Final = "safeguarding_listed"
REASONS: Final = "reasons"
EVIDENCE: Final = c.EVIDENCE
FLAG: Final = "flag"
LOCAL_AUTHORITY: Final = "local_authority"
STARTED_AT: Final = "started_at"
POPULATION: Final = "population"
DIMENSION: Final = "dimension"
VALUE: Final = "value"
NOMINALS: Final = "nominals"
SHARE: Final = "share"

# --- intermediate columns ------------------------------------------------------------------
AGE_BAND: Final = "age_band"
YEAR_ONLY: Final = "year_only"
CHILD_RECORDS: Final = "child_records"
FIRST_CHILD_RECORD: Final = "first_child_record"
CUCKOO_RECORDS: Final = "cuckoo_records"
VICTIM_RECORDS: Final = "victim_records"
OFFENDER_RECORDS: Final = "offender_records"
MISSING_RECORDS: Final = "missing_records"
OUTSIDE_RECORDS: Final = "outside_records"
OUTSIDE_AREAS: Final = "outside_areas"

FLAG_COLUMNS: Final = (
    c.NOMINAL_ID,
    c.GROUP_ID,
    c.GROUP_KIND,
    c.HOME_AREA,
    AGE_ON_REFERENCE,
    CHILD,
    WAS_CHILD_WHEN_LINKED,
    AGE_UNKNOWN,
    c.LOOKED_AFTER_CHILD,
    c.VULNERABLE_ADULT,
    CUCKOOED_VICTIM,
    MISSING_EPISODES,
    LAST_MISSING_AT,
    FOUND_OUTSIDE_FORCE,
    VICTIM_OFFENDER_OVERLAP,
    REMOVAL_COST,
    SAFEGUARDING_LISTED,
    REASONS,
    EVIDENCE,
)
"""The columns of ``safeguarding_flags``, in order."""

LIST_COLUMNS: Final = (
    LOCAL_AUTHORITY,
    c.NOMINAL_ID,
    c.GROUP_ID,
    REASONS,
    EVIDENCE,
    MISSING_EPISODES,
    LAST_MISSING_AT,
)
"""The columns of ``safeguarding_list``, in order."""

MISSING_PERSON_COLUMNS: Final = (
    c.NOMINAL_ID,
    c.GROUP_ID,
    STARTED_AT,
    c.ENDED_AT,
    c.FOUND_AREA,
    FOUND_OUTSIDE_FORCE,
    c.SOURCE,
    c.RECORD_ID,
)
"""The columns of ``missing_persons``, in order."""

DISPROPORTIONALITY_COLUMNS: Final = (POPULATION, DIMENSION, VALUE, NOMINALS, SHARE)
"""The columns of ``disproportionality``, in order."""

# --- values --------------------------------------------------------------------------------
NOMINALS_SOURCE: Final = "nominals"
"""``evidence.source`` of a flag read from the ``nominals`` table."""

UNKNOWN: Final = "unknown"
"""The value shown for a missing sex, home area (local authority) or age band."""

CUCKOO_ROLES: Final = ("victim", "subject")
VICTIM_ROLES: Final = ("victim",)
OFFENDER_ROLES: Final = ("suspect", "offender")

POPULATION_ALL: Final = "all"
POPULATION_COUNTY_LINES: Final = "county_lines"
POPULATION_LISTED: Final = "safeguarding_listed"
DIMENSION_SEX: Final = "sex"
DIMENSION_AGE_BAND: Final = "age_band"
DIMENSION_HOME_AREA: Final = "home_area"
AGE_BANDS: Final = ("under 18", "18-24", "25-34", "35-49", "50+", UNKNOWN)
"""Age bands of the disproportionality table (age on the reference date)."""

SHARE_PLACES: Final = 6

EVIDENCE_ITEM: Final = StructType(
    [
        StructField(FLAG, StringType(), False),
        StructField(c.SOURCE, StringType(), True),
        StructField(c.RECORD_ID, StringType(), True),
    ]
)
EVIDENCE_TYPE: Final = ArrayType(EVIDENCE_ITEM, False)
"""``evidence``: the record(s) behind each flag."""

INFINITE_COST: Final = float("inf")
"""The removal cost of a protected nominal: dismantling never chooses them."""


# --- configuration -------------------------------------------------------------------------


class SafeguardingConfigError(ConfigError):
    """A ``safeguarding`` setting is invalid (an override without a reason, a repeated one)."""


class SafeguardingInputError(ClnetError):
    """A frame given to a safeguarding transform lacks a column it needs."""


class SafeguardingOverride(BaseModel):
    """One explicit, reasoned permission for a protected nominal to be on enforcement lists.

    A child (on the reference date) or a vulnerable adult named here gets removal cost 1.0
    instead of infinity; every override that applies is logged with the nominal id and the
    reason, and listed in the run summary. The nominal stays on the safeguarding list.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    nominal_id: str = Field(min_length=1)
    reason: str

    @field_validator("nominal_id")
    @classmethod
    def _strip_id(cls, value: str) -> str:
        stripped = value.strip()
        if not stripped:
            raise SafeguardingConfigError("override: nominal_id is empty")
        return stripped

    @field_validator("reason")
    @classmethod
    def _reason_given(cls, value: str, info: ValidationInfo) -> str:
        stripped = value.strip()
        if not stripped:
            nominal = info.data.get(c.NOMINAL_ID, "<no valid nominal_id>")
            raise SafeguardingConfigError(
                f"override for nominal {nominal!r}: a non-empty reason is required (an "
                "override lets a child or vulnerable adult onto enforcement lists)"
            )
        return stripped


class SafeguardingConfig(BaseModel):
    """The ``safeguarding`` settings.

    Attributes
    ----------
    child_age
        Under this age (whole years) a nominal is a child; default 18.
    cuckoo_group
        The search group whose records make a victim or subject a cuckooed-address victim;
        default ``CUCKOO``.
    overrides
        Reasoned overrides of the infinite removal cost, at most one per nominal.

    Raises
    ------
    pydantic.ValidationError
        (a ``ValueError``) when an override has no reason or a nominal is named twice; the
        message names the entry (its position and nominal id).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    child_age: int = Field(18, ge=1, le=30)
    cuckoo_group: str = Field("CUCKOO", min_length=1)
    overrides: tuple[SafeguardingOverride, ...] = ()

    @field_validator("overrides")
    @classmethod
    def _one_per_nominal(
        cls, values: tuple[SafeguardingOverride, ...]
    ) -> tuple[SafeguardingOverride, ...]:
        seen: dict[str, int] = {}
        for position, entry in enumerate(values):
            if entry.nominal_id in seen:
                raise SafeguardingConfigError(
                    f"overrides[{position}]: nominal {entry.nominal_id!r} is already named by "
                    f"overrides[{seen[entry.nominal_id]}]; give one override (one reason) each"
                )
            seen[entry.nominal_id] = position
        return values

    @property
    def override_reasons(self) -> dict[str, str]:
        """Nominal id -> reason, for every override."""
        return {entry.nominal_id: entry.reason for entry in self.overrides}


# --- helpers -------------------------------------------------------------------------------


def _require(frame: DataFrame, name: str, columns: Sequence[str]) -> None:
    missing = [col for col in columns if col not in frame.columns]
    if missing:
        raise SafeguardingInputError(
            f"{name}: missing columns {missing}; columns present: {sorted(frame.columns)}"
        )


def age_on(birth: Column, day: Column) -> Column:
    """Whole years between a birth date and a day, by calendar birthdays; at least 0.

    Null when either is null. Born on 29 February: a year older on 1 March of a common year.
    """
    before_birthday = (F.month(day) < F.month(birth)) | (
        (F.month(day) == F.month(birth)) & (F.dayofmonth(day) < F.dayofmonth(birth))
    )
    years = F.year(day) - F.year(birth) - F.when(before_birthday, 1).otherwise(0)
    # greatest() skips nulls: without the guard an unknown birth date would give age 0
    return F.when(years.isNotNull(), F.greatest(years, F.lit(0))).cast("int")


def _on_or_before(timestamp: Column, reference_date: dt.date) -> Column:
    return F.to_date(timestamp) <= F.lit(reference_date)


def _record_ref(source: Column, record_id: Column) -> Column:
    return F.struct(source.alias(c.SOURCE), record_id.alias(c.RECORD_ID))


def _flag_evidence(flag: str, refs: Column) -> Column:
    """``array<struct<source, record_id>>`` (or null) -> evidence items of ``flag``."""
    items = F.transform(
        refs,
        lambda ref: F.struct(
            F.lit(flag).alias(FLAG),
            ref[c.SOURCE].alias(c.SOURCE),
            ref[c.RECORD_ID].alias(c.RECORD_ID),
        ),
    )
    return F.coalesce(items, F.array().cast(EVIDENCE_TYPE))


def _nominal_evidence(flag: str, raised: Column) -> Column:
    """One evidence item pointing at the nominal when ``raised``, else none."""
    item = F.struct(
        F.lit(flag).alias(FLAG),
        F.lit(NOMINALS_SOURCE).alias(c.SOURCE),
        F.col(c.NOMINAL_ID).alias(c.RECORD_ID),
    )
    return F.when(raised, F.array(item)).otherwise(F.array().cast(EVIDENCE_TYPE))


def _counted(n: Column, noun: str) -> Column:
    """``"1 record"`` / ``"3 records"``."""
    return F.concat(n.cast("string"), F.lit(" "), F.when(n == 1, noun).otherwise(f"{noun}s"))


def _area_key(area: Column) -> Column:
    return F.lower(F.trim(area))


def outside_force(found_area: Column, force_areas: Sequence[str]) -> Column:
    """True when an area is given (not blank) and is not one of the force's areas.

    Areas compare case-insensitively, ignoring surrounding spaces. Any other text (a town
    outside the force, or an unrecognised placeholder) counts as outside.
    """
    keys = [area.strip().lower() for area in force_areas]
    key = _area_key(found_area)
    return F.coalesce((key != "") & ~key.isin(*keys), F.lit(False))


def _known_or_unknown(value: Column) -> Column:
    return F.coalesce(F.when(F.trim(value) != "", F.trim(value)), F.lit(UNKNOWN))


def age_band(age: Column) -> Column:
    """The disproportionality age band of an age (:data:`AGE_BANDS`); ``unknown`` when null."""
    return (
        F.when(age.isNull(), UNKNOWN)
        .when(age < 18, "under 18")
        .when(age < 25, "18-24")
        .when(age < 35, "25-34")
        .when(age < 50, "35-49")
        .otherwise("50+")
    )


# --- the pieces ----------------------------------------------------------------------------


def kept_people(
    kept: DataFrame, nominals: DataFrame, reference_date: dt.date, child_age: int
) -> DataFrame:
    """The kept nominals with their age and the input flags.

    Parameters
    ----------
    kept
        ``cl_nominals``: columns ``nominal_id`` (unique), ``group_id``, ``group_kind``.
    nominals
        ``nominal_id`` (unique), ``birth_date`` (date; a year alone stored as 31 December),
        ``birth_date_precision`` (``day`` / ``year``), ``home_area``, ``looked_after_child``,
        ``vulnerable_adult`` (booleans, nullable). No other column is read.
    reference_date
        Ages are taken on this day.
    child_age
        Under this age a nominal is a child.

    Returns
    -------
    DataFrame
        One row per kept nominal (a kept nominal missing from ``nominals`` has an unknown
        age): ``nominal_id, group_id, group_kind, home_area, birth_date, year_only,
        age_on_reference`` (int, null when unknown), ``child, age_unknown,
        looked_after_child, vulnerable_adult`` (booleans, never null: an unknown input flag
        is false). ``birth_date`` is for the other transforms and never written out.
    """
    _require(kept, "cl_nominals", (c.NOMINAL_ID, c.GROUP_ID, c.GROUP_KIND))
    needed = (
        c.NOMINAL_ID,
        c.BIRTH_DATE,
        c.BIRTH_DATE_PRECISION,
        c.HOME_AREA,
        c.LOOKED_AFTER_CHILD,
        c.VULNERABLE_ADULT,
    )
    _require(nominals, "nominals", needed)
    people = kept.select(c.NOMINAL_ID, c.GROUP_ID, c.GROUP_KIND).join(
        nominals.select(*needed), on=c.NOMINAL_ID, how="left"
    )
    age = age_on(F.col(c.BIRTH_DATE), F.lit(reference_date))
    return people.select(
        c.NOMINAL_ID,
        c.GROUP_ID,
        c.GROUP_KIND,
        c.HOME_AREA,
        c.BIRTH_DATE,
        F.coalesce(F.col(c.BIRTH_DATE_PRECISION) == "year", F.lit(False)).alias(YEAR_ONLY),
        age.alias(AGE_ON_REFERENCE),
        F.coalesce(age < child_age, F.lit(False)).alias(CHILD),
        F.col(c.BIRTH_DATE).isNull().alias(AGE_UNKNOWN),
        F.coalesce(F.col(c.LOOKED_AFTER_CHILD), F.lit(False)).alias(c.LOOKED_AFTER_CHILD),
        F.coalesce(F.col(c.VULNERABLE_ADULT), F.lit(False)).alias(c.VULNERABLE_ADULT),
    )


def kept_links(
    record_nominals: DataFrame,
    records: DataFrame,
    kept: DataFrame,
    reference_date: dt.date,
) -> DataFrame:
    """The kept nominals' links to records dated on or before the reference date.

    Parameters
    ----------
    record_nominals
        ``source, record_id, nominal_id, role`` (canonical role, lower case; each
        (record, nominal, role) once, as ingest leaves it).
    records
        ``source, record_id`` (unique), ``recorded_at``. No other column is read.
    kept
        ``nominal_id``: the kept nominals. Broadcast: the kept network is small enough for the
        groups stage to collect it to the driver.
    reference_date
        Records dated (UTC day) after it are dropped.

    Returns
    -------
    DataFrame
        ``nominal_id, source, record_id, role, recorded_at``; every role is kept (each flag
        chooses its own).
    """
    _require(record_nominals, "record_nominals", (c.SOURCE, c.RECORD_ID, c.NOMINAL_ID, c.ROLE))
    _require(records, "records", (c.SOURCE, c.RECORD_ID, c.RECORDED_AT))
    _require(kept, "cl_nominals", (c.NOMINAL_ID,))
    dated = records.select(c.SOURCE, c.RECORD_ID, c.RECORDED_AT).where(
        _on_or_before(F.col(c.RECORDED_AT), reference_date)
    )
    return (
        record_nominals.select(c.SOURCE, c.RECORD_ID, c.NOMINAL_ID, c.ROLE)
        .join(F.broadcast(kept.select(c.NOMINAL_ID)), on=c.NOMINAL_ID, how="left_semi")
        .join(dated, on=[c.SOURCE, c.RECORD_ID], how="inner")
        .select(c.NOMINAL_ID, c.SOURCE, c.RECORD_ID, c.ROLE, c.RECORDED_AT)
    )


def record_flags(
    people: DataFrame,
    links: DataFrame,
    record_matches: DataFrame,
    linking_roles: Sequence[str],
    child_age: int,
    cuckoo_group: str,
) -> DataFrame:
    """The records behind the record-based flags, per kept nominal, in one aggregation.

    - **Was a child when linked**: under ``child_age`` on the date (UTC day) of a record
      linking the nominal through a linking role (``network.linking_roles``), identified by
      the search or not: a missing-person report or an arrest at 15 is a reason to ask whether
      the person was exploited then, whatever its text matched. Needs a birth date.
    - **Cuckooed-address victim**: victim or subject (:data:`CUCKOO_ROLES`) on a record whose
      matched groups include ``cuckoo_group``.
    - **Victim-offender overlap**: victim on one record and suspect or offender
      (:data:`OFFENDER_ROLES`) on another; :func:`combine_flags` decides (the two must be
      different records).

    Parameters
    ----------
    people
        :func:`kept_people` (``nominal_id``, ``birth_date``); broadcast.
    links
        :func:`kept_links`.
    record_matches
        ``source, record_id`` (unique), ``matched_groups`` (``array<string>``).
    linking_roles, child_age, cuckoo_group
        As above.

    Returns
    -------
    DataFrame
        One row per nominal with a link: ``nominal_id``, and the records (each
        ``array<struct<source, record_id>>``, sorted, each record once, possibly empty)
        ``child_records``, ``cuckoo_records``, ``victim_records``, ``offender_records``; and
        ``first_child_record`` (``struct<recorded_at, source, record_id, age>``: the earliest
        of ``child_records``, ties by source and record id; null when there is none).
    """
    _require(people, "people", (c.NOMINAL_ID, c.BIRTH_DATE))
    _require(links, "links", (c.NOMINAL_ID, c.SOURCE, c.RECORD_ID, c.ROLE, c.RECORDED_AT))
    _require(record_matches, "record_matches", (c.SOURCE, c.RECORD_ID, c.MATCHED_GROUPS))
    cuckoo = record_matches.where(F.array_contains(c.MATCHED_GROUPS, cuckoo_group)).select(
        c.SOURCE, c.RECORD_ID, F.lit(True).alias("_cuckoo")
    )
    rows = links.join(
        F.broadcast(people.select(c.NOMINAL_ID, c.BIRTH_DATE)), on=c.NOMINAL_ID, how="left"
    ).join(cuckoo, on=[c.SOURCE, c.RECORD_ID], how="left")

    role = F.col(c.ROLE)
    age = age_on(F.col(c.BIRTH_DATE), F.to_date(c.RECORDED_AT))
    as_child = role.isin(*linking_roles) & (age < child_age)
    cuckooed = role.isin(*CUCKOO_ROLES) & F.coalesce(F.col("_cuckoo"), F.lit(False))
    ref = _record_ref(F.col(c.SOURCE), F.col(c.RECORD_ID))

    def records_where(condition: Column) -> Column:
        return F.array_sort(F.collect_set(F.when(condition, ref)))

    return rows.groupBy(c.NOMINAL_ID).agg(
        records_where(as_child).alias(CHILD_RECORDS),
        F.min(
            F.when(as_child, F.struct(c.RECORDED_AT, c.SOURCE, c.RECORD_ID, age.alias("age")))
        ).alias(FIRST_CHILD_RECORD),
        records_where(cuckooed).alias(CUCKOO_RECORDS),
        records_where(role.isin(*VICTIM_ROLES)).alias(VICTIM_RECORDS),
        records_where(role.isin(*OFFENDER_ROLES)).alias(OFFENDER_RECORDS),
    )


def _kept_episodes(
    missing_episodes: DataFrame,
    kept: DataFrame,
    force_areas: Sequence[str],
    reference_date: dt.date,
) -> DataFrame:
    _require(
        missing_episodes,
        "missing_episodes",
        (c.NOMINAL_ID, c.SOURCE, c.RECORD_ID, STARTED_AT, c.ENDED_AT, c.FOUND_AREA),
    )
    _require(kept, "cl_nominals", (c.NOMINAL_ID, c.GROUP_ID))
    episodes = missing_episodes.where(_on_or_before(F.col(STARTED_AT), reference_date)).join(
        F.broadcast(kept.select(c.NOMINAL_ID, c.GROUP_ID)), on=c.NOMINAL_ID, how="inner"
    )
    return episodes.select(
        c.NOMINAL_ID,
        c.GROUP_ID,
        STARTED_AT,
        c.ENDED_AT,
        c.FOUND_AREA,
        outside_force(F.col(c.FOUND_AREA), force_areas).alias(FOUND_OUTSIDE_FORCE),
        c.SOURCE,
        c.RECORD_ID,
    )


def missing_persons(
    missing_episodes: DataFrame,
    kept: DataFrame,
    force_areas: Sequence[str],
    reference_date: dt.date,
) -> DataFrame:
    """The missing episodes of the kept nominals: the ``missing_persons`` table.

    Parameters
    ----------
    missing_episodes
        ``nominal_id, source, record_id, started_at, ended_at, found_area``.
    kept
        ``nominal_id`` (unique), ``group_id``; broadcast.
    force_areas
        The force's local authorities; a ``found_area`` given and not among them is outside
        (:func:`outside_force`).
    reference_date
        Episodes started (UTC day) after it are left out.

    Returns
    -------
    DataFrame
        :data:`MISSING_PERSON_COLUMNS`, one row per episode of a kept nominal, ordered by
        nominal, start, source and record id.
    """
    return _kept_episodes(missing_episodes, kept, force_areas, reference_date).orderBy(
        c.NOMINAL_ID, STARTED_AT, c.SOURCE, c.RECORD_ID
    )


def missing_summary(episodes: DataFrame) -> DataFrame:
    """Per nominal: how often missing, when last, and the episodes found outside the force.

    Parameters
    ----------
    episodes
        :func:`missing_persons` (in any order).

    Returns
    -------
    DataFrame
        One row per nominal with an episode: ``nominal_id, missing_episodes`` (int),
        ``last_missing_at`` (the latest ``started_at``), ``missing_records``,
        ``outside_records`` (``array<struct<source, record_id>>``, sorted), ``outside_areas``
        (sorted distinct ``found_area`` of the episodes found outside; empty when none).
    """
    _require(episodes, "missing persons", MISSING_PERSON_COLUMNS)
    ref = _record_ref(F.col(c.SOURCE), F.col(c.RECORD_ID))
    outside = F.col(FOUND_OUTSIDE_FORCE)
    return episodes.groupBy(c.NOMINAL_ID).agg(
        F.count(F.lit(1)).cast("int").alias(MISSING_EPISODES),
        F.max(STARTED_AT).alias(LAST_MISSING_AT),
        F.array_sort(F.collect_list(ref)).alias(MISSING_RECORDS),
        F.array_sort(F.collect_list(F.when(outside, ref))).alias(OUTSIDE_RECORDS),
        F.array_sort(F.collect_set(F.when(outside, F.trim(c.FOUND_AREA)))).alias(OUTSIDE_AREAS),
    )


# --- the table -----------------------------------------------------------------------------


def _override_reason(overrides: dict[str, str]) -> Column:
    """The configured override reason of each row's nominal, null when there is none."""
    if not overrides:
        return F.lit(None).cast("string")
    pairs = [F.lit(part) for item in sorted(overrides.items()) for part in item]
    return F.create_map(*pairs)[F.col(c.NOMINAL_ID)]


def _size(records: Column) -> Column:
    """Elements of a records array; 0 for a nominal without the array (no links)."""
    return F.coalesce(F.size(records), F.lit(0))


def _reasons(reference_date: dt.date, cuckoo_group: str) -> Column:
    """The readable reasons of a row of :func:`combine_flags`' joined frame, in flag order."""
    first = F.col(FIRST_CHILD_RECORD)
    child = F.format_string(
        "child (age %d on %s%s)",
        F.col(AGE_ON_REFERENCE),
        F.lit(reference_date.isoformat()),
        F.when(F.col(YEAR_ONLY), "; birth year only, counted as 31 December").otherwise(""),
    )
    was_child = F.format_string(
        "was a child when linked (age %d on %s, %s:%s; %s as a child)",
        first["age"],
        F.date_format(first[c.RECORDED_AT], "yyyy-MM-dd"),
        first[c.SOURCE],
        first[c.RECORD_ID],
        _counted(_size(CHILD_RECORDS), "linked record"),
    )
    cuckooed = F.format_string(
        "cuckooed-address victim (victim or subject on %s matching %s)",
        _counted(_size(CUCKOO_RECORDS), "record"),
        F.lit(cuckoo_group),
    )
    missing = F.format_string(
        "missing %s, last reported %s",
        _counted(F.col(MISSING_EPISODES), "time"),
        F.date_format(LAST_MISSING_AT, "yyyy-MM-dd"),
    )
    outside = F.format_string(
        "found outside the force area (%s: %s)",
        _counted(_size(OUTSIDE_RECORDS), "episode"),
        F.array_join(OUTSIDE_AREAS, ", "),
    )
    overlap = F.format_string(
        "victim-offender overlap (victim on %s, suspect or offender on %s)",
        _counted(_size(VICTIM_RECORDS), "record"),
        _counted(_size(OFFENDER_RECORDS), "record"),
    )
    override = F.format_string("removal-cost override in conf: %s", F.col("_override"))
    return F.array_compact(
        F.array(
            F.when(F.col(CHILD), child),
            F.when(F.col(AGE_UNKNOWN), F.lit("age unknown (no birth date)")),
            F.when(F.col(WAS_CHILD_WHEN_LINKED), was_child),
            F.when(F.col(c.LOOKED_AFTER_CHILD), F.lit("looked-after child")),
            F.when(F.col(c.VULNERABLE_ADULT), F.lit("vulnerable adult")),
            F.when(F.col(CUCKOOED_VICTIM), cuckooed),
            F.when(F.col(MISSING_EPISODES) > 0, missing),
            F.when(F.col(FOUND_OUTSIDE_FORCE), outside),
            F.when(F.col(VICTIM_OFFENDER_OVERLAP), overlap),
            F.when(F.col("_overridden"), override),
        )
    )


def _evidence() -> Column:
    """The evidence items of a row of the joined frame, in flag order."""
    # a record on which the nominal is both victim and suspect is listed once
    overlap_records = F.when(
        F.col(VICTIM_OFFENDER_OVERLAP),
        F.array_sort(F.array_union(VICTIM_RECORDS, OFFENDER_RECORDS)),
    )
    return F.concat(
        _nominal_evidence(CHILD, F.col(CHILD)),
        _nominal_evidence(AGE_UNKNOWN, F.col(AGE_UNKNOWN)),
        _flag_evidence(WAS_CHILD_WHEN_LINKED, F.col(CHILD_RECORDS)),
        _nominal_evidence(c.LOOKED_AFTER_CHILD, F.col(c.LOOKED_AFTER_CHILD)),
        _nominal_evidence(c.VULNERABLE_ADULT, F.col(c.VULNERABLE_ADULT)),
        _flag_evidence(CUCKOOED_VICTIM, F.col(CUCKOO_RECORDS)),
        _flag_evidence("missing_episode", F.col(MISSING_RECORDS)),
        _flag_evidence(FOUND_OUTSIDE_FORCE, F.col(OUTSIDE_RECORDS)),
        _flag_evidence(VICTIM_OFFENDER_OVERLAP, overlap_records),
    )


def combine_flags(
    people: DataFrame,
    records: DataFrame,
    missing: DataFrame,
    reference_date: dt.date,
    config: SafeguardingConfig,
) -> DataFrame:
    """Join the pieces into ``safeguarding_flags``, with the removal cost and the reasons.

    Parameters
    ----------
    people
        :func:`kept_people`: one row per kept nominal.
    records, missing
        :func:`record_flags` and :func:`missing_summary`: at most one row per nominal each.
    reference_date
        Shown in the child reason.
    config
        ``child_age`` is already applied in ``people``; ``overrides`` and ``cuckoo_group``
        are read here.

    Returns
    -------
    DataFrame
        :data:`FLAG_COLUMNS`, one row per kept nominal. ``removal_cost`` is infinity for a
        child or a vulnerable adult unless an override names them (then 1.0), else 1.0;
        ``safeguarding_listed`` is child, vulnerable adult, was a child when linked, or age
        unknown. ``reasons`` are readable sentences and ``evidence`` the records behind each
        flag, both in the flag order of :data:`FLAG_COLUMNS`.
    """
    joined = people.join(records, on=c.NOMINAL_ID, how="left").join(
        missing, on=c.NOMINAL_ID, how="left"
    )
    protected = F.col(CHILD) | F.col(c.VULNERABLE_ADULT)
    override = _override_reason(config.override_reasons)
    overlap = (
        (_size(VICTIM_RECORDS) > 0)
        & (_size(OFFENDER_RECORDS) > 0)
        & (F.size(F.array_union(VICTIM_RECORDS, OFFENDER_RECORDS)) >= 2)
    )
    flagged = joined.select(
        *(col for col in joined.columns if col != MISSING_EPISODES),
        F.coalesce(F.col(MISSING_EPISODES), F.lit(0)).alias(MISSING_EPISODES),
        (_size(CHILD_RECORDS) > 0).alias(WAS_CHILD_WHEN_LINKED),
        (_size(CUCKOO_RECORDS) > 0).alias(CUCKOOED_VICTIM),
        F.coalesce(overlap, F.lit(False)).alias(VICTIM_OFFENDER_OVERLAP),
        (_size(OUTSIDE_RECORDS) > 0).alias(FOUND_OUTSIDE_FORCE),
        (protected & override.isNotNull()).alias("_overridden"),
        override.alias("_override"),
    )
    listed = (
        F.col(CHILD) | F.col(c.VULNERABLE_ADULT) | F.col(WAS_CHILD_WHEN_LINKED) | F.col(AGE_UNKNOWN)
    )
    return flagged.select(
        c.NOMINAL_ID,
        c.GROUP_ID,
        c.GROUP_KIND,
        c.HOME_AREA,
        AGE_ON_REFERENCE,
        CHILD,
        WAS_CHILD_WHEN_LINKED,
        AGE_UNKNOWN,
        c.LOOKED_AFTER_CHILD,
        c.VULNERABLE_ADULT,
        CUCKOOED_VICTIM,
        MISSING_EPISODES,
        LAST_MISSING_AT,
        FOUND_OUTSIDE_FORCE,
        VICTIM_OFFENDER_OVERLAP,
        F.when(protected & ~F.col("_overridden"), F.lit(INFINITE_COST))
        .otherwise(F.lit(1.0))
        .alias(REMOVAL_COST),
        listed.alias(SAFEGUARDING_LISTED),
        _reasons(reference_date, config.cuckoo_group).alias(REASONS),
        _evidence().alias(EVIDENCE),
    )


def safeguarding_flags(
    *,
    kept: DataFrame,
    nominals: DataFrame,
    records: DataFrame,
    record_nominals: DataFrame,
    record_matches: DataFrame,
    missing_episodes: DataFrame,
    reference_date: dt.date,
    config: SafeguardingConfig,
    force_areas: Sequence[str],
    linking_roles: Sequence[str],
) -> DataFrame:
    """Every safeguarding flag of every kept nominal: the ``safeguarding_flags`` table.

    Parameters
    ----------
    kept
        ``cl_nominals`` (``nominal_id, group_id, group_kind``).
    nominals, records, record_nominals, record_matches, missing_episodes
        The warehouse tables; only the columns named by :func:`kept_people`,
        :func:`kept_links`, :func:`record_flags` and :func:`missing_persons` are read.
    reference_date
        The run's reference date: ages are taken on it; later records are not read.
    config
        The ``safeguarding`` settings.
    force_areas
        The force's local authorities (``force_areas``).
    linking_roles
        ``network.linking_roles``: which links make a "linked record".

    Returns
    -------
    DataFrame
        :data:`FLAG_COLUMNS`, one row per kept nominal (see :func:`combine_flags`).

    Raises
    ------
    SafeguardingInputError
        An input lacks a column; the message lists the columns present.
    """
    people = kept_people(kept, nominals, reference_date, config.child_age)
    links = kept_links(record_nominals, records, kept, reference_date)
    episodes = _kept_episodes(missing_episodes, kept, force_areas, reference_date)
    return combine_flags(
        people,
        record_flags(
            people, links, record_matches, linking_roles, config.child_age, config.cuckoo_group
        ),
        missing_summary(episodes),
        reference_date,
        config,
    )


def safeguarding_list(flags: DataFrame) -> DataFrame:
    """The safeguarding list: listed nominals by local authority of residence.

    Parameters
    ----------
    flags
        :func:`safeguarding_flags`.

    Returns
    -------
    DataFrame
        :data:`LIST_COLUMNS` for the rows with ``safeguarding_listed``; ``local_authority``
        is ``home_area`` (``unknown`` when missing or blank). Ordered by local authority,
        then nominal id.
    """
    _require(flags, "safeguarding flags", FLAG_COLUMNS)
    return (
        flags.where(F.col(SAFEGUARDING_LISTED))
        .select(
            _known_or_unknown(F.col(c.HOME_AREA)).alias(LOCAL_AUTHORITY),
            c.NOMINAL_ID,
            c.GROUP_ID,
            REASONS,
            EVIDENCE,
            MISSING_EPISODES,
            LAST_MISSING_AT,
        )
        .orderBy(LOCAL_AUTHORITY, c.NOMINAL_ID)
    )


def disproportionality(
    nominals: DataFrame,
    kept: DataFrame,
    listed: DataFrame,
    reference_date: dt.date,
) -> DataFrame:
    """Counts and shares by sex, age band and home area, for oversight.

    Three populations: ``all`` (every row of ``nominals``), ``county_lines`` (the kept
    nominals) and ``safeguarding_listed``. Every value seen among all nominals, and every age
    band, appears for every population (with 0 where none), so the shares compare directly.

    Parameters
    ----------
    nominals
        ``nominal_id`` (unique), ``birth_date``, ``sex``, ``home_area``. No other column is
        read.
    kept, listed
        ``nominal_id`` (unique): the kept and the safeguarding-listed nominals (subsets of
        ``nominals``; an id not in ``nominals`` is not counted). Broadcast.
    reference_date
        Age bands are of the age on this day.

    Returns
    -------
    DataFrame
        :data:`DISPROPORTIONALITY_COLUMNS`: ``population, dimension`` (``sex``, ``age_band``,
        ``home_area``), ``value`` (``unknown`` when missing), ``nominals`` (long), ``share``
        (of the population, 6 places; null for an empty population). Ordered by population,
        dimension, value.
    """
    _require(nominals, "nominals", (c.NOMINAL_ID, c.BIRTH_DATE, c.SEX, c.HOME_AREA))
    _require(kept, "kept nominals", (c.NOMINAL_ID,))
    _require(listed, "listed nominals", (c.NOMINAL_ID,))
    marked = (
        nominals.select(c.NOMINAL_ID, c.BIRTH_DATE, c.SEX, c.HOME_AREA)
        .join(F.broadcast(_marker(kept, "_kept")), on=c.NOMINAL_ID, how="left")
        .join(F.broadcast(_marker(listed, "_listed")), on=c.NOMINAL_ID, how="left")
    )
    values = {
        DIMENSION_SEX: _known_or_unknown(F.col(c.SEX)),
        DIMENSION_AGE_BAND: age_band(age_on(F.col(c.BIRTH_DATE), F.lit(reference_date))),
        DIMENSION_HOME_AREA: _known_or_unknown(F.col(c.HOME_AREA)),
    }
    cells = marked.select(
        F.explode(
            F.array(
                *(F.struct(F.lit(d).alias(DIMENSION), v.alias(VALUE)) for d, v in values.items())
            )
        ).alias("_cell"),
        F.lit(1).alias(POPULATION_ALL),
        F.when(F.col("_kept"), 1).otherwise(0).alias(POPULATION_COUNTY_LINES),
        F.when(F.col("_listed"), 1).otherwise(0).alias(POPULATION_LISTED),
    ).select("_cell.*", POPULATION_ALL, POPULATION_COUNTY_LINES, POPULATION_LISTED)
    # every age band appears, even where no one falls in it
    bands = nominals.sparkSession.createDataFrame(
        [(DIMENSION_AGE_BAND, band, 0, 0, 0) for band in AGE_BANDS], cells.schema
    )
    populations = (POPULATION_ALL, POPULATION_COUNTY_LINES, POPULATION_LISTED)
    counts = (
        cells.unionByName(bands)
        .groupBy(DIMENSION, VALUE)
        .agg(*(F.sum(p).cast("long").alias(p) for p in populations))
    )
    long = counts.select(
        DIMENSION,
        VALUE,
        F.explode(
            F.array(
                *(
                    F.struct(F.lit(p).alias(POPULATION), F.col(p).alias(NOMINALS))
                    for p in populations
                )
            )
        ).alias("_count"),
    ).select(
        F.col("_count")[POPULATION].alias(POPULATION),
        DIMENSION,
        VALUE,
        F.col("_count")[NOMINALS].alias(NOMINALS),
    )
    # each dimension partitions its population, so its counts sum to the population's size
    whole = Window.partitionBy(POPULATION, DIMENSION).rowsBetween(
        Window.unboundedPreceding, Window.unboundedFollowing
    )
    total = F.sum(NOMINALS).over(whole)
    return long.select(
        POPULATION,
        DIMENSION,
        VALUE,
        NOMINALS,
        F.when(total > 0, F.round(F.col(NOMINALS) / total, SHARE_PLACES))
        .cast("double")
        .alias(SHARE),
    ).orderBy(POPULATION, DIMENSION, VALUE)


def _marker(ids: DataFrame, name: str) -> DataFrame:
    return ids.select(c.NOMINAL_ID, F.lit(True).alias(name))
