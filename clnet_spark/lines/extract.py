"""Deal lines in free text: UK mobile numbers and line names, with Spark's own regex functions.

A deal line is the phone a county line sells through; intelligence names it by its number
("07123 456789") or by its brand ("the Tony line", "DL Tony"). Every written form is
normalised to one line id:

- a number: ``0`` and its last ten digits, e.g. ``+44 (0)7123-456-789`` -> ``07123456789``;
- a name: ``NAME:`` and the name in upper case without quotes, e.g. ``'Tony' line`` ->
  ``NAME:TONY``.

Numbers
    ``07`` or ``+44 7`` / ``0044 7`` / ``+44 (0)7`` followed by nine more digits, with at
    most one space, dot or dash between any two digits, and an optional pair of brackets
    around the first five digits (``(07123) 456789``). A number that is part of a longer
    digit run (a digit, or a digit and one separator, directly before or after it) is not a
    phone number: ``107123456789`` and ``07123-456789-1`` give nothing.
Names
    A word starting with a capital letter (any script), optionally in quotes, directly
    before ``line`` or ``deal line`` ("Tony line", "the 'Tony' line", "TONY DEAL LINE"), or
    directly after ``DL`` or ``deal line`` ("DL Tony", "deal line Tony"). ``line`` and
    ``deal line`` match in any case, ``DL`` only in capitals; the name must start with a
    capital letter, so "the phone line" and "a new line" are not names, and a stop list of
    ordinary words (:data:`NOT_NAMES`: county, drugs, phone, the, her, ...) keeps upper-case
    texts ("THE PHONE LINE WAS DOWN") and compounds ("the Drugs Line", "line manager") out.

Offsets count Unicode code points (as the search stage's do): the string lengths of the
pieces ``split`` leaves between the matches of the same pattern. Everything runs as Spark
expressions (``rlike``, ``regexp_extract_all``, ``split`` and higher-order array functions);
no Python code touches a record.
"""

from __future__ import annotations

import logging
from typing import Final

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from clnet_spark import columns as c

log = logging.getLogger(__name__)

NUMBER: Final = "number"
NAME: Final = "name"
NAME_PREFIX: Final = "NAME:"

_SEP: Final = r"[ .\-]"
PHONE_PATTERN: Final = (
    r"(?<![0-9+])(?<![0-9][ .\-])"
    r"(?:(?:\+|00)44" + _SEP + r"?(?:\(0\)" + _SEP + r"?)?|\(?0)"
    r"7(?:" + _SEP + r"?[0-9]){3}\)?(?:" + _SEP + r"?[0-9]){6}"
    r"(?!" + _SEP + r"?[0-9])"
)
"""A UK mobile number in any of the written forms of the module docstring."""

_NOT_NAMES_TEXT: Final = (
    # words that make ordinary compounds with "line"
    "county drugs drug deal dealing phone telephone mobile land landline help hot chat party "
    "dating front back bottom top side end finish picket main branch train rail railway tram "
    "bus tube metro coach washing clothes power fishing straight white yellow red blue green "
    "dotted state border family blood time dead fine hard punch story assembly production "
    "firing police cordon tape supply business work enquiry inquiry new old same own whole "
    "other first second third next last only central district circle northern victoria "
    "jubilee piccadilly bakerloo metropolitan elizabeth cross city "
    # function words, pronouns and verbs that stand before or after a line in capitals
    "a an the this that these those his her hers their our my your its one any each every "
    "another some no not on in of to for by at from with into onto and or but as is was are "
    "were be been being has have had it he she they we you also then who which what known "
    "called named run runs running ran operating operates supplying supplies using used "
    "holding holds held selling sells sold well check checked number holder photo revoked "
    "suspended provisional full"
)
NOT_NAMES: Final = tuple(_NOT_NAMES_TEXT.split())
"""Words never taken for a line's name (compared case-insensitively)."""

