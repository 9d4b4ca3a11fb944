"""The input contract: which files clnet reads and which columns each must have.

A folder holds one file per table, ``<table>.csv`` (UTF-8 unless ``ingest.encoding`` names
another, header row, RFC 4180 quoting, embedded newlines allowed) or ``<table>.parquet`` (a
file or a folder of parts). Column names are matched case-insensitively after trimming.
Columns beyond the contract are restricted: never exported, never logged (kept in a
``restricted`` map; for nominals, in the ``nominal_identity`` table). See docs/ingest.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from clnet_spark import columns as c


@dataclass(frozen=True)
class TableContract:
    """What one input table must and may contain."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    must_exist: bool = False

    @property
    def known(self) -> tuple[str, ...]:
        return self.required + self.optional


_CHANGE_COLUMNS: Final = (c.UPDATED_AT, c.IS_DELETED)

RECORD_TABLES: Final = {
    c.CRIMES: TableContract(
        c.CRIMES, (c.RECORD_ID, c.RECORDED_AT, c.OFFENCE_CODE, c.AREA, c.TEXT), _CHANGE_COLUMNS
    ),
    c.IMS: TableContract(c.IMS, (c.RECORD_ID, c.RECORDED_AT, c.AREA, c.TEXT), _CHANGE_COLUMNS),
    c.ICIS: TableContract(
        c.ICIS, (c.RECORD_ID, c.RECORDED_AT, c.OFFENCE_CODE, c.AREA, c.TEXT), _CHANGE_COLUMNS
    ),
    c.PINS: TableContract(c.PINS, (c.RECORD_ID, c.RECORDED_AT, c.AREA, c.TEXT), _CHANGE_COLUMNS),
    c.COMPACT: TableContract(
        c.COMPACT,
        (c.RECORD_ID, c.RECORDED_AT, c.ENDED_AT, c.AREA, c.FOUND_AREA, c.TEXT),
        _CHANGE_COLUMNS,
    ),
}

RECORD_NOMINALS: Final = TableContract(
    "record_nominals", (c.SOURCE, c.RECORD_ID, c.NOMINAL_ID, c.ROLE), _CHANGE_COLUMNS, True
)
NOMINALS: Final = TableContract(
    "nominals",
    (c.NOMINAL_ID, c.BIRTH_DATE, c.SEX, c.HOME_AREA, c.LOOKED_AFTER_CHILD),
    (c.VULNERABLE_ADULT, *_CHANGE_COLUMNS),
    True,
)
RELATIONSHIPS: Final = TableContract(
    "relationships",
    (c.NOMINAL_A, c.NOMINAL_B, c.RELATIONSHIP_TYPE, c.SOURCE, c.RECORDED_AT),
    _CHANGE_COLUMNS,
)
SOC_GROUPS: Final = TableContract("soc_groups", (c.NOMINAL_ID, c.SOC_GROUP_ID))

INPUT_ISSUE: Final = "_input_issue"
"""Working column added by ``io.read_input``: why a row is unusable as read, else null."""

ALL_TABLES: Final = (*RECORD_TABLES.values(), RECORD_NOMINALS, NOMINALS, RELATIONSHIPS, SOC_GROUPS)

ROLES: Final = (
    "suspect",
    "offender",
    "charged",
    "arrested",
    "subject",
    "associate",
    "victim",
    "missing person",
    "witness",
    "reporting person",
    "other",
)
"""Roles of the canonical model; any other role counts as ``other``."""

DATE_FORMATS: Final = (
    "yyyy-MM-dd'T'HH:mm:ss[.SSS][XXX][X]",
    "yyyy-MM-dd HH:mm:ss[.SSS]",
    "yyyy-M-d",
    "d/M/yyyy HH:mm[:ss]",
    "d/M/yyyy",
)
"""Accepted date spellings: ISO dates and timestamps, and UK day/month/year dates."""

TRUE_WORDS: Final = ("true", "t", "yes", "y", "1")
FALSE_WORDS: Final = ("false", "f", "no", "n", "0")
