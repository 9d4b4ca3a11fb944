"""Driver-side guards: bounded collections, the driver's memory peaks, and the fault-test hook.

Bounded collections
    Every stage that brings rows to the driver does it through :func:`collect_bounded` or
    :func:`to_pandas_bounded`. Unarmed they are plain ``collect()`` / ``toPandas()``. Armed
    (env ``CLNET_DRIVER_ROW_LIMIT=N``, or :func:`armed` in a test) each collection fetches at
    most ``N + 1`` rows and raises :class:`DriverCollectionError` when there are more, so a
    run on a corpus with many more records than kept nominals proves that nothing
    proportional to the corpus reaches the driver.

Memory peaks
    :func:`driver_memory` reads the high-water marks of the driver: the Python process's peak
    resident set, the driver JVM's peak resident set and the sum of its heap pools' peaks.

Fault-test hook
    With env ``CLNET_TEST_KILL_IN_STAGE=<stage>`` the process kills itself with SIGKILL in
    that stage: with ``CLNET_TEST_KILL_AT=write`` (the default) right after the stage's first
    table commit (or, in the report stage, its first export file); with ``during-write`` as
    soon as the first data file of the stage's first write lands, before that write commits.
    When the process leads its own process group (the fault tests start it with a new
    session), the whole group goes (the driver JVM and Python workers with it), as in a
    machine failure. Never set these variables outside the fault tests.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import pandas as pd
from pyspark.sql import DataFrame, Row, SparkSession

from clnet_spark.errors import ClnetError

log = logging.getLogger(__name__)

ROW_LIMIT_ENV: Final = "CLNET_DRIVER_ROW_LIMIT"
KILL_STAGE_ENV: Final = "CLNET_TEST_KILL_IN_STAGE"
KILL_AT_ENV: Final = "CLNET_TEST_KILL_AT"
KILL_POINTS: Final = ("write", "during-write")

_armed_limit: int | None = None
_stage: str | None = None
_kill_armed = True  # the hook fires once per process


class DriverCollectionError(ClnetError):
    """A collection to the driver had more rows than the armed bound allows."""


def row_limit() -> int | None:
    """The armed bound on rows per driver collection, or None when unarmed."""
    if _armed_limit is not None:
        return _armed_limit
    raw = os.environ.get(ROW_LIMIT_ENV, "").strip()
    if not raw:
        return None
    try:
        limit = int(raw)
    except ValueError:
        raise DriverCollectionError(
            f"env {ROW_LIMIT_ENV}: expected a whole number of rows, found {raw!r}"
        ) from None
    if limit < 1:
        raise DriverCollectionError(f"env {ROW_LIMIT_ENV}: expected at least 1, found {limit}")
    return limit


@contextmanager
def armed(limit: int) -> Iterator[None]:
    """Arm the collection guard in this process for the duration of the block (tests)."""
    global _armed_limit
    previous, _armed_limit = _armed_limit, limit
    try:
        yield
    finally:
        _armed_limit = previous


def _check(count: int, limit: int, what: str) -> None:
    if count > limit:
        raise DriverCollectionError(
            f"collecting {what} to the driver: more than {limit:,} rows (the armed bound, "
            f"env {ROW_LIMIT_ENV}); the driver may only receive rows bounded by the pruned "
            "network or a fixed-size summary"
        )


def collect_bounded(frame: DataFrame, what: str) -> list[Row]:
    """``frame.collect()``, checked against the armed bound.

    Parameters
    ----------
    frame
        Rows bounded by the pruned network (kept nominals, kept edges, groups) or a summary
        of fixed size (per search group, per quarantine reason).
    what
        Named in the error (a table or a description; never row content).

    Raises
    ------
    DriverCollectionError
        The guard is armed and ``frame`` has more rows than its bound.
    """
    limit = row_limit()
    if limit is None:
        return frame.collect()
    rows = frame.limit(limit + 1).collect()
    _check(len(rows), limit, what)
    return rows


def to_pandas_bounded(frame: DataFrame, what: str) -> pd.DataFrame:
    """``frame.toPandas()``, checked against the armed bound (see :func:`collect_bounded`)."""
    limit = row_limit()
    if limit is None:
        return frame.toPandas()
    table = frame.limit(limit + 1).toPandas()
    _check(len(table), limit, what)
    return table


# --- memory -------------------------------------------------------------------------------


def _peak_rss_mb(pid: int) -> float | None:
    """VmHWM (peak resident set) of a process from /proc, in MB; None where unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _driver_jvm_pid() -> int | None:
    """The pid of the driver JVM when it is a child of this process (local mode)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a runtime dependency
        return None
    for child in psutil.Process().children(recursive=True):
        try:
            if child.name() == "java":
                return child.pid
        except psutil.Error:
            continue
    return None


def _jvm_heap_peak_mb(spark: SparkSession) -> tuple[float, float] | None:
    """(sum of heap pools' peak usage, max heap) of the driver JVM in MB."""
    try:
        jvm = spark.sparkContext._jvm  # noqa: SLF001 - py4j view of the driver JVM
        factory = jvm.java.lang.management.ManagementFactory
        peak = 0
        for pool in factory.getMemoryPoolMXBeans():
            if str(pool.getType().toString()) == "Heap memory":
                peak += int(pool.getPeakUsage().getUsed())
        maximum = int(jvm.java.lang.Runtime.getRuntime().maxMemory())
    except Exception:  # noqa: BLE001 - memory figures are informative, never fatal
        return None
    return round(peak / 2**20, 1), round(maximum / 2**20, 1)


def driver_memory() -> dict[str, float]:
    """Peak driver memory so far, in MB: Python RSS, JVM RSS and JVM heap (with its max).

    The Python figure is the process's high-water mark (``ru_maxrss``); the JVM's resident
    peak is its ``VmHWM`` (local mode, where the JVM is this process's child); the heap peak
    is the sum of the heap pools' peaks, an upper bound of the heap in use at any moment.
    Figures that cannot be read (another OS, a remote driver) are left out.
    """
    figures: dict[str, float] = {
        "python peak rss": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    }
    jvm_pid = _driver_jvm_pid()
    if jvm_pid is not None:
        rss = _peak_rss_mb(jvm_pid)
        if rss is not None:
            figures["jvm peak rss"] = rss
    spark = SparkSession.getActiveSession()
    if spark is not None:
        heap = _jvm_heap_peak_mb(spark)
        if heap is not None:
            figures["jvm peak heap"], figures["jvm max heap"] = heap
    return figures


# --- the fault-test hook ---------------------------------------------------------------


def stage_started(name: str) -> None:
    """Called by :meth:`clnet_spark.run.RunContext.stage`: the stage the driver is in."""
    global _stage
    _stage = name


def _kill_point() -> str | None:
    """The kill point armed for the current stage, or None."""
    if not _kill_armed or _stage is None or os.environ.get(KILL_STAGE_ENV) != _stage:
        return None
    point = os.environ.get(KILL_AT_ENV, "write")
    if point not in KILL_POINTS:
        raise ValueError(f"env {KILL_AT_ENV}: expected one of {list(KILL_POINTS)}, found {point!r}")
    return point


def _die(reason: str) -> None:
    global _kill_armed
    _kill_armed = False
    log.warning("fault test: SIGKILL in stage %s (%s)", _stage, reason)
    for handler in logging.getLogger().handlers:
        handler.flush()
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def after_write(what: str) -> None:
    """Called after every committed table write and every export file (kill point ``write``)."""
    if _kill_point() == "write":
        _die(f"after writing {what}")


def _data_files(folder: Path) -> set[str]:
    """Data files under ``folder`` (os.walk skips folders that vanish while it looks)."""
    found: set[str] = set()
    for parent, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d != "_delta_log"]
        found.update(os.path.join(parent, f) for f in files if f.endswith((".parquet", ".csv")))
    return found


def before_write(folder: Path) -> None:
    """Called before every table write and export file (kill point ``during-write``).

    Starts a watcher that kills the process as soon as a new data file appears under
    ``folder``: the write's tasks have started landing files, its commit has not happened.
    """
    if _kill_point() != "during-write":
        return
    existing = _data_files(folder)

    def watch() -> None:
        while True:
            if _data_files(folder) - existing:
                _die(f"while writing {folder.name}, before its commit")
            time.sleep(0.002)

    threading.Thread(target=watch, name="clnet-fault-test", daemon=True).start()
