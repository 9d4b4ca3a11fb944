"""Accounts (salted hashes) and the append-only audit log."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from clnet_spark.dashboard.audit import AuditLog
from clnet_spark.dashboard.users import UserStore, add_user
from clnet_spark.errors import ConfigError


def test_users_file_holds_salted_hashes_not_passwords(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    add_user(path, "ana", "correct horse 1", "analyst")
    add_user(path, "bob", "correct horse 1", "officer")
    text = path.read_text()
    assert "correct horse" not in text
    users = json.loads(text)["users"]
    assert users["ana"]["password_hash"] != users["bob"]["password_hash"]  # salted
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    store = UserStore(path)
    assert store.authenticate("ana", "correct horse 1").role == "analyst"
    assert store.authenticate("bob", "correct horse 1").role == "officer"
    assert store.authenticate("ana", "correct horse 2") is None
    assert store.authenticate("carol", "correct horse 1") is None


def test_replacing_a_user_changes_the_password(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    add_user(path, "ana", "first password", "analyst")
    add_user(path, "ana", "second password", "officer")
    store = UserStore(path)
    assert store.authenticate("ana", "first password") is None
    assert store.authenticate("ana", "second password").role == "officer"


@pytest.mark.parametrize(
    ("name", "password", "role", "message"),
    [
        ("ana", "short", "analyst", "at least 10 characters"),
        ("ana", "long enough 1", "admin", "role 'admin'"),
        ("a b", "long enough 1", "analyst", "user name"),
    ],
)
def test_bad_accounts_are_refused(
    tmp_path: Path, name: str, password: str, role: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        add_user(tmp_path / "users.json", name, password, role)  # type: ignore[arg-type]
    assert not (tmp_path / "users.json").exists()


def test_missing_or_malformed_users_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist: create a user"):
        UserStore(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"users": {"ana": {"role": "boss", "password_hash": "x"}}}')
    with pytest.raises(ConfigError, match="user 'ana' needs a role in"):
        UserStore(bad)


def test_audit_log_only_appends(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text('{"earlier": true}\n')
    log = AuditLog(path)
    log.append(
        user="ana", role="analyst", action="view_nominal", what="N1", reason=None, run_id="r"
    )
    log.append(
        user="ana", role="analyst", action="export", what="cl_groups.csv", reason="why", run_id="r"
    )
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0] == {"earlier": True}
    assert [(e["action"], e["what"], e["reason"]) for e in lines[1:]] == [
        ("view_nominal", "N1", None),
        ("export", "cl_groups.csv", "why"),
    ]
    assert all(e["at"].endswith("+00:00") for e in lines[1:])


def test_audit_log_inside_the_warehouse_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="outside the warehouse"):
        AuditLog(tmp_path / "warehouse" / "audit.jsonl", warehouse=tmp_path / "warehouse")
