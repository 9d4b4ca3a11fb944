"""The tables of one recorded run, read with Delta time travel (no JVM).

The dashboard and the notebooks show one run at a time: :func:`load_run` reads the ``run_log``
row of a run and every table at the version that run wrote (its ``tables`` JSON column), so a
run writing meanwhile never mixes into what is shown. Tables are read with the ``deltalake``
package into pandas; the ``restricted`` map columns of ``records`` and ``nominals`` are never
loaded. Restricted identity columns come only from the ``nominal_identity`` table, and only
through :meth:`RunData.identity`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable

from clnet_spark import columns as c
from clnet_spark.columns import Tables
from clnet_spark.errors import ClnetError

log = logging.getLogger(__name__)

# The pseudonym contract names this table in ``Tables``; until that lands on this branch the
# literal is the same name.
NOMINAL_IDENTITY: str = getattr(Tables, "NOMINAL_IDENTITY", "nominal_identity")

FLAG_COLUMNS = (
    "child",
    "was_child_when_linked",
    "looked_after_child",
    "vulnerable_adult",
    "cuckooed_victim",
    "found_outside_force",
    "victim_offender_overlap",
    "safeguarding_listed",
)
"""Boolean safeguarding flags shown beside each county-lines nominal."""


class DashboardDataError(ClnetError):
    """The warehouse has no usable run, or a table a view needs is missing."""


@dataclass(frozen=True)
class RunInfo:
    """One ``run_log`` row: which run, when, and the table versions it wrote."""

    run_id: str
    kind: str
    started_at: pd.Timestamp
    ended_at: pd.Timestamp
    outcome: str
    reference_date: Any
    versions: dict[str, int]


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow -> pandas with decimals as floats and list columns as Python lists."""
    fields = []
    for fld in table.schema:
        if pa.types.is_decimal(fld.type):
            fields.append(pa.field(fld.name, pa.float64()))
        else:
            fields.append(fld)
    frame = table.cast(pa.schema(fields)).to_pandas()
    for fld in table.schema:
        if pa.types.is_list(fld.type) or pa.types.is_large_list(fld.type):
            frame[fld.name] = [list(v) if v is not None else [] for v in frame[fld.name]]
    return frame


def _delta(warehouse: Path, name: str, version: int | None) -> DeltaTable | None:
    path = warehouse / name
    if not (path / "_delta_log").is_dir():
        return None
    return DeltaTable(str(path), version=version) if version is not None else DeltaTable(str(path))


def list_runs(warehouse: Path) -> pd.DataFrame:
    """Every ``run_log`` row, newest first (columns: the run-log schema).

    Raises
    ------
    DashboardDataError
        The warehouse has no ``run_log`` table.
    """
    table = _delta(warehouse, Tables.RUN_LOG, None)
    if table is None:
        raise DashboardDataError(
            f"{warehouse} has no {Tables.RUN_LOG!r} table: run the pipeline (clnet run) first"
        )
    frame = _to_pandas(table.to_pyarrow_table())
    return frame.sort_values("ended_at", ascending=False, kind="stable").reset_index(drop=True)


