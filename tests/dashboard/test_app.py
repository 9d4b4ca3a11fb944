"""The Flask app through its test client: sign-in, roles, the audit log, exports."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from flask import Flask
from openpyxl import load_workbook

from clnet_spark import columns as c
from clnet_spark.columns import Tables
from clnet_spark.dashboard.app import ADVISORY, NOMINAL_SUMMARY
from clnet_spark.dashboard.data import NOMINAL_IDENTITY, load_run

from .conftest import make_app, sign_in

VIEWS = (
    "/",
    "/nominals",
    "/missing",
    "/soc",
    "/harm",
    "/centrality",
    "/priority",
    "/dismantling",
    "/network",
    "/safeguarding",
    "/exports",
)


def _audit(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _top_nominal(warehouse: Path) -> str:
    return load_run(warehouse).nominals()[c.NOMINAL_ID].iloc[0]


def test_every_view_needs_sign_in(app: Flask) -> None:
    client = app.test_client()
    for view in (*VIEWS, "/nominals/N0000001", "/exports/download?item=all&format=xlsx"):
        response = client.get(view)
        assert response.status_code == 302, view
        assert "/login" in response.headers["Location"], view


def test_wrong_password_and_missing_csrf_token_are_refused(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    wrong = client.post("/login", data={"username": "ana", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 200
    assert "Unknown user or wrong password." in wrong.get_data(as_text=True)
    no_token = client.post("/login", data={"username": "ana", "password": "analyst-secret-1"})
    assert no_token.status_code == 400
    assert client.get("/").status_code == 302


def test_every_view_renders_with_the_advisory_notice(app: Flask) -> None:
    client = app.test_client()
    sign_in(client, "ana")
    for view in VIEWS:
        response = client.get(view)
        assert response.status_code == 200, view
        assert ADVISORY in response.get_data(as_text=True), view
        assert response.headers["Cache-Control"] == "no-store"


def test_analyst_sees_pseudonyms_only_and_officer_the_restricted_columns(
    app: Flask, identity_warehouse: Path
) -> None:
    nominal = _top_nominal(identity_warehouse)
    data = load_run(identity_warehouse)
    identity = data.identity([nominal])
    name = identity["name"].iloc[0]
    first_record = data.evidence_trail(nominal)["records"].iloc[0]
    text = data.record_text([f"{first_record[c.SOURCE]}:{first_record[c.RECORD_ID]}"])
    snippet = text[c.TEXT].iloc[0][:30]

    analyst = app.test_client()
    sign_in(analyst, "ana")
    page = analyst.get(f"/nominals/{nominal}").get_data(as_text=True)
    assert 'id="evidence"' in page and first_record[c.RECORD_ID] in page
    assert name not in page
    assert "<th>text</th>" not in page
    assert 'id="restricted-note"' in page

    officer = app.test_client()
    sign_in(officer, "off")
    page = officer.get(f"/nominals/{nominal}").get_data(as_text=True)
    assert name in page
    assert "<th>text</th>" in page
    assert snippet.replace("'", "&#39;").replace('"', "&#34;")[:10] in page
    # An identity table this run did not record is read at its latest version, and said so.
    pinned = load_run(identity_warehouse).version(NOMINAL_IDENTITY) is not None
    assert (
        'id="unpinned"' in page and NOMINAL_IDENTITY in page.split('id="unpinned"')[1]
    ) != pinned


def test_officer_is_told_when_the_identity_table_is_absent(
    bare_warehouse: Path, users_file: Path, tmp_path: Path
) -> None:
    client = make_app(bare_warehouse, users_file, tmp_path / "audit.jsonl").test_client()
    sign_in(client, "off")
    page = client.get(f"/nominals/{_top_nominal(bare_warehouse)}").get_data(as_text=True)
    assert 'id="identity-missing"' in page
    assert "nominal_identity" in page


def test_views_of_nominals_and_groups_are_audited_with_the_reason(
    app: Flask, audit_log: Path, identity_warehouse: Path
) -> None:
    nominal = _top_nominal(identity_warehouse)
    client = app.test_client()
    sign_in(client, "ana")
    client.get(f"/nominals/{nominal}?reason=briefing 12")
    client.get("/groups/G0001")
    entries = _audit(audit_log)
    assert [e["action"] for e in entries] == ["sign_in", "view_nominal", "view_group"]
    view = entries[1]
    assert (view["user"], view["role"], view["what"], view["reason"]) == (
        "ana",
        "analyst",
        nominal,
        "briefing 12",
    )
    assert view["run_id"] == load_run(identity_warehouse).run.run_id
    assert entries[2]["reason"] is None


def test_nominal_filters_keep_only_matching_rows(
    app: Flask, identity_warehouse: Path, audit_log: Path
) -> None:
    nominals = load_run(identity_warehouse).nominals()
    expected = nominals[(nominals[c.GROUP_ID] == "G0001") & nominals["looked_after_child"]]
    client = app.test_client()
    sign_in(client, "ana")
    page = client.get("/nominals?group=G0001&flag=looked_after_child").get_data(as_text=True)
    assert f"{len(expected)} rows" in page
    table = page.split('id="nominals"')[1]
    for nominal in nominals[c.NOMINAL_ID]:
        assert (f">{nominal}</a>" in table) == (nominal in set(expected[c.NOMINAL_ID])), nominal
    listed = _audit(audit_log)[-1]
    assert (listed["action"], listed["what"]) == ("view_list", f"nominals ({len(expected)} shown)")


def test_csv_and_excel_exports_read_back_and_are_audited(
    app: Flask, audit_log: Path, identity_warehouse: Path
) -> None:
    data = load_run(identity_warehouse)
    client = app.test_client()
    sign_in(client, "ana")

    response = client.get(f"/exports/download?item={Tables.CL_GROUPS}&format=csv&reason=r1")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith(f'{Tables.CL_GROUPS}.csv"')
    back = pd.read_csv(io.BytesIO(response.data))
    groups = data.table(Tables.CL_GROUPS)
    assert sorted(back[c.GROUP_ID]) == sorted(groups[c.GROUP_ID])
    assert back["members"].str.split(";").map(len).tolist() == groups["size"].tolist()

    response = client.get("/exports/download?item=all&format=xlsx")
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    assert NOMINAL_SUMMARY in book.sheetnames and Tables.DISMANTLING in book.sheetnames
    rows = list(book[Tables.GROUP_PRIORITY].iter_rows(values_only=True))
    assert len(rows) == 1 + len(data.table(Tables.GROUP_PRIORITY))

    exports = [e for e in _audit(audit_log) if e["action"] == "export"]
    assert [(e["what"], e["reason"]) for e in exports] == [
        (f"{Tables.CL_GROUPS}.csv", "r1"),
        ("all.xlsx", None),
    ]


def test_exports_hold_no_restricted_column_for_either_role(
    app: Flask, identity_warehouse: Path
) -> None:
    name = load_run(identity_warehouse).identity([_top_nominal(identity_warehouse)])["name"][0]
    client = app.test_client()
    sign_in(client, "off")
    for item in (NOMINAL_SUMMARY, "i2_entities", Tables.CL_NOMINALS):
        body = client.get(f"/exports/download?item={item}&format=csv").get_data(as_text=True)
        assert name not in body and c.RESTRICTED not in body.splitlines()[0], item


@pytest.mark.parametrize(
    "query",
    ["item=nominals&format=csv", "item=network&format=csv", "item=cl_groups&format=pdf"],
)
def test_unknown_exports_are_404_and_not_audited(app: Flask, audit_log: Path, query: str) -> None:
    client = app.test_client()
    sign_in(client, "ana")
    assert client.get(f"/exports/download?{query}").status_code == 404
    assert [e["action"] for e in _audit(audit_log)] == ["sign_in"]


def test_unknown_nominal_is_a_clear_404(app: Flask) -> None:
    client = app.test_client()
    sign_in(client, "ana")
    response = client.get("/nominals/N9999999")
    assert response.status_code == 404
    assert "is not in this run&#39;s network" in response.get_data(as_text=True)
