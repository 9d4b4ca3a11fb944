"""Malformed rows of every kind the quarantine handles, planted and counted.

Each planted row has exactly one problem, so the counts in ``ground_truth/malformed.csv`` are
what a correct quarantine finds:

- record tables: ``empty_record_id``, ``unparseable_recorded_at``, ``future_recorded_at``
  (after 2026-12-31), ``duplicate_exact`` (a byte-identical copy of a row) and
  ``duplicate_conflicting`` (a row reusing another row's id with other content). Extra rows
  of the first three kinds have no ``record_nominals`` rows, so nothing cascades; a count of
  duplicates is the number of *extra* rows;
- ``record_nominals``: ``unknown_record`` (an id no row of that source has),
  ``unknown_nominal`` and ``unknown_source`` ("crims", ...);
- ``relationships``: ``unknown_nominal`` and ``self_relationship``;
- ``soc_groups``: ``unknown_nominal``; ``nominals``: ``empty_nominal_id``.

Malformed rows copy their content from background rows only, never from planted ones. The
first chunk plants every kind at least once, so even a tiny corpus exercises each reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from clnet_spark.demo.records import UNPARSEABLE_DATES

Row = list[str]
UNKNOWN_SOURCES = ("crims", "imss", "custody")


def _insert(rng: np.random.Generator, rows: list[Row], extra: list[Row]) -> list[Row]:
    """``rows`` with ``extra`` inserted at random places (order of ``rows`` kept)."""
    if not extra:
        return rows
    out = rows + extra
    keys = np.concatenate([np.arange(len(rows)) * 2.0, rng.random(len(extra)) * 2 * len(rows)])
    return [out[i] for i in np.argsort(keys, kind="stable")]


def _how_many(rng: np.random.Generator, n: int, p: float, minimum: int) -> int:
    return max(minimum, int(rng.binomial(n, p)))


def future_date(rng: np.random.Generator) -> str:
    day = np.datetime64("2027-01-01") + np.timedelta64(int(rng.integers(0, 5 * 365)), "D")
    iso = str(day)
    return iso if rng.random() < 0.7 else f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}"


def record_rows(
    rng: np.random.Generator,
    rows: list[Row],
    donors: np.ndarray,
    fresh_id: Callable[[], str],
    rates: dict[str, float],
    counts: Counter[str],
    minimum: int = 0,
) -> list[Row]:
    """Plant malformed record rows among ``rows`` (column 0 id, column 1 recorded_at, text last).

    ``donors`` index the background rows content is copied from; ``fresh_id`` hands out
    unused record ids. Each reason is planted ``Binomial(len(rows), rate)`` times, and at
    least ``minimum`` times. Returns the rows to write; ``counts`` gains one per planted row.
    """
    if len(donors) == 0:
        return rows
    extra: list[Row] = []
    for reason, p in rates.items():
        for _ in range(_how_many(rng, len(rows), p, minimum)):
            donor = list(rows[int(donors[int(rng.integers(0, len(donors)))])])
            if reason == "empty_record_id":
                donor[0] = ""
            elif reason == "unparseable_recorded_at":
                donor[0] = fresh_id()
                donor[1] = UNPARSEABLE_DATES[int(rng.integers(0, len(UNPARSEABLE_DATES)))]
            elif reason == "future_recorded_at":
                donor[0] = fresh_id()
                donor[1] = future_date(rng)
            elif reason == "duplicate_conflicting":
                texts = (rows[int(d)][-1] for d in rng.choice(donors, size=10))
                other = next((t for t in texts if t != donor[-1]), None)
                if other is None:
                    continue
                donor[-1] = other
            extra.append(donor)
            counts[reason] += 1
    return _insert(rng, rows, extra)


def link_rows(
    rng: np.random.Generator,
    links: list[Row],
    donors: np.ndarray,
    dangling_record_id: Callable[[str], str],
    dangling_nominal_id: Callable[[], str],
    rates: dict[str, float],
    counts: Counter[str],
    minimum: int = 0,
) -> list[Row]:
    """Plant malformed ``record_nominals`` rows, copied from the background links ``donors``."""
    if len(donors) == 0:
        return links
    extra: list[Row] = []
    for reason, p in rates.items():
        for _ in range(_how_many(rng, len(links), p, minimum)):
            source, record_id, nominal, role = links[int(donors[int(rng.integers(0, len(donors)))])]
            if reason == "unknown_record":
                record_id = dangling_record_id(source)
            elif reason == "unknown_nominal":
                nominal = dangling_nominal_id()
            else:
                source = UNKNOWN_SOURCES[int(rng.integers(0, len(UNKNOWN_SOURCES)))]
            extra.append([source, record_id, nominal, role])
            counts[reason] += 1
    return _insert(rng, links, extra)


def relationship_rows(
    rng: np.random.Generator,
    rels: list[Row],
    donors: np.ndarray,
    dangling_nominal_id: Callable[[], str],
    rates: dict[str, float],
    counts: Counter[str],
    minimum: int = 0,
) -> list[Row]:
    """Plant malformed relationships, copied from the background relationships ``donors``."""
    if len(donors) == 0:
        return rels
    extra: list[Row] = []
    for reason, p in rates.items():
        for _ in range(_how_many(rng, len(rels), p, minimum)):
            row = list(rels[int(donors[int(rng.integers(0, len(donors)))])])
            if reason == "unknown_nominal":
                row[int(rng.integers(0, 2))] = dangling_nominal_id()
            else:
                row[1] = row[0]
            extra.append(row)
            counts[reason] += 1
    return _insert(rng, rels, extra)


def empty_id_rows(
    rng: np.random.Generator,
    rows: list[Row],
    donors: np.ndarray,
    p: float,
    counts: Counter[str],
    minimum: int = 0,
) -> list[Row]:
    """Extra ``nominals`` rows with an empty ``nominal_id``, attributes copied from ``donors``."""
    extra = []
    for _ in range(_how_many(rng, len(rows), p, minimum) if len(donors) else 0):
        row = list(rows[int(donors[int(rng.integers(0, len(donors)))])])
        row[0] = ""
        extra.append(row)
        counts["empty_nominal_id"] += 1
    return _insert(rng, rows, extra)
