"""Record batches of one chunk, and how dates, ids and rows are spelled in the files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np

from clnet_spark import columns as c

RECORD_PREFIX: Final = {c.CRIMES: "CR", c.IMS: "IM", c.ICIS: "IC", c.PINS: "PN", c.COMPACT: "CP"}
HEADERS: Final = {
    c.CRIMES: (c.RECORD_ID, c.RECORDED_AT, c.OFFENCE_CODE, c.AREA, c.TEXT),
    c.IMS: (c.RECORD_ID, c.RECORDED_AT, c.AREA, c.TEXT),
    c.ICIS: (c.RECORD_ID, c.RECORDED_AT, c.OFFENCE_CODE, c.AREA, c.TEXT),
    c.PINS: (c.RECORD_ID, c.RECORDED_AT, c.AREA, c.TEXT),
    c.COMPACT: (c.RECORD_ID, c.RECORDED_AT, c.ENDED_AT, c.AREA, c.FOUND_AREA, c.TEXT),
    "record_nominals": (c.SOURCE, c.RECORD_ID, c.NOMINAL_ID, c.ROLE),
    "nominals": (
        c.NOMINAL_ID,
        c.BIRTH_DATE,
        c.SEX,
        c.HOME_AREA,
        c.LOOKED_AFTER_CHILD,
        c.VULNERABLE_ADULT,
        "name",
        "address",
    ),
    "relationships": (c.NOMINAL_A, c.NOMINAL_B, c.RELATIONSHIP_TYPE, c.SOURCE, c.RECORDED_AT),
    "soc_groups": (c.NOMINAL_ID, c.SOC_GROUP_ID),
}
"""The input contract's header of every table, in file order."""

STYLE_ISO, STYLE_UK, STYLE_TIMESTAMP, STYLE_UK_TIME, STYLE_YEAR, STYLE_EMPTY = range(6)
_RECORD_STYLE_P: Final = (0.78, 0.11, 0.08, 0.03)
UNPARSEABLE_DATES: Final = ("31/02/2019", "not known", "2019-13-05", "00/00/0000", "TBC")


@dataclass
class RecordBatch:
    """Records of one source built in one chunk, before shuffling and numbering.

    ``links`` rows are ``(record position in the batch, nominal index, role)``.
    """

    source: str
    texts: list[str] = field(default_factory=list)
    days: list[np.datetime64] = field(default_factory=list)
    areas: list[str] = field(default_factory=list)
    offences: list[str] = field(default_factory=list)
    ended: list[np.datetime64 | None] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    links: list[tuple[int, int, str]] = field(default_factory=list)

    def add(
        self,
        text: str,
        day: np.datetime64,
        area: str,
        offence: str = "",
        ended: np.datetime64 | None = None,
        found: str = "",
    ) -> int:
        self.texts.append(text)
        self.days.append(day)
        self.areas.append(area)
        self.offences.append(offence)
        self.ended.append(ended)
        self.found.append(found)
        return len(self.texts) - 1

    def link(self, record: int, nominal: int, role: str) -> None:
        self.links.append((record, nominal, role))

    def __len__(self) -> int:
        return len(self.texts)


def record_styles(rng: np.random.Generator, n: int) -> np.ndarray:
    """How each of ``n`` record dates is written (ISO mostly, UK, timestamps)."""
    return rng.choice(4, size=n, p=_RECORD_STYLE_P)


def spell_dates(days: np.ndarray, styles: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Dates in their styles; timestamps get a time of day from ``rng``."""
    iso = np.datetime_as_string(days.astype("datetime64[D]"), unit="D")
    minutes = rng.integers(0, 24 * 60, size=len(iso))
    out: list[str] = []
    for s, style, m in zip(iso.tolist(), styles.tolist(), minutes.tolist(), strict=True):
        if style == STYLE_ISO:
            out.append(s)
        elif style == STYLE_UK:
            out.append(f"{s[8:10]}/{s[5:7]}/{s[:4]}")
        elif style == STYLE_TIMESTAMP:
            out.append(f"{s}T{m // 60:02d}:{m % 60:02d}:00")
        elif style == STYLE_UK_TIME:
            out.append(f"{s[8:10]}/{s[5:7]}/{s[:4]} {m // 60:02d}:{m % 60:02d}")
        elif style == STYLE_YEAR:
            out.append(s[:4])
        else:
            out.append("")
    return out


def id_width(expected_rows: float, minimum: int) -> int:
    """Digits of zero-padded ids, with room for twice the expected rows.

    The top tenth of the id space is kept for dangling ids (:func:`dangling_numbers`).
    """
    return max(minimum, len(str(int(expected_rows * 2) + 1)))


def format_ids(prefix: str, numbers: np.ndarray, width: int) -> list[str]:
    return [f"{prefix}{n:0{width}d}" for n in numbers.tolist()]


def dangling_numbers(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """Numbers from the top tenth of the id space, which no real row reaches."""
    top = 10**width
    return rng.integers(top - top // 10, top, size=n)
