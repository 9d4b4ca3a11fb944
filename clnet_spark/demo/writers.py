"""Writing one chunk's rows: ids, spelled dates, malformed rows, and the open CSV files.

Every table of a chunk draws from its own generator seeded from ``(seed, table, chunk)``
(:meth:`CorpusRun.rng`), so a chunk's rows do not depend on how other chunks were drawn.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, TextIO

import numpy as np

from clnet_spark import columns as c
from clnet_spark.demo import malformed as mf
from clnet_spark.demo import population as pop
from clnet_spark.demo.knobs import DemoKnobs
from clnet_spark.demo.planted import Planted
from clnet_spark.demo.records import (
    HEADERS,
    RECORD_PREFIX,
    STYLE_EMPTY,
    STYLE_ISO,
    STYLE_UK,
    STYLE_YEAR,
    RecordBatch,
    dangling_numbers,
    format_ids,
    record_styles,
    spell_dates,
)

TABLE_STREAMS: Final = {
    "nominals": 1,
    "people": 2,
    c.CRIMES: 3,
    c.IMS: 4,
    c.ICIS: 5,
    c.PINS: 6,
    c.COMPACT: 7,
    "record_nominals": 8,
    "relationships": 9,
    "soc_groups": 10,
}
SEX_CODES: Final = ("F", "M", "U")

if TYPE_CHECKING:
    from _csv import Writer


class Tables:
    """The open CSV files of the corpus, with row counts."""

    def __init__(self, out: Path, stack: ExitStack) -> None:
        self.writers: dict[str, Writer] = {}
        self.rows: Counter[str] = Counter()
        for table, header in HEADERS.items():
            handle: TextIO = stack.enter_context(
                (out / f"{table}.csv").open("w", encoding="utf-8", newline="")
            )
            writer = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
            writer.writerow(header)
            self.writers[table] = writer

    def write(self, table: str, rows: Iterable[list[str]]) -> None:
        rows = list(rows)
        self.writers[table].writerows(rows)
        self.rows[f"{table}.csv"] += len(rows)


@dataclass
class CorpusRun:
    """State of one corpus run shared by its chunks."""

    seed: int
    n_total: int
    planted: Planted
    knobs: DemoKnobs
    tables: Tables
    nominal_width: int
    record_widths: dict[str, int]
    next_number: Counter[str] = field(default_factory=Counter)
    malformed: dict[str, Counter[str]] = field(default_factory=dict)
    traps: Counter[str] = field(default_factory=Counter)
    oddities: Counter[str] = field(default_factory=Counter)
    cl_stats: Counter[str] = field(default_factory=Counter)
    unlisted_roles: int = 0

    def rng(self, table: str, chunk: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, TABLE_STREAMS[table], chunk])

    def nid(self, idx: Iterable[int]) -> list[str]:
        """Nominal ids of person indices (index 0 is ``N...001``)."""
        return format_ids("N", np.fromiter(idx, dtype=np.int64) + 1, self.nominal_width)

    def counts(self, table: str) -> Counter[str]:
        return self.malformed.setdefault(table, Counter())


def write_nominals(run: CorpusRun, chunk: int, idx: np.ndarray, is_member: np.ndarray) -> None:
    """Write the ``nominals`` rows of people ``idx``; planted members take planted values."""
    rng = run.rng("nominals", chunk)
    members = run.planted.members
    _, pos = members.lookup(idx)
    p = pop.people(run.seed, idx, run.n_total, run.knobs)
    birth = np.where(is_member, members.birth[pos], p.birth)
    sex = np.where(is_member, members.sex[pos], p.sex)
    home = np.where(is_member, members.home_area[pos], p.home_area)
    lac = np.where(is_member, members.looked_after[pos], p.looked_after)
    va = np.where(is_member, members.vulnerable[pos], p.vulnerable)
    u = pop.hash_uniform(run.seed, idx, 60)
    iso_cut = np.where(is_member, 0.78, 0.75)
    uk_cut = np.where(is_member, 0.93, 0.88)
    year_cut = np.where(is_member, 0.98, 0.93)
    styles = np.select(
        [u < iso_cut, u < uk_cut, u < year_cut], [STYLE_ISO, STYLE_UK, STYLE_YEAR], STYLE_EMPTY
    )
    births = spell_dates(birth, styles, rng)
    empty_home = pop.hash_uniform(run.seed, idx, 61) < 0.005
    names = pop.names(run.seed, idx, run.n_total)
    addresses = pop.addresses(run.seed, idx, run.n_total, home)
    rows = [
        [
            nid,
            b,
            SEX_CODES[s],
            "" if e else pop.AREA_NAMES[h],
            "true" if la else "false",
            {1: "true", 0: "false", -1: ""}[vv],
            name,
            address,
        ]
        for nid, b, s, h, e, la, vv, name, address in zip(
            run.nid(idx),
            births,
            sex.tolist(),
            home.tolist(),
            empty_home.tolist(),
            lac.tolist(),
            va.tolist(),
            names,
            addresses,
            strict=True,
        )
    ]
    donors = np.flatnonzero(~is_member)
    rows = mf.empty_id_rows(
        rng,
        rows,
        donors,
        run.knobs.malformed_nominal_empty_id,
        run.counts("nominals"),
        minimum=_first(chunk),
    )
    run.tables.write("nominals", rows)


def _first(chunk: int) -> int:
    """The first chunk plants every malformed kind at least once, whatever the scale."""
    return 1 if chunk == 0 else 0


def _record_rates(k: DemoKnobs) -> dict[str, float]:
    return {
        "empty_record_id": k.malformed_empty_record_id,
        "unparseable_recorded_at": k.malformed_unparseable_date,
        "future_recorded_at": k.malformed_future_date,
        "duplicate_exact": k.malformed_duplicate_exact,
        "duplicate_conflicting": k.malformed_duplicate_conflicting,
    }


def write_records(
    run: CorpusRun, chunk: int, batches: dict[str, RecordBatch], n_background: dict[str, int]
) -> None:
    """Number, shuffle and write the chunk's records and their ``record_nominals`` rows.

    The first ``n_background[source]`` records of each batch are background records: only
    they (and their links) serve as donors for malformed rows.
    """
    links: list[list[str]] = []
    background_links: list[int] = []
    members = run.planted.members
    for source in c.SOURCES:
        batch = batches[source]
        rng = run.rng(source, chunk)
        n = len(batch)
        order = rng.permutation(n)
        width = run.record_widths[source]
        numbers = run.next_number[source] + 1 + np.arange(n)
        run.next_number[source] += n
        ids = np.empty(n, dtype=object)
        ids[order] = format_ids(RECORD_PREFIX[source], numbers, width)
        days = np.array(batch.days, dtype="datetime64[D]")
        styles = record_styles(rng, n)
        recorded = spell_dates(days, styles, rng)
        ended_days = np.array(
            [d if d is not None else days[i] for i, d in enumerate(batch.ended)],
            dtype="datetime64[D]",
        )
        ended = spell_dates(ended_days, styles, rng)
        rows: list[list[str]] = []
        for pos in order.tolist():
            row = [ids[pos], recorded[pos]]
            if source in (c.CRIMES, c.ICIS):
                row.append(batch.offences[pos])
            if source == c.COMPACT:
                row += [
                    ended[pos] if batch.ended[pos] is not None else "",
                    batch.areas[pos],
                    batch.found[pos],
                ]
            else:
                row.append(batch.areas[pos])
            row.append(batch.texts[pos])
            rows.append(row)
        donors = np.flatnonzero(order < n_background[source])

        def fresh_id(source: str = source, width: int = width) -> str:
            run.next_number[source] += 1
            number = run.next_number[source]
            return format_ids(RECORD_PREFIX[source], np.array([number]), width)[0]

        rows = mf.record_rows(
            rng,
            rows,
            donors,
            fresh_id,
            _record_rates(run.knobs),
            run.counts(source),
            minimum=_first(chunk),
        )
        run.tables.write(source, rows)
        people = np.array([person for _, person, _ in batch.links], dtype=np.int64)
        planted_person = members.lookup(people)[0].tolist()
        for (pos, _, role), nominal_id, is_planted in zip(
            batch.links, run.nid(people), planted_person, strict=True
        ):
            if pos < n_background[source] and not is_planted:
                background_links.append(len(links))
            run.unlisted_roles += role == "informant"
            links.append([source, ids[pos], nominal_id, role])
    _write_links(run, chunk, links, np.array(background_links, dtype=np.int64))


def _write_links(run: CorpusRun, chunk: int, links: list[list[str]], donors: np.ndarray) -> None:
    rng = run.rng("record_nominals", chunk)
    k = run.knobs

    def dangling_record(source: str) -> str:
        prefix = RECORD_PREFIX.get(source, "CR")
        width = run.record_widths.get(source, 6)
        return format_ids(prefix, dangling_numbers(rng, 1, width), width)[0]

    rates = {
        "unknown_record": k.malformed_link_unknown_record,
        "unknown_nominal": k.malformed_link_unknown_nominal,
        "unknown_source": k.malformed_link_unknown_source,
    }
    rows = mf.link_rows(
        rng,
        links,
        donors,
        dangling_record,
        lambda: _dangling_nominal(run, rng),
        rates,
        run.counts("record_nominals"),
        minimum=_first(chunk),
    )
    run.tables.write("record_nominals", rows)


def _dangling_nominal(run: CorpusRun, rng: np.random.Generator) -> str:
    return format_ids("N", dangling_numbers(rng, 1, run.nominal_width), run.nominal_width)[0]


def write_relationships(
    run: CorpusRun, chunk: int, background: list[tuple[int, int, str, str, np.datetime64]]
) -> None:
    """Write the chunk's background relationships and the planted ones of its groups."""
    rng = run.rng("relationships", chunk)
    planted = [r for r in run.planted.relationships if r.chunk == chunk]
    a = [r[0] for r in background] + [r.a for r in planted]
    b = [r[1] for r in background] + [r.b for r in planted]
    kinds = [r[2] for r in background] + [r.kind for r in planted]
    sources = [r[3] for r in background] + [r.source for r in planted]
    days = np.array([r[4] for r in background] + [r.day for r in planted], dtype="datetime64[D]")
    spelled = spell_dates(days, record_styles(rng, len(days)), rng)
    rows = [list(t) for t in zip(run.nid(a), run.nid(b), kinds, sources, spelled, strict=True)]
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order.tolist()]
    donors = np.flatnonzero(order < len(background))
    rates = {
        "unknown_nominal": run.knobs.malformed_relationship_unknown_nominal,
        "self_relationship": run.knobs.malformed_relationship_self,
    }
    rows = mf.relationship_rows(
        rng,
        rows,
        donors,
        lambda: _dangling_nominal(run, rng),
        rates,
        run.counts("relationships"),
        minimum=_first(chunk),
    )
    run.tables.write("relationships", rows)


