"""The safeguarding stage on a small generated corpus, checked against the ground truth.

One run of the stages before safeguarding (module-scoped) on a scale-0.03 demo corpus, then
one safeguarding run with two overrides: one naming a kept ground-truth child (applied) and
one naming no kept nominal (not applied). Every table the stage writes is collected once.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clnet_spark import io, privacy
from clnet_spark.columns import Tables
from clnet_spark.config import load_config
from clnet_spark.demo import write_demo_corpus
from clnet_spark.groups.stage import run_groups
from clnet_spark.ingest.stage import run_ingest
from clnet_spark.network.stage import run_network
from clnet_spark.run import RunContext, StageReport
from clnet_spark.safeguarding import flags as sg
from clnet_spark.safeguarding.stage import (
    DISPROPORTIONALITY,
    MISSING_PERSONS,
    SAFEGUARDING_FLAGS,
    SAFEGUARDING_LIST,
    run_safeguarding,
)
from clnet_spark.search.catalogue import load_catalogue
from clnet_spark.search.stage import run_search

pytestmark = pytest.mark.slow

REASON = "strategy meeting 2026-11-02 agreed a joint operation (ref SG-17)"
NOT_KEPT = "N9999999"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@dataclass(frozen=True)
class Demo:
    input_dir: Path
    report: StageReport
    overridden: str
    flags: dict[str, dict]
    listing: list[dict]
    missing: list[dict]
    oversight: list[dict]
    columns: dict[str, list[str]]
    truth: list[dict[str, str]]
    nominals: int
    logs: list[str]


def _rows(spark: SparkSession, warehouse: Path, name: str) -> list[dict]:
    return [r.asDict(recursive=True) for r in io.read_table(spark, warehouse, name).collect()]


@pytest.fixture(scope="module")
def demo(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    root = tmp_path_factory.mktemp("safeguarding")
    write_demo_corpus(root / "input", scale=0.03, seed=11)
    ctx = RunContext(root / "warehouse", load_config())
    # the stages safeguarding reads, in pipeline order (harm and the exports are not needed)
    reference = run_ingest(spark, root / "input", ctx)
    run_search(spark, ctx, load_catalogue(ctx.config.catalogue_path))
    run_network(spark, ctx)
    run_groups(spark, ctx)
    with (root / "input" / "ground_truth" / "cl_nominals.csv").open(encoding="utf-8") as fh:
        truth = list(csv.DictReader(fh))
    # ground truth names source ids; the tables hold pseudonyms (the test key of conftest)
    key = privacy.load_key()
    source_of = {}
    for t in truth:
        pseudonym = privacy.python_pseudonym(key, t["nominal_id"])
        source_of[pseudonym], t["nominal_id"] = t["nominal_id"], pseudonym

    kept = io.read_table(spark, ctx.warehouse, Tables.CL_NOMINALS).select("nominal_id")
    dated = (
        io.read_table(spark, ctx.warehouse, Tables.NOMINALS)
        .where(F.col("birth_date").isNotNull())
        .join(kept, on="nominal_id", how="left_semi")
        .select("nominal_id")
    )
    dated_ids = {r["nominal_id"] for r in dated.collect()}
    children = sorted(t["nominal_id"] for t in truth if t["is_child_now"] == "true")
    overridden = next(n for n in children if n in dated_ids)

    config = sg.SafeguardingConfig(
        overrides=[
            {"nominal_id": source_of[overridden], "reason": REASON},  # resolved by the stage
            {"nominal_id": NOT_KEPT, "reason": "an officer's typing error"},
        ]
    )
    handler = _Collect()
    logger = logging.getLogger("clnet_spark")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        run_safeguarding(spark, ctx, reference, config)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)

    tables = (SAFEGUARDING_FLAGS, SAFEGUARDING_LIST, MISSING_PERSONS, DISPROPORTIONALITY)
    return Demo(
        input_dir=root / "input",
        report=ctx.reports[-1],
        overridden=overridden,
        flags={r["nominal_id"]: r for r in _rows(spark, ctx.warehouse, SAFEGUARDING_FLAGS)},
        listing=_rows(spark, ctx.warehouse, SAFEGUARDING_LIST),
        missing=_rows(spark, ctx.warehouse, MISSING_PERSONS),
        oversight=_rows(spark, ctx.warehouse, DISPROPORTIONALITY),
        columns={t: io.read_table(spark, ctx.warehouse, t).columns for t in tables},
        truth=truth,
        nominals=io.read_table(spark, ctx.warehouse, Tables.NOMINALS).count(),
        logs=handler.messages,
    )


def test_every_kept_ground_truth_child_is_protected_and_listed(demo: Demo) -> None:
    listed = {r["nominal_id"] for r in demo.listing}
    children = [
        t["nominal_id"]
        for t in demo.truth
        if t["is_child_now"] == "true" and t["nominal_id"] in demo.flags
    ]
    assert len(children) >= 3, "the corpus should keep several planted children"
    for nominal in children:
        row = demo.flags[nominal]
        assert nominal in listed, nominal
        if row["age_unknown"]:  # the corpus blanks 2% of planted birth dates
            assert not row["child"], nominal
            continue
        assert row["child"], nominal
        expected_cost = 1.0 if nominal == demo.overridden else math.inf
        assert row["removal_cost"] == expected_cost, nominal
        assert row["reasons"][0].startswith("child (age "), row["reasons"]


def test_kept_vulnerable_adults_carry_an_infinite_removal_cost(demo: Demo) -> None:
    vulnerable = [
        t["nominal_id"]
        for t in demo.truth
        if t["vulnerable_adult"] == "true" and t["nominal_id"] in demo.flags
    ]
    assert vulnerable
    for nominal in vulnerable:
        row = demo.flags[nominal]
        assert (row["vulnerable_adult"], row["removal_cost"]) == (True, math.inf), nominal


def test_only_children_and_vulnerable_adults_carry_an_infinite_cost(demo: Demo) -> None:
    for nominal, row in demo.flags.items():
        protected = (row["child"] or row["vulnerable_adult"]) and nominal != demo.overridden
        assert (row["removal_cost"] == math.inf) == protected, nominal


def test_the_override_is_applied_logged_and_counted(demo: Demo) -> None:
    row = demo.flags[demo.overridden]
    assert (row["child"], row["removal_cost"], row["safeguarding_listed"]) == (True, 1.0, True)
    assert row["reasons"][-1] == f"removal-cost override in conf: {REASON}"
    applied = [m for m in demo.logs if "override applied" in m]
    assert len(applied) == 1
    assert demo.overridden in applied[0] and REASON in applied[0]
    assert any(NOT_KEPT in m and "not a kept nominal" in m for m in demo.logs)
    assert demo.report.counts["overrides applied"] == [(demo.overridden, REASON)]
    assert demo.report.counts["overrides not applied"] == [(NOT_KEPT, "not a kept nominal")]


def test_the_list_is_the_listed_nominals_by_local_authority(demo: Demo) -> None:
    assert demo.columns[SAFEGUARDING_LIST] == list(sg.LIST_COLUMNS)
    assert demo.columns[SAFEGUARDING_FLAGS] == list(sg.FLAG_COLUMNS)
    keys = [(r["local_authority"], r["nominal_id"]) for r in demo.listing]
    assert keys == sorted(keys)
    listed = {n for n, r in demo.flags.items() if r["safeguarding_listed"]}
    assert {r["nominal_id"] for r in demo.listing} == listed
    per_authority = Counter(r["local_authority"] for r in demo.listing)
    assert demo.report.counts["listed per local authority"] == sorted(per_authority.items())
    assert demo.report.counts["listed"] == len(listed)
    children = sum(r["child"] for r in demo.flags.values())
    assert demo.report.counts["children"] == children


def test_missing_persons_has_one_row_per_episode_of_a_kept_nominal(demo: Demo) -> None:
    assert demo.columns[MISSING_PERSONS] == list(sg.MISSING_PERSON_COLUMNS)
    per_nominal = Counter(r["nominal_id"] for r in demo.missing)
    assert per_nominal
    for nominal, row in demo.flags.items():
        assert row["missing_episodes"] == per_nominal.get(nominal, 0), nominal
    outside = {r["nominal_id"] for r in demo.missing if r["found_outside_force"]}
    assert outside == {n for n, r in demo.flags.items() if r["found_outside_force"]}


def test_disproportionality_covers_the_three_populations(demo: Demo) -> None:
    assert demo.columns[DISPROPORTIONALITY] == list(sg.DISPROPORTIONALITY_COLUMNS)
    sizes = {
        "all": demo.nominals,
        "county_lines": len(demo.flags),
        "safeguarding_listed": len(demo.listing),
    }
    for population, size in sizes.items():
        for dimension in ("sex", "age_band", "home_area"):
            cells = [
                r
                for r in demo.oversight
                if r["population"] == population and r["dimension"] == dimension
            ]
            assert sum(r["nominals"] for r in cells) == size, (population, dimension)
            assert math.isclose(sum(r["share"] for r in cells), 1.0, abs_tol=1e-4)


def test_no_name_or_restricted_field_reaches_a_table_or_a_log_line(demo: Demo) -> None:
    with (demo.input_dir / "nominals.csv").open(encoding="utf-8") as fh:
        key = privacy.load_key()
        names = {
            row["name"]
            for row in csv.DictReader(fh)
            if privacy.python_pseudonym(key, row["nominal_id"]) in demo.flags
        }
    assert names
    for columns in demo.columns.values():
        assert "restricted" not in columns and "birth_date" not in columns
    written = json.dumps(
        [demo.flags, demo.listing, demo.missing, demo.oversight, demo.logs], default=str
    )
    assert not [name for name in names if name in written]
