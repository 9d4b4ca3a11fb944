"""The driver killed (SIGKILL, its JVM with it) in every stage in turn, then a rerun.

One chain of CLI runs on one warehouse: the run for stage S is started with ``--resume`` and
kills itself in S (``CLNET_TEST_KILL_IN_STAGE``; right after the stage's first commit, or,
for the stages in ``MID_WRITE``, while its first write is landing data files, before the
commit). Each such run
first resumes the stage the previous run was killed in, so the chain starts one JVM per
stage. After every kill, every table is either at its version from before that run or at a
complete new version equal to the baseline's write by the same stage, and the exports are
never half published. A last ``clnet run --resume`` completes; every table and export then
equals the uninterrupted baseline, and the run log names each killed run.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from types import ModuleType

import pytest
from pyspark.sql import SparkSession

from clnet_spark import guard, io
from clnet_spark.columns import Tables
from clnet_spark.locking import warehouse_lock
from clnet_spark.pipeline import STAGES

pytestmark = pytest.mark.slow

# Mid-write kills where a stage's first write is large enough to be caught landing data files
# (a small table, such as group_lines on a tiny corpus, can commit before the hook sees it);
# a kill right after the stage's first commit everywhere else.
MID_WRITE = {"search", "network"}
KILLS = [(stage, guard.KILL_POINTS[1 if stage in MID_WRITE else 0]) for stage in STAGES]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The warehouse the chain of killed runs shares."""
    return tmp_path_factory.mktemp("faults-chain") / "warehouse"


def _args(baseline, warehouse: Path) -> list[str]:
    return ["run", "--input", str(baseline.input_dir), "--warehouse", str(warehouse), "--resume"]


@pytest.mark.parametrize(("stage", "point"), KILLS, ids=[s for s, _ in KILLS])
def test_a_kill_in_the_stage_leaves_only_whole_table_versions(
    spark: SparkSession, kit: ModuleType, baseline, chain: Path, stage: str, point: str
) -> None:
    before = kit.delta_tables(chain) if chain.exists() else {}
    log = chain.parent / f"killed-in-{stage}.log"
    proc = kit.run_cli(
        _args(baseline, chain),
        log,
        env={guard.KILL_STAGE_ENV: stage, guard.KILL_AT_ENV: point},
    )
    output = log.read_text()
    assert proc.returncode == -signal.SIGKILL, output[-3000:]
    assert f"fault test: SIGKILL in stage {stage}" in " ".join(output.split()), output[-3000:]

    after = kit.delta_tables(chain)
    assert set(before) <= set(after)
    groups = kit.group_translation(spark, chain, baseline.warehouse)
    for name, version in sorted(after.items()):
        if version == before.get(name) or name in kit.NOT_COMPARED:
            continue  # untouched: readers still see the version from before this run
        wrote = kit.commit_stage(chain / name, version)
        assert (name, wrote) in baseline.versions, (name, wrote)
        expected = (
            spark.read.format("delta")
            .option("versionAsOf", baseline.versions[(name, wrote)])
            .load(str(baseline.warehouse / name))
        )
        kit.assert_table_equal(spark, name, io.read_table(spark, chain, name), expected, groups)

    exports = chain / "exports"
    assert not exports.exists(), "no export set is published before a report stage completes"
    if stage == "report":
        staged = list((chain / "_exports.versions").iterdir())
        assert len(staged) == 1  # the killed run's unpublished, incomplete folder
        done = {p.name for p in staged[0].iterdir() if p.suffix == ".csv"}
        assert len(done) < len(list((baseline.warehouse / "exports").iterdir()))


def test_the_rerun_completes_and_equals_an_uninterrupted_run(
    spark: SparkSession, kit: ModuleType, baseline, chain: Path, compare_with_baseline
) -> None:
    proc = kit.run_cli(_args(baseline, chain), chain.parent / "rerun.log")
    output = (chain.parent / "rerun.log").read_text()
    assert proc.returncode == 0, output[-3000:]
    compare_with_baseline(chain)

    # stale state went automatically: the killed report's folder, old checkpoints, the lock
    assert len(list((chain / "_exports.versions").iterdir())) == 1
    assert len(list((chain / "_checkpoints").iterdir())) <= 1  # the rerun's own session
    with warehouse_lock(chain, "test", timeout=0):
        pass

    runs = io.read_table(spark, chain, Tables.RUN_LOG).collect()
    outcomes = sorted(r["outcome"] for r in runs)
    # every killed run that had completed a stage is recorded by the run after it
    assert outcomes == ["interrupted"] * (len(STAGES) - 1) + ["succeeded"], outcomes
    assert len({r["run_id"] for r in runs}) == len(runs)
    final = next(r for r in runs if r["outcome"] == "succeeded")
    assert set(json.loads(final["tables"])) == set(kit.delta_tables(chain)) - {Tables.RUN_LOG}
    memory = json.loads(final["counts"])["report"]["driver memory peak (MB)"]
    assert memory["python peak rss"] > 0 and memory["jvm peak heap"] > 0
