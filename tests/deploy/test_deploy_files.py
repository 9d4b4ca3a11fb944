"""The deployment examples under ``deploy/`` name files, jobs, jars and images that exist.

Nothing here needs a cluster, Docker, Kubernetes or Airflow: each example is parsed and its
references are resolved against this checkout.
"""

from __future__ import annotations

import datetime as dt
import os
import py_compile
import re
import runpy
import shlex
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest
import yaml
from croniter import croniter

from clnet_spark import session

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SUBMIT = DEPLOY / "submit.sh"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"


def documented_jobs() -> set[str]:
    """The jobs listed in the table of ``docs/cluster.md``."""
    text = (REPO / "docs" / "cluster.md").read_text()
    return set(re.findall(r"^\| `(jobs/[a-z_]+\.py)` \|", text, flags=re.MULTILINE))


def jar_names() -> list[str]:
    return [line.strip() for line in (DEPLOY / "jars.txt").read_text().splitlines() if line]


def pinned(distribution: str) -> str:
    for requirement in PYPROJECT["project"]["dependencies"]:
        name, _, version = requirement.partition("==")
        if name == distribution:
            return version
    raise AssertionError(f"{distribution} is not pinned with == in pyproject.toml")


def image_tag() -> str:
    return f"clnet:{PYPROJECT['project']['version']}"


def spark_defaults(path: Path) -> dict[str, str]:
    settings = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, value = line.split(None, 1)
        assert key not in settings, f"{path.name}: {key} set twice"
        settings[key] = value.strip()
    return settings


def test_every_job_file_is_documented() -> None:
    jobs = documented_jobs()
    assert {"jobs/run.py", "jobs/update.py"} <= jobs
    existing = {f"jobs/{p.name}" for p in (REPO / "jobs").glob("*.py")}
    assert existing <= jobs, existing - jobs
    for path in (REPO / "jobs").glob("*.py"):  # thin entry points: `clnet <name>`
        assert f'main(["{path.stem}", *sys.argv[1:]])' in path.read_text(), path.name


def test_jar_list_names_jar_files_that_are_resolved() -> None:
    names = jar_names()
    assert names and all(re.fullmatch(r"[A-Za-z0-9_.\-]+-\d[\w.\-]*\.jar", n) for n in names)
    assert any(n.startswith("delta-spark_") for n in names)
    assert all((DEPLOY / "jars" / "lib" / n).is_file() for n in names)


# --- Kubernetes -----------------------------------------------------------------------------


def test_manifest_names_the_package_image_job_and_jars() -> None:
    manifest = yaml.safe_load((DEPLOY / "k8s" / "clnet-nightly.yaml").read_text())
    assert manifest["apiVersion"] == "sparkoperator.k8s.io/v1beta2"
    assert manifest["kind"] == "SparkApplication"
    spec = manifest["spec"]
    assert spec["type"] == "Python" and spec["mode"] == "cluster"
    assert spec["image"] == image_tag()
    assert spec["sparkVersion"] == pinned("pyspark")

    # /opt/clnet/jobs and /opt/clnet/jars are where the Dockerfile puts jobs/ and the jars.
    main = spec["mainApplicationFile"]
    assert main.startswith("local:///opt/clnet/jobs/")
    assert main.removeprefix("local:///opt/clnet/") in documented_jobs()
    assert main.endswith("/update.py")
    assert spec["deps"]["jars"] == [f"local:///opt/clnet/jars/{n}" for n in jar_names()]

    arguments = spec["arguments"]
    assert arguments[arguments.index("--input") + 1].startswith("/data/")
    assert arguments[arguments.index("--warehouse") + 1].startswith("/data/")
    mounts = {m["name"]: m["mountPath"] for m in spec["driver"]["volumeMounts"]}
    volumes = {v["name"] for v in spec["volumes"]}
    assert set(mounts) <= volumes and mounts["data"] == "/data"

    assert spec["sparkConf"]["spark.sql.extensions"] == DELTA_EXTENSION
    assert spec["sparkConf"]["spark.sql.catalog.spark_catalog"] == DELTA_CATALOG
    driver_env = {e["name"]: e["value"] for e in spec["driver"]["env"]}
    assert driver_env["CLNET_CONFIG"] == "/opt/clnet/conf/clnet.yaml"
    assert (REPO / "conf" / "clnet.yaml").is_file()
    # The pseudonym key reaches the driver only.
    assert "env" not in spec["executor"]
    assert "pseudonym-key" not in {m["name"] for m in spec["executor"]["volumeMounts"]}


