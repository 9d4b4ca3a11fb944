"""One run at a time per warehouse: an OS file lock held for the whole run.

The lock is ``<warehouse>/_clnet/run.lock``, taken with :class:`filelock.FileLock` (``flock``
on Linux). The operating system releases it when the holding process ends in any way,
SIGKILL included, so a crashed run never leaves a lock that blocks the next one; the file
itself stays and means nothing. Beside it, ``run.lock.owner.json`` names the holder (run id,
process id, host, start time; no personal data) so that a refused run can say who holds the
warehouse.

On shared cluster storage the lock is only as good as the filesystem's support for
``flock`` (a local disk and NFSv4 honour it; an object store such as S3 or ABFS has no
locks). Where it is not honoured, two runs are not kept apart by this lock: each Delta
commit is still atomic and Delta's optimistic concurrency makes one of two conflicting
overwrites of a table fail, but tables written by two runs can then mix. See
``docs/reliability.md``.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Final

from filelock import FileLock, Timeout

from clnet_spark.errors import ClnetError

log = logging.getLogger(__name__)

STATE_DIR: Final = "_clnet"
LOCK_NAME: Final = "run.lock"
LOCK_TIMEOUT_ENV: Final = "CLNET_LOCK_TIMEOUT"


class WarehouseBusyError(ClnetError):
    """Another run holds the warehouse lock and it was not released within the wait."""


def lock_path(warehouse: Path) -> Path:
    """The lock file of a warehouse."""
    return warehouse / STATE_DIR / LOCK_NAME


def owner_path(warehouse: Path) -> Path:
    """The file naming the current holder of the warehouse lock."""
    return warehouse / STATE_DIR / f"{LOCK_NAME}.owner.json"


def default_timeout() -> float:
    """Seconds to wait for the lock: env ``CLNET_LOCK_TIMEOUT``, else 0 (fail at once)."""
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not raw:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise ClnetError(f"env {LOCK_TIMEOUT_ENV}: expected seconds, found {raw!r}") from None
    if value < 0:
        raise ClnetError(f"env {LOCK_TIMEOUT_ENV}: expected 0 or more seconds, found {value}")
    return value


def _holder(warehouse: Path) -> str:
    try:
        owner = json.loads(owner_path(warehouse).read_text())
    except (OSError, ValueError):
        return "a process that has not named itself"
    return (
        f"run {owner.get('run_id')} (pid {owner.get('pid')} on {owner.get('host')}, "
        f"since {owner.get('since')})"
    )


@contextmanager
def warehouse_lock(warehouse: Path, run_id: str, timeout: float | None = None) -> Iterator[Path]:
    """Hold the warehouse's run lock for the duration of the block.

    Parameters
    ----------
    warehouse
        The warehouse folder (created if missing).
    run_id
        Written beside the lock, for the message a refused run prints.
    timeout
        Seconds to wait for a running run to finish; 0 fails at once; None takes
        :func:`default_timeout`.

    Yields
    ------
    Path
        The lock file.

    Raises
    ------
    WarehouseBusyError
        The lock is still held after ``timeout`` seconds; the message names the holder and
        how to wait instead.
    """
    wait = default_timeout() if timeout is None else timeout
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), timeout=wait)
    try:
        lock.acquire()
    except Timeout:
        raise WarehouseBusyError(
            f"warehouse {warehouse} is in use by {_holder(warehouse)}: its lock {path} was "
            f"not released within {wait:g} s. Wait for that run to finish, or give "
            f"--lock-timeout SECONDS (env {LOCK_TIMEOUT_ENV}) to wait for it"
        ) from None
    try:
        owner = {
            "run_id": run_id,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        staging = owner_path(warehouse).with_suffix(".tmp")
        staging.write_text(json.dumps(owner))
        staging.replace(owner_path(warehouse))
        log.info("warehouse lock taken: %s (run %s)", path, run_id)
        yield path
    finally:
        owner_path(warehouse).unlink(missing_ok=True)
        lock.release()
        log.info("warehouse lock released: %s", path)


_held: dict[Path, ExitStack] = {}


def hold_until_exit(warehouse: Path, run_id: str, timeout: float | None = None) -> Path:
    """Take the warehouse lock for the rest of this process (the CLI: one command each).

    Idempotent: a process that already holds the lock of ``warehouse`` keeps it. The lock
    is released by :func:`release_all`, at interpreter exit, or by the OS if the process is
    killed.

    Raises
    ------
    WarehouseBusyError
        See :func:`warehouse_lock`.
    """
    key = warehouse.resolve()
    if key not in _held:
        stack = ExitStack()
        stack.enter_context(warehouse_lock(key, run_id, timeout))
        _held[key] = stack
    return lock_path(key)


def release_all() -> None:
    """Release every lock taken by :func:`hold_until_exit` in this process."""
    while _held:
        _, stack = _held.popitem()
        stack.close()


atexit.register(release_all)
