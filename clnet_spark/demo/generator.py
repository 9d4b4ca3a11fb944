"""Write the demo corpus: the nine input tables of the contract plus ``ground_truth/``.

The corpus is generated in chunks of ``NOMINALS_PER_CHUNK`` people (about 50,000 records).
Each chunk writes its people's ``nominals`` rows, their records in all five sources, the
links and relationships, then forgets them; every table of a chunk draws from its own
generator seeded from ``(seed, table, chunk)``. Only the planted structure
(:mod:`clnet_spark.demo.planted`) is held for the whole run, so memory does not grow with
``scale`` beyond it, and the same ``(scale, seed)`` always gives byte-identical files.

The knobs are in :mod:`clnet_spark.demo.knobs`; what the corpus contains and how it is made
hard is in ``docs/demo-corpus.md``.
"""

from __future__ import annotations

import logging
import math
import random
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from clnet_spark import columns as c
from clnet_spark.demo import background as bg
from clnet_spark.demo import ground_truth as gt
from clnet_spark.demo import population as pop
from clnet_spark.demo.chunk import ChunkContext
from clnet_spark.demo.cl_records import group_records
from clnet_spark.demo.knobs import (
    DEFAULT_KNOBS,
    NOMINALS_PER_CHUNK,
    NOMINALS_PER_SCALE,
    DemoKnobs,
)
from clnet_spark.demo.planted import plant
from clnet_spark.demo.records import RecordBatch, id_width
from clnet_spark.demo.text import TextMaker
from clnet_spark.demo.writers import (
    CorpusRun,
    Tables,
    check_widths,
    write_nominals,
    write_records,
    write_relationships,
    write_soc_groups,
)

log = logging.getLogger(__name__)

