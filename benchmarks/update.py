"""Time a one-day ``clnet update`` against a full run, stage by stage; prints the figures.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/update.py --scale 1 --workdir /tmp/bench

The demo corpus is split (``clnet_spark.demo.batches``) into everything before the last day
that has records (the baseline, run in full) and that day (the batch: its new records and
links, plus a few amended and deleted records, people and relationships). The full run's
stage times are the baseline's; ``--final`` also runs a full run on the final data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
from pathlib import Path

from clnet_spark.config import load_config
from clnet_spark.demo import write_demo_corpus
from clnet_spark.demo.batches import parse_day, split_export
from clnet_spark.pipeline import run_all
from clnet_spark.run import RunContext
from clnet_spark.session import build_session
from clnet_spark.update import run_update


def last_day(folder: Path, today: dt.date) -> dt.date:
    """The latest record date not after ``today`` in an export folder."""
    import pandas as pd

    days = set()
    for table in ("crimes", "ims", "icis", "pins", "compact"):
        frame = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
        days |= {d for d in frame["recorded_at"].map(parse_day) if d and d <= today}
    return max(days)


def stage_seconds(ctx: RunContext) -> dict[str, float]:
    return {report.stage: report.seconds for report in ctx.reports}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/clnet-update-bench"))
    parser.add_argument("--final", action="store_true", help="also a full run on the final data")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE"
    )
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    write_demo_corpus(args.workdir / "corpus", scale=args.scale, seed=args.seed)
    config = load_config(overrides=tuple(args.overrides))
    spark = build_session(config.spark, checkpoint_dir=args.workdir / "_checkpoints")
    today = dt.datetime.now(dt.UTC).date()
    day = last_day(args.workdir / "corpus", today)
    split = split_export(
        args.workdir / "corpus", args.workdir / "split", [day], amend=2, delete=1, delete_nominals=1
    )
    full = RunContext(args.workdir / "warehouse", config)
    run_all(spark, split.baseline, full)
    update = RunContext(args.workdir / "warehouse", config, kind="update")
    run_update(spark, split.batches, update)
    columns = {"full run": stage_seconds(full), "one-day update": stage_seconds(update)}
    if args.final:
        final = RunContext(args.workdir / "final_warehouse", config)
        run_all(spark, split.final, final)
        columns["full run (final data)"] = stage_seconds(final)
    searched = next(r for r in update.reports if r.stage == "search").counts["records searched"]
    print(f"scale {args.scale}, seed {args.seed}, batch day {day}: {searched} records searched")
    header = ["stage", *columns, "update / full"]
    print(" | ".join(header))
    full_times, update_times = columns["full run"], columns["one-day update"]
    for stage in full_times:
        cells = [f"{columns[name].get(stage, 0.0):.1f}" for name in columns]
        ratio = update_times.get(stage, 0.0) / full_times[stage] if full_times[stage] else 0.0
        print(" | ".join([stage, *cells, f"{ratio:.2f}"]))
    total_full, total_update = sum(full_times.values()), sum(update_times.values())
    totals = [f"{sum(columns[name].values()):.1f}" for name in columns]
    print(" | ".join(["total", *totals, f"{total_update / total_full:.2f}"]))
    spark.stop()


if __name__ == "__main__":
    main()