def write_soc_groups(run: CorpusRun) -> None:
    """Write the planted SOC memberships, sorted by group, plus rows naming unknown people."""
    rng = run.rng("soc_groups", 0)
    planted = run.planted
    order = np.lexsort((planted.soc_idx, planted.soc_number))
    rows = [
        [nid, planted.soc_ids[s]]
        for nid, s in zip(
            run.nid(planted.soc_idx[order]), planted.soc_number[order].tolist(), strict=True
        )
    ]
    counts = run.counts("soc_groups")
    n_bad = max(1, int(rng.binomial(len(rows), run.knobs.malformed_soc_unknown_nominal)))
    for _ in range(n_bad):
        soc = planted.soc_ids[int(rng.integers(0, len(planted.soc_ids)))]
        rows.insert(int(rng.integers(0, len(rows) + 1)), [_dangling_nominal(run, rng), soc])
        counts["unknown_nominal"] += 1
    run.tables.write("soc_groups", rows)


def check_widths(run: CorpusRun) -> None:
    """Fail if real record ids reached the top tenth of the id space (kept for dangling ids).

    Raises
    ------
    RuntimeError
        Naming the source; it means ``EXPECTED_ROWS_PER_PERSON`` is far too low.
    """
    for source, used in run.next_number.items():
        limit = 9 * 10 ** (run.record_widths[source] - 1)
        if used >= limit:
            raise RuntimeError(
                f"{source} used {used} record ids, past the {limit} reserved below dangling ids"
            )
