"""Split a demo export into a baseline and dated batches of changes, for ``clnet update``.

Used by the update equivalence test and by ``benchmarks/update.py``. From an export folder it
writes ``baseline/`` (records dated before the first cut), ``batch_1/`` ... (records dated in
each period after it: new records with their links, plus amended and deleted records and
relationships, amended and deleted people, and a replaced SOC list in the last batch), and
``final/``: the export a source system would give after all the batches, so that one full
run on ``final/`` is what the updates must reproduce.

Every row of a record id (its duplicates included) goes to one folder, so the choice the
ingest makes among duplicates is the same either way.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clnet_spark import columns as c

RECORD_TABLES = c.SOURCES
_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})")
_UK = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})")


def parse_day(value: str) -> dt.date | None:
    """The date of an ISO or UK date string, or None (unparseable: such rows stay in the
    baseline, where the ingest quarantines them)."""
    for pattern, order in ((_ISO, (0, 1, 2)), (_UK, (2, 1, 0))):
        found = pattern.match(value or "")
        if found:
            parts = [int(found.group(i + 1)) for i in order]
            try:
                return dt.date(*parts)
            except ValueError:
                return None
    return None


def period_of(day: dt.date | None, cuts: Sequence[dt.date]) -> int:
    """0 for the baseline (before ``cuts[0]`` or undated), else the batch number (1-based)."""
    if day is None:
        return 0
    return sum(1 for cut in cuts if day >= cut)


@dataclass(frozen=True)
class Split:
    baseline: Path
    batches: tuple[Path, ...]
    final: Path
    amended_records: int
    deleted_records: int
    deleted_nominals: tuple[str, ...]


def _read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def _write(frame: pd.DataFrame, folder: Path, table: str) -> None:
    if frame.empty and table not in ("nominals", "record_nominals"):
        return
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / f"{table}.csv", index=False)


def split_export(
    source: Path,
    out: Path,
    cuts: Sequence[dt.date],
    *,
    amend: int = 6,
    delete: int = 4,
    delete_nominals: int = 2,
    seed: int = 0,
) -> Split:
    """Write ``out/baseline``, ``out/batch_<i>`` for each cut, and ``out/final``.

    Parameters
    ----------
    source
        A CSV export folder (e.g. from :func:`~clnet_spark.demo.write_demo_corpus`).
    cuts
        Ascending dates: batch ``i`` holds the records dated from ``cuts[i-1]`` until the next
        cut (the last batch: everything after its cut).
    amend, delete
        Baseline records amended (spread over the batches; half gain "county line" in their
        text, half lose their text) and deleted (in the last batch), per source with records.
    delete_nominals
        People deleted in the last batch: the most-linked ones, so the network changes.
    """
    rng = np.random.default_rng(seed)
    n_batches = len(cuts)
    folders = [out / "baseline", *(out / f"batch_{i}" for i in range(1, n_batches + 1))]
    stamps = [None, *(f"{cut.isoformat()}T12:00:00" for cut in cuts)]
    final = out / "final"

    links = _read(source, "record_nominals")
    link_key = list(zip(links[c.SOURCE], links[c.RECORD_ID], strict=True))
    record_period: dict[tuple[str, str], int] = {}
    resent: list[list[pd.DataFrame]] = [[] for _ in folders]  # links sent again with a record
    final_links = links.copy()
    last = n_batches
    amended_total = deleted_total = 0
    for table in RECORD_TABLES:
        records = _read(source, table)
        day = records[c.RECORDED_AT].map(parse_day)
        period = pd.Series([period_of(d, cuts) for d in day], index=records.index)
        period = period.groupby(records[c.RECORD_ID]).transform("min")
        record_period.update(
            ((table, rid), int(p)) for rid, p in zip(records[c.RECORD_ID], period, strict=True)
        )
        counts = records[c.RECORD_ID].map(records[c.RECORD_ID].value_counts())
        candidates = records.index[(period == 0) & day.notna() & (counts == 1)]
        chosen = rng.choice(candidates, size=min(amend + delete, len(candidates)), replace=False)
        amended_idx, deleted_idx = chosen[:amend], chosen[amend:]
        own = links[c.SOURCE] == table
        parts = [
            records[period == p].assign(updated_at="", is_deleted="") for p in range(n_batches + 1)
        ]
        final_rows = records.assign(updated_at="")
        for k, index in enumerate(amended_idx):
            batch = 1 + k % n_batches
            row = records.loc[[index]].assign(updated_at=stamps[batch], is_deleted="false")
            text = row[c.TEXT].iloc[0]
            row[c.TEXT] = f"{text} Believed to be a county line." if k % 2 == 0 else "No detail."
            parts[batch] = pd.concat([parts[batch], row])
            final_rows.loc[index, [c.TEXT, c.UPDATED_AT]] = [row[c.TEXT].iloc[0], stamps[batch]]
            rid_links = links[own & (links[c.RECORD_ID] == row[c.RECORD_ID].iloc[0])]
            kept_links = rid_links.iloc[:-1] if k % 3 == 0 and len(rid_links) > 1 else rid_links
            resent[batch].append(kept_links)
            final_links = final_links.drop(rid_links.index.difference(kept_links.index))
        for index in deleted_idx:
            row = records.loc[[index]].assign(updated_at=stamps[last], is_deleted="true")
            parts[last] = pd.concat([parts[last], row])
            rid = row[c.RECORD_ID].iloc[0]
            final_rows = final_rows.drop(index)
            final_links = final_links[
                ~((final_links[c.SOURCE] == table) & (final_links[c.RECORD_ID] == rid))
            ]
        amended_total += len(amended_idx)
        deleted_total += len(deleted_idx)
        _write(parts[0].drop(columns=[c.UPDATED_AT, "is_deleted"]), folders[0], table)
        for folder, part in zip(folders[1:], parts[1:], strict=True):
            _write(part, folder, table)
        _write(final_rows, final, table)

    link_period = pd.Series([record_period.get(k, 0) for k in link_key], index=links.index)
    for p, folder in enumerate(folders):
        part = links[link_period == p]
        if p:
            part = pd.concat([part, *resent[p]]).assign(is_deleted="")
        _write(part, folder, "record_nominals")
    _write(final_links, final, "record_nominals")

    nominals = _read(source, "nominals")
    heavy = links[c.NOMINAL_ID].value_counts()
    heavy = [n for n in heavy.index if n in set(nominals[c.NOMINAL_ID])][:delete_nominals]
    amended_people = nominals[~nominals[c.NOMINAL_ID].isin(heavy)].sample(
        n=min(amend, len(nominals)), random_state=seed
    )
    _write(nominals, folders[0], "nominals")
    final_nominals = nominals[~nominals[c.NOMINAL_ID].isin(heavy)].copy()
    for k, (index, row) in enumerate(amended_people.iterrows()):
        batch = 1 + k % n_batches
        changed = row.copy()
        changed[c.LOOKED_AFTER_CHILD] = "true" if row[c.LOOKED_AFTER_CHILD] != "true" else "false"
        frame = changed.to_frame().T.assign(updated_at=stamps[batch], is_deleted="false")
        _write(_append(folders[batch], "nominals", frame), folders[batch], "nominals")
        final_nominals.loc[index, c.LOOKED_AFTER_CHILD] = changed[c.LOOKED_AFTER_CHILD]
    gone = nominals[nominals[c.NOMINAL_ID].isin(heavy)].assign(
        updated_at=stamps[last], is_deleted="true"
    )
    _write(_append(folders[last], "nominals", gone), folders[last], "nominals")
    _write(final_nominals, final, "nominals")

    relationships = _read(source, "relationships")
    day = relationships[c.RECORDED_AT].map(parse_day)
    key = [
        relationships[[c.NOMINAL_A, c.NOMINAL_B]].min(axis=1),
        relationships[[c.NOMINAL_A, c.NOMINAL_B]].max(axis=1),
        relationships[c.RELATIONSHIP_TYPE].str.strip().str.lower(),
        relationships[c.SOURCE].str.strip().str.lower(),
    ]
    period = pd.Series([period_of(d, cuts) for d in day], index=relationships.index)
    period = period.groupby(key).transform("min")
    unique = relationships.groupby(key)[c.NOMINAL_A].transform("size") == 1
    dropped = relationships.index[(period == 0) & unique & day.notna()][: max(1, delete // 2)]
    for p, folder in enumerate(folders):
        part = relationships[period == p]
        if p:
            part = part.assign(updated_at="", is_deleted="")
        if p == last:
            tomb = relationships.loc[dropped].assign(updated_at=stamps[last], is_deleted="true")
            part = pd.concat([part, tomb])
        _write(part, folder, "relationships")
    _write(relationships.drop(dropped), final, "relationships")

    soc = _read(source, "soc_groups")
    _write(soc, folders[0], "soc_groups")
    replaced = soc.iloc[::2]  # the SOC analysis was rerun: every other membership remains
    _write(replaced, folders[last], "soc_groups")
    _write(replaced, final, "soc_groups")
    return Split(folders[0], tuple(folders[1:]), final, amended_total, deleted_total, tuple(heavy))


def _append(folder: Path, table: str, frame: pd.DataFrame) -> pd.DataFrame:
    path = folder / f"{table}.csv"
    if not path.exists():
        return frame
    return pd.concat([pd.read_csv(path, dtype=str, keep_default_na=False), frame])
