"""The batch ingest on a hand-made example: what each kind of row does to each table."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clnet_spark import io, privacy
from clnet_spark.columns import Tables
from clnet_spark.config import load_config
from clnet_spark.errors import StageInputError
from clnet_spark.ingest.merge import MergeSink
from clnet_spark.ingest.stage import run_ingest
from clnet_spark.run import RunContext
from clnet_spark.search.catalogue import load_catalogue
from clnet_spark.search.stage import ENGINES, run_search
from clnet_spark.update import search_changed

CRIMES = ["record_id", "recorded_at", "offence_code", "area", "text"]
LINKS = ["source", "record_id", "nominal_id", "role"]
PEOPLE = ["nominal_id", "birth_date", "sex", "home_area", "looked_after_child"]
RELS = ["nominal_a", "nominal_b", "relationship_type", "source", "recorded_at"]
CHANGE = ["updated_at", "is_deleted"]


def write(folder: Path, table: str, header: list[str], rows: list[list[str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{table}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def person(nominal: str) -> list[str]:
    return [nominal, "1990-01-01", "M", "Walsall", "false"]


@pytest.fixture(scope="module", params=[100_000, 0], ids=["driver-writes", "spark-writes"])
def merged(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory, request):
    """The example merged twice: committed from the driver (the default for a small batch)
    and with Spark's MERGE (``update.driver_rows: 0``); every test checks both."""
    driver_rows = request.param
    root = tmp_path_factory.mktemp("merge")
    base, batch = root / "base", root / "batch"
    write(
        base,
        "crimes",
        CRIMES,
        [
            ["C1", "2024-01-01", "092/00", "Walsall", "county line"],
            ["C2", "2024-01-02", "092/00", "Walsall", "cocaine"],
            ["C3", "2024-01-03", "092/00", "Walsall", "nothing"],
        ],
    )
    write(
        base,
        "record_nominals",
        LINKS,
        [
            ["crimes", "C1", "A", "suspect"],
            ["crimes", "C1", "B", "suspect"],
            ["crimes", "C2", "B", "suspect"],
            ["crimes", "C3", "D", "suspect"],
        ],
    )
    write(base, "nominals", PEOPLE, [person(n) for n in "ABCD"])
    write(
        base,
        "relationships",
        RELS,
        [
            ["A", "C", "associate", "ims", "2024-01-01"],
            ["B", "D", "family", "ims", "2024-01-01"],
            ["A", "B", "associate", "ims", "2024-01-01"],
        ],
    )
    write(base, "soc_groups", ["nominal_id", "soc_group_id"], [["A", "S1"], ["B", "S1"]])

    # The batch: C1 amended (its links now A only), C2 deleted, C4 new (with a new person E),
    # an unparseable amended C3 (quarantined: C3 stays as it was), D deleted (and with D the
    # B-D relationship), the A-B relationship deleted (sent as B, A, ASSOCIATE), a new SOC list.
    write(
        batch,
        "crimes",
        CRIMES + CHANGE,
        [
            ["C1", "2024-01-01", "092/00", "Walsall", "county line again", "2024-02-01", "false"],
            ["C2", "2024-01-02", "092/00", "Walsall", "cocaine", "2024-02-01", "true"],
            ["C3", "not a date", "092/00", "Walsall", "changed", "2024-02-01", ""],
            ["C4", "2024-02-01", "092/00", "Walsall", "new", "", ""],
        ],
    )
    write(
        batch,
        "record_nominals",
        LINKS,
        [["crimes", "C1", "A", "suspect"], ["crimes", "C4", "E", "victim"]],
    )
    write(
        batch,
        "nominals",
        PEOPLE + CHANGE,
        [person("E") + ["", ""], person("D") + ["2024-02-01", "true"]],
    )
    write(
        batch,
        "relationships",
        RELS + CHANGE,
        [["B", "A", "ASSOCIATE", "ims", "2024-01-01", "2024-02-01", "yes"]],
    )
    write(batch, "soc_groups", ["nominal_id", "soc_group_id"], [["E", "S2"]])

    warehouse = root / "warehouse"
    base_ctx = RunContext(warehouse, load_config())
    run_ingest(spark, base, base_ctx)
    run_search(spark, base_ctx)
    matched_before = rows(spark, warehouse, Tables.RECORD_MATCHES, "record_id")
    config = load_config(overrides=(f"update.driver_rows={driver_rows}",))
    ctx = RunContext(warehouse, config, kind="update")
    sink = MergeSink(spark, ctx)
    run_ingest(spark, batch, ctx, sink)
    with ctx.stage("search") as report:
        search_changed(
            spark,
            ctx,
            load_catalogue(config.catalogue_path),
            sink.changed_records,
            report,
            texts=sink.changed_texts,
        )
    assert matched_before == {("C1",), ("C2",)}  # "county line", "cocaine"
    changed = {tuple(r) for r in sink.changed_records.collect()}
    return warehouse, ctx, changed


