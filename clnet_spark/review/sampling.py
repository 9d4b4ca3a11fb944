"""Validation samples for a reviewer, and reading the reviewed sample back (METHOD section 8).

Two populations of matching records (records with at least one search match):

``in_network``
    at least one of the record's linked nominals (linking roles, as in the network) is kept;
``not_in_network``
    none is.

Membership is decided by :func:`clnet_spark.network.stage.search_group_report`, the function
that writes the network stage's per-group figures, so the populations and those figures
cannot disagree.

A sample is a seeded simple random sample without replacement: the population is ordered by
``xxhash64(seed, source, record_id)`` (ties, which need a hash collision, by source and
record_id) and the first ``n`` records are taken. Every ``n``-subset is equally likely as far
as the hash is uniform; the sample depends only on the seed and the records' keys, not on
partitioning, file layout or the order rows arrive in.

The reviewer CSV holds the record text: that is what the reviewer reads. It is personal record
text, so it is written to the file only, never to a log line.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any, Final, Literal

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from clnet_spark import columns as c
from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.config import NetworkConfig
from clnet_spark.errors import ClnetError
from clnet_spark.guard import collect_bounded
from clnet_spark.network import build
from clnet_spark.network.stage import search_group_report
from clnet_spark.review.bounds import lower_bound_of, posterior_quantile

log = logging.getLogger(__name__)

IN_NETWORK: Final = "in_network"
NOT_IN_NETWORK: Final = "not_in_network"
POPULATIONS: Final = (IN_NETWORK, NOT_IN_NETWORK)
Population = Literal["in_network", "not_in_network"]

SAMPLE_RANK: Final = "sample_rank"
LABEL: Final = "label"
REVIEW_COLUMNS: Final = (
    c.SOURCE,
    c.RECORD_ID,
    c.RECORD_WEIGHT,
    c.MATCHED_GROUPS,
    c.TEXT,
    LABEL,
)
"""The columns of the reviewer CSV, in order; ``label`` is left empty for the reviewer."""

CORRECT_LABELS: Final = ("correct", "1")
INCORRECT_LABELS: Final = ("incorrect", "0")


class ReviewError(ClnetError):
    """A sample request or a reviewed CSV is invalid."""


def _require(frame: DataFrame, name: str, columns: tuple[str, ...]) -> None:
    missing = [col for col in columns if col not in frame.columns]
    if missing:
        raise ReviewError(
            f"{name}: missing columns {missing}; columns present: {sorted(frame.columns)}"
        )


def _whole(name: str, value: object, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReviewError(f"{name}: expected a whole number, found {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ReviewError(f"{name}: expected at least {minimum}, found {value}")
    return value


def sample_records(frame: DataFrame, n: int, seed: int) -> DataFrame:
    """A seeded simple random sample, without replacement, of ``n`` records of ``frame``.

    Parameters
    ----------
    frame
        The population: columns ``source`` and ``record_id`` (unique together), any others.
    n
        Sample size; the whole population (in sample order) when it has fewer records.
    seed
        Any whole number; the same seed and population give the same sample.

    Returns
    -------
    DataFrame
        ``min(n, N)`` rows: the columns of ``frame`` and ``sample_rank`` (1 .. n, the order
        to review them in), ordered by ``sample_rank``.

    Raises
    ------
    ReviewError
        ``n`` is negative or not a whole number, ``seed`` is not a whole number, or a key
        column is missing.
    """
    _require(frame, "population", (c.SOURCE, c.RECORD_ID))
    size = _whole("n", n, minimum=0)
    seed_value = _whole("seed", seed)
    draw = F.xxhash64(F.lit(seed_value).cast("long"), F.col(c.SOURCE), F.col(c.RECORD_ID))
    order = (
        F.col("_draw").asc_nulls_last(),
        F.col(c.SOURCE).asc_nulls_last(),
        F.col(c.RECORD_ID).asc_nulls_last(),
    )
    chosen = frame.withColumn("_draw", draw).orderBy(*order).limit(size)
    # One window over the n chosen rows only: a single partition is what is wanted here.
    by_draw = Window.orderBy(*order).rowsBetween(Window.unboundedPreceding, Window.currentRow)
    ranked = chosen.withColumn(SAMPLE_RANK, F.row_number().over(by_draw))
    return ranked.select(*frame.columns, SAMPLE_RANK).orderBy(SAMPLE_RANK)


def network_membership(record_matches: DataFrame, links: DataFrame, kept: DataFrame) -> DataFrame:
    """Every matching record, flagged in or out of the network.

    Each record is passed to :func:`~clnet_spark.network.stage.search_group_report` as a search
    group of its own (its key as the group), so "in the network" means exactly what the
    network stage's report counts.

    Parameters
    ----------
    record_matches
        ``source, record_id, record_weight, matched_groups`` (the search stage's table).
    links
        :func:`clnet_spark.network.build.linking_links` of ``record_nominals``.
    kept
        Column ``id``: the kept nominals.

    Returns
    -------
    DataFrame
        ``source, record_id, record_weight, matched_groups, in_network`` (boolean), one row
        per matching record.
    """
    _require(
        record_matches, "record_matches", (c.SOURCE, c.RECORD_ID, c.RECORD_WEIGHT, c.MATCHED_GROUPS)
    )
    as_groups = record_matches.select(
        c.SOURCE,
        c.RECORD_ID,
        F.array(F.struct(c.SOURCE, c.RECORD_ID)).alias(c.MATCHED_GROUPS),
    )
    per_record = search_group_report(as_groups, links, kept).select(
        F.col(c.GROUP)[c.SOURCE].alias(c.SOURCE),
        F.col(c.GROUP)[c.RECORD_ID].alias(c.RECORD_ID),
        (F.col(IN_NETWORK) > 0).alias(IN_NETWORK),
    )
    return record_matches.join(per_record, on=[c.SOURCE, c.RECORD_ID], how="inner").select(
        c.SOURCE, c.RECORD_ID, c.RECORD_WEIGHT, c.MATCHED_GROUPS, IN_NETWORK
    )


def population_records(membership: DataFrame, population: Population) -> DataFrame:
    """The records of one population of :func:`network_membership` (same columns, less flag).

    Raises
    ------
    ReviewError
        ``population`` is not ``in_network`` or ``not_in_network``.
    """
    if population not in POPULATIONS:
        raise ReviewError(f"population: expected one of {list(POPULATIONS)}, found {population!r}")
    wanted = F.col(IN_NETWORK) if population == IN_NETWORK else ~F.col(IN_NETWORK)
    return membership.where(wanted).select(c.SOURCE, c.RECORD_ID, c.RECORD_WEIGHT, c.MATCHED_GROUPS)


def review_sheet(sample: DataFrame, records: DataFrame) -> DataFrame:
    """The reviewer's rows: the sample with each record's text and an empty ``label``.

    Parameters
    ----------
    sample
        :func:`sample_records` of a population of :func:`population_records`.
    records
        ``source, record_id, text`` (``(source, record_id)`` unique).

    Returns
    -------
    DataFrame
        ``sample_rank`` and :data:`REVIEW_COLUMNS`, as text: ``record_weight`` as written in
        the tables, ``matched_groups`` joined with ``;``, ``label`` null (an empty CSV cell);
        ordered by ``sample_rank``.
    """
    _require(sample, "sample", (c.SOURCE, c.RECORD_ID, c.RECORD_WEIGHT, c.MATCHED_GROUPS))
    _require(records, "records", (c.SOURCE, c.RECORD_ID, c.TEXT))
    texts = records.select(c.SOURCE, c.RECORD_ID, c.TEXT)
    return (
        sample.join(texts, on=[c.SOURCE, c.RECORD_ID], how="left")
        .orderBy(SAMPLE_RANK)
        .select(
            SAMPLE_RANK,
            c.SOURCE,
            c.RECORD_ID,
            F.col(c.RECORD_WEIGHT).cast("string").alias(c.RECORD_WEIGHT),
            F.array_join(c.MATCHED_GROUPS, ";").alias(c.MATCHED_GROUPS),
            c.TEXT,
            F.lit(None).cast("string").alias(LABEL),
        )
    )


def write_review_sample(
    spark: SparkSession,
    warehouse: Path,
    population: Population,
    n: int,
    seed: int,
    out_csv: Path,
    *,
    network: NetworkConfig,
) -> dict[str, Any]:
    """Draw a sample of one population and write the reviewer CSV (``clnet review sample``).

    Parameters
    ----------
    spark, warehouse
        The session and the warehouse of a run that has passed the network stage
        (``records``, ``record_nominals``, ``record_matches``, ``cl_nominals``).
    population
        ``in_network`` or ``not_in_network``.
    n, seed
        Sample size and seed (:func:`sample_records`).
    out_csv
        The CSV written: :data:`REVIEW_COLUMNS`, one row per sampled record.
    network
        The run's ``network`` settings (its linking roles decide who is linked to a record).

    Returns
    -------
    dict
        ``population``, ``population_size`` (``N``, needed by :func:`bounds_report`), ``n``
        (records written), ``seed``, ``csv``, and ``search_groups``: per search group
        ``(group, matching_records, in_network, not_in_network)``.
    """
    if population not in POPULATIONS:
        raise ReviewError(f"population: expected one of {list(POPULATIONS)}, found {population!r}")
    matches = io.read_table(spark, warehouse, Tables.RECORD_MATCHES)
    record_nominals = io.read_table(spark, warehouse, Tables.RECORD_NOMINALS)
    kept = io.read_table(spark, warehouse, Tables.CL_NOMINALS).select(
        F.col(c.NOMINAL_ID).alias(c.ID)
    )
    records = io.read_table(spark, warehouse, Tables.RECORDS)
    links = build.linking_links(record_nominals, network.linking_roles, network.max_record_nominals)
    links = links.checkpoint()

    members = population_records(network_membership(matches, links, kept), population)
    members = members.checkpoint()
    size = members.count()
    sheet = review_sheet(sample_records(members, n, seed), records)
    # One partition sorted by rank, then the projection: the file lists the sample in order.
    ordered = sheet.repartition(1).sortWithinPartitions(SAMPLE_RANK).select(*REVIEW_COLUMNS)
    io.write_single_csv(ordered, out_csv)
    written = min(n, size)
    groups = [
        tuple(row)
        for row in collect_bounded(
            search_group_report(matches, links, kept), Tables.SEARCH_GROUP_REPORT
        )
    ]
    log.info(
        "review sample: %d of %d %s records (seed %d) written to %s",
        written,
        size,
        population,
        seed,
        out_csv,
    )
    return {
        "population": population,
        "population_size": size,
        "n": written,
        "seed": seed,
        "csv": str(out_csv),
        "search_groups": groups,
    }


def _label_of(value: str | None, *, path: Path, row: int, line: int) -> bool:
    """True for a record the reviewer found correctly classified, False for misclassified."""
    label = (value or "").strip().lower()
    if label in CORRECT_LABELS:
        return True
    if label in INCORRECT_LABELS:
        return False
    shown = (
        "an empty label"
        if not label
        else (f"{label!r}" if len(label) <= 20 else f"a label of {len(label)} characters")
    )
    raise ReviewError(
        f"{path}, row {row} (line {line}), column 'label': expected correct, incorrect, 1 or 0, "
        f"found {shown}"
    )


def read_reviewed(csv_path: Path) -> tuple[int, int]:
    """Read a reviewed sample back: ``(n, k)``, records reviewed and found misclassified.

    Parameters
    ----------
    csv_path
        A reviewer CSV (:func:`write_review_sample`) with every ``label`` filled in:
        ``correct`` or ``1`` (correctly classified), ``incorrect`` or ``0`` (misclassified);
        case and surrounding spaces do not matter.

    Raises
    ------
    ReviewError
        The file does not exist; it has no ``label``, ``source`` or ``record_id`` column (the
        message lists the columns present); a label is empty or unknown (the message names
        the row: 1 is the first row after the header); a record appears twice.
    """
    path = Path(csv_path)
    if not path.is_file():
        raise ReviewError(f"reviewed sample {path} does not exist")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip().lower() for name in (reader.fieldnames or [])]
        missing = [name for name in (c.SOURCE, c.RECORD_ID, LABEL) if name not in header]
        if missing:
            raise ReviewError(
                f"reviewed sample {path}: missing columns {missing}; "
                f"columns present: {sorted(header)}"
            )
        reader.fieldnames = header
        seen: dict[tuple[str, str], int] = {}
        n = k = 0
        for row_number, row in enumerate(reader, start=1):
            key = ((row.get(c.SOURCE) or "").strip(), (row.get(c.RECORD_ID) or "").strip())
            if key in seen:
                raise ReviewError(
                    f"{path}, row {row_number} (line {reader.line_num}): record {key[0]}:"
                    f"{key[1]} already appears on row {seen[key]}; a sample has each record once"
                )
            seen[key] = row_number
            correct = _label_of(row.get(LABEL), path=path, row=row_number, line=reader.line_num)
            n += 1
            k += 0 if correct else 1
    log.info("reviewed sample %s: %d records, %d misclassified", path, n, k)
    return n, k


def bounds_report(csv_path: Path, population_size: int, level: float = 0.95) -> dict[str, Any]:
    """The credible lower bound from a reviewed sample (``clnet review bounds``).

    Parameters
    ----------
    csv_path
        The reviewed CSV (:func:`read_reviewed`).
    population_size
        ``N``: the size of the population the sample was drawn from (``population_size`` in
        the result of :func:`write_review_sample`).
    level
        The credible level.

    Returns
    -------
    dict
        ``reviewed`` (n), ``misclassified`` (k), ``correct`` (n - k), ``population_size``,
        ``level``, ``k95`` and ``lower_bound`` (4 places, METHOD section 8).

    Raises
    ------
    ReviewError
        See :func:`read_reviewed`.
    BoundsArgumentError
        More records reviewed than the population holds, or an invalid level.
    """
    n, k = read_reviewed(csv_path)
    k95 = posterior_quantile(n, k, population_size, level)
    return {
        "reviewed": n,
        "misclassified": k,
        "correct": n - k,
        "population_size": population_size,
        "level": level,
        "k95": k95,
        "lower_bound": lower_bound_of(k95, population_size),
    }
