"""Throughput of the native search engine on a synthetic corpus of short record texts.

Generates ``--records`` texts (default 200,000) of 8-40 words of ordinary police-log
vocabulary; about 12% carry one or two catalogue terms (some with separators, case changes or
plurals), 1% hold non-ASCII letters and 0.3% an emoji or a supplementary letter. The corpus
is cached, then each variant is run ``--repeat`` times after a warm-up run, the variants
interleaved (writing to Spark's ``noop`` sink, so every output column is computed). The best
wall time and the best CPU time of the JVM are reported; the CPU figure depends less on
other processes sharing the machine (though contention inflates it too):

- ``scan``: reading the cached texts only (the floor);
- ``prefilter``: the combined-pattern ``rlike`` alone;
- ``match_records``: the engine;
- ``naive``: one ``regexp_instr`` per term on every record, without pre-filters (what the
  engine avoids), for comparison; run once.

Run: ``.venv/bin/python benchmarks/search_native.py [--records N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark.config import REPO_ROOT, SparkConfig
from clnet_spark.search import load_catalogue, match_records
from clnet_spark.search.catalogue import Catalogue
from clnet_spark.search.native import bmp_text, candidate_records
from clnet_spark.session import build_session

FILLER_TEXT = (
    "officers attended the address reported male female suspect victim vehicle stopped "
    "searched arrested custody released bail enquiries ongoing caller stated window door "
    "damage phone line down manager white brown jacket hood trainers seen running towards "
    "park station shop bus stop road street flat house property cash bag knife threat "
    "assault theft burglary intelligence suggests associates known area night morning "
    "cctv viewed statement obtained neighbour concern welfare check missing returned home"
)
FILLER = FILLER_TEXT.split()
TERMS = (
    "county line",
    "County-Lines",
    "COUNTY_LINE",
    "drugs line",
    "cuckooed",
    "cuckoo house",
    "misper",
    "missing person",
    "runner",
    "pwits",
    "crack",
    "heroin",
    "cocaine",
    "coke",
    "weed",
    "cannabis",
    "skunk",
    "smack",
    "spice",
    "ket",
    "mandy",
    "CLCRACK",
)
NON_ASCII = ("é", "ø", "Müller", "Łódź", "Ж", "中")
SUPPLEMENTARY = ("\U0001f600", "\U0001d400", "\U0001f4f1")


def synthetic_texts(count: int, seed: int = 20240601) -> list[tuple[str, str, str]]:
    """``(source, record_id, text)`` rows of the synthetic corpus."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        words = rng.choices(FILLER, k=rng.randint(8, 40))
        roll = rng.random()
        if roll < 0.12:
            for _ in range(rng.choice((1, 1, 2))):
                words.insert(rng.randrange(len(words) + 1), rng.choice(TERMS))
        if rng.random() < 0.01:
            words.insert(rng.randrange(len(words) + 1), rng.choice(NON_ASCII))
        if rng.random() < 0.003:
            words.insert(rng.randrange(len(words) + 1), rng.choice(SUPPLEMENTARY))
        text = " ".join(words)
        rows.append(("ims", f"r{index}", text.upper() if rng.random() < 0.08 else text))
    return rows


def naive(records: DataFrame, catalogue: Catalogue) -> DataFrame:
    """Every term's ``regexp_instr`` on every record: the cost the pre-filters avoid."""
    text = bmp_text(F.col(c.TEXT))
    return records.select(
        c.SOURCE,
        c.RECORD_ID,
        *(
            F.regexp_instr(text, F.lit(term.pattern)).alias(f"t{i}")
            for i, term in enumerate(catalogue.terms)
        ),
    )


def jvm_cpu_seconds(spark: SparkSession) -> float:
    """CPU seconds the driver JVM (which runs the local executors) has used so far."""
    runtime = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    fields = Path(f"/proc/{runtime.getPid()}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    spark: SparkSession, variants: dict[str, DataFrame], rounds: dict[str, int]
) -> dict[str, tuple[float, float]]:
    """Best wall and CPU seconds per variant; rounds interleave the variants, after a warm-up."""
    best = {name: (float("inf"), float("inf")) for name in variants}
    for round_number in range(max(rounds.values()) + 1):
        for name, frame in variants.items():
            if round_number > rounds[name]:
                continue
            cpu, start = jvm_cpu_seconds(spark), time.perf_counter()
            frame.write.format("noop").mode("overwrite").save()
            wall, used = time.perf_counter() - start, jvm_cpu_seconds(spark) - cpu
            if round_number:  # round 0 warms the JIT up
                best[name] = (min(best[name][0], wall), min(best[name][1], used))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--catalogue", type=Path, default=REPO_ROOT / "conf" / "search_terms.yaml")
    args = parser.parse_args()

    spark: SparkSession = build_session(
        SparkConfig(master=args.master, app_name="bench-search", shuffle_partitions=2)
    )
    catalogue = load_catalogue(args.catalogue)
    rows = synthetic_texts(args.records)
    megabytes = sum(len(text.encode("utf-8")) for _, _, text in rows) / 1e6
    records = (
        spark.createDataFrame(rows, "source string, record_id string, text string")
        .repartition(4)
        .cache()
    )
    records.count()
    matched = match_records(records, catalogue).count()
    print(
        f"{args.records:,} records, {megabytes:.1f} MB of text, {len(catalogue.terms)} terms in "
        f"{len(catalogue.groups)} groups; {matched:,} records match ({matched / args.records:.1%})"
    )
    variants = {
        "scan": records.select(c.SOURCE, c.RECORD_ID, c.TEXT),
        "prefilter": candidate_records(records, catalogue),
        "match_records": match_records(records, catalogue),
        "naive": naive(records, catalogue),
    }
    rounds = {name: 1 if name == "naive" else args.repeat for name in variants}
    load = os.getloadavg()[0]
    results = measure(spark, variants, rounds)
    print(
        f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs"
    )
    header = ("variant", "wall s", "records/s", "MB/s", "CPU s", "rec/CPU-s")
    print("{:<14} {:>7} {:>11} {:>6} {:>6} {:>10}".format(*header))
    for name, (wall, cpu) in results.items():
        print(
            f"{name:<14} {wall:7.2f} {args.records / wall:11,.0f} {megabytes / wall:6.1f} "
            f"{cpu:6.2f} {args.records / cpu:10,.0f}"
        )
    spark.stop()


if __name__ == "__main__":
    main()
