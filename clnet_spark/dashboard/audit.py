"""The dashboard's audit log: one JSON line per view of a nominal, export and sign-in.

The dashboard can only append: every entry is written through a file descriptor opened with
``O_APPEND`` (the kernel puts each write at the end of the file, whatever the offset), under an
exclusive ``flock`` so concurrent workers never interleave lines. No code path of the dashboard
opens the log for reading, truncating or rewriting, and the log must live outside the warehouse
(the pipeline rewrites that folder). On a server, make the file append-only for everyone with
``chattr +a`` (root), so not even the dashboard's own account can rewrite it.

A view that cannot be audited is not shown: :meth:`AuditLog.append` raises and the request fails.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from pathlib import Path
from typing import Any

from clnet_spark.errors import ConfigError

DEFAULT_AUDIT_LOG = Path("~/.local/state/clnet/dashboard_audit.jsonl")


class AuditLog:
    """Append-only JSON-lines audit log.

    Each line: ``at`` (UTC ISO time), ``user``, ``role``, ``action`` (``sign_in``, ``sign_out``,
    ``view_nominal``, ``view_group``, ``view_list``, ``export``), ``what`` (a pseudonymous id,
    a list with its row count, or an export name), ``reason`` (what the user typed, or null)
    and ``run_id``.

    Raises
    ------
    ConfigError
        The path lies inside the warehouse.
    """

    def __init__(self, path: Path, warehouse: Path | None = None) -> None:
        self.path = path.expanduser().resolve()
        if warehouse is not None and self.path.is_relative_to(Path(warehouse).resolve()):
            raise ConfigError(
                f"audit log {self.path}: expected a path outside the warehouse {warehouse}"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, **entry: Any) -> None:
        """Append one entry (keyword fields as above; ``at`` is added)."""
        line = json.dumps(
            {"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **entry},
            sort_keys=True,
            default=str,
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, (line + "\n").encode("utf-8"))
        finally:
            os.close(fd)
