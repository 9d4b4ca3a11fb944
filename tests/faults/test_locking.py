"""The warehouse lock: one run at a time, a clear refusal, no stale lock after a SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from clnet_spark.locking import (
    WarehouseBusyError,
    hold_until_exit,
    lock_path,
    owner_path,
    release_all,
    warehouse_lock,
)

REPO = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    from clnet_spark.locking import warehouse_lock
    with warehouse_lock(Path(sys.argv[1]), "holder-run", timeout=0):
        Path(sys.argv[2]).write_text("held")
        if sys.argv[3] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(float(sys.argv[3]))
    """
)


def _hold(warehouse: Path, tmp_path: Path, mode: str) -> subprocess.Popen:
    """Start a process that takes the lock, signals it through a file, then sleeps or dies."""
    flag = tmp_path / f"held-{mode}"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(warehouse), str(flag), mode],
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    deadline = time.monotonic() + 60
    while not flag.exists():
        assert proc.poll() is None or mode == "kill", "the holder died before taking the lock"
        assert time.monotonic() < deadline, "the holder never took the lock"
        time.sleep(0.05)
    return proc


def test_a_second_holder_is_refused_with_the_holder_named(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    holder = _hold(warehouse, tmp_path, "30")
    try:
        started = time.monotonic()
        with (
            pytest.raises(WarehouseBusyError) as refused,
            warehouse_lock(warehouse, "second-run", timeout=0.5),
        ):
            pass
        assert time.monotonic() - started < 10
        message = str(refused.value)
        assert "holder-run" in message and f"pid {holder.pid}" in message
        assert str(lock_path(warehouse)) in message and "--lock-timeout" in message
    finally:
        holder.kill()
        holder.wait()


def test_a_waiting_run_gets_the_lock_when_the_holder_finishes(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    holder = _hold(warehouse, tmp_path, "1.5")
    started = time.monotonic()
    with warehouse_lock(warehouse, "waiting-run", timeout=60):
        assert time.monotonic() - started >= 1.0  # it waited for the holder's 1.5 s sleep
        assert holder.wait(timeout=60) == 0
        owner = json.loads(owner_path(warehouse).read_text())
        assert owner["run_id"] == "waiting-run" and owner["pid"] == os.getpid()
    assert not owner_path(warehouse).exists()


def test_a_sigkilled_holder_leaves_no_lock_behind(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    holder = _hold(warehouse, tmp_path, "kill")
    assert holder.wait(timeout=60) == -signal.SIGKILL
    assert lock_path(warehouse).exists()  # the file stays; the OS lock went with the process
    started = time.monotonic()
    with warehouse_lock(warehouse, "next-run", timeout=0):
        owner = json.loads(owner_path(warehouse).read_text())
        assert owner["run_id"] == "next-run"  # the dead holder's note was replaced
    assert time.monotonic() - started < 5


def test_hold_until_exit_is_taken_once_per_process(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    try:
        first = hold_until_exit(warehouse, "cli-run", timeout=0)
        assert hold_until_exit(warehouse, "cli-run", timeout=0) == first  # no self-deadlock
        with pytest.raises(WarehouseBusyError), warehouse_lock(warehouse, "other", timeout=0):
            pass
    finally:
        release_all()
    with warehouse_lock(warehouse, "other", timeout=0):
        pass
