"""``clnet dashboard add-user`` and the dashboard command's errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from clnet_spark.cli import cli
from clnet_spark.dashboard.users import UserStore


def test_add_user_prompts_twice_and_stores_only_a_hash(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    result = CliRunner().invoke(
        cli,
        ["dashboard", "--users", str(users), "add-user", "ana", "--role", "officer"],
        input="a long passphrase\na long passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "a long passphrase" not in users.read_text()
    assert json.loads(users.read_text())["users"]["ana"]["role"] == "officer"
    assert UserStore(users).authenticate("ana", "a long passphrase").role == "officer"


def test_users_file_comes_from_the_environment(tmp_path: Path) -> None:
    users = tmp_path / "env_users.json"
    result = CliRunner().invoke(
        cli,
        ["dashboard", "add-user", "bo", "--role", "analyst", "--password", "another passphrase"],
        env={"CLNET_DASHBOARD_USERS": str(users)},
    )
    assert result.exit_code == 0, result.output
    assert UserStore(users).get("bo").role == "analyst"


def test_dashboard_without_a_warehouse_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["dashboard"])
    assert result.exit_code == 2
    assert "give --warehouse" in result.output
