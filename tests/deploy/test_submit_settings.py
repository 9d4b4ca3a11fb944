"""Under spark-submit, what the submitter gives wins over ``conf/clnet.yaml``'s spark section.

``conf/clnet.yaml`` says ``local[*]`` and 8 shuffle partitions; a job submitted with
``--master local[1]`` and 3 partitions must run with those, and keep the session's own
defaults (the Delta extension) where the submitter said nothing.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from clnet_spark.config import load_config

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def test_submitted_master_conf_and_jars_win_over_the_config(
    submit_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    settings = load_config().spark
    assert settings.master == "local[*]" and settings.shuffle_partitions == 8
    out = tmp_path / "settings.json"
    result = subprocess.run(
        [
            *("bash", str(REPO / "deploy" / "submit.sh"), "--no-env", "--master", "local[1]"),
            *("--conf", "spark.sql.shuffle.partitions=3", "--conf", "spark.ui.enabled=false"),
            str(Path(__file__).with_name("session_probe.py")),
            str(out),
        ],
        env=submit_env(PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    actual = json.loads(out.read_text())
    assert actual["spark.master"] == "local[1]"
    assert actual["spark.sql.shuffle.partitions"] == "3"
    jar_names = (REPO / "deploy" / "jars.txt").read_text().split()
    submitted = [Path(j.removeprefix("file:")).name for j in actual["spark.jars"].split(",")]
    assert submitted == jar_names
    assert actual["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