_WORD_END: Final = r"(?![\p{L}\p{Nd}_])"
_STOP: Final = r"(?!(?i:" + "|".join(NOT_NAMES) + r")" + _WORD_END + r")"
_NAME_WORD: Final = r"['\"\u2018\u201c]?" + _STOP + r"(\p{Lu}[\p{L}\p{Nd}]*)['\"\u2019\u201d]?"
_LINE_WORD: Final = r"(?i:line)" + _WORD_END + r"(?!\s+(?i:managers?|of)" + _WORD_END + r")"
NAME_PATTERN: Final = (
    r"(?<![\p{L}\p{Nd}_'\"\u2018\u201c])(?:"
    + _NAME_WORD
    + r"\s+(?:(?i:deal)\s+)?"
    + _LINE_WORD
    + r"|(?:DL|(?i:deal\s+line))\s+"
    + _NAME_WORD
    + _WORD_END
    + r")"
)
"""A line name: "NAME line", "NAME deal line", "DL NAME", "deal line NAME" (module docstring).

Group 1 holds the name of the first two forms, group 2 that of the last two.
"""

PHONE_HINT: Final = r"7(?:" + _SEP + r"?[0-9]){3}\)?(?:" + _SEP + r"?[0-9]){6}"
"""The part of :data:`PHONE_PATTERN` every number has (its ``7`` and nine digits), without
the look-arounds that make the full pattern slow to try at every position: a cheap first
test, true for every text the full pattern matches."""


def may_mention_a_line(text: Column) -> Column:
    """A cheap test, true for every text holding a number or a name (and for some others):
    the digits of :data:`PHONE_HINT`, ``line`` in any case, or ``DL``.

    Every :data:`NAME_PATTERN` match holds ``line`` (ASCII case-insensitive, so still
    ``line`` after ``lower``) or ``DL``; every :data:`PHONE_PATTERN` match holds a
    :data:`PHONE_HINT` match.
    """
    return (F.instr(F.lower(text), "line") > 0) | (F.instr(text, "DL") > 0) | text.rlike(PHONE_HINT)


OFFSET_TYPE: Final = "int"
_MENTIONS: Final = "_mentions"


def _mention_offsets(text: Column, pattern: str) -> Column:
    """``array<struct<mention, offset>>``: every match of ``pattern`` in ``text``, in order.

    The offset of match ``i`` is the total length of the ``i + 1`` pieces before it plus the
    ``i`` matches before it (``split`` and ``regexp_extract_all`` find the same matches).
    """
    found = F.regexp_extract_all(text, F.lit(pattern), 0)
    pieces = F.split(text, pattern)

    def total(values: Column) -> Column:
        return F.aggregate(values, F.lit(0), lambda acc, value: acc + F.length(value))

    offsets = F.transform(
        found,
        lambda _mention, i: total(F.slice(pieces, 1, i + 1)) + total(F.slice(found, 1, i)),
    )
    return F.arrays_zip(found.alias("mention"), offsets.alias(c.OFFSET))


def normalise_number(mention: Column) -> Column:
    """``0`` and the last ten digits of a matched number: ``07123456789``."""
    digits = F.regexp_replace(mention, "[^0-9]", "")
    return F.concat(F.lit("0"), F.substring(digits, -10, 10))


def normalise_name(mention: Column) -> Column:
    """``NAME:`` and the upper-cased name of a matched line name: ``NAME:TONY``."""
    first = F.regexp_extract(mention, NAME_PATTERN, 1)
    second = F.regexp_extract(mention, NAME_PATTERN, 2)
    name = F.when(first != "", first).otherwise(second)
    return F.concat(F.lit(NAME_PREFIX), F.upper(name))


def extract_record_lines(records: DataFrame) -> DataFrame:
    """Deal lines mentioned in every record's text.

    Parameters
    ----------
    records
        Columns ``source``, ``record_id``, ``text`` (null texts mention nothing).

    Returns
    -------
    DataFrame
        One row per (record, line): ``source``, ``record_id``, ``line_id`` (normalised),
        ``kind`` (``number`` or ``name``), ``offset`` (0-based code-point position of the
        line's first mention in the text, whichever written form it took).
    """
    text = F.col(c.TEXT)
    candidates = records.where(may_mention_a_line(text)).where(
        text.rlike(PHONE_PATTERN) | text.rlike(NAME_PATTERN)
    )
    mentions = candidates.select(
        c.SOURCE,
        c.RECORD_ID,
        F.concat(
            F.transform(
                _mention_offsets(text, PHONE_PATTERN),
                lambda m: F.struct(
                    normalise_number(m["mention"]).alias(c.LINE_ID),
                    F.lit(NUMBER).alias(c.LINE_KIND),
                    m[c.OFFSET].alias(c.OFFSET),
                ),
            ),
            F.transform(
                _mention_offsets(text, NAME_PATTERN),
                lambda m: F.struct(
                    normalise_name(m["mention"]).alias(c.LINE_ID),
                    F.lit(NAME).alias(c.LINE_KIND),
                    m[c.OFFSET].alias(c.OFFSET),
                ),
            ),
        ).alias(_MENTIONS),
    )
    return (
        mentions.select(c.SOURCE, c.RECORD_ID, F.explode(_MENTIONS).alias("_m"))
        .groupBy(c.SOURCE, c.RECORD_ID, F.col("_m")[c.LINE_ID].alias(c.LINE_ID))
        .agg(
            F.first(F.col("_m")[c.LINE_KIND]).alias(c.LINE_KIND),
            F.min(F.col("_m")[c.OFFSET]).cast(OFFSET_TYPE).alias(c.OFFSET),
        )
        .select(c.SOURCE, c.RECORD_ID, c.LINE_ID, c.LINE_KIND, c.OFFSET)
    )