def _run_info(row: pd.Series) -> RunInfo:
    return RunInfo(
        run_id=row[c.RUN_ID],
        kind=row["kind"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        outcome=row["outcome"],
        reference_date=row["reference_date"],
        versions={str(k): int(v) for k, v in json.loads(row["tables"] or "{}").items()},
    )


def load_run(warehouse: Path, run_id: str | None = None) -> RunData:
    """The tables of one run: ``run_id``, or the newest run that succeeded.

    Raises
    ------
    DashboardDataError
        No ``run_log``, no succeeded run, or no run with that id (the ids present are listed).
    """
    warehouse = Path(warehouse).resolve()
    runs = list_runs(warehouse)
    if run_id is None:
        chosen = runs[runs["outcome"] == "succeeded"]
        if chosen.empty:
            raise DashboardDataError(f"{warehouse}: the run log has no run that succeeded")
    else:
        chosen = runs[runs[c.RUN_ID] == run_id]
        if chosen.empty:
            raise DashboardDataError(
                f"{warehouse}: no run {run_id!r} in the run log; runs present: "
                f"{sorted(runs[c.RUN_ID])}"
            )
    info = _run_info(chosen.iloc[0])
    log.info("dashboard data: run %s of %s (%d tables)", info.run_id, warehouse, len(info.versions))
    return RunData(warehouse, info)


def _split_record_key(key: str) -> tuple[str, str]:
    source, _, record_id = key.partition(":")
    return source, record_id


@dataclass
class RunData:
    """Lazy, cached pandas views of one run's tables.

    ``table(name)`` reads ``name`` at the version the run recorded. A table the run did not
    write (an older table, or ``nominal_identity`` written by another job) is read at its
    latest version and named in :attr:`unpinned`, so a page can say so.
    """

    warehouse: Path
    run: RunInfo
    unpinned: set[str] = field(default_factory=set)
    _cache: dict[str, pd.DataFrame | None] = field(default_factory=dict, repr=False)

    def version(self, name: str) -> int | None:
        """The Delta version of ``name`` this run recorded, or None."""
        return self.run.versions.get(name)

    def has(self, name: str) -> bool:
        return (self.warehouse / name / "_delta_log").is_dir()

    def _read(self, name: str, columns: list[str] | None = None, filters: Any = None) -> pa.Table:
        version = self.version(name)
        table = _delta(self.warehouse, name, version)
        if table is None:
            raise DashboardDataError(
                f"table {name!r} is missing from {self.warehouse}: run the stage that writes it"
            )
        if version is None:
            self.unpinned.add(name)
        return table.to_pyarrow_table(columns=columns, filters=filters)

    def table(self, name: str) -> pd.DataFrame:
        """The whole table at this run's version, without its ``restricted`` map column."""
        if name not in self._cache:
            dt = _delta(self.warehouse, name, self.version(name))
            if dt is None:
                raise DashboardDataError(
                    f"table {name!r} is missing from {self.warehouse}: run the stage that writes it"
                )
            names = [f.name for f in dt.schema().to_arrow()]  # type: ignore[attr-defined]
            wanted = [n for n in names if n != c.RESTRICTED]
            self._cache[name] = _to_pandas(self._read(name, columns=wanted))
        frame = self._cache[name]
        assert frame is not None
        return frame

    def table_or_empty(self, name: str) -> pd.DataFrame:
        """Like :meth:`table`, but an empty frame when the table does not exist."""
        return self.table(name) if self.has(name) else pd.DataFrame()

    # --- restricted -------------------------------------------------------------------
    def identity_available(self) -> bool:
        return self.has(NOMINAL_IDENTITY)

    def identity(self, nominal_ids: list[str]) -> pd.DataFrame:
        """Restricted identity rows (``nominal_id``, ``source_nominal_id``, names, ...).

        Only for the authorised officer role; callers check the role. Returns an empty frame
        when ``nominal_identity`` does not exist in the warehouse.
        """
        if not self.identity_available() or not nominal_ids:
            return pd.DataFrame()
        frame = _to_pandas(
            self._read(NOMINAL_IDENTITY, filters=[(c.NOMINAL_ID, "in", nominal_ids)])
        )
        return frame.drop(columns=[c.RESTRICTED], errors="ignore")

    def record_text(self, keys: list[str]) -> pd.DataFrame:
        """Record text (restricted) for ``source:record_id`` keys: source, record_id, text."""
        if not keys:
            return pd.DataFrame(columns=[c.SOURCE, c.RECORD_ID, c.TEXT])
        ids = sorted({_split_record_key(k)[1] for k in keys})
        frame = _to_pandas(
            self._read(
                Tables.RECORDS,
                columns=[c.SOURCE, c.RECORD_ID, c.TEXT],
                filters=[(c.RECORD_ID, "in", ids)],
            )
        )
        wanted = {_split_record_key(k) for k in keys}
        keep = [(s, r) in wanted for s, r in zip(frame[c.SOURCE], frame[c.RECORD_ID], strict=True)]
        return frame[keep].reset_index(drop=True)

    # --- views ------------------------------------------------------------------------
    def nominals(self) -> pd.DataFrame:
        """One row per county-lines nominal: weight, group, flags, centrality, harm.

        Columns: nominal_id, weight, evidence, group_id, group_kind, in_soc, records, the
        :data:`FLAG_COLUMNS`, missing_episodes, degree, betweenness, eigenvector, cchi_all,
        cchi_recent, ons_all, ons_recent. Sorted by weight (descending) then id.
        """
        base = self.table(Tables.CL_NOMINALS)
        out = base[[c.NOMINAL_ID, c.WEIGHT, c.EVIDENCE, c.GROUP_ID, c.GROUP_KIND, "in_soc"]].copy()
        out["records"] = [len(v) for v in base[c.EVIDENCE_RECORDS]]
        parts = [
            (Tables.SAFEGUARDING_FLAGS, [*FLAG_COLUMNS, "missing_episodes"]),
            (Tables.CENTRALITY, ["degree", "betweenness", "eigenvector"]),
            (Tables.NOMINAL_HARM, ["cchi_all", "cchi_recent", "ons_all", "ons_recent"]),
        ]
        for name, cols in parts:
            if not self.has(name):
                continue
            other = self.table(name)[[c.NOMINAL_ID, *cols]]
            out = out.merge(other, on=c.NOMINAL_ID, how="left", validate="one_to_one")
        return out.sort_values([c.WEIGHT, c.NOMINAL_ID], ascending=[False, True]).reset_index(
            drop=True
        )

    def evidence_trail(self, nominal_id: str) -> dict[str, pd.DataFrame]:
        """What put one nominal in the network.

        Returns frames ``records`` (source, record_id, role, record_weight, matched_groups,
        terms), ``edges`` (other, weight, adversarial_only, relationship_types,
        evidence_records), ``relationships`` (other, relationship_type, source, recorded_at),
        ``flags`` (flag, reason) and ``summary`` (the :meth:`nominals` row).

        Raises
        ------
        DashboardDataError
            ``nominal_id`` is not a county-lines nominal of this run.
        """
        nominals = self.nominals()
        summary = nominals[nominals[c.NOMINAL_ID] == nominal_id]
        if summary.empty:
            raise DashboardDataError(f"nominal {nominal_id!r} is not in this run's network")
        cl = self.table(Tables.CL_NOMINALS)
        keys = list(cl.loc[cl[c.NOMINAL_ID] == nominal_id, c.EVIDENCE_RECORDS].iloc[0])
        pairs = pd.DataFrame(
            [_split_record_key(k) for k in keys], columns=[c.SOURCE, c.RECORD_ID]
        ).astype(str)

        matches = self.table(Tables.RECORD_MATCHES)
        matches = matches[[c.SOURCE, c.RECORD_ID, c.RECORD_WEIGHT, c.MATCHED_GROUPS, c.MATCHES]]
        records = pairs.merge(matches, on=[c.SOURCE, c.RECORD_ID], how="left", validate="1:1")
        records["terms"] = [
            sorted({m[c.TERM] for m in ms}) if isinstance(ms, list) else []
            for ms in records.pop(c.MATCHES)
        ]
        roles = self.table(Tables.RECORD_NOMINALS)
        roles = roles.loc[roles[c.NOMINAL_ID] == nominal_id, [c.SOURCE, c.RECORD_ID, c.ROLE]]
        roles = roles.groupby([c.SOURCE, c.RECORD_ID], as_index=False)[c.ROLE].agg(
            lambda s: ", ".join(sorted(set(s.dropna())))
        )
        records = records.merge(roles, on=[c.SOURCE, c.RECORD_ID], how="left", validate="1:1")
        records = records[
            [c.SOURCE, c.RECORD_ID, c.ROLE, c.RECORD_WEIGHT, c.MATCHED_GROUPS, "terms"]
        ].sort_values([c.RECORD_WEIGHT, c.SOURCE, c.RECORD_ID], ascending=[False, True, True])

        edges = self.table(Tables.CL_EDGES)
        mine = edges[(edges[c.SRC] == nominal_id) | (edges[c.DST] == nominal_id)].copy()
        mine.insert(0, "other", mine[c.DST].where(mine[c.SRC] == nominal_id, mine[c.SRC]))
        mine = mine[
            ["other", c.WEIGHT, c.ADVERSARIAL_ONLY, c.RELATIONSHIP_TYPES, c.EVIDENCE_RECORDS]
        ].sort_values([c.WEIGHT, "other"], ascending=[False, True])

        rel = self.table(Tables.RELATIONSHIPS)
        rel = rel[(rel[c.NOMINAL_A] == nominal_id) | (rel[c.NOMINAL_B] == nominal_id)].copy()
        rel.insert(
            0, "other", rel[c.NOMINAL_B].where(rel[c.NOMINAL_A] == nominal_id, rel[c.NOMINAL_A])
        )
        rel = rel[["other", c.RELATIONSHIP_TYPE, c.SOURCE, c.RECORDED_AT]].sort_values(
            ["other", c.RELATIONSHIP_TYPE]
        )

        flags = pd.DataFrame(columns=["reason"])
        if self.has(Tables.SAFEGUARDING_FLAGS):
            sf = self.table(Tables.SAFEGUARDING_FLAGS)
            row = sf[sf[c.NOMINAL_ID] == nominal_id]
            if not row.empty:
                flags = pd.DataFrame({"reason": list(row["reasons"].iloc[0])})
        return {
            "summary": summary.reset_index(drop=True),
            "records": records.reset_index(drop=True),
            "edges": mine.reset_index(drop=True),
            "relationships": rel.reset_index(drop=True),
            "flags": flags,
        }

    def soc_overlap(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(per CL group: best SOC group and overlap; CL nominals in no SOC group)."""
        groups = self.table(Tables.CL_GROUPS)
        best = groups[
            [
                c.GROUP_ID,
                c.GROUP_KIND,
                "size",
                "best_soc_group_id",
                "best_soc_overlap",
                "soc_associated",
            ]
        ].sort_values(c.GROUP_ID)
        cl = self.table(Tables.CL_NOMINALS)
        outside = cl.loc[~cl["in_soc"].astype(bool), [c.NOMINAL_ID, c.GROUP_ID, c.WEIGHT]]
        return best.reset_index(drop=True), outside.sort_values(c.NOMINAL_ID).reset_index(drop=True)

    def group_members(self, group_id: str) -> pd.DataFrame:
        """The :meth:`nominals` rows of one group.

        Raises
        ------
        DashboardDataError
            No such group in this run.
        """
        groups = self.table(Tables.CL_GROUPS)
        if group_id not in set(groups[c.GROUP_ID]):
            raise DashboardDataError(f"group {group_id!r} is not in this run")
        nominals = self.nominals()
        return nominals[nominals[c.GROUP_ID] == group_id].reset_index(drop=True)
