"""The packed environment travels to the executors of a standalone cluster.

``deploy/pack_env.sh`` packs the environment; ``deploy/submit.sh`` ships it with
``--archives`` to a real two-worker cluster whose daemons have no PYTHONPATH, and a probe job
(``env_probe.py``) reports from every task which interpreter and packages it ran with.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import subprocess
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.deploy.conftest import Cluster

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def test_archive_holds_clnet_as_a_package_and_no_spark_jars(packed_env: Path) -> None:
    with tarfile.open(packed_env) as archive:
        names = archive.getnames()
    site = "lib/python3.11/site-packages/"
    assert f"{site}clnet_spark/__init__.py" in names
    assert f"{site}clnet_spark/search/catalogue.py" in names
    assert any(n.startswith(f"{site}clnet-0.1.0.dist-info/") for n in names)
    # An editable install would leave a path hook instead of the package's files.
    assert not any(n.endswith(".pth") and "clnet" in n for n in names)
    assert "bin/python" in names and "pyvenv.cfg" in names
    assert not any(n.startswith(f"{site}pyspark/jars/") for n in names)
    assert f"{site}pyspark/__init__.py" in names


def test_executors_run_the_packed_environment(
    standalone_cluster: Cluster,
    packed_env: Path,
    submit_env: Callable[..., dict[str, str]],
    tmp_path: Path,
) -> None:
    out = tmp_path / "reports.json"
    started = time.monotonic()
    result = subprocess.run(
        [
            *("bash", str(REPO / "deploy" / "submit.sh")),
            *("--master", standalone_cluster.master_url, "--env-archive", str(packed_env)),
            *("--conf", "spark.executor.memory=512m", "--conf", "spark.ui.enabled=false"),
            *("--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0"),
            *("--conf", "spark.scheduler.maxRegisteredResourcesWaitingTime=120s"),
            str(Path(__file__).with_name("env_probe.py")),
            str(out),
        ],
        # The driver sees this checkout; the executors must not need it.
        env=submit_env(PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    standalone_cluster.timings["env probe job"] = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-4000:] + standalone_cluster.log_tail()
    reports = json.loads(out.read_text())

    assert sorted(r["partition"] for r in reports) == [0, 1, 2, 3]
    executors = {r["cwd"] for r in reports}
    assert len(executors) == 2, executors  # both workers' executors ran tasks
    for report in reports:
        cwd = Path(report["cwd"])
        assert cwd.parent.parent.name.startswith("worker-"), report  # <work dir>/<app>/<id>
        assert Path(report["prefix"]) == cwd / "environment", report
        assert Path(report["executable"]).parent == cwd / "environment" / "bin", report
        site = cwd / "environment" / "lib" / "python3.11" / "site-packages"
        assert Path(report["clnet_spark"]) == site / "clnet_spark" / "__init__.py", report
    # Every runtime dependency imports on the executors, at the driver's version.
    expected = {name: metadata.version(name) for name in reports[0]["versions"]}
    assert {"pyarrow", "pandas", "igraph"} <= set(expected)
    assert all(r["versions"] == expected for r in reports)