def test_dockerfile_builds_what_the_manifest_expects() -> None:
    text = (DEPLOY / "k8s" / "Dockerfile").read_text()
    assert re.search(r"^ARG SPARK_VERSION=(\S+)$", text, re.MULTILINE)[1] == pinned("pyspark")
    copies = re.findall(r"^COPY (?!--from)(.+)$", text, flags=re.MULTILINE)
    targets = {}
    for line in copies:
        *sources, target = line.split()
        for source in sources:
            assert (REPO / source).exists(), f"Dockerfile copies {source}, which is missing"
            targets[source.rstrip("/")] = target.rstrip("/")
    assert targets["jobs"] == "/opt/clnet/jobs"
    assert targets["conf"] == "/opt/clnet/conf"
    assert targets["deploy/jars/lib"] == "/opt/clnet/jars"
    assert "ENV CLNET_CONFIG=/opt/clnet/conf/clnet.yaml" in text
    assert "pip install --no-cache-dir /tmp/clnet-src" in text  # a regular, not editable, install


def test_make_image_tags_the_image_the_manifest_runs() -> None:
    dry = subprocess.run(
        ["make", "-n", "-s", "image"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert dry.stdout.split() == [
        *("docker", "build", "-f", "deploy/k8s/Dockerfile", "-t", image_tag(), ".")
    ]


# --- spark-defaults flavours ----------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["standalone", "yarn", "k8s"])
def test_spark_defaults_flavour_parses_and_configures_delta(flavour: str) -> None:
    settings = spark_defaults(DEPLOY / "conf" / f"spark-defaults.{flavour}.conf")
    assert all(key.startswith("spark.") for key in settings)
    assert settings["spark.sql.extensions"] == DELTA_EXTENSION
    assert settings["spark.sql.catalog.spark_catalog"] == DELTA_CATALOG
    assert settings["spark.sql.session.timeZone"] == "UTC"
    source = Path(session.__file__).read_text()
    assert DELTA_EXTENSION in source and DELTA_CATALOG in source
    expected_master = {"standalone": "spark://", "yarn": "yarn", "k8s": "k8s://"}[flavour]
    assert settings["spark.master"].startswith(expected_master)


def test_k8s_flavour_runs_the_manifest_image() -> None:
    settings = spark_defaults(DEPLOY / "conf" / "spark-defaults.k8s.conf")
    assert settings["spark.kubernetes.container.image"] == image_tag()


def test_yarn_flavour_ships_files_that_exist() -> None:
    settings = spark_defaults(DEPLOY / "conf" / "spark-defaults.yarn.conf")
    shipped = settings["spark.files"].split(",")
    assert all((REPO / f).is_file() for f in shipped)
    config = settings["spark.yarn.appMasterEnv.CLNET_CONFIG"]
    assert Path(config).name in {Path(f).name for f in shipped}


# --- schedulers -----------------------------------------------------------------------------


def cron_entries() -> tuple[dict[str, str], list[str]]:
    variables, entries = {}, []
    for line in (DEPLOY / "cron" / "clnet-nightly.cron").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if re.fullmatch(r"[A-Z_]+=\S+", line):
            name, value = line.split("=", 1)
            variables[name] = value
        else:
            entries.append(line)
    return variables, entries


def submitted_command(command: str) -> list[str]:
    """The words from ``deploy/submit.sh`` on, in a shell command line."""
    words = shlex.split(command)
    start = next(i for i, w in enumerate(words) if w.endswith("deploy/submit.sh"))
    return words[start:]


def check_submission(words: list[str]) -> None:
    assert words[0] == "deploy/submit.sh" and os.access(REPO / words[0], os.X_OK)
    properties = words[words.index("--properties-file") + 1]
    assert (REPO / properties).is_file()
    job = next(w for w in words if w.startswith("jobs/"))
    assert job == "jobs/update.py" and job in documented_jobs()
    after = words[words.index(job) + 1 :]
    assert after[after.index("--warehouse") + 1] == "/data/warehouse"
    assert after[after.index("--input") + 1].startswith("/data/batches/")


def test_cron_entry_parses_and_runs_the_nightly_update() -> None:
    variables, entries = cron_entries()
    assert len(entries) == 1
    fields = entries[0].split(None, 6)
    schedule, user, command = " ".join(fields[:5]), fields[5], fields[6]
    assert croniter.is_valid(schedule)
    fires = croniter(schedule, dt.datetime(2026, 3, 1, 12, 0)).get_next(dt.datetime)
    assert fires == dt.datetime(2026, 3, 2, 2, 30)
    assert user == "clnet"
    assert variables["CLNET_HOME"] == "/opt/clnet" and 'cd "$CLNET_HOME"' in command
    # cron turns a bare % into a line break; each must be escaped.
    assert re.search(r"(?<!\\)%", command) is None
    check_submission(submitted_command(command))


class _Recorder:
    """Stand-ins for Airflow's DAG and BashOperator that keep what they were given."""

    dags: list[dict] = []
    tasks: list[dict] = []

    class DAG:
        def __init__(self, **kwargs) -> None:
            _Recorder.dags.append(kwargs)

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            return None

    class BashOperator:
        def __init__(self, **kwargs) -> None:
            _Recorder.tasks.append(kwargs)


def test_airflow_dag_compiles_and_runs_the_nightly_update(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = DEPLOY / "airflow" / "clnet_nightly.py"
    py_compile.compile(str(path), doraise=True)

    _Recorder.dags.clear()
    _Recorder.tasks.clear()
    airflow = types.ModuleType("airflow")
    airflow.DAG = _Recorder.DAG
    operators = types.ModuleType("airflow.operators.bash")
    operators.BashOperator = _Recorder.BashOperator
    monkeypatch.setitem(sys.modules, "airflow", airflow)
    monkeypatch.setitem(sys.modules, "airflow.operators.bash", operators)
    monkeypatch.delenv("CLNET_HOME", raising=False)
    runpy.run_path(str(path))

    (dag,) = _Recorder.dags
    (task,) = _Recorder.tasks
    assert dag["dag_id"] == "clnet_nightly" and dag["max_active_runs"] == 1
    _, entries = cron_entries()
    assert dag["schedule"] == " ".join(entries[0].split()[:5])
    assert task["cwd"] == "/opt/clnet"
    words = submitted_command(task["bash_command"])
    assert words[words.index("--input") + 1] == "/data/batches/{{ ds }}"
    check_submission(words)


# --- submit.sh ------------------------------------------------------------------------------


@pytest.mark.parametrize("script", ["submit.sh", "pack_env.sh", "resolve_jars.sh"])
def test_deploy_script_is_valid_bash(script: str) -> None:
    subprocess.run(["bash", "-n", str(DEPLOY / script)], check=True)


def test_make_package_packs_with_the_venv_python() -> None:
    dry = subprocess.run(
        ["make", "-n", "-s", "-B", "package"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert dry.stdout.splitlines()[-1].split() == [
        *("PACKER=.venv/bin/python", "PYTHON=python3.11", "bash", "deploy/pack_env.sh"),
        "deploy/dist/clnet-env.tar.gz",
    ]


def run_submit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK", "PYSPARK"))}
    return subprocess.run(
        ["bash", str(SUBMIT), *args], capture_output=True, text=True, env={**base, **(env or {})}
    )


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    path = tmp_path / "env.tar.gz"
    path.write_bytes(b"")  # a dry run only checks that the file is there
    return path


def test_submit_dry_run_builds_jars_archive_and_interpreters(archive: Path) -> None:
    result = run_submit(
        *("--dry-run", "--master", "spark://127.0.0.1:7077", "--env-archive", str(archive)),
        *("--conf", "spark.executor.memory=3g", "run", "--input", "in dir", "--warehouse", "wh"),
        env={"SPARK_SUBMIT": "/opt/spark/bin/spark-submit", "PYSPARK_DRIVER_PYTHON": "/py/bin/x"},
    )
    assert result.returncode == 0, result.stderr
    jars = ",".join(str(DEPLOY / "jars" / "lib" / n) for n in jar_names())
    assert shlex.split(result.stdout) == [
        "/opt/spark/bin/spark-submit",
        *("--master", "spark://127.0.0.1:7077", "--deploy-mode", "client", "--jars", jars),
        *("--archives", f"{archive}#environment"),
        *("--conf", "spark.pyspark.python=./environment/bin/python"),
        *("--conf", "spark.pyspark.driver.python=/py/bin/x"),
        *("--conf", "spark.executor.memory=3g"),
        str(REPO / "jobs" / "run.py"),
        *("--input", "in dir", "--warehouse", "wh"),
    ]


def test_submit_in_cluster_mode_leaves_the_driver_the_archive_interpreter(archive: Path) -> None:
    result = run_submit(
        "--dry-run", "--deploy-mode", "cluster", "--env-archive", str(archive), "jobs/report.py"
    )
    assert result.returncode == 0, result.stderr
    words = shlex.split(result.stdout)
    assert "--master" not in words
    assert "spark.pyspark.python=./environment/bin/python" in words
    assert not any(w.startswith("spark.pyspark.driver.python") for w in words)
    assert words[-1] == str(REPO / "jobs" / "report.py")


def test_submit_without_environment_ships_no_archive() -> None:
    flavour = str(DEPLOY / "conf" / "spark-defaults.standalone.conf")
    result = run_submit("--dry-run", "--no-env", "--properties-file", flavour, "search")
    assert result.returncode == 0, result.stderr
    words = shlex.split(result.stdout)
    assert "--archives" not in words and not any("pyspark.python" in w for w in words)
    assert words[-3:] == ["--properties-file", flavour, str(REPO / "jobs" / "search.py")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--env-archive", "/nonexistent/env.tar.gz", "run"), "run `make package`"),
        (("--no-env", "jobs/nonexistent.py"), "no job file"),
        (("--no-env", "--conf", "spark.executor.memory", "run"), "--conf needs KEY=VALUE"),
        (("--no-env", "--deploy-mode", "remote", "run"), "client or cluster"),
        (("--no-env", "--verbose", "run"), "unknown option '--verbose'"),
        (("--no-env", "--properties-file", "/nonexistent.conf", "run"), "no file"),
    ],
)
def test_submit_rejects_bad_arguments_with_the_reason(args: tuple[str, ...], message: str) -> None:
    result = run_submit("--dry-run", *args)
    assert result.returncode != 0 and result.stdout == ""
    assert message in result.stderr