def active_lines(record_lines: DataFrame, record_matches: DataFrame) -> DataFrame:
    """Lines mentioned on at least one identified record (``w(r) > 0``): column ``line_id``."""
    identified = record_matches.where(F.col(c.RECORD_WEIGHT) > 0).select(c.SOURCE, c.RECORD_ID)
    return (
        record_lines.join(identified, on=[c.SOURCE, c.RECORD_ID], how="left_semi")
        .select(c.LINE_ID)
        .dropDuplicates()  # one row per line, however many identified records mention it
    )


def line_table(record_lines: DataFrame, records: DataFrame, record_matches: DataFrame) -> DataFrame:
    """One row per line: how often and when it was mentioned, and whether it is active.

    Input columns: ``record_lines`` as :func:`extract_record_lines` returns;
    ``records``: source, record_id, recorded_at; ``record_matches``: source, record_id,
    record_weight. Output columns: line_id, kind, first_seen, last_seen (``recorded_at`` of
    the first and last record mentioning it), records (records mentioning it), active.
    """
    dated = record_lines.join(
        records.select(c.SOURCE, c.RECORD_ID, c.RECORDED_AT),
        on=[c.SOURCE, c.RECORD_ID],
        how="left",
    )
    active = active_lines(record_lines, record_matches).withColumn("_active", F.lit(True))
    return (
        dated.groupBy(c.LINE_ID)
        .agg(
            F.first(c.LINE_KIND).alias(c.LINE_KIND),
            F.min(c.RECORDED_AT).alias(c.FIRST_SEEN),
            F.max(c.RECORDED_AT).alias(c.LAST_SEEN),
            F.count(F.lit(1)).alias(c.RECORDS),
        )
        .join(active, on=c.LINE_ID, how="left")
        .select(
            c.LINE_ID,
            c.LINE_KIND,
            c.FIRST_SEEN,
            c.LAST_SEEN,
            c.RECORDS,
            F.coalesce(F.col("_active"), F.lit(False)).alias(c.ACTIVE),
        )
    )


def group_line_table(
    memberships: DataFrame, record_nominals: DataFrame, record_lines: DataFrame
) -> DataFrame:
    """The lines each group's members' records mention.

    Input columns: ``memberships``: nominal_id, group_id (rows with a null group are left
    out); ``record_nominals``: source, record_id, nominal_id (already restricted to the
    linking roles); ``record_lines``: source, record_id, line_id. Output columns: group_id,
    line_id, records (distinct records of the group's members that mention the line).
    """
    members = memberships.where(F.col(c.GROUP_ID).isNotNull()).select(c.NOMINAL_ID, c.GROUP_ID)
    member_records = (
        record_nominals.select(c.SOURCE, c.RECORD_ID, c.NOMINAL_ID)
        .join(members, on=c.NOMINAL_ID, how="inner")
        .select(c.GROUP_ID, c.SOURCE, c.RECORD_ID)
        .dropDuplicates()  # a record of several members counts once for their group
    )
    return (
        member_records.join(
            record_lines.select(c.SOURCE, c.RECORD_ID, c.LINE_ID),
            on=[c.SOURCE, c.RECORD_ID],
            how="inner",
        )
        .groupBy(c.GROUP_ID, c.LINE_ID)
        .agg(F.count(F.lit(1)).alias(c.RECORDS))
        .select(c.GROUP_ID, c.LINE_ID, c.RECORDS)
    )
