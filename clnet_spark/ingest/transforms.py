"""Pure transforms of the ingest stage: parse, validate and classify input rows.

Each ``classify_*`` function takes an input table (every column a string, names lower-case)
and returns one DataFrame with the cleaned output columns plus two working columns:
``_reason`` (null for an accepted row, else why it is quarantined) and ``_raw`` (the row as it
arrived, as JSON, for the quarantine). Nothing is dropped here; the stage splits the result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark.ingest.contract import (
    DATE_FORMATS,
    FALSE_WORDS,
    INPUT_ISSUE,
    ROLES,
    TRUE_WORDS,
)

REASON = "_reason"
RAW = "_raw"
DELETED = "_deleted"


def blank_to_null(column: str) -> Column:
    """The trimmed value, or null when empty."""
    value = F.trim(F.col(column))
    return F.when(value == "", None).otherwise(value)


def parse_timestamp(column: Column) -> Column:
    """Parse an ISO or UK date/timestamp string; null when it matches no accepted format."""
    value = F.trim(column)
    return F.coalesce(*(F.try_to_timestamp(value, F.lit(fmt)) for fmt in DATE_FORMATS))


def parse_bool(column: Column) -> Column:
    """``true``/``yes``/``y``/``1`` -> True, their opposites -> False, anything else null."""
    value = F.lower(F.trim(column))
    return (
        F.when(value.isin(*TRUE_WORDS), F.lit(True))
        .when(value.isin(*FALSE_WORDS), F.lit(False))
        .otherwise(F.lit(None).cast("boolean"))
    )


def restricted_map(extra_columns: Sequence[str]) -> Column:
    """The extra (restricted) columns of a row as a ``map<string, string>``."""
    if not extra_columns:
        return F.create_map().cast("map<string,string>")
    pairs = []
    for name in extra_columns:
        pairs += [F.lit(name), F.col(f"`{name}`")]
    return F.create_map(*pairs)


def raw_row(frame: DataFrame) -> Column:
    """The row as it arrived, as a JSON object (restricted: stays in the quarantine table)."""
    return F.to_json(F.struct(*(F.col(f"`{n}`") for n in frame.columns if n != INPUT_ISSUE)))


def input_issue(frame: DataFrame) -> Column:
    """Why ``io.read_input`` found the row unusable as read (``_input_issue``), else null."""
    if INPUT_ISSUE in frame.columns:
        return F.col(INPUT_ISSUE)
    return F.lit(None).cast("string")


def first_reason(*checks: tuple[Column, str]) -> Column:
    """The message of the first check whose condition holds, else null."""
    expr = F.lit(None).cast("string")
    for condition, message in reversed(checks):
        expr = F.when(condition, F.lit(message)).otherwise(expr)
    return expr


def _date_checks(
    column: str, parsed: Column, run_day: dt.date, earliest_year: int, required: bool
) -> list[tuple[Column, str]]:
    present = blank_to_null(column).isNotNull()
    checks = [
        (present & parsed.isNull(), f"unparseable {column}"),
        (
            parsed >= F.lit(run_day + dt.timedelta(days=1)).cast("timestamp"),
            f"future-dated {column}",
        ),
        (F.year(parsed) < earliest_year, f"{column} before {earliest_year}"),
    ]
    if required:
        checks.insert(0, (~present, f"missing {column}"))
    return checks


def mark_duplicates(frame: DataFrame, keys: Sequence[str], content: Sequence[str]) -> DataFrame:
    """Quarantine every row but one of each key among the otherwise accepted rows.

    The row kept is the latest by ``updated_at`` (nulls last), then the smallest content
    hash, so the choice is deterministic. A repeated row identical to the kept one is an
    "exact duplicate"; one that differs is a "conflicting duplicate".
    """
    content_hash = F.sha2(F.to_json(F.struct(*(F.col(n) for n in content))), 256)
    order = [F.col(c.UPDATED_AT).desc_nulls_last(), F.col("_hash").asc_nulls_last()]
    window = Window.partitionBy(*keys, F.col(REASON).isNull()).orderBy(*order)
    kept_hash = F.first("_hash").over(window.rowsBetween(Window.unboundedPreceding, 0))
    ranked = (
        frame.withColumn("_hash", content_hash)
        .withColumn("_rank", F.row_number().over(window))
        .withColumn("_kept_hash", kept_hash)
    )
    duplicate = F.col(REASON).isNull() & (F.col("_rank") > 1)
    reason = (
        F.when(duplicate & (F.col("_hash") == F.col("_kept_hash")), F.lit("exact duplicate"))
        .when(duplicate, F.lit(f"conflicting duplicate {'/'.join(keys)} (another version kept)"))
        .otherwise(F.col(REASON))
    )
    return ranked.withColumn(REASON, reason).drop("_hash", "_rank", "_kept_hash")


def _change_columns(frame: DataFrame) -> list[Column]:
    updated = (
        parse_timestamp(F.col(c.UPDATED_AT))
        if c.UPDATED_AT in frame.columns
        else F.lit(None).cast("timestamp")
    )
    deleted = (
        F.coalesce(parse_bool(F.col(c.IS_DELETED)), F.lit(False))
        if c.IS_DELETED in frame.columns
        else F.lit(False)
    )
    return [updated.alias(c.UPDATED_AT), deleted.alias(DELETED)]


def classify_records(
    frame: DataFrame,
    source: str,
    extra_columns: Sequence[str],
    run_day: dt.date,
    earliest_year: int,
) -> DataFrame:
    """Validate one source system's records.

    Output columns: source, record_id, recorded_at, text, offence_code, area, ended_at,
    found_area, updated_at, restricted, ``_deleted``, ``_reason``, ``_raw``. ``offence_code``,
    ``ended_at`` and ``found_area`` are null where the source has no such column. Reasons:
    missing record_id, missing / unparseable / future-dated / too early recorded_at, an
    ``ended_at`` that does not parse or precedes ``recorded_at``, duplicates of record_id.
    """
    recorded = parse_timestamp(F.col(c.RECORDED_AT))
    ended = (
        parse_timestamp(F.col(c.ENDED_AT))
        if c.ENDED_AT in frame.columns
        else F.lit(None).cast("timestamp")
    )

    def optional(name: str) -> Column:
        value = blank_to_null(name) if name in frame.columns else F.lit(None).cast("string")
        return value.alias(name)

    checks = [
        (blank_to_null(c.RECORD_ID).isNull(), "missing record_id"),
        *_date_checks(c.RECORDED_AT, recorded, run_day, earliest_year, required=True),
    ]
    if c.ENDED_AT in frame.columns:
        checks += _date_checks(c.ENDED_AT, ended, run_day, earliest_year, required=False)
        checks.append((ended < recorded, "ended_at before recorded_at"))
    classified = frame.select(
        F.lit(source).alias(c.SOURCE),
        blank_to_null(c.RECORD_ID).alias(c.RECORD_ID),
        recorded.alias(c.RECORDED_AT),
        F.col(c.TEXT).alias(c.TEXT),
        optional(c.OFFENCE_CODE),
        optional(c.AREA),
        ended.alias(c.ENDED_AT),
        optional(c.FOUND_AREA),
        *_change_columns(frame),
        restricted_map(extra_columns).alias(c.RESTRICTED),
        F.coalesce(input_issue(frame), first_reason(*checks)).alias(REASON),
        raw_row(frame).alias(RAW),
    )
    content = (c.RECORDED_AT, c.TEXT, c.OFFENCE_CODE, c.AREA, c.ENDED_AT, c.FOUND_AREA)
    return mark_duplicates(classified, (c.SOURCE, c.RECORD_ID), content)


def parse_birth_date(column: str) -> tuple[Column, Column]:
    """A birth date and its precision (``day`` or ``year``).

    A year alone counts as 31 December of that year (METHOD section 7: a possible child is
    treated as one).
    """
    value = F.trim(F.col(column))
    year_only = value.rlike(r"^\d{4}$")
    year_date = F.make_date(value.cast("int"), F.lit(12), F.lit(31))
    day_date = F.to_date(parse_timestamp(value))
    parsed = F.when(year_only, year_date).otherwise(day_date)
    precision = F.when(parsed.isNull(), None).when(year_only, F.lit("year")).otherwise(F.lit("day"))
    return parsed, precision


def classify_nominals(
    frame: DataFrame, extra_columns: Sequence[str], run_day: dt.date, earliest_year: int
) -> DataFrame:
    """Validate the nominals table.

    Output columns: nominal_id, birth_date, birth_date_precision, sex, home_area,
    looked_after_child, vulnerable_adult, updated_at, restricted, ``_deleted``, ``_reason``,
    ``_raw``, ``_birth_date_issue``. A birth date that does not parse, lies in the future or
    before ``earliest_year`` does not quarantine the person: it becomes null ("age unknown")
    and the issue is named in ``_birth_date_issue`` (counted in the run summary).
    """
    birth, precision = parse_birth_date(c.BIRTH_DATE)
    present = blank_to_null(c.BIRTH_DATE).isNotNull()
    issue = first_reason(
        (present & birth.isNull(), "unparseable birth_date"),
        (birth > F.lit(run_day), "future birth_date"),
        (F.year(birth) < earliest_year, f"birth_date before {earliest_year}"),
    )
    vulnerable = (
        parse_bool(F.col(c.VULNERABLE_ADULT))
        if c.VULNERABLE_ADULT in frame.columns
        else F.lit(None).cast("boolean")
    )
    classified = frame.select(
        blank_to_null(c.NOMINAL_ID).alias(c.NOMINAL_ID),
        F.when(issue.isNull(), birth).alias(c.BIRTH_DATE),
        F.when(issue.isNull(), precision).alias(c.BIRTH_DATE_PRECISION),
        F.upper(blank_to_null(c.SEX)).alias(c.SEX),
        blank_to_null(c.HOME_AREA).alias(c.HOME_AREA),
        F.coalesce(parse_bool(F.col(c.LOOKED_AFTER_CHILD)), F.lit(False)).alias(
            c.LOOKED_AFTER_CHILD
        ),
        F.coalesce(vulnerable, F.lit(False)).alias(c.VULNERABLE_ADULT),
        *_change_columns(frame),
        restricted_map(extra_columns).alias(c.RESTRICTED),
        F.coalesce(
            input_issue(frame),
            first_reason((blank_to_null(c.NOMINAL_ID).isNull(), "missing nominal_id")),
        ).alias(REASON),
        raw_row(frame).alias(RAW),
        issue.alias("_birth_date_issue"),
    )
    content = (c.BIRTH_DATE, c.SEX, c.HOME_AREA, c.LOOKED_AFTER_CHILD, c.VULNERABLE_ADULT)
    return mark_duplicates(classified, (c.NOMINAL_ID,), content)


def _reference(frame: DataFrame, keys: DataFrame, on: Sequence[str], flag: str) -> DataFrame:
    """Left-join a set of known keys and flag rows whose key is unknown."""
    known = keys.select(*on).withColumn(flag, F.lit(True))
    return frame.join(known, on=list(on), how="left")


def classify_record_nominals(
    frame: DataFrame, records: DataFrame, nominals: DataFrame
) -> DataFrame:
    """Validate links between records and nominals.

    ``records`` holds the accepted (source, record_id) keys and ``nominals`` the accepted
    nominal ids; each must be unique. Output columns: source, record_id, nominal_id, role,
    role_raw, updated_at, ``_deleted``, ``_reason``, ``_raw``. A role outside the canonical
    list becomes ``other`` (its original spelling kept in role_raw).
    """
    role = F.lower(F.regexp_replace(F.trim(F.col(c.ROLE)), r"[\s_]+", " "))
    prepared = frame.select(
        F.lower(blank_to_null(c.SOURCE)).alias(c.SOURCE),
        blank_to_null(c.RECORD_ID).alias(c.RECORD_ID),
        blank_to_null(c.NOMINAL_ID).alias(c.NOMINAL_ID),
        F.when(role.isin(*ROLES), role).otherwise(F.lit("other")).alias(c.ROLE),
        F.when(~role.isin(*ROLES) | role.isNull(), F.col(c.ROLE)).alias(c.ROLE_RAW),
        *_change_columns(frame),
        raw_row(frame).alias(RAW),
        input_issue(frame).alias(INPUT_ISSUE),
    )
    joined = _reference(prepared, records, (c.SOURCE, c.RECORD_ID), "_record_known")
    joined = _reference(joined, nominals, (c.NOMINAL_ID,), "_nominal_known")
    reason = F.coalesce(
        F.col(INPUT_ISSUE),
        first_reason(
            (F.col(c.SOURCE).isNull(), "missing source"),
            (~F.col(c.SOURCE).isin(*c.SOURCES), "unknown source"),
            (F.col(c.RECORD_ID).isNull(), "missing record_id"),
            (F.col(c.NOMINAL_ID).isNull(), "missing nominal_id"),
            (F.col("_record_known").isNull(), "record not found"),
            (F.col("_nominal_known").isNull(), "nominal not found"),
        ),
    )
    classified = joined.select(
        c.SOURCE,
        c.RECORD_ID,
        c.NOMINAL_ID,
        c.ROLE,
        c.ROLE_RAW,
        c.UPDATED_AT,
        DELETED,
        reason.alias(REASON),
        RAW,
    )
    return mark_duplicates(classified, (c.SOURCE, c.RECORD_ID, c.NOMINAL_ID, c.ROLE), ())


def classify_relationships(
    frame: DataFrame, nominals: DataFrame, run_day: dt.date, earliest_year: int
) -> DataFrame:
    """Validate explicit relationships; each is undirected, stored with nominal_a < nominal_b.

    Output columns: nominal_a, nominal_b, relationship_type, source, recorded_at, updated_at,
    ``_deleted``, ``_reason``, ``_raw``. Reasons: a missing or unknown nominal, a
    self-relationship, an unparseable date, a repeat of the same pair, type and source.
    """
    a, b = blank_to_null(c.NOMINAL_A), blank_to_null(c.NOMINAL_B)
    recorded = parse_timestamp(F.col(c.RECORDED_AT))
    prepared = frame.select(
        F.least(a, b).alias(c.NOMINAL_A),
        F.greatest(a, b).alias(c.NOMINAL_B),
        F.lower(blank_to_null(c.RELATIONSHIP_TYPE)).alias(c.RELATIONSHIP_TYPE),
        F.lower(blank_to_null(c.SOURCE)).alias(c.SOURCE),
        recorded.alias(c.RECORDED_AT),
        *_change_columns(frame),
        raw_row(frame).alias(RAW),
        F.coalesce(
            input_issue(frame),
            first_reason(
                (a.isNull() | b.isNull(), "missing nominal id"),
                (a == b, "self-relationship"),
                (blank_to_null(c.RELATIONSHIP_TYPE).isNull(), "missing relationship_type"),
                *_date_checks(c.RECORDED_AT, recorded, run_day, earliest_year, required=False),
            ),
        ).alias("_early_reason"),
    )
    known = nominals.select(F.col(c.NOMINAL_ID).alias("_id"), F.lit(True).alias("_k"))
    joined = prepared.join(
        known.withColumnsRenamed({"_id": c.NOMINAL_A, "_k": "_a"}), c.NOMINAL_A, "left"
    ).join(known.withColumnsRenamed({"_id": c.NOMINAL_B, "_k": "_b"}), c.NOMINAL_B, "left")
    reason = F.coalesce(
        F.col("_early_reason"),
        first_reason((F.col("_a").isNull() | F.col("_b").isNull(), "nominal not found")),
    )
    classified = joined.select(
        c.NOMINAL_A,
        c.NOMINAL_B,
        c.RELATIONSHIP_TYPE,
        c.SOURCE,
        c.RECORDED_AT,
        c.UPDATED_AT,
        DELETED,
        reason.alias(REASON),
        RAW,
    )
    keys = (c.NOMINAL_A, c.NOMINAL_B, c.RELATIONSHIP_TYPE, c.SOURCE)
    return mark_duplicates(classified, keys, (c.RECORDED_AT,))


def classify_soc_groups(frame: DataFrame, nominals: DataFrame) -> DataFrame:
    """Validate SOC group membership (a nominal may belong to several groups).

    Output columns: nominal_id, soc_group_id, ``_reason``, ``_raw`` (plus ``updated_at`` and
    ``_deleted``, always null / false: the SOC list is replaced whole).
    """
    prepared = frame.select(
        blank_to_null(c.NOMINAL_ID).alias(c.NOMINAL_ID),
        blank_to_null(c.SOC_GROUP_ID).alias(c.SOC_GROUP_ID),
        F.lit(None).cast("timestamp").alias(c.UPDATED_AT),
        F.lit(False).alias(DELETED),
        raw_row(frame).alias(RAW),
        input_issue(frame).alias(INPUT_ISSUE),
    )
    joined = _reference(prepared, nominals, (c.NOMINAL_ID,), "_nominal_known")
    reason = F.coalesce(
        F.col(INPUT_ISSUE),
        first_reason(
            (F.col(c.NOMINAL_ID).isNull(), "missing nominal_id"),
            (F.col(c.SOC_GROUP_ID).isNull(), "missing soc_group_id"),
            (F.col("_nominal_known").isNull(), "nominal not found"),
        ),
    )
    classified = joined.select(
        c.NOMINAL_ID, c.SOC_GROUP_ID, c.UPDATED_AT, DELETED, reason.alias(REASON), RAW
    )
    return mark_duplicates(classified, (c.NOMINAL_ID, c.SOC_GROUP_ID), ())


def missing_episodes(records: DataFrame, record_nominals: DataFrame) -> DataFrame:
    """Missing episodes from ``compact`` records and their ``missing person`` nominals.

    Output columns: nominal_id, source, record_id, started_at, ended_at, found_area, area.
    """
    compact = records.where(F.col(c.SOURCE) == c.COMPACT)
    missing = record_nominals.where(F.col(c.ROLE) == "missing person")
    return compact.join(missing, on=[c.SOURCE, c.RECORD_ID], how="inner").select(
        c.NOMINAL_ID,
        c.SOURCE,
        c.RECORD_ID,
        F.col(c.RECORDED_AT).alias("started_at"),
        c.ENDED_AT,
        c.FOUND_AREA,
        c.AREA,
    )
