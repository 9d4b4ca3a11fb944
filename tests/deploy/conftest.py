"""A real Spark standalone cluster on loopback, and the packed Python environment.

The pip pyspark has no ``sbin/start-master.sh``, so the master and two workers (1 core,
1 GB each) are started with ``bin/spark-class``, each in a process group of its own. The
teardown kills those groups (executors are children of their worker, in its group) and
checks that no JVM of the cluster is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyspark
import pytest

REPO = Path(__file__).resolve().parents[2]
SPARK_HOME = Path(pyspark.__file__).resolve().parent
WORKERS = 2
START_TIMEOUT_S = 180


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def daemon_env() -> dict[str, str]:
    """The cluster daemons' environment: no checkout or interpreter of this test run.

    Without PYTHONPATH an executor can import clnet only from what the submitter ships.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "VIRTUAL_ENV"} and not k.startswith(("PYSPARK", "SPARK"))
    }
    env.update(SPARK_HOME=str(SPARK_HOME), SPARK_LOCAL_IP="127.0.0.1", SPARK_DAEMON_MEMORY="256m")
    return env


@dataclass
class Cluster:
    master_url: str
    ui_port: int
    worker_ports: list[int]
    logs: Path
    processes: list[subprocess.Popen] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def state(self) -> dict:
        url = f"http://127.0.0.1:{self.ui_port}/json/"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)

    def log_tail(self, lines: int = 30) -> str:
        parts = []
        for log in sorted(self.logs.glob("*.log")):
            parts.append(f"--- {log.name}\n" + "\n".join(log.read_text().splitlines()[-lines:]))
        return "\n".join(parts)

    def start(self, name: str, main_class: str, *args: str) -> None:
        log = (self.logs / f"{name}.log").open("w")
        self.processes.append(
            subprocess.Popen(
                [str(SPARK_HOME / "bin" / "spark-class"), main_class, *args],
                env=daemon_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def wait_for_workers(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            dead = [p.args[1] for p in self.processes if p.poll() is not None]
            if dead:
                raise RuntimeError(f"cluster daemon exited: {dead}\n{self.log_tail()}")
            try:
                alive = [w for w in self.state()["workers"] if w["state"] == "ALIVE"]
                if len(alive) == WORKERS:
                    return
            except OSError:
                pass  # the master's web UI is not up yet
            time.sleep(1)
        raise RuntimeError(f"{WORKERS} workers not alive in {START_TIMEOUT_S} s\n{self.log_tail()}")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        # Executors run in their worker's process group; make sure none outlived it.
        for pgid in (p.pid for p in self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)

    def leftover_jvms(self) -> list[int]:
        """Processes still running whose command line names this cluster's ports."""
        master_port = self.master_url.rsplit(":", 1)[1]
        marks = [f"--port {port}" for port in (master_port, *self.worker_ports)]
        marks += [f"Worker@127.0.0.1:{port}" for port in self.worker_ports]  # executors
        left = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "java" in cmdline and any(mark in cmdline for mark in marks):
                left.append(int(proc.name))
        return left


@pytest.fixture(scope="session")
def standalone_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("standalone")
    master_port, ui_port = free_port(), free_port()
    worker_ports = [free_port() for _ in range(WORKERS)]
    cluster = Cluster(f"spark://127.0.0.1:{master_port}", ui_port, worker_ports, root)
    started = time.monotonic()
    try:
        cluster.start(
            "master",
            "org.apache.spark.deploy.master.Master",
            *("--host", "127.0.0.1", "--port", str(master_port), "--webui-port", str(ui_port)),
        )
        for i, port in enumerate(worker_ports):
            work_dir = root / f"worker-{i}"
            work_dir.mkdir()
            cluster.start(
                f"worker-{i}",
                "org.apache.spark.deploy.worker.Worker",
                *("--host", "127.0.0.1", "--port", str(port), "--webui-port", str(free_port())),
                *("--cores", "1", "--memory", "1g", "--work-dir", str(work_dir)),
                cluster.master_url,
            )
        cluster.wait_for_workers()
        cluster.timings["cluster start"] = time.monotonic() - started
        running = cluster.leftover_jvms()
        yield cluster
    finally:
        cluster.stop()
        left = cluster.leftover_jvms()
        print(f"\ncluster timings (s): {json.dumps(cluster.timings)}", file=sys.stderr)
    # The search for leftovers must see the daemons while they run, or finding none says nothing.
    assert len(running) >= 1 + WORKERS, running
    assert left == [], f"JVMs of the test cluster still running: {left}"


@pytest.fixture(scope="session")
def submit_env() -> Callable[..., dict[str, str]]:
    """The environment for ``deploy/submit.sh``: this venv's spark-submit and driver Python."""

    def env(**extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK", "PYSPARK"))}
        return {
            **base,
            "SPARK_SUBMIT": str(SPARK_HOME / "bin" / "spark-submit"),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            **extra,
        }

    return env


@pytest.fixture(scope="session")
def packed_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``deploy/pack_env.sh`` run once, into a temporary folder (its output is timed)."""
    out = tmp_path_factory.mktemp("packed") / "clnet-env.tar.gz"
    packer = {"PACKER": sys.executable, "COMPRESS_LEVEL": "1"}
    started = time.monotonic()
    subprocess.run(
        ["bash", str(REPO / "deploy" / "pack_env.sh"), str(out)],
        env={**os.environ, **packer},
        check=True,
        timeout=900,
    )
    print(f"\npacked environment in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return out
