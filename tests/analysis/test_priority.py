"""Group priority: hand-computed scores, configurable weights, the reason line, the factors.

Three groups scored with the default configuration (weights sum to 100):

======================  ======  ======  ======  ======================================
factor (weight, how)    G1      G2      G3      contributions G1 / G2 / G3
======================  ======  ======  ======  ======================================
cchi_all (10, pct)      1200    300     0       10 / 6.6667 / 0       (3/3, 2/3, zero)
cchi_recent (5, pct)    600     300     0       5 / 3.3333 / 0
ons_all (10, pct)       900     400     0       10 / 6.6667 / 0
ons_recent (5, pct)     300     400     0       3.3333 / 5 / 0        (G1 2/3, G2 3/3)
children (14, cap 5)    2       0       6       5.6 / 0 / 14          (2/5; 6/5 capped at 1)
vulnerable (6, cap 3)   1       0       0       2 / 0 / 0
missing (8, cap 10)     4       0       12      3.2 / 0 / 8
looked after (6, cap 3) 1       0       0       2 / 0 / 0
cuckooed (8, cap 5)     0       2       0       0 / 3.2 / 0
weapons (12, pct)       3       1       0       12 / 8 / 0
soc (5, max)            1       0       0       5 / 0 / 0
reach (7, pct)          2       0       1       7 / 0 / 4.6667        (G3: 2 of 3 at most 1)
size (4, pct)           10      4       3       4 / 2.6667 / 1.3333
score                                           69.1333 / 35.5334 / 28.0
======================  ======  ======  ======  ======================================

Bands (defaults: high >= 60, medium >= 35): G1 high, G2 medium, G3 low.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from pyspark.sql import DataFrame, SparkSession

from clnet_spark import io
from clnet_spark.analysis import priority as pr
from clnet_spark.analysis.priority import (
    FactorConfig,
    PriorityConfig,
    PriorityFactors,
    PriorityInputError,
    group_factors,
    normalise,
    score_groups,
)
from clnet_spark.analysis.stage import GROUP_PRIORITY, run_priority
from clnet_spark.columns import Tables
from clnet_spark.config import ClnetConfig
from clnet_spark.run import RunContext

REFERENCE = dt.date(2024, 6, 30)


def three_groups() -> pd.DataFrame:
    rows = {
        "G1": (1200, 600, 900, 300, 2, 1, 4, 1, 0, 3, 1, 2, 10),
        "G2": (300, 300, 400, 400, 0, 0, 0, 0, 2, 1, 0, 0, 4),
        "G3": (0, 0, 0, 0, 6, 0, 12, 0, 0, 0, 0, 1, 3),
    }
    frame = pd.DataFrame(
        [(g, *values) for g, values in rows.items()], columns=["group_id", *pr.FACTORS]
    )
    details = {
        "group_kind": ["main", "main", "peripheral"],
        "best_soc_group_id": ["S1", None, None],
        "best_soc_overlap": [0.8, 0.0, 0.0],
        "weapons_violence_coded": [2, 1, 0],
        "weapons_violence_text": [2, 0, 0],
        "weapon_terms": [["knife"], [], []],
        "outside_areas": [["Hereford", "Telford"], [], ["Telford"]],
    }
    return frame.assign(**details)


def scored(config: PriorityConfig | None = None) -> pd.DataFrame:
    return score_groups(three_groups(), config).set_index("group_id")


# --- scores, ranks, bands ----------------------------------------------------------------------


def test_contributions_and_scores_by_hand() -> None:
    actual = scored()

    g1 = actual.loc["G1"]
    assert g1["cchi_all_contribution"] == 10.0
    assert g1["ons_recent_contribution"] == pytest.approx(3.3333)
    assert g1["children_contribution"] == pytest.approx(5.6)
    assert g1["missing_episodes_contribution"] == pytest.approx(3.2)
    assert g1["reach_outside_force_contribution"] == 7.0
    assert actual.loc["G2", "cchi_all_contribution"] == pytest.approx(6.6667)
    assert actual.loc["G2", "cuckooed_victims_contribution"] == pytest.approx(3.2)
    assert actual.loc["G3", "children_contribution"] == 14.0  # 6 children: capped at 5
    assert actual.loc["G3", "reach_outside_force_contribution"] == pytest.approx(4.6667)
    assert actual["score"].to_dict() == pytest.approx({"G1": 69.1333, "G2": 35.5334, "G3": 28.0})
    assert actual["rank"].to_dict() == {"G1": 1, "G2": 2, "G3": 3}
    assert actual["band"].to_dict() == {"G1": "high", "G2": "medium", "G3": "low"}


def test_score_is_the_sum_of_the_shown_contributions() -> None:
    actual = scored()
    parts = actual[[f + "_contribution" for f in pr.FACTORS]].sum(axis=1)
    np.testing.assert_allclose(actual["score"], parts, atol=1e-9)
    assert list(score_groups(three_groups()).columns) == list(pr.PRIORITY_COLUMNS)


def test_weights_from_config_change_the_ranking() -> None:
    # Safeguarding first: children at weight 50 lift G3 (6 children) above G2.
    safeguarding_first = PriorityConfig(
        factors=PriorityFactors(children=FactorConfig(weight=50, normalise="cap", cap=5))
    )
    actual = scored(safeguarding_first)

    assert actual["score"].to_dict() == pytest.approx({"G1": 83.5333, "G2": 35.5334, "G3": 64.0})
    assert actual["rank"].to_dict() == {"G1": 1, "G3": 2, "G2": 3}


def test_equal_scores_rank_by_group_id() -> None:
    factors = three_groups()
    factors.loc[:, list(pr.FACTORS)] = 1
    factors["group_id"] = ["G9", "G10", "G2"]

    actual = score_groups(factors)

    assert actual["group_id"].tolist() == ["G10", "G2", "G9"]
    assert actual["rank"].tolist() == [1, 2, 3]


def test_bands_by_rank() -> None:
    config = PriorityConfig(band_by="rank", high_rank=1, medium_rank=1)
    assert scored(config)["band"].to_dict() == {"G1": "high", "G2": "low", "G3": "low"}


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        (FactorConfig(weight=1), [0.0, 0.75, 0.75, 1.0]),  # at most 5: 3 of 4; zero stays zero
        (FactorConfig(weight=1, normalise="max"), [0.0, 0.25, 0.25, 1.0]),
        (FactorConfig(weight=1, normalise="cap", cap=10), [0.0, 0.5, 0.5, 1.0]),
    ],
)
def test_normalisations(method: FactorConfig, expected: list[float]) -> None:
    assert normalise(np.array([0.0, 5.0, 5.0, 20.0]), method).tolist() == expected


def test_all_zero_factor_contributes_nothing() -> None:
    values = np.zeros(3)
    assert normalise(values, FactorConfig(weight=1, normalise="max")).tolist() == [0, 0, 0]
    assert normalise(values, FactorConfig(weight=1)).tolist() == [0, 0, 0]


# --- the reason line ---------------------------------------------------------------------------


def test_reason_names_the_heaviest_topics() -> None:
    actual = scored()["reason"]

    assert actual["G1"] == (
        "High: harm 1,200 CCHI days (top 34%; 600 in the last 3 years), "
        "ONS severity 900 (top 34%; 300 in the last 3 years), "
        "weapons or violence on 3 records (knife), "
        "2 children and 1 vulnerable adult with 4 missing episodes"
    )
    assert actual["G3"] == (
        "Low: 6 children with 12 missing episodes, "
        "reach into 1 area outside the force (Telford), 3 members"
    )


def test_reason_always_names_children_even_when_they_carry_no_weight() -> None:
    unweighted = PriorityConfig(
        factors=PriorityFactors(children=FactorConfig(weight=0)), reason_topics=1
    )
    assert scored(unweighted).loc["G1", "reason"] == (
        "High: harm 1,200 CCHI days (top 34%; 600 in the last 3 years), "
        "2 children and 1 vulnerable adult with 4 missing episodes"
    )


def test_reason_of_a_group_with_nothing_recorded() -> None:
    factors = three_groups()
    factors.loc[:, list(pr.FACTORS)] = 0
    actual = score_groups(factors)
    assert set(actual["reason"]) == {"Low: no priority factor recorded"}
    assert set(actual["score"]) == {0.0}


# --- bad input and configuration ---------------------------------------------------------------


def test_missing_factor_column_is_named() -> None:
    with pytest.raises(PriorityInputError, match=r"missing columns \['size'\]"):
        score_groups(three_groups().drop(columns="size"))


def test_negative_raw_value_is_refused() -> None:
    factors = three_groups()
    factors.loc[0, "children"] = -1
    with pytest.raises(PriorityInputError, match="children holds a null or negative value"):
        score_groups(factors)


def test_repeated_group_is_refused() -> None:
    factors = three_groups()
    factors["group_id"] = "G1"
    with pytest.raises(PriorityInputError, match="group_id is not unique"):
        score_groups(factors)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"factors": {"size": {"weight": 1, "normalise": "cap"}}}, "give `cap`"),
        ({"factors": {"size": {"weight": -1}}}, "greater than or equal to 0"),
        ({"factors": {"sizes": {"weight": 1}}}, "sizes"),
        ({"violence_codes": ["8N", "NFIB"]}, "'NFIB' is not a Home Office offence code"),
        ({"high_score": 10, "medium_score": 20}, "high_score"),
    ],
)
def test_invalid_settings_are_named(settings: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PriorityConfig(**settings)


def test_violence_codes_are_kept_canonical() -> None:
    assert PriorityConfig(violence_codes=("008", "10d", "008/26")).violence_codes == (
        "8",
        "10D",
        "8/26",
    )


def test_default_weights_sum_to_100() -> None:
    assert PriorityFactors().total_weight == 100


# --- gathering the factors in Spark ------------------------------------------------------------


@pytest.fixture(scope="module")
def tables(spark: SparkSession) -> dict[str, DataFrame]:
    """G1 = {A, B, C}, G2 = {D}, G3 = {E, F} (no harm row, no records, E no safeguarding row).

    Records (reference date 2024-06-30):

    - R1 crimes 8N, A suspect: coded (class 8).
    - R2 crimes 80, B offender, Telford: class 80 is not 8; reach Telford.
    - R3 crimes 105A, C suspect, "telford ": not a violence family; the same area as R2.
    - I1 ims, A subject, Worcester: text "Knife"; "the Blade line" is not a weapon term.
    - K1 icis 10D, A arrested: a custody record's code does not count.
    - R4 crimes 10D, A suspect and B offender: coded and "machetes"; once for G1.
    - I2 ims, C witness, "a shot": a witness's record does not count.
    - R5 crimes 8/26, A suspect, after the reference date: left out.
    - R6 crimes 34B, D suspect, Dudley: coded (robbery).

    Missing episodes: A found in Hereford (reach), A later in Ludlow (after the reference
    date), B in Birmingham (the force), D in "HEREFORD".
    """

    def frame(rows: list[tuple], ddl: str) -> DataFrame:
        return spark.createDataFrame(rows, ddl)

    groups = frame(
        [
            ("G1", "main", 3, ["A", "B", "C"], "N", 3, 3.0, "S1", 0.6667, True),
            ("G2", "peripheral", 1, ["D"], "D", 0, 0.0, None, 0.0, False),
            ("G3", "peripheral", 2, ["E", "F"], "E", 1, 1.0, None, 0.0, False),
        ],
        "group_id string, group_kind string, size long, members array<string>, "
        "component string, internal_edges long, internal_weight double, "
        "best_soc_group_id string, best_soc_overlap double, soc_associated boolean",
    )
    harm = frame(
        [("G1", "1200.5", "600", "900.25", "300"), ("G2", "0", "0", "0", "0")],
        "group_id string, cchi_all string, cchi_recent string, ons_all string, ons_recent string",
    ).selectExpr("group_id", *(f"cast({h} as decimal(28,9)) as {h}" for h in pr._HARM_FACTORS))
    safeguarding = frame(
        [
            ("A", "G1", True, False, False, False, False, False, 3, 0.0),
            ("B", "G1", False, False, False, False, True, True, 2, 0.0),
            ("C", "G1", False, True, False, False, False, False, 5, 1.0),
            ("D", "G2", True, False, False, True, False, False, 1, 0.0),
            ("F", "G3", False, False, True, False, False, False, 0, 1.0),
        ],
        "nominal_id string, group_id string, child boolean, was_child_when_linked boolean, "
        "age_unknown boolean, looked_after_child boolean, vulnerable_adult boolean, "
        "cuckooed_victim boolean, missing_episodes int, removal_cost double",
    )
    day = dt.datetime(2024, 1, 1)
    late = dt.datetime(2025, 1, 1)
    records = frame(
        [
            ("crimes", "R1", day, "assault", "8N", "Birmingham"),
            ("crimes", "R2", day, "absconded", "80", "Telford"),
            ("crimes", "R3", day, "pushed", "105A", "telford "),
            ("ims", "I1", day, "seen with a Knife near the Blade line", None, "Worcester"),
            ("icis", "K1", day, "arrested", "10D", "Birmingham"),
            ("crimes", "R4", day, "two machetes found", "010D", "Walsall"),
            ("ims", "I2", day, "a shot was heard", None, "Ludlow"),
            ("crimes", "R5", late, "knife in public", "8/26", "Ludlow"),
            ("crimes", "R6", day, "phone taken", "34B", "Dudley"),
        ],
        "source string, record_id string, recorded_at timestamp, text string, "
        "offence_code string, area string",
    )
    links = frame(
        [
            ("crimes", "R1", "A", "suspect"),
            ("crimes", "R2", "B", "offender"),
            ("crimes", "R3", "C", "suspect"),
            ("ims", "I1", "A", "subject"),
            ("icis", "K1", "A", "arrested"),
            ("crimes", "R4", "A", "suspect"),
            ("crimes", "R4", "B", "offender"),
            ("ims", "I2", "C", "witness"),
            ("crimes", "R5", "A", "suspect"),
            ("crimes", "R6", "D", "suspect"),
        ],
        "source string, record_id string, nominal_id string, role string",
    )
    missing = frame(
        [
            ("A", dt.datetime(2024, 2, 1), "Hereford"),
            ("A", dt.datetime(2024, 8, 1), "Ludlow"),
            ("B", dt.datetime(2024, 3, 1), "Birmingham"),
            ("D", dt.datetime(2024, 3, 1), "HEREFORD"),
        ],
        "nominal_id string, started_at timestamp, found_area string",
    )
    return {
        Tables.CL_GROUPS: groups,
        Tables.GROUP_HARM: harm,
        "safeguarding_flags": safeguarding,
        Tables.RECORDS: records,
        Tables.RECORD_NOMINALS: links,
        Tables.MISSING_EPISODES: missing,
    }


def test_group_factors_by_hand(tables: dict[str, DataFrame]) -> None:
    factors = group_factors(
        tables[Tables.CL_GROUPS],
        tables[Tables.GROUP_HARM],
        tables["safeguarding_flags"],
        tables[Tables.RECORDS],
        tables[Tables.RECORD_NOMINALS],
        tables[Tables.MISSING_EPISODES],
        force_areas=ClnetConfig().force_areas,
        reference_date=REFERENCE,
        linking_roles=ClnetConfig().network.linking_roles,
    )
    assert factors.columns == list(pr.FACTOR_TABLE_COLUMNS)
    actual = {row["group_id"]: row.asDict() for row in factors.collect()}

    g1 = actual["G1"]
    assert (g1["cchi_all"], g1["ons_all"]) == (1200.5, 900.25)
    assert (g1["children"], g1["vulnerable_adults"], g1["looked_after_children"]) == (1, 1, 0)
    assert g1["missing_episodes"] == 5  # A 3 + B 2; C is neither child nor vulnerable
    assert g1["cuckooed_victims"] == 1
    assert g1["weapons_violence"] == 3  # R1, I1, R4
    assert (g1["weapons_violence_coded"], g1["weapons_violence_text"]) == (2, 2)
    assert g1["weapon_terms"] == ["knife", "machete"]
    assert g1["reach_outside_force"] == 3
    assert g1["outside_areas"] == ["Hereford", "Telford", "Worcester"]
    assert (g1["soc_associated"], g1["size"]) == (1, 3)

    g2 = actual["G2"]
    assert (g2["children"], g2["looked_after_children"], g2["missing_episodes"]) == (1, 1, 1)
    assert (g2["weapons_violence"], g2["weapon_terms"]) == (1, [])
    assert (g2["reach_outside_force"], g2["outside_areas"]) == (1, ["HEREFORD"])

    g3 = actual["G3"]
    assert g3["cchi_all"] == 0.0
    assert [g3[f] for f in pr.FACTORS if f != "size"] == [0] * (len(pr.FACTORS) - 1)
    assert (g3["weapon_terms"], g3["outside_areas"], g3["size"]) == ([], [], 2)


def test_stage_writes_group_priority(
    spark: SparkSession, tmp_path: Path, tables: dict[str, DataFrame]
) -> None:
    warehouse = tmp_path / "warehouse"
    for name, frame in tables.items():
        io.write_table(frame, warehouse, name)
    ctx = RunContext(warehouse, ClnetConfig())

    run_priority(spark, ctx, REFERENCE)

    written = io.read_table(spark, warehouse, GROUP_PRIORITY)
    assert written.columns == list(pr.PRIORITY_COLUMNS)
    rows = written.orderBy("rank").collect()
    assert [row["group_id"] for row in rows] == ["G1", "G2", "G3"]
    assert rows[0]["reason"] == (
        "High: harm 1,200 CCHI days (top 34%; 600 in the last 3 years), "
        "ONS severity 900 (top 34%; 300 in the last 3 years), "
        "weapons or violence on 3 records (knife, machete), "
        "1 child and 1 vulnerable adult with 5 missing episodes"
    )
    assert rows[0]["score"] == pytest.approx(68.4)
    assert rows[0]["weapon_terms"] == ["knife", "machete"]
    assert ctx.reports[-1].counts["groups scored"] == 3


def test_no_groups_gives_an_empty_table() -> None:
    actual = score_groups(three_groups().iloc[:0])
    assert list(actual.columns) == list(pr.PRIORITY_COLUMNS)
    assert actual.empty
