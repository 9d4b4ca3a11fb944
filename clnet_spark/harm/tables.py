"""Loaders for the harm indices: a force's own edition, in a simple format or a public layout.

Two indices are scored (METHOD section 6): the Cambridge Crime Harm Index (CCHI; days of
imprisonment at the sentencing starting point for a first offender) and the ONS Crime Severity
Score (CSS; an offence weight, roughly sentence-equivalent days). A force supplies its own
edition of each as a CSV file, in one of three layouts:

``simple`` (the documented clnet format, ``docs/harm.md``)
    ``offence_code, harm`` and optionally ``description``, ``source``; any other column is
    ignored. One code per row, in any notation :mod:`clnet_spark.harm.codes` reads; a code may
    appear on several rows.
``cchi_2020``
    The CCHI 2020 values sheet written out as CSV, one row per offence: ``cchi_score_days``
    with two codes per row, ``classification_code`` (recorded-crime code, ``8N``; ``NN`` for
    non-notifiable) and ``home_office_classification`` (``008/01``). Each row scores both.
``ons_css``
    The CSS data tool's list of weights: ``css_offence_code`` (compound cells such as
    ``1, 4.1/2/10`` are expanded) and ``css_weight``.

``auto`` picks ``cchi_2020`` when the header has ``cchi_score_days``, ``ons_css`` when it has
``css_weight``, and ``simple`` otherwise. Column names are matched case-insensitively.

Every code is normalised (:func:`~clnet_spark.harm.codes.normalise_code`); where one canonical
code carries several values, the lowest applies (the CCHI's own convention, applied to both
indices). Values are kept as exact decimals with 9 places (half to even).
"""

from __future__ import annotations

import csv
import logging
import re
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Final, Literal

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import DecimalType, StringType, StructField, StructType

from clnet_spark.config import HarmConfig, Layout
from clnet_spark.errors import ClnetError
from clnet_spark.harm.codes import expand_code_list, normalise_code

log = logging.getLogger(__name__)

Index = Literal["cchi", "ons"]

CODE_NORMALISED: Final = "code_normalised"
CCHI: Final = "cchi"
ONS: Final = "ons"

HARM_TYPE: Final = DecimalType(18, 9)
"""One crime's harm value: exact, 9 places, below one thousand million."""

_PLACES: Final = Decimal("0.000000001")
_LIMIT: Final = Decimal(10) ** 9
_NUMBER: Final = re.compile(r"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")


class HarmTableError(ClnetError):
    """A harm table file is missing, has the wrong columns or a value that is not a number."""


@dataclass(frozen=True)
class HarmEntry:
    """The value of one canonical code: the lowest over the ``rows`` that carry it."""

    code: str
    value: Decimal
    rows: int
    distinct_values: int
    description: str


@dataclass(frozen=True)
class HarmTable:
    """One harm index as loaded: canonical code -> lowest value."""

    index: Index
    path: Path
    layout: str
    entries: dict[str, HarmEntry]
    rows: int
    """Data rows read from the file."""
    not_codes: dict[str, int]
    """Public layouts only: cell values that are not offence codes (``NN``, ``NFIB``) -> rows."""

    @property
    def several_values(self) -> tuple[str, ...]:
        """Codes that carry more than one distinct value (the lowest applies), sorted."""
        return tuple(sorted(e.code for e in self.entries.values() if e.distinct_values > 1))

    def value(self, raw_code: str) -> Decimal | None:
        """The value of a code in any notation, or None when the table does not map it."""
        code = normalise_code(raw_code)
        entry = self.entries.get(code) if code is not None else None
        return entry.value if entry is not None else None

    def to_frame(self, spark: SparkSession) -> DataFrame:
        """The table as a small DataFrame to broadcast.

        Output columns: ``code_normalised`` (string, unique), and ``cchi`` or ``ons`` (after
        :attr:`index`; ``DECIMAL(18,9)``).
        """
        schema = StructType(
            [
                StructField(CODE_NORMALISED, StringType(), nullable=False),
                StructField(self.index, HARM_TYPE, nullable=False),
            ]
        )
        rows = [(e.code, e.value) for e in sorted(self.entries.values(), key=lambda e: e.code)]
        return spark.createDataFrame(rows, schema)


_REQUIRED: Final = {
    "simple": ("offence_code", "harm"),
    "cchi_2020": ("classification_code", "home_office_classification", "cchi_score_days"),
    "ons_css": ("css_offence_code", "css_weight"),
}
_VALUE_COLUMN: Final = {"simple": "harm", "cchi_2020": "cchi_score_days", "ons_css": "css_weight"}
_DESCRIPTION_COLUMN: Final = {
    "simple": "description",
    "cchi_2020": "full_offence_title",
    "ons_css": "css_offence",
}


def _normalise_header(name: str | None) -> str:
    return (name or "").replace("\ufeff", "").strip().lower()


def _detect_layout(header: list[str]) -> str:
    if "cchi_score_days" in header:
        return "cchi_2020"
    if "css_weight" in header:
        return "ons_css"
    return "simple"


