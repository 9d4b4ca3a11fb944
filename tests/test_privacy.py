"""Pseudonyms: the Spark HMAC equals Python's, key handling, groups independent of the key."""

from __future__ import annotations

import hashlib
import hmac
import stat
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from clnet_spark import columns as c
from clnet_spark import io, privacy
from clnet_spark.columns import Tables
from clnet_spark.config import load_config
from clnet_spark.groups.stage import run_groups
from clnet_spark.groups.walktrap import find_groups
from clnet_spark.run import RunContext

IDS = ["N0000001", "A", "nominal with spaces", "Zoë-ßø", "x" * 200, "1234567890"]
KEYS = [b"a sixteen byte k", b"k" * 64, b"a key longer than one sha-256 block " * 3]
# an 8-cycle with equal weights: Walktrap's cut depends on the vertex order
CYCLE = [(f"N{i}", f"N{(i + 1) % 8}") for i in range(8)]
KEY_ONE, KEY_TWO = b"key-one-0123456789abcdef", b"key-two-0123456789abcdef"


@pytest.mark.parametrize("key", KEYS, ids=["16 bytes", "one block", "over one block"])
def test_spark_hmac_equals_python_hmac(spark: SparkSession, key: bytes) -> None:
    frame = spark.createDataFrame(
        [(i, i, i) for i in IDS] + [(None, None, None)], "id string, mac string, pseudonym string"
    )
    full = privacy.pseudonymise(frame, key, ["mac"], prefix="", hex_chars=64)
    rows = privacy.pseudonymise(full, key, ["pseudonym"]).collect()
    assert len(rows) == len(IDS) + 1
    for row in rows:
        if row["id"] is None:
            assert row["mac"] is None and row["pseudonym"] is None
            continue
        expected = hmac.new(key, row["id"].encode("utf-8"), hashlib.sha256).hexdigest()
        assert row["mac"] == expected
        assert row["pseudonym"] == "P" + expected[:20]
        assert row["pseudonym"] == privacy.python_pseudonym(key, row["id"])


def test_the_key_is_not_a_literal_of_the_query_plan(spark: SparkSession) -> None:
    key = b"a key that must not be in the plan"
    frame = privacy.pseudonymise(spark.createDataFrame([("A",)], "id string"), key, ["id"])
    plan = frame._jdf.queryExecution().toString()  # every phase, as explain("extended")
    pads = [bytes(b ^ pad for b in key.ljust(64, b"\0")).hex() for pad in (0x36, 0x5C)]
    assert "sha2" in plan and not [p for p in pads if p[:16] in plan.lower()]
    assert key.hex()[:16] not in plan.lower() and "must not be" not in plan


def test_key_from_env_wins_and_must_be_long_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(privacy.KEY_ENV, "  0123456789abcdef  ")
    assert privacy.load_key() == b"0123456789abcdef"
    monkeypatch.setenv(privacy.KEY_ENV, "short")
    with pytest.raises(privacy.PseudonymKeyError) as caught:
        privacy.load_key()
    message = str(caught.value)
    assert "expected at least 16 bytes, got 5" in message and "short" not in message


def test_no_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(privacy.KEY_ENV)
    monkeypatch.setenv(privacy.KEY_FILE_ENV, str(tmp_path / "absent.key"))
    with pytest.raises(
        privacy.PseudonymKeyError, match="no pseudonym key: set CLNET_PSEUDONYM_KEY"
    ):
        privacy.load_key()


def test_demo_key_file_is_owner_only_and_stable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(privacy.KEY_ENV)
    path = tmp_path / "config" / "clnet" / "pseudonym.key"
    monkeypatch.setenv(privacy.KEY_FILE_ENV, str(path))
    assert privacy.ensure_key_file() == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = privacy.load_key(tmp_path / "warehouse")
    assert privacy.ensure_key_file() == path  # kept, not replaced
    assert privacy.load_key(tmp_path / "warehouse") == first and len(first) == 64