def pseudonyms(*source_ids: str) -> dict[str, str]:
    """Source nominal id -> the pseudonym the tables hold (the tests' fixed key)."""
    key = privacy.load_key()
    return {n: privacy.python_pseudonym(key, n) for n in source_ids}


P = pseudonyms(*"ABCDE")


def rows(spark: SparkSession, warehouse: Path, name: str, *columns: str) -> set[tuple]:
    return {tuple(r) for r in io.read_table(spark, warehouse, name).select(*columns).collect()}


def test_records_are_replaced_deleted_added_or_kept_when_quarantined(
    spark: SparkSession, merged
) -> None:
    warehouse, _, changed = merged
    assert rows(spark, warehouse, Tables.RECORDS, "record_id", "text") == {
        ("C1", "county line again"),
        ("C3", "nothing"),
        ("C4", "new"),
    }
    # C3's amendment was quarantined, so C3 is not searched again.
    assert changed == {("crimes", "C1"), ("crimes", "C2"), ("crimes", "C4")}


def test_links_of_sent_records_are_replaced_and_deleted_people_lose_theirs(
    spark: SparkSession, merged
) -> None:
    warehouse, _, _ = merged
    assert rows(spark, warehouse, Tables.RECORD_NOMINALS, "record_id", "nominal_id") == {
        ("C1", P["A"]),
        ("C4", P["E"]),
    }  # C1-B replaced, C2-B deleted with C2, C3-D gone with D


def test_people_relationships_and_soc_list(spark: SparkSession, merged) -> None:
    warehouse, ctx, _ = merged
    assert rows(spark, warehouse, Tables.NOMINALS, "nominal_id") == {(P[n],) for n in "ABCE"}
    relationships = rows(spark, warehouse, Tables.RELATIONSHIPS, "nominal_a", "nominal_b")
    assert relationships == {tuple(sorted((P["A"], P["C"])))}  # stored as nominal_a < nominal_b
    assert rows(spark, warehouse, Tables.SOC_GROUPS, "nominal_id", "soc_group_id") == {
        (P["E"], "S2")
    }
    quarantined = rows(spark, warehouse, Tables.QUARANTINE, "table", "reason", "run_id")
    assert ("crimes", "unparseable recorded_at", ctx.run_id) in quarantined
    ingest = next(r for r in ctx.reports if r.stage == "ingest")
    crimes = next(t for t in ingest.counts["tables"] if t["table"] == "crimes")
    assert (crimes["read"], crimes["accepted"], crimes["quarantined"], crimes["deleted"]) == (
        4,
        2,
        1,
        1,
    )


def test_the_batch_records_are_searched_again(spark: SparkSession, merged) -> None:
    warehouse, ctx, _ = merged
    # C1 amended (still a county line), C2 deleted, C4 new without a term, C3 untouched
    assert rows(spark, warehouse, Tables.RECORD_MATCHES, "record_id") == {("C1",)}
    # the row Spark's engine gives for C1's new text, weight and matches included
    expected = ENGINES["hyperscan"](
        io.read_table(spark, warehouse, Tables.RECORDS).where(F.col("record_id") == "C1"),
        load_catalogue(ctx.config.catalogue_path),
    )
    assert_df_equality(
        io.read_table(spark, warehouse, Tables.RECORD_MATCHES),
        expected,
        ignore_nullable=True,
        ignore_column_order=True,
    )
    search = next(r for r in ctx.reports if r.stage == "search")
    assert (search.counts["records searched"], search.counts["matching records"]) == (3, 1)


def test_small_batches_are_committed_from_the_driver(merged) -> None:
    """With the default ``update.driver_rows`` delta-rs made every commit of the batch; with
    0, Spark made them all (the same tables either way: the tests above)."""
    warehouse, ctx, _ = merged
    by_driver = ctx.config.update.driver_rows > 0
    for name in (
        Tables.RECORDS,
        Tables.NOMINALS,
        Tables.NOMINAL_IDENTITY,
        Tables.RECORD_NOMINALS,
        Tables.RELATIONSHIPS,
        Tables.SOC_GROUPS,
        Tables.QUARANTINE,
        Tables.INGEST_COUNTS,
        Tables.RECORD_MATCHES,
    ):
        commit = io.open_delta_log(io.table_path(warehouse, name)).history(1)[0]
        assert io.parse_metadata(commit.get("userMetadata"))["run_id"] == ctx.run_id, name
        made_by = "delta-rs" if "clientVersion" in commit else "spark"
        assert made_by == ("delta-rs" if by_driver else "spark"), (name, commit)


def test_an_update_needs_a_full_run_first(spark: SparkSession, tmp_path: Path) -> None:
    with pytest.raises(StageInputError, match="run `clnet run` first"):
        MergeSink(spark, RunContext(tmp_path / "empty", load_config(), kind="update"))