def parse_value(text: str | None, *, path: Path, line: int, column: str) -> Decimal:
    """A harm value: a plain non-negative decimal number, rounded to 9 places half to even.

    Raises
    ------
    HarmTableError
        Empty, not a plain number (``1,095``, ``n/a``, ``-3``, ``1e3``), or 10^9 or more; the
        message names the file, the line, the column and the value (not a personal field).
    """
    cell = (text or "").strip()
    where = f"{path}, line {line}, column {column!r}"
    if not cell:
        raise HarmTableError(f"{where}: expected a number of at least 0, found an empty cell")
    if not _NUMBER.match(cell):
        raise HarmTableError(
            f"{where}: expected a plain number of at least 0 (digits and an optional decimal "
            f"point), found {cell!r}"
        )
    value = Decimal(cell).quantize(_PLACES, rounding=ROUND_HALF_EVEN)
    if value >= _LIMIT:
        raise HarmTableError(f"{where}: expected a number below 1000000000, found {cell!r}")
    return value


def _row_codes(
    layout: str, row: dict[str, str], *, path: Path, line: int
) -> tuple[list[str], list[str]]:
    """(canonical codes, cells that are not codes) of one data row."""
    if layout == "simple":
        raw = (row.get("offence_code") or "").strip()
        code = normalise_code(raw)
        if code is None:
            found = f"{raw!r}" if raw else "an empty cell"
            raise HarmTableError(
                f"{path}, line {line}, column 'offence_code': expected a Home Office offence "
                f"code (such as 8N, 92A, 008/01, 4.1), found {found}"
            )
        return [code], []
    cells = (
        [row.get("classification_code") or "", row.get("home_office_classification") or ""]
        if layout == "cchi_2020"
        else [row.get("css_offence_code") or ""]
    )
    codes: list[str] = []
    not_codes: list[str] = []
    for cell in cells:
        for part in expand_code_list(cell):
            code = normalise_code(part)
            if code is None:
                not_codes.append(part)
            elif code not in codes:
                codes.append(code)
    return codes, not_codes


def load_harm_table(path: Path, *, index: Index, layout: Layout = "auto") -> HarmTable:
    """Read and validate one harm index file.

    Parameters
    ----------
    path
        A UTF-8 CSV file with a header row.
    index
        ``"cchi"`` or ``"ons"``: the column name the values take in the Spark tables.
    layout
        ``simple``, ``cchi_2020``, ``ons_css``, or ``auto`` (from the header; module docs).

    Returns
    -------
    HarmTable
        Every canonical code with the lowest of its values.

    Raises
    ------
    HarmTableError
        The file does not exist or cannot be decoded; a required column of the layout is
        missing (the message lists the missing and the present columns); a column appears
        twice; the file has no data row; a value is not a number or (``simple`` layout) a code
        is not a code: the message names the file, line and column.
    """
    path = Path(path)
    if not path.is_file():
        raise HarmTableError(f"harm table {path} ({index}) does not exist")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [_normalise_header(name) for name in next(reader, [])]
            chosen = _detect_layout(header) if layout == "auto" else layout
            _check_header(path, chosen, header)
            per_code: dict[str, list[tuple[Decimal, str]]] = {}
            not_codes: Counter[str] = Counter()
            rows = 0
            value_column = _VALUE_COLUMN[chosen]
            description_column = _DESCRIPTION_COLUMN[chosen]
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                rows += 1
                row = dict(zip(header, cells, strict=False))
                line = reader.line_num
                value = parse_value(
                    row.get(value_column), path=path, line=line, column=value_column
                )
                codes, skipped = _row_codes(chosen, row, path=path, line=line)
                not_codes.update(skipped)
                description = (row.get(description_column) or "").strip()
                for code in codes:
                    per_code.setdefault(code, []).append((value, description))
    except UnicodeDecodeError as exc:
        raise HarmTableError(f"harm table {path} is not UTF-8 text: {exc}") from exc
    if rows == 0:
        raise HarmTableError(f"harm table {path} ({index}) has a header but no data rows")
    entries = {
        code: HarmEntry(
            code=code,
            value=min(v for v, _ in values),
            rows=len(values),
            distinct_values=len({v for v, _ in values}),
            description=min(values, key=lambda item: item[0])[1],
        )
        for code, values in sorted(per_code.items())
    }
    table = HarmTable(index, path, chosen, entries, rows, dict(sorted(not_codes.items())))
    log.info(
        "harm table %s: %s layout, %d rows, %d codes (%d with several values, lowest taken)",
        path,
        chosen,
        rows,
        len(entries),
        len(table.several_values),
    )
    if not_codes:
        log.debug("harm table %s: cells that are not offence codes: %s", path, table.not_codes)
    return table


def _check_header(path: Path, layout: str, header: list[str]) -> None:
    if not header:
        raise HarmTableError(f"harm table {path} is empty: expected a header row")
    duplicated = sorted({name for name in header if header.count(name) > 1 and name})
    if duplicated:
        raise HarmTableError(f"harm table {path}: columns appear more than once: {duplicated}")
    missing = [name for name in _REQUIRED[layout] if name not in header]
    if missing:
        raise HarmTableError(
            f"harm table {path} ({layout} layout): missing required columns {missing}; "
            f"columns present: {sorted(name for name in header if name)}"
        )


def resolve_table_path(path: Path, base_dir: Path) -> Path:
    """``path`` as given when absolute, else relative to the configuration directory."""
    return path if path.is_absolute() else base_dir / path


def load_harm_tables(config: HarmConfig, base_dir: Path) -> tuple[HarmTable, HarmTable]:
    """The CCHI and ONS tables named by the ``harm`` settings."""
    cchi = load_harm_table(
        resolve_table_path(config.cchi_table, base_dir), index=CCHI, layout=config.cchi_layout
    )
    ons = load_harm_table(
        resolve_table_path(config.ons_table, base_dir), index=ONS, layout=config.ons_layout
    )
    return cchi, ons
