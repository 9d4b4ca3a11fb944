"""Reading one run's table versions, and the joined views built from them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from clnet_spark import columns as c
from clnet_spark.columns import Tables
from clnet_spark.dashboard.data import DashboardDataError, load_run


@pytest.fixture
def copied(identity_warehouse: Path, tmp_path: Path) -> Path:
    target = tmp_path / "warehouse"
    shutil.copytree(identity_warehouse, target)
    return target


def _append_run(warehouse: Path, run_id: str, outcome: str, tables: dict[str, int]) -> None:
    run_log = DeltaTable(str(warehouse / Tables.RUN_LOG))
    existing = run_log.to_pyarrow_table()
    row = existing.slice(0, 1).to_pandas()
    row[c.RUN_ID] = run_id
    row["outcome"] = outcome
    row["tables"] = json.dumps(tables)
    row["ended_at"] = row["ended_at"] + pd.Timedelta(hours=1)
    write_deltalake(
        str(warehouse / Tables.RUN_LOG),
        pa.Table.from_pandas(row, schema=existing.schema, preserve_index=False),
        mode="append",
    )


def test_a_run_writing_meanwhile_does_not_mix_in(copied: Path) -> None:
    before = load_run(copied)
    groups = before.table(Tables.CL_GROUPS)
    # Another run rewrites cl_groups with one group and fails before recording success.
    dt = DeltaTable(str(copied / Tables.CL_GROUPS))
    write_deltalake(
        str(copied / Tables.CL_GROUPS), dt.to_pyarrow_table().slice(0, 1), mode="overwrite"
    )
    newer = dt.version() + 1
    _append_run(copied, "later-failed", "failed", {Tables.CL_GROUPS: newer})

    again = load_run(copied)
    assert again.run.run_id == before.run.run_id
    pd.testing.assert_frame_equal(again.table(Tables.CL_GROUPS), groups)
    assert len(load_run(copied, "later-failed").table(Tables.CL_GROUPS)) == 1


def test_the_newest_succeeded_run_is_shown(copied: Path) -> None:
    versions = load_run(copied).run.versions
    _append_run(copied, "later-ok", "succeeded", versions)
    assert load_run(copied).run.run_id == "later-ok"


def test_unknown_run_and_missing_run_log_are_clear_errors(copied: Path, tmp_path: Path) -> None:
    run_id = load_run(copied).run.run_id
    with pytest.raises(DashboardDataError, match=rf"no run 'nope'.*\['{run_id}'\]"):
        load_run(copied, "nope")
    with pytest.raises(DashboardDataError, match="has no 'run_log' table"):
        load_run(tmp_path / "empty")


def test_nominals_view_has_one_row_per_cl_nominal_with_its_harm(identity_warehouse: Path) -> None:
    data = load_run(identity_warehouse)
    view = data.nominals()
    cl = data.table(Tables.CL_NOMINALS)
    assert sorted(view[c.NOMINAL_ID]) == sorted(cl[c.NOMINAL_ID])
    harm = data.table(Tables.NOMINAL_HARM).set_index(c.NOMINAL_ID)["cchi_all"]
    assert (view.set_index(c.NOMINAL_ID)["cchi_all"] == harm.reindex(view[c.NOMINAL_ID])).all()
    assert view[c.WEIGHT].is_monotonic_decreasing


def test_evidence_trail_lists_the_records_and_links_of_the_nominal(
    identity_warehouse: Path,
) -> None:
    data = load_run(identity_warehouse)
    nominal = data.nominals()[c.NOMINAL_ID].iloc[0]
    trail = data.evidence_trail(nominal)
    cl = data.table(Tables.CL_NOMINALS).set_index(c.NOMINAL_ID)
    keys = {
        f"{s}:{r}"
        for s, r in zip(trail["records"][c.SOURCE], trail["records"][c.RECORD_ID], strict=True)
    }
    assert keys == set(cl.loc[nominal, c.EVIDENCE_RECORDS])

    matches = data.table(Tables.RECORD_MATCHES).set_index([c.SOURCE, c.RECORD_ID])
    for row in trail["records"].itertuples():
        if (row.source, row.record_id) in matches.index:
            match = matches.loc[(row.source, row.record_id)]
            assert row.record_weight == match[c.RECORD_WEIGHT]
            assert row.terms == sorted({m[c.TERM] for m in match[c.MATCHES]})

    edges = data.table(Tables.CL_EDGES)
    touching = edges[(edges[c.SRC] == nominal) | (edges[c.DST] == nominal)]
    assert sorted(trail["edges"]["other"]) == sorted(
        (set(touching[c.SRC]) | set(touching[c.DST])) - {nominal}
    )
    with pytest.raises(DashboardDataError, match="'N9999999' is not in this run's network"):
        data.evidence_trail("N9999999")


def test_record_text_returns_only_the_records_asked_for(identity_warehouse: Path) -> None:
    data = load_run(identity_warehouse)
    records = data.table(Tables.RECORD_MATCHES).head(3)
    keys = [f"{s}:{r}" for s, r in zip(records[c.SOURCE], records[c.RECORD_ID], strict=True)]
    text = data.record_text(keys)
    assert sorted(zip(text[c.SOURCE], text[c.RECORD_ID], strict=True)) == sorted(
        zip(records[c.SOURCE], records[c.RECORD_ID], strict=True)
    )
    assert text[c.TEXT].str.len().min() > 0


def test_restricted_maps_are_never_loaded(identity_warehouse: Path) -> None:
    data = load_run(identity_warehouse)
    assert c.RESTRICTED not in data.table(Tables.NOMINALS).columns
    assert c.RESTRICTED not in data.table(Tables.RECORDS).columns


def test_soc_overlap_names_cl_nominals_in_no_soc_group(identity_warehouse: Path) -> None:
    data = load_run(identity_warehouse)
    best, outside = data.soc_overlap()
    cl = data.table(Tables.CL_NOMINALS)
    assert set(outside[c.NOMINAL_ID]) == set(
        cl.loc[[not s for s in cl["soc_group_ids"].map(bool)], c.NOMINAL_ID]
    )
    assert sorted(best[c.GROUP_ID]) == sorted(data.table(Tables.CL_GROUPS)[c.GROUP_ID])
