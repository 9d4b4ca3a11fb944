"""Fixtures of the dashboard tests: the demo run with a ``nominal_identity`` table, accounts,
an audit log, and the Flask app."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark.columns import Tables
from clnet_spark.dashboard.app import DashboardSettings, create_app
from clnet_spark.dashboard.data import NOMINAL_IDENTITY, RunData, load_run
from clnet_spark.dashboard.users import add_user

PASSWORDS = {"ana": "analyst-secret-1", "off": "officer-secret-1"}
"""Test accounts: ``ana`` (analyst) and ``off`` (officer)."""


@pytest.fixture(scope="session")
def identity_warehouse(spark: SparkSession, demo_outputs: Path) -> Path:
    """The demo warehouse with the restricted ``nominal_identity`` table.

    When the pipeline does not write it yet (pseudonym contract not merged), it is built here
    from the nominals' ``restricted`` map, with ``source_nominal_id`` equal to the id.
    """
    if not (demo_outputs / NOMINAL_IDENTITY / "_delta_log").is_dir():
        nominals = spark.read.format("delta").load(str(demo_outputs / Tables.NOMINALS))
        identity = nominals.select(
            F.col(c.NOMINAL_ID),
            F.col(c.NOMINAL_ID).alias("source_nominal_id"),
            F.col(c.RESTRICTED).getItem("name").alias("name"),
            F.col(c.RESTRICTED).getItem("address").alias("address"),
        )
        identity.write.format("delta").save(str(demo_outputs / NOMINAL_IDENTITY))
    return demo_outputs


@pytest.fixture(scope="session")
def bare_warehouse(identity_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo warehouse without ``nominal_identity``."""
    target = tmp_path_factory.mktemp("bare") / "warehouse"
    shutil.copytree(identity_warehouse, target, ignore=shutil.ignore_patterns(NOMINAL_IDENTITY))
    return target


@pytest.fixture(scope="session")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("users") / "users.json"
    add_user(path, "ana", PASSWORDS["ana"], "analyst")
    add_user(path, "off", PASSWORDS["off"], "officer")
    return path


def make_app(
    warehouse: Path, users_file: Path, audit_log: Path, data: RunData | None = None
) -> Flask:
    settings = DashboardSettings(warehouse, users_file, audit_log, secret_key=b"test")
    app = create_app(settings, data)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def audit_log(tmp_path: Path) -> Path:
    return tmp_path / "audit" / "audit.jsonl"


@pytest.fixture(scope="session")
def identity_run(identity_warehouse: Path) -> RunData:
    """The run's tables, read once and shared (read-only) by the app tests."""
    return load_run(identity_warehouse)


@pytest.fixture
def app(
    identity_warehouse: Path, users_file: Path, audit_log: Path, identity_run: RunData
) -> Flask:
    return make_app(identity_warehouse, users_file, audit_log, identity_run)


def sign_in(client: FlaskClient, name: str) -> None:
    """Sign in through the form, CSRF token included (as a browser does)."""
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"username": name, "password": PASSWORDS[name], "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
