"""Score a run against the demo corpus's ground truth (``ground_truth/`` of the generator).

Used by the end-to-end test and by ``clnet demo``. The pipeline never reads ground truth; only
this module does, after a run, from the output tables. Ground truth names nominals by their
source ids, the outputs by pseudonyms: the restricted ``nominal_identity`` table translates.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from pyspark.sql import SparkSession

from clnet_spark import columns as c
from clnet_spark import io
from clnet_spark.columns import Tables
from clnet_spark.guard import collect_bounded


@dataclass(frozen=True)
class Scores:
    """Ground-truth scores of one run."""

    planted_nominals: int
    kept_nominals: int
    true_positives: int
    recall: float
    """Share of planted county-lines nominals that the run kept."""
    precision: float
    """Share of kept nominals that were planted county-lines nominals."""
    planted_groups: int
    groups_recovered: int
    recovery: float
    """Share of planted groups with a detected group of Jaccard >= 0.5."""
    soc_labels_checked: int
    soc_labels_correct: int
    soc_accuracy: float
    """Of recovered groups: detected SOC association equals the planted one (or none)."""

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def score_run(spark: SparkSession, warehouse: Path, ground_truth: Path) -> Scores:
    """Compare ``cl_nominals`` and ``cl_groups`` of a warehouse with the planted truth.

    Kept nominals and group members are translated to source ids through
    ``nominal_identity`` before they are compared with ``ground_truth/``.
    """
    truth = pd.read_csv(ground_truth / "cl_nominals.csv", dtype=str)
    planted = pd.read_csv(ground_truth / "groups.csv", dtype=str, keep_default_na=False)
    source_of = {
        r[0]: r[1]
        for r in io.read_table(spark, warehouse, Tables.NOMINAL_IDENTITY)
        .join(io.read_table(spark, warehouse, Tables.CL_NOMINALS), c.NOMINAL_ID, "left_semi")
        .select(c.NOMINAL_ID, c.SOURCE_NOMINAL_ID)
        .collect()
    }
    kept = {
        source_of[r[0]]
        for r in collect_bounded(
            io.read_table(spark, warehouse, Tables.CL_NOMINALS).select(c.NOMINAL_ID),
            Tables.CL_NOMINALS,
        )
    }
    detected = {
        r[c.GROUP_ID]: (
            frozenset(source_of[m] for m in r["members"]),
            r["best_soc_group_id"] if r["soc_associated"] else "",
        )
        for r in collect_bounded(
            io.read_table(spark, warehouse, Tables.CL_GROUPS), Tables.CL_GROUPS
        )
    }
    truth_ids = set(truth[c.NOMINAL_ID])
    hits = len(truth_ids & kept)

    recovered = checked = correct = 0
    members_of = truth.groupby("planted_group")[c.NOMINAL_ID].agg(frozenset)
    for row in planted.itertuples(index=False):
        members = members_of.get(row.planted_group, frozenset())
        best_id, best = None, 0.0
        for group_id, (group_members, _soc) in sorted(detected.items()):
            score = _jaccard(members, group_members)
            if score > best:
                best_id, best = group_id, score
        if best_id is None or best < 0.5:
            continue
        recovered += 1
        checked += 1
        correct += int(detected[best_id][1] == (row.soc_group_id or ""))
    return Scores(
        planted_nominals=len(truth_ids),
        kept_nominals=len(kept),
        true_positives=hits,
        recall=hits / len(truth_ids) if truth_ids else 0.0,
        precision=hits / len(kept) if kept else 0.0,
        planted_groups=len(planted),
        groups_recovered=recovered,
        recovery=recovered / len(planted) if len(planted) else 0.0,
        soc_labels_checked=checked,
        soc_labels_correct=correct,
        soc_accuracy=correct / checked if checked else 0.0,
    )