EXPECTED_ROWS_PER_PERSON: Final = {
    c.CRIMES: 2.2,
    c.IMS: 1.9,
    c.ICIS: 1.0,
    c.PINS: 0.4,
    c.COMPACT: 0.4,
}
"""Rough rows per person of each source, used only to choose the width of record ids."""
MIN_NOMINALS: Final = 200


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`write_demo_corpus` wrote and planted.

    Attributes
    ----------
    rows
        Data rows (header excluded) per file name, ``ground_truth/`` files included.
    malformed
        Planted malformed rows per table and reason (as in ``ground_truth/malformed.csv``).
    traps
        Background texts per false-positive trap (see ``docs/demo-corpus.md``).
    oddities
        Texts with a non-ASCII filler, an emoji after a term, or a letter glued to a term.
    """

    scale: float
    seed: int
    rows: dict[str, int]
    planted_groups: int
    cl_nominals: int
    cl_children_now: int
    cuckooed: int
    missing_episodes: int
    cl_records: int
    soc_groups: int
    soc_groups_with_cl: int
    background_links: int
    unlisted_role_rows: int
    malformed: dict[str, dict[str, int]]
    traps: dict[str, int]
    oddities: dict[str, int]

    @property
    def records(self) -> int:
        """Rows of the five record tables."""
        return sum(self.rows[f"{s}.csv"] for s in c.SOURCES)

    def as_dict(self) -> dict[str, object]:
        """The summary as plain JSON-ready data."""
        return {
            "scale": self.scale,
            "seed": self.seed,
            "rows": dict(sorted(self.rows.items())),
            "planted_groups": self.planted_groups,
            "cl_nominals": self.cl_nominals,
            "cl_children_now": self.cl_children_now,
            "cuckooed": self.cuckooed,
            "missing_episodes": self.missing_episodes,
            "cl_records": self.cl_records,
            "soc_groups": self.soc_groups,
            "soc_groups_with_cl": self.soc_groups_with_cl,
            "background_links": self.background_links,
            "unlisted_role_rows": self.unlisted_role_rows,
            "malformed": {t: dict(sorted(r.items())) for t, r in sorted(self.malformed.items())},
            "traps": dict(sorted(self.traps.items())),
            "oddities": dict(sorted(self.oddities.items())),
        }


def write_demo_corpus(
    out: Path, scale: float = 1.0, seed: int = 7, *, knobs: DemoKnobs = DEFAULT_KNOBS
) -> DemoSummary:
    """Write a synthetic corpus of police records with planted county-lines groups.

    Parameters
    ----------
    out
        Folder to write into (created if missing). It receives the nine tables of the input
        contract (``crimes.csv`` ... ``soc_groups.csv``) and ``ground_truth/``.
    scale
        Size: 1.0 is about 200,000 records and 40,000 people; rows grow linearly.
    seed
        The same ``(scale, seed)`` gives byte-identical files.
    knobs
        Rates that shape the corpus (:class:`~clnet_spark.demo.knobs.DemoKnobs`).

    Returns
    -------
    DemoSummary
        Row counts, planted counts and malformed rows per table and reason.

    Raises
    ------
    ValueError
        If ``scale`` is not a positive finite number or ``seed`` is negative.
    """
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    started = time.perf_counter()
    out = Path(out)
    (out / "ground_truth").mkdir(parents=True, exist_ok=True)
    n_total = max(MIN_NOMINALS, round(NOMINALS_PER_SCALE * scale))
    n_chunks = math.ceil(n_total / NOMINALS_PER_CHUNK)
    planted = plant(seed, scale, n_total, n_chunks, knobs)
    log.info(
        "demo corpus: scale %s seed %d, %d people in %d chunks, %d planted groups",
        scale,
        seed,
        n_total,
        n_chunks,
        len(planted.groups),
    )
    with ExitStack() as stack:
        tables = Tables(out, stack)
        run = CorpusRun(
            seed=seed,
            n_total=n_total,
            planted=planted,
            knobs=knobs,
            tables=tables,
            nominal_width=id_width(n_total, 7),
            record_widths={
                s: id_width(n_total * f, 6) for s, f in EXPECTED_ROWS_PER_PERSON.items()
            },
        )
        for chunk in range(n_chunks):
            _write_chunk(run, chunk, scale)
            log.debug("chunk %d of %d written", chunk + 1, n_chunks)
        write_soc_groups(run)
    check_widths(run)
    truth = gt.write_ground_truth(out, planted, run.nid, run.malformed)
    summary = DemoSummary(
        scale=scale,
        seed=seed,
        rows=dict(sorted({**run.tables.rows, **truth.rows}.items())),
        planted_groups=len(planted.groups),
        cl_nominals=len(planted.members.idx),
        cl_children_now=truth.children_now,
        cuckooed=truth.cuckooed,
        missing_episodes=run.cl_stats["missing_episodes"],
        cl_records=run.cl_stats["cl_records"],
        soc_groups=len(planted.soc_ids),
        soc_groups_with_cl=truth.soc_groups_with_cl,
        background_links=len(planted.background_links),
        unlisted_role_rows=run.unlisted_roles,
        malformed={t: dict(r) for t, r in run.malformed.items()},
        traps=dict(run.traps),
        oddities=dict(run.oddities),
    )
    gt.write_json(out / "ground_truth" / "summary.json", summary.as_dict())
    log.info(
        "demo corpus written to %s: %d records, %d nominals in %.1f s",
        out,
        summary.records,
        summary.rows["nominals.csv"],
        time.perf_counter() - started,
    )
    return summary


def _write_chunk(run: CorpusRun, chunk: int, scale: float) -> None:
    lo = chunk * NOMINALS_PER_CHUNK
    idx = np.arange(lo, min(run.n_total, lo + NOMINALS_PER_CHUNK), dtype=np.int64)
    is_member, _ = run.planted.members.lookup(idx)
    write_nominals(run, chunk, idx, is_member)

    makers = {
        s: TextMaker(random.Random(int(run.rng(s, chunk).integers(1 << 62))), run.knobs)
        for s in c.SOURCES
    }
    batches = {s: RecordBatch(s) for s in c.SOURCES}
    ctx = ChunkContext(
        seed=run.seed,
        n_total=run.n_total,
        members=run.planted.members,
        knobs=run.knobs,
        rng=run.rng("people", chunk),
        makers=makers,
        batches=batches,
    )
    people = pop.people(run.seed, idx[~is_member], run.n_total, run.knobs)
    bg.drug_records(ctx, people)
    bg.misper_records(ctx, people)
    bg.crime_records(ctx, people)
    bg.intel_custody_prison_records(ctx, people)
    bg.occasional_records(ctx, people)
    bg.unlinked_records(ctx, len(people.idx))
    if chunk == 0:
        bg.briefings(ctx, max(1, round(run.knobs.large_briefings_per_scale * scale)))
    n_background = {s: len(b) for s, b in batches.items()}
    for maker in makers.values():
        run.traps.update(maker.traps)
        run.oddities.update(maker.oddities)

    for group in run.planted.groups:
        if group.chunk == chunk:
            stats, maker = group_records(
                run.seed, group, run.planted.members, run.n_total, run.knobs, batches
            )
            run.cl_stats.update(stats)
            run.oddities.update(maker.oddities)
    write_records(run, chunk, batches, n_background)
    write_relationships(run, chunk, bg.relationships(ctx, people))
