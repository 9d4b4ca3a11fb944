"""Harm of crimes, nominals and groups (METHOD section 6), as Spark transforms.

Only ``crimes`` records carry harm (custody records describe the same offences). A crime's
offence code is normalised (:mod:`clnet_spark.harm.codes`) and looked up in the two harm
tables, broadcast. A crime whose code a table does not map has a null value for that index: it
adds nothing to a sum and is counted, per index and overall, beside every sum.

Totals are exact decimal sums (``DECIMAL(28,9)``), so they do not depend on partitioning or
summation order. "All" means every crime recorded on or before the reference date; "recent"
means recorded in the ``recent_years`` before it: ``recorded_at`` (as a UTC date) after
``reference_date`` minus ``12 * recent_years`` months and on or before ``reference_date``.
The months are counted as Spark's ``add_months`` does (29 February minus 3 years is
28 February), so a crime dated exactly ``recent_years`` years before is not recent.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Final

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType

from clnet_spark import columns as c
from clnet_spark.errors import ClnetError
from clnet_spark.harm.codes import normalise_code_column
from clnet_spark.harm.tables import CCHI, CODE_NORMALISED, ONS

log = logging.getLogger(__name__)

TOTAL_TYPE: Final = DecimalType(28, 9)
"""A sum of crime harm values (``DECIMAL(18,9)`` each): exact in any order."""

CCHI_ALL: Final = "cchi_all"
CCHI_RECENT: Final = "cchi_recent"
ONS_ALL: Final = "ons_all"
ONS_RECENT: Final = "ons_recent"
CRIMES_ALL: Final = "crimes_all"
CRIMES_RECENT: Final = "crimes_recent"
UNMAPPED_CRIMES: Final = "unmapped_crimes"
CCHI_UNMAPPED_CRIMES: Final = "cchi_unmapped_crimes"
ONS_UNMAPPED_CRIMES: Final = "ons_unmapped_crimes"
HARM_COLUMNS: Final = (
    CCHI_ALL,
    CCHI_RECENT,
    ONS_ALL,
    ONS_RECENT,
    CRIMES_ALL,
    CRIMES_RECENT,
    UNMAPPED_CRIMES,
    CCHI_UNMAPPED_CRIMES,
    ONS_UNMAPPED_CRIMES,
)
"""The harm columns of ``nominal_harm`` and ``group_harm``, after the key."""

HARM_CRIME_COLUMNS: Final = (
    c.SOURCE,
    c.RECORD_ID,
    c.OFFENCE_CODE,
    CODE_NORMALISED,
    CCHI,
    ONS,
    c.RECORDED_AT,
)
"""The columns of ``harm_crimes``."""

MEMBERS: Final = "members"

CODE: Final = "code"
RECOGNISED: Final = "recognised"
CCHI_MAPPED: Final = "cchi_mapped"
ONS_MAPPED: Final = "ons_mapped"
N_CRIMES: Final = "crimes"


class HarmInputError(ClnetError):
    """A frame given to a harm transform lacks a column it needs."""


def _require(frame: DataFrame, name: str, columns: Sequence[str]) -> None:
    missing = [col for col in columns if col not in frame.columns]
    if missing:
        raise HarmInputError(
            f"{name}: missing columns {missing}; columns present: {sorted(frame.columns)}"
        )


def _day() -> Column:
    return F.to_date(F.col(c.RECORDED_AT))


def on_or_before(reference_date: dt.date) -> Column:
    """True for a record dated (as a UTC day) on or before the reference date."""
    return _day() <= F.lit(reference_date)


def recent(reference_date: dt.date, recent_years: int) -> Column:
    """True for a record dated after ``reference_date - recent_years`` and on or before it."""
    start = F.add_months(F.lit(reference_date), -12 * recent_years)
    return (_day() > start) & on_or_before(reference_date)


def crime_harm(records: DataFrame, cchi: DataFrame, ons: DataFrame) -> DataFrame:
    """Every ``crimes`` record with its normalised code and its value in each index.

    Parameters
    ----------
    records
        Columns ``source``, ``record_id``, ``recorded_at``, ``offence_code`` (string, nullable);
        ``(source, record_id)`` unique. Records of other sources are dropped.
    cchi, ons
        :meth:`HarmTable.to_frame`: ``code_normalised`` (unique) and ``cchi`` / ``ons``. Both
        are small and broadcast.

    Returns
    -------
    DataFrame
        One row per crime: ``source, record_id, offence_code, code_normalised`` (null when the
        code is empty or not a code), ``cchi``, ``ons`` (``DECIMAL(18,9)``, null when that
        table does not map the code), ``recorded_at``.
    """
    _require(records, "records", (c.SOURCE, c.RECORD_ID, c.RECORDED_AT, c.OFFENCE_CODE))
    _require(cchi, "CCHI table", (CODE_NORMALISED, CCHI))
    _require(ons, "ONS table", (CODE_NORMALISED, ONS))
    crimes = records.where(F.col(c.SOURCE) == c.CRIMES).select(
        c.SOURCE,
        c.RECORD_ID,
        c.OFFENCE_CODE,
        normalise_code_column(F.col(c.OFFENCE_CODE)).alias(CODE_NORMALISED),
        c.RECORDED_AT,
    )
    return (
        crimes.join(F.broadcast(cchi.select(CODE_NORMALISED, CCHI)), CODE_NORMALISED, how="left")
        .join(F.broadcast(ons.select(CODE_NORMALISED, ONS)), CODE_NORMALISED, how="left")
        .select(*HARM_CRIME_COLUMNS)
    )


def harm_links(record_nominals: DataFrame, harm_roles: Sequence[str]) -> DataFrame:
    """Which nominal is behind which crime: one row per (nominal, crime), whatever the roles.

    Parameters
    ----------
    record_nominals
        Columns ``source``, ``record_id``, ``nominal_id``, ``role`` (canonical, lower case).
    harm_roles
        The roles that attribute a crime's harm to a nominal (default suspect, offender,
        charged).

    Returns
    -------
    DataFrame
        ``nominal_id, source, record_id`` for ``crimes`` records only; a nominal who is both
        suspect and charged on a crime appears once (distinct crimes, METHOD section 6).
    """
    _require(record_nominals, "record_nominals", (c.SOURCE, c.RECORD_ID, c.NOMINAL_ID, c.ROLE))
    return (
        record_nominals.where((F.col(c.SOURCE) == c.CRIMES) & F.col(c.ROLE).isin(*harm_roles))
        .dropDuplicates([c.NOMINAL_ID, c.SOURCE, c.RECORD_ID])
        .select(c.NOMINAL_ID, c.SOURCE, c.RECORD_ID)
    )


def harm_crimes(
    crimes: DataFrame, links: DataFrame, nominal_ids: DataFrame, reference_date: dt.date
) -> DataFrame:
    """The crimes behind the harm of the given nominals: the ``harm_crimes`` table.

    Parameters
    ----------
    crimes
        :func:`crime_harm`.
    links
        :func:`harm_links`.
    nominal_ids
        Column ``nominal_id``: the nominals scored (the kept network).
    reference_date
        Crimes recorded after it are left out.

    Returns
    -------
    DataFrame
        The rows of ``crimes`` (same columns) linked through a harm role to at least one of
        the nominals and recorded on or before the reference date; each crime once.
    """
    _require(links, "harm links", (c.NOMINAL_ID, c.SOURCE, c.RECORD_ID))
    _require(nominal_ids, "nominals", (c.NOMINAL_ID,))
    behind = links.join(nominal_ids.select(c.NOMINAL_ID), on=c.NOMINAL_ID, how="left_semi")
    return (
        crimes.where(on_or_before(reference_date))
        .join(behind.select(c.SOURCE, c.RECORD_ID), on=[c.SOURCE, c.RECORD_ID], how="left_semi")
        .select(*HARM_CRIME_COLUMNS)
    )


def _totals(keyed: DataFrame, key: str, reference_date: dt.date, recent_years: int) -> DataFrame:
    """Harm sums per ``key`` over rows that are distinct (key, crime) pairs."""
    is_recent = recent(reference_date, recent_years)
    cchi_missing = F.col(CCHI).isNull()
    ons_missing = F.col(ONS).isNull()
    return (
        keyed.where(on_or_before(reference_date))
        .groupBy(key)
        .agg(
            F.sum(F.col(CCHI)).alias(CCHI_ALL),
            F.sum(F.when(is_recent, F.col(CCHI))).alias(CCHI_RECENT),
            F.sum(F.col(ONS)).alias(ONS_ALL),
            F.sum(F.when(is_recent, F.col(ONS))).alias(ONS_RECENT),
            F.count(F.lit(1)).alias(CRIMES_ALL),
            F.count(F.when(is_recent, 1)).alias(CRIMES_RECENT),
            F.count(F.when(cchi_missing | ons_missing, 1)).alias(UNMAPPED_CRIMES),
            F.count(F.when(cchi_missing, 1)).alias(CCHI_UNMAPPED_CRIMES),
            F.count(F.when(ons_missing, 1)).alias(ONS_UNMAPPED_CRIMES),
        )
    )


def _complete(keys: DataFrame, totals: DataFrame, key: str) -> DataFrame:
    """Every key with its totals; a key with no crime scores zero everywhere."""
    sums = (CCHI_ALL, CCHI_RECENT, ONS_ALL, ONS_RECENT)

    def filled(name: str) -> Column:
        if name in sums:
            return F.coalesce(F.col(name).cast(TOTAL_TYPE), F.lit(0).cast(TOTAL_TYPE))
        return F.coalesce(F.col(name), F.lit(0).cast("long"))

    return keys.join(totals, on=key, how="left").select(
        key, *(filled(name).alias(name) for name in HARM_COLUMNS)
    )


def nominal_harm(
    nominal_ids: DataFrame,
    links: DataFrame,
    crimes: DataFrame,
    reference_date: dt.date,
    recent_years: int,
) -> DataFrame:
    """Harm per nominal: sums over the distinct crimes where the nominal has a harm role.

    Parameters
    ----------
    nominal_ids
        Column ``nominal_id`` (unique): the nominals to score; each gets a row.
    links
        :func:`harm_links` (distinct nominal-crime pairs).
    crimes
        :func:`crime_harm` or :func:`harm_crimes`.
    reference_date, recent_years
        The window of the ``*_recent`` columns (module docs).

    Returns
    -------
    DataFrame
        ``nominal_id``, ``cchi_all``, ``cchi_recent``, ``ons_all``, ``ons_recent``
        (``DECIMAL(28,9)``: the sum over the crimes that index maps, 0 when none),
        ``crimes_all``, ``crimes_recent``, ``unmapped_crimes`` (crimes that at least one
        index does not map), ``cchi_unmapped_crimes``, ``ons_unmapped_crimes`` (longs; the
        unmapped counts are over all years).
    """
    _require(nominal_ids, "nominals", (c.NOMINAL_ID,))
    _require(links, "harm links", (c.NOMINAL_ID, c.SOURCE, c.RECORD_ID))
    _require(crimes, "crimes", HARM_CRIME_COLUMNS)
    keyed = links.select(c.NOMINAL_ID, c.SOURCE, c.RECORD_ID).join(
        crimes.select(c.SOURCE, c.RECORD_ID, c.RECORDED_AT, CCHI, ONS),
        on=[c.SOURCE, c.RECORD_ID],
        how="inner",
    )
    totals = _totals(keyed, c.NOMINAL_ID, reference_date, recent_years)
    return _complete(nominal_ids.select(c.NOMINAL_ID), totals, c.NOMINAL_ID)


def group_harm(
    groups: DataFrame,
    links: DataFrame,
    crimes: DataFrame,
    reference_date: dt.date,
    recent_years: int,
) -> DataFrame:
    """Harm per group: sums over the distinct crimes of its members.

    A crime with three co-offenders in one group counts once for that group (and once for
    each of them in :func:`nominal_harm`).

    Parameters
    ----------
    groups
        Columns ``group_id`` (unique) and ``members`` (``array<string>`` of nominal ids).
    links, crimes, reference_date, recent_years
        As for :func:`nominal_harm`.

    Returns
    -------
    DataFrame
        ``group_id`` and the columns of :func:`nominal_harm` after its key; every group gets a
        row.
    """
    _require(groups, "groups", (c.GROUP_ID, MEMBERS))
    _require(links, "harm links", (c.NOMINAL_ID, c.SOURCE, c.RECORD_ID))
    _require(crimes, "crimes", HARM_CRIME_COLUMNS)
    membership = groups.select(c.GROUP_ID, F.explode(MEMBERS).alias(c.NOMINAL_ID))
    group_crimes = (
        membership.join(links, on=c.NOMINAL_ID, how="inner")
        .select(c.GROUP_ID, c.SOURCE, c.RECORD_ID)
        .dropDuplicates([c.GROUP_ID, c.SOURCE, c.RECORD_ID])  # the distinct-crime rule
    )
    keyed = group_crimes.join(
        crimes.select(c.SOURCE, c.RECORD_ID, c.RECORDED_AT, CCHI, ONS),
        on=[c.SOURCE, c.RECORD_ID],
        how="inner",
    )
    totals = _totals(keyed, c.GROUP_ID, reference_date, recent_years)
    return _complete(groups.select(c.GROUP_ID), totals, c.GROUP_ID)


def unmapped_codes(crimes: DataFrame) -> DataFrame:
    """The offence codes of crimes that at least one index does not map, with crime counts.

    Parameters
    ----------
    crimes
        :func:`crime_harm` or :func:`harm_crimes`.

    Returns
    -------
    DataFrame
        ``code`` (the canonical code; the code as written, trimmed, when it is not a code;
        an empty string when the crime has none), ``recognised`` (the code is a code),
        ``cchi_mapped``, ``ons_mapped``, ``crimes`` (long); ordered by crimes descending, then
        code.
    """
    _require(crimes, "crimes", HARM_CRIME_COLUMNS)
    shown = F.coalesce(F.col(CODE_NORMALISED), F.trim(F.coalesce(F.col(c.OFFENCE_CODE), F.lit(""))))
    return (
        crimes.where(F.col(CCHI).isNull() | F.col(ONS).isNull())
        .groupBy(
            shown.alias(CODE),
            F.col(CODE_NORMALISED).isNotNull().alias(RECOGNISED),
            F.col(CCHI).isNotNull().alias(CCHI_MAPPED),
            F.col(ONS).isNotNull().alias(ONS_MAPPED),
        )
        .agg(F.count(F.lit(1)).alias(N_CRIMES))
        .select(CODE, RECOGNISED, CCHI_MAPPED, ONS_MAPPED, N_CRIMES)
        .orderBy(F.col(N_CRIMES).desc(), F.col(CODE).asc(), F.col(RECOGNISED).asc())
    )
