"""Pseudonyms of nominal ids: a keyed HMAC-SHA256 computed with Spark's native functions.

After ingest every table's ``nominal_id`` (and ``nominal_a`` / ``nominal_b``) holds
``P`` + the first 20 hex digits of HMAC-SHA256(key, source id). Only the restricted table
``nominal_identity`` maps a pseudonym back to the source id and holds the restricted columns
of the nominals export (names, addresses, ...). See ``docs/privacy.md``.

The key comes from the environment variable ``CLNET_PSEUDONYM_KEY`` or from the key file
named by ``CLNET_KEY_FILE`` (default ``~/.config/clnet/pseudonym.key``). A key file inside
the warehouse or inside this checkout is refused. No function here logs a key or an id.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import io
from clnet_spark.columns import NOMINAL_ID, SOURCE_NOMINAL_ID, Tables
from clnet_spark.errors import ClnetError

if TYPE_CHECKING:
    from clnet_spark.safeguarding.flags import SafeguardingConfig

log = logging.getLogger(__name__)

KEY_ENV: Final = "CLNET_PSEUDONYM_KEY"
KEY_FILE_ENV: Final = "CLNET_KEY_FILE"
DEFAULT_KEY_FILE: Final = Path("~/.config/clnet/pseudonym.key")
MIN_KEY_BYTES: Final = 16
PREFIX: Final = "P"
HEX_CHARS: Final = 20

_BLOCK: Final = 64  # SHA-256 block size in bytes (RFC 2104)
_REPO_ROOT: Final = Path(__file__).resolve().parents[1]


class PseudonymKeyError(ClnetError):
    """No usable pseudonym key is configured, or the key file is in a forbidden place."""


def key_file_path() -> Path:
    """The key file named by ``CLNET_KEY_FILE``, else the default, with ``~`` expanded."""
    return Path(os.environ.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE).expanduser()


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def load_key(warehouse: Path | None = None) -> bytes:
    """The pseudonym key: ``CLNET_PSEUDONYM_KEY`` if set, else the key file's content.

    Parameters
    ----------
    warehouse
        The run's warehouse; a key file inside it is refused (the key must never be stored
        beside the pseudonyms it protects).

    Raises
    ------
    PseudonymKeyError
        No key is configured, the key is shorter than 16 bytes, or the key file lies inside
        the warehouse or this checkout. The message names the setting, never the key.
    """
    from_env = os.environ.get(KEY_ENV)
    if from_env:
        key = from_env.strip().encode("utf-8")
        origin = f"environment variable {KEY_ENV}"
    else:
        path = key_file_path()
        if not path.is_file():
            raise PseudonymKeyError(
                f"no pseudonym key: set {KEY_ENV}, or create the key file {path} (or name "
                f"another with {KEY_FILE_ENV}) holding at least {MIN_KEY_BYTES} bytes, "
                "readable by its owner only; `clnet demo` creates one for the demo"
            )
        if warehouse is not None and _inside(path, warehouse):
            raise PseudonymKeyError(
                f"key file {path} is inside the warehouse {warehouse}: keep the key apart "
                "from the data it protects"
            )
        if _inside(path, _REPO_ROOT):
            raise PseudonymKeyError(
                f"key file {path} is inside the checkout {_REPO_ROOT}: keep keys out of the repo"
            )
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("key file %s is readable by others: chmod 600 it", path)
        key = path.read_bytes().strip()
        origin = f"key file {path}"
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            f"pseudonym key from {origin}: expected at least {MIN_KEY_BYTES} bytes, got {len(key)}"
        )
    return key


def ensure_key_file() -> Path | None:
    """Create the key file with a random key (mode 0600) unless a key is already configured.

    Used by the demo set-up so pseudonyms stay stable across demo runs. Returns the key file
    created or found, or None when ``CLNET_PSEUDONYM_KEY`` is set.
    """
    if os.environ.get(KEY_ENV):
        return None
    path = key_file_path()
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    log.info("created pseudonym key file %s (owner-only)", path)
    return path


def _padded(key: bytes) -> bytes:
    key = hashlib.sha256(key).digest() if len(key) > _BLOCK else key
    return key.ljust(_BLOCK, b"\0")


_INNER_PAD: Final = "_hmac_inner_pad"
_OUTER_PAD: Final = "_hmac_outer_pad"


def _key_pads(spark: SparkSession, key: bytes) -> DataFrame:
    """One row: the key xor ipad and xor opad (RFC 2104), as binary columns.

    The pads travel as data of a broadcast one-row table, never as literals of the query
    plan, so ``explain()``, the Spark UI and plan-bearing error messages never show the key.
    """
    padded = _padded(key)
    row = (bytearray(b ^ 0x36 for b in padded), bytearray(b ^ 0x5C for b in padded))
    return spark.createDataFrame([row], f"{_INNER_PAD} binary, {_OUTER_PAD} binary")


def _hmac_hex(value: Column) -> Column:
    """HMAC-SHA256 of a string column as 64 hex digits, given the pad columns; null stays null.

    ``sha2(opad_key || unhex(sha2(ipad_key || value)))``: only native functions, no UDF.
    """
    inner = F.unhex(F.sha2(F.concat(F.col(_INNER_PAD), F.encode(value, "UTF-8")), 256))
    return F.sha2(F.concat(F.col(_OUTER_PAD), inner), 256)


def pseudonymise(
    frame: DataFrame,
    key: bytes,
    columns: Iterable[str],
    *,
    prefix: str = PREFIX,
    hex_chars: int = HEX_CHARS,
) -> DataFrame:
    """Replace each named id column by its pseudonym; other columns are unchanged.

    Parameters
    ----------
    frame
        Any DataFrame; the named columns are strings (source ids; null stays null).
    key
        The pseudonym key (:func:`load_key`).
    columns
        The id columns to replace.
    prefix, hex_chars
        The pseudonym is ``prefix`` + the first ``hex_chars`` hex digits of
        HMAC-SHA256(key, id); ``prefix=""``, ``hex_chars=64`` gives the whole HMAC.
    """
    pads = F.broadcast(_key_pads(frame.sparkSession, key))
    keyed = frame.crossJoin(pads)
    replaced = {
        name: F.concat(F.lit(prefix), F.substring(_hmac_hex(F.col(name)), 1, hex_chars))
        for name in columns
    }
    return keyed.withColumns(replaced).drop(_INNER_PAD, _OUTER_PAD)


def python_pseudonym(key: bytes, source_id: str) -> str:
    """The same pseudonym computed in Python (tests and small look-ups on the driver)."""
    import hmac

    digest = hmac.new(key, source_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:HEX_CHARS]


def resolve_overrides(
    spark: SparkSession, warehouse: Path, config: SafeguardingConfig
) -> SafeguardingConfig:
    """The safeguarding settings with each override's source nominal id turned into its pseudonym.

    Overrides in ``conf/clnet.yaml`` name a nominal by its source id (what an officer knows);
    one that already names a pseudonym of ``nominal_identity`` is kept as it is. An id found
    in neither is kept, and the safeguarding stage reports it as "not a kept nominal".
    """
    if not config.overrides or not io.table_exists(spark, warehouse, Tables.NOMINAL_IDENTITY):
        return config
    named = [entry.nominal_id for entry in config.overrides]
    pseudonym_of = {
        row[0]: row[1]
        for row in io.read_table(spark, warehouse, Tables.NOMINAL_IDENTITY)
        .where(F.col(SOURCE_NOMINAL_ID).isin(*named))
        .select(SOURCE_NOMINAL_ID, NOMINAL_ID)
        .collect()
    }
    resolved = tuple(
        entry.model_copy(update={NOMINAL_ID: pseudonym_of.get(entry.nominal_id, entry.nominal_id)})
        for entry in config.overrides
    )
    return config.model_copy(update={"overrides": resolved})