def test_key_file_inside_the_warehouse_or_checkout_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(privacy.KEY_ENV)
    warehouse = tmp_path / "warehouse"
    inside = warehouse / "keys" / "pseudonym.key"
    inside.parent.mkdir(parents=True)
    inside.write_text("0123456789abcdef0123")
    monkeypatch.setenv(privacy.KEY_FILE_ENV, str(inside))
    with pytest.raises(privacy.PseudonymKeyError, match="is inside the warehouse"):
        privacy.load_key(warehouse)
    in_repo = Path(privacy.__file__).resolve().parents[1] / "pseudonym.key"
    monkeypatch.setenv(privacy.KEY_FILE_ENV, str(in_repo))
    in_repo.write_text("0123456789abcdef0123")
    try:
        with pytest.raises(privacy.PseudonymKeyError, match="inside the checkout"):
            privacy.load_key(warehouse)
    finally:
        in_repo.unlink()


def _partition(found: pd.DataFrame, source_of: dict[str, str]) -> set[frozenset[str]]:
    linked = found[found["kind"] != "unlinked"]
    return {
        frozenset(source_of[m] for m in members)
        for members in linked.groupby("group_key")["nominal_id"].agg(list)
    }


def test_walktrap_ordered_by_source_id_gives_the_same_groups_under_two_keys() -> None:
    partitions = []
    unordered = []
    for key in (KEY_ONE, KEY_TWO):
        pseudo = {v: privacy.python_pseudonym(key, v) for v in {v for e in CYCLE for v in e}}
        source_of = {p: v for v, p in pseudo.items()}
        edges = pd.DataFrame(
            [(pseudo[a], pseudo[b], 1.0) for a, b in CYCLE], columns=[c.SRC, c.DST, c.WEIGHT]
        )
        found = find_groups(list(source_of), edges, order_key=source_of)
        partitions.append(_partition(found, source_of))
        unordered.append(_partition(find_groups(list(source_of), edges), source_of))
    assert partitions[0] == partitions[1]
    assert partitions[0] == {
        frozenset({"N0", "N1", "N2"}),
        frozenset({"N3", "N4", "N5"}),
        frozenset({"N6", "N7"}),
    }
    assert unordered[0] != unordered[1]  # ordered by pseudonym, the key would change the groups


def test_groups_stage_partition_does_not_depend_on_the_key(
    spark: SparkSession, tmp_path: Path
) -> None:
    vertices = sorted({v for e in CYCLE for v in e})
    partitions = []
    for number, key in enumerate((KEY_ONE, KEY_TWO)):
        ctx = RunContext(tmp_path / f"warehouse{number}", load_config())
        pseudo = {v: privacy.python_pseudonym(key, v) for v in vertices}
        tables = {
            Tables.CL_NOMINALS: spark.createDataFrame(
                [(pseudo[v],) for v in vertices], "nominal_id string"
            ),
            Tables.CL_EDGES: spark.createDataFrame(
                [(pseudo[a], pseudo[b], 1.0, False) for a, b in CYCLE],
                "src string, dst string, weight double, adversarial_only boolean",
            ),
            Tables.SOC_GROUPS: spark.createDataFrame([], "nominal_id string, soc_group_id string"),
            Tables.NOMINAL_IDENTITY: spark.createDataFrame(
                [(pseudo[v], v) for v in vertices], "nominal_id string, source_nominal_id string"
            ),
        }
        for name, frame in tables.items():
            io.write_table(frame, ctx.warehouse, name)
        run_groups(spark, ctx)
        source_of = {p: v for v, p in pseudo.items()}
        groups = io.read_table(spark, ctx.warehouse, Tables.CL_GROUPS).collect()
        partitions.append({frozenset(source_of[m] for m in g["members"]) for g in groups})
    assert partitions[0] == partitions[1]
    assert len(partitions[0]) == 3
