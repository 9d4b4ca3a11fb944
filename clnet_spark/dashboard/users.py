"""Dashboard accounts: a JSON file of salted password hashes, never passwords.

The file (path from ``--users`` or env ``CLNET_DASHBOARD_USERS``) holds
``{"users": {"<name>": {"role": "analyst"|"officer", "password_hash": "<werkzeug hash>"}}}``.
Hashes are made by :func:`werkzeug.security.generate_password_hash` (scrypt, salted). Neither
passwords nor hashes are logged.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from werkzeug.security import check_password_hash, generate_password_hash

from clnet_spark.errors import ConfigError

log = logging.getLogger(__name__)

Role = Literal["analyst", "officer"]
ROLES: tuple[Role, ...] = ("analyst", "officer")
"""``analyst`` sees pseudonymous ids only; ``officer`` also restricted columns and record text."""

DEFAULT_USERS_FILE = Path("~/.config/clnet/dashboard_users.json")
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 10


@dataclass(frozen=True)
class Account:
    name: str
    role: Role


def _read(path: Path) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    try:
        users = json.loads(path.read_text(encoding="utf-8"))["users"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"users file {path}: expected JSON {{'users': {{name: {{role, password_hash}}}}}}"
        ) from exc
    for name, entry in users.items():
        if entry.get("role") not in ROLES or not entry.get("password_hash"):
            raise ConfigError(
                f"users file {path}: user {name!r} needs a role in {list(ROLES)} and a hash"
            )
    return users


def add_user(path: Path, name: str, password: str, role: Role) -> None:
    """Add or replace one account (the file is rewritten atomically, mode 0600).

    Raises
    ------
    ConfigError
        The name is not 1-64 letters, digits or ``_.@-``, the role is unknown, or the password
        is shorter than :data:`MIN_PASSWORD` characters.
    """
    if not _NAME.match(name):
        raise ConfigError("user name: expected 1-64 letters, digits or _.@-")
    if role not in ROLES:
        raise ConfigError(f"role {role!r}: expected one of {list(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"password: expected at least {MIN_PASSWORD} characters")
    path = path.expanduser()
    users = _read(path)
    users[name] = {"role": role, "password_hash": generate_password_hash(password)}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".users-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"users": users}, handle, indent=2, sort_keys=True)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    log.info("dashboard user %s set (role %s) in %s", name, role, path)


class UserStore:
    """Reads the users file on each sign-in, so an added user needs no restart."""

    def __init__(self, path: Path) -> None:
        self.path = path.expanduser()
        if not self.path.exists():
            raise ConfigError(
                f"users file {self.path} does not exist: create a user with "
                "`clnet dashboard add-user`"
            )
        if not _read(self.path):
            raise ConfigError(f"users file {self.path} has no users")

    def get(self, name: str) -> Account | None:
        entry = _read(self.path).get(name)
        return Account(name, entry["role"]) if entry else None  # type: ignore[arg-type]

    def authenticate(self, name: str, password: str) -> Account | None:
        """The account when the password matches its hash, else None."""
        entry = _read(self.path).get(name)
        if entry is None or not check_password_hash(entry["password_hash"], password):
            return None
        return Account(name, entry["role"])  # type: ignore[arg-type]
