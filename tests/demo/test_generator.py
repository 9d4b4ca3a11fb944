"""Specification of the demo corpus generator (no Spark needed).

Corpora are small (scale 0.01-0.1, a fraction of a second to a few seconds each) and are
generated once per module.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clnet_spark.demo import DemoKnobs, generator, sentences, vocab, write_demo_corpus
from clnet_spark.demo import calibration as cal
from clnet_spark.demo.text import TextMaker

CONTRACT_HEADERS = {
    "crimes": "record_id,recorded_at,offence_code,area,text",
    "ims": "record_id,recorded_at,area,text",
    "icis": "record_id,recorded_at,offence_code,area,text",
    "pins": "record_id,recorded_at,area,text",
    "compact": "record_id,recorded_at,ended_at,area,found_area,text",
    "record_nominals": "source,record_id,nominal_id,role",
    "nominals": (
        "nominal_id,birth_date,sex,home_area,looked_after_child,vulnerable_adult,name,address"
    ),
    "relationships": "nominal_a,nominal_b,relationship_type,source,recorded_at",
    "soc_groups": "nominal_id,soc_group_id",
}
SOURCES = ("crimes", "ims", "icis", "pins", "compact")
ROLES = {
    "suspect",
    "offender",
    "charged",
    "arrested",
    "subject",
    "associate",
    "victim",
    "missing person",
    "witness",
    "reporting person",
    "other",
}
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y", "%d/%m/%Y %H:%M")
REFERENCE_DAY = dt.date(2026, 11, 30)
STRONG = ("COUNTY_LINE", "DRUGS_LINE", "CUCKOO")


def read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


def parse_day(value: str) -> dt.date | None:
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def all_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.csv"))} | {
        "summary": (folder / "ground_truth" / "summary.json").read_bytes()
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "s002"
    write_demo_corpus(out, scale=0.02, seed=11)
    return out


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus with malformed rates raised so that every kind is planted several times."""
    knobs = DemoKnobs(
        **{f: 0.01 for f in DemoKnobs.__dataclass_fields__ if f.startswith("malformed_")}
    )
    out = tmp_path_factory.mktemp("demo") / "messy"
    write_demo_corpus(out, scale=0.03, seed=5, knobs=knobs)
    return out


# --- determinism and size ----------------------------------------------------------------


def test_same_seed_and_scale_give_byte_identical_files(corpus: Path, tmp_path: Path) -> None:
    write_demo_corpus(tmp_path / "again", scale=0.02, seed=11)
    assert all_bytes(tmp_path / "again") == all_bytes(corpus)


def test_another_seed_gives_other_files(corpus: Path, tmp_path: Path) -> None:
    write_demo_corpus(tmp_path / "other", scale=0.02, seed=12)
    other = all_bytes(tmp_path / "other")
    mine = all_bytes(corpus)
    assert all(other[name] != mine[name] for name in ("crimes.csv", "nominals.csv", "ims.csv"))


def test_many_small_chunks_stay_deterministic_with_unique_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generator, "NOMINALS_PER_CHUNK", 150)
    write_demo_corpus(tmp_path / "a", scale=0.02, seed=3)
    write_demo_corpus(tmp_path / "b", scale=0.02, seed=3)
    assert all_bytes(tmp_path / "a") == all_bytes(tmp_path / "b")
    truth = read(tmp_path / "a" / "ground_truth", "malformed.csv").set_index(["table", "reason"])
    for source in SOURCES:
        ids = read(tmp_path / "a", f"{source}.csv")["record_id"]
        ids = ids[ids != ""]
        planted = truth.loc[(source, "duplicate_exact"), "rows"]
        planted = int(planted) + int(truth.loc[(source, "duplicate_conflicting"), "rows"])
        assert ids.duplicated().sum() == planted


def test_every_table_starts_with_the_contract_header(corpus: Path) -> None:
    for table, header in CONTRACT_HEADERS.items():
        with (corpus / f"{table}.csv").open(encoding="utf-8") as handle:
            assert handle.readline().rstrip("\n") == header


def test_rows_grow_linearly_with_scale(tmp_path: Path) -> None:
    # The planted part never shrinks below 4 groups, so it is ~8% of the records at scale
    # 0.02 and ~4% at 0.04: that alone pulls the records ratio to ~1.92. Poisson noise on
    # ~3,000 vs ~6,000 background records adds about +-3% (one sd). People are exact.
    small = write_demo_corpus(tmp_path / "s", scale=0.02, seed=4)
    large = write_demo_corpus(tmp_path / "l", scale=0.04, seed=4)
    assert large.rows["nominals.csv"] / small.rows["nominals.csv"] == pytest.approx(2, rel=0.02)
    assert 1.8 <= large.records / small.records <= 2.1
    background = (large.records - large.cl_records) / (small.records - small.cl_records)
    assert background == pytest.approx(2, rel=0.08)


def test_invalid_arguments_are_rejected_with_the_value(tmp_path: Path) -> None:
    for scale in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="scale must be a positive number"):
            write_demo_corpus(tmp_path, scale=scale)
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got -1"):
        write_demo_corpus(tmp_path, scale=0.01, seed=-1)


# --- contract values ---------------------------------------------------------------------


def test_ids_dates_codes_and_roles_follow_the_conventions(corpus: Path) -> None:
    malformed_dates = {"31/02/2019", "not known", "2019-13-05", "00/00/0000", "TBC"}
    for source, prefix in zip(SOURCES, ("CR", "IM", "IC", "PN", "CP"), strict=True):
        df = read(corpus, f"{source}.csv")
        ids = df["record_id"][df["record_id"] != ""]
        assert ids.str.fullmatch(prefix + r"\d{6}").all()
        days = [parse_day(v) for v in df["recorded_at"] if v not in malformed_dates]
        good = [d for d in days if d is not None and d.year < 2027]
        assert len(good) >= 0.98 * len(days)
        assert min(good) >= dt.date(2015, 1, 1) and max(good) <= REFERENCE_DAY
        if "offence_code" in df:
            known = {code for _, codes in vocab.OFFENCES.values() for code in codes} | {""}
            assert set(df["offence_code"]) <= known
    nominals = read(corpus, "nominals.csv")
    ids = nominals["nominal_id"][nominals["nominal_id"] != ""]
    assert ids.str.fullmatch(r"N\d{7}").all() and ids.is_unique
    assert set(nominals["looked_after_child"]) == {"true", "false"}
    assert set(nominals["vulnerable_adult"]) == {"true", "false", ""}
    births = nominals["birth_date"]
    assert births.str.fullmatch(r"\d{4}").any() and (births == "").any()
    assert births.str.fullmatch(r"\d{2}/\d{2}/\d{4}").any()
    links = read(corpus, "record_nominals.csv")
    summary = json.loads((corpus / "ground_truth" / "summary.json").read_text())
    assert set(links["role"]) == ROLES | {"informant"}
    assert (links["role"] == "informant").sum() == summary["unlisted_role_rows"]


def test_names_and_addresses_are_synthetic(corpus: Path) -> None:
    nominals = read(corpus, "nominals.csv")
    syllable = "|".join(vocab.SYLLABLES)
    first = nominals["name"].str.split(" ").str[0].str.lower()
    assert first.str.match(f"(?:{syllable})(?:{syllable})").all()
    assert nominals["address"].str.fullmatch(r"\d+ \w+ \w+, [\w -]+").all()


# --- ground truth --------------------------------------------------------------------------


def test_planted_members_are_nominals(corpus: Path) -> None:
    planted = read(corpus / "ground_truth", "cl_nominals.csv")
    assert set(planted["nominal_id"]) <= set(read(corpus, "nominals.csv")["nominal_id"])
    assert set(planted["tier"]) == {"line_holder", "middle", "runner", "cuckooed"}
    groups = read(corpus / "ground_truth", "groups.csv")
    sizes = planted["planted_group"].value_counts()
    assert groups.set_index("planted_group")["size"].astype(int).to_dict() == sizes.to_dict()
    assert sizes.between(6, 30).all() and len(groups) >= 4


@pytest.mark.parametrize("strong_share", [None, 0.0])
def test_every_member_shares_a_strong_record_with_another_member(
    corpus: Path, tmp_path: Path, strong_share: float | None
) -> None:
    if strong_share is not None:  # only the covering core records carry strong forms
        knobs = DemoKnobs(cl_county_line_share=strong_share, cl_drugs_line_share=strong_share)
        corpus = tmp_path / "sparse"
        write_demo_corpus(corpus, scale=0.02, seed=11, knobs=knobs)
    patterns = cal.group_patterns()
    records = cal.load_records(corpus)
    strong = records[[any(patterns[g].search(t) for g in STRONG) for t in records["text"]]]
    links = read(corpus, "record_nominals.csv")
    links = links[links["role"].isin(cal.LINKING_ROLES)].merge(strong, on=["source", "record_id"])
    planted = read(corpus / "ground_truth", "cl_nominals.csv")
    links = links.merge(planted, on="nominal_id")
    per_record = links.groupby(["source", "record_id", "planted_group"])["nominal_id"]
    shared = links[per_record.transform("nunique") >= 2]
    assert set(planted["nominal_id"]) == set(shared["nominal_id"])


def test_cuckooed_members_are_vulnerable_victims_of_cuckoo_records(corpus: Path) -> None:
    pattern = cal.group_patterns()["CUCKOO"]
    records = cal.load_records(corpus)
    cuckoo = records[records["text"].str.contains(pattern)]
    links = read(corpus, "record_nominals.csv").merge(cuckoo, on=["source", "record_id"])
    victims = set(links.loc[links["role"].isin(["victim", "subject"]), "nominal_id"])
    planted = read(corpus / "ground_truth", "cl_nominals.csv")
    cuckooed = planted[planted["tier"] == "cuckooed"]
    assert set(cuckooed["nominal_id"]) <= victims
    assert (cuckooed["vulnerable_adult"] == "true").all()


def test_soc_group_of_a_planted_group_holds_more_than_half_of_it(corpus: Path) -> None:
    planted = read(corpus / "ground_truth", "cl_nominals.csv")
    soc = read(corpus, "soc_groups.csv")
    groups = read(corpus / "ground_truth", "groups.csv")
    held = planted.merge(soc, on="nominal_id", how="left")
    for _, group in groups.iterrows():
        members = held[held["planted_group"] == group["planted_group"]]
        counts = members["soc_group_id"].replace("", np.nan).value_counts()
        majority = counts[counts * 2 > len(members)]
        assert list(majority.index) == ([group["soc_group_id"]] if group["soc_group_id"] else [])
    assert 1 <= (groups["soc_group_id"] != "").sum() < len(groups)
    truth = read(corpus / "ground_truth", "soc_groups.csv")
    assert (truth["has_cl_activity"] == "false").any()
    members_of = soc[soc["nominal_id"].isin(planted["nominal_id"])]["soc_group_id"]
    assert set(truth.loc[truth["has_cl_activity"] == "true", "soc_group_id"]) == set(members_of)


def test_children_in_ground_truth_are_under_18_by_their_birth_date(corpus: Path) -> None:
    planted = read(corpus / "ground_truth", "cl_nominals.csv")
    births = read(corpus, "nominals.csv").set_index("nominal_id")["birth_date"]
    checked = 0
    for _, member in planted.iterrows():
        birth = births[member["nominal_id"]]
        if re.fullmatch(r"\d{4}", birth):  # a year alone counts as 31 December (METHOD 7)
            day = dt.date(int(birth), 12, 31)
        elif birth:
            day = parse_day(birth)
        else:
            continue
        assert day is not None
        child = day.replace(year=day.year + 18) > REFERENCE_DAY
        if member["is_child_now"] == "true":
            assert child
            checked += 1
        elif len(birth) > 4:
            assert not child
    assert checked >= 1


def test_runners_go_missing_and_are_found_out_of_area(corpus: Path) -> None:
    planted = read(corpus / "ground_truth", "cl_nominals.csv")
    runners = set(planted.loc[planted["tier"] == "runner", "nominal_id"])
    links = read(corpus, "record_nominals.csv")
    episodes = links[(links["source"] == "compact") & (links["role"] == "missing person")]
    compact = read(corpus, "compact.csv").merge(episodes, on="record_id")
    theirs = compact[compact["nominal_id"].isin(runners)]
    assert len(theirs) >= 4
    outside = ~theirs["found_area"].isin([a for a, _ in vocab.FORCE_AREAS])
    assert outside.mean() > 0.5
    assert (planted.loc[planted["tier"] == "runner", "looked_after_child"] == "true").any()


# --- malformed rows ------------------------------------------------------------------------


def found_malformed(folder: Path) -> dict[tuple[str, str], int]:
    """Malformed rows per (table, reason), found in the files the way a quarantine would."""
    found: dict[tuple[str, str], int] = {}
    ids: dict[str, set[str]] = {}
    for source in SOURCES:
        df = read(folder, f"{source}.csv")
        found[(source, "empty_record_id")] = int((df["record_id"] == "").sum())
        df = df[df["record_id"] != ""]
        days = [parse_day(v) for v in df["recorded_at"]]
        found[(source, "unparseable_recorded_at")] = sum(d is None for d in days)
        found[(source, "future_recorded_at")] = sum(d is not None and d.year > 2026 for d in days)
        exact = int(df.duplicated().sum())
        found[(source, "duplicate_exact")] = exact
        found[(source, "duplicate_conflicting")] = int(df["record_id"].duplicated().sum()) - exact
        ids[source] = set(df["record_id"])
    nominals = read(folder, "nominals.csv")
    found[("nominals", "empty_nominal_id")] = int((nominals["nominal_id"] == "").sum())
    known = set(nominals["nominal_id"]) - {""}
    links = read(folder, "record_nominals.csv")
    valid_source = links["source"].isin(SOURCES)
    found[("record_nominals", "unknown_source")] = int((~valid_source).sum())
    exists = [
        s in ids and r in ids[s] for s, r in zip(links["source"], links["record_id"], strict=True)
    ]
    found[("record_nominals", "unknown_record")] = int((valid_source & ~np.array(exists)).sum())
    found[("record_nominals", "unknown_nominal")] = int((~links["nominal_id"].isin(known)).sum())
    rels = read(folder, "relationships.csv")
    found[("relationships", "self_relationship")] = int(
        (rels["nominal_a"] == rels["nominal_b"]).sum()
    )
    unknown = ~rels["nominal_a"].isin(known) | ~rels["nominal_b"].isin(known)
    found[("relationships", "unknown_nominal")] = int(unknown.sum())
    soc = read(folder, "soc_groups.csv")
    found[("soc_groups", "unknown_nominal")] = int((~soc["nominal_id"].isin(known)).sum())
    return found


def planted_malformed(folder: Path) -> dict[tuple[str, str], int]:
    truth = read(folder / "ground_truth", "malformed.csv")
    return {(t, r): int(n) for t, r, n in truth.itertuples(index=False)}


def test_every_malformed_kind_is_planted_and_counted_exactly(messy: Path) -> None:
    planted = planted_malformed(messy)
    assert found_malformed(messy) == planted
    assert min(planted.values()) >= 1
    assert sum(planted.values()) >= 10 * len(planted)


def test_default_corpus_counts_its_malformed_rows_exactly(corpus: Path) -> None:
    planted = planted_malformed(corpus)
    assert found_malformed(corpus) == planted
    assert min(planted.values()) >= 1
    rows = sum(
        int(n)
        for name, n in json.loads((corpus / "ground_truth" / "summary.json").read_text())[
            "rows"
        ].items()
        if "/" not in name
    )
    assert 0.002 <= sum(planted.values()) / rows <= 0.02
    summary = json.loads((corpus / "ground_truth" / "summary.json").read_text())
    assert {(t, r): n for t, rs in summary["malformed"].items() for r, n in rs.items()} == {
        k: n for k, n in planted.items() if n
    }


# --- texts -----------------------------------------------------------------------------------


def matching_groups(text: str) -> set[str]:
    return {g for g, p in cal.group_patterns().items() if p.search(text)}


def test_term_patterns_follow_the_method_semantics() -> None:
    county = cal.group_patterns()["COUNTY_LINE"]
    for hit in (
        "county lines",
        "County-Line",
        "COUNTY  LINE",
        "county_line",
        "county\nline",
        "“county line”",
        "county line🙂",
        "a county lines; b",
    ):
        assert county.search(hit), hit
    for miss in ("countyline", "conty line", "county lineé", "xcounty line", "county line2"):
        assert not county.search(miss), miss
    assert not cal.group_patterns()["CRACK"].search("flagged CLCRACK")
    assert cal.group_patterns()["CL_WORDS"].search("flagged CLCRACK")


def test_forms_match_their_group_and_misses_match_nothing() -> None:
    expect = {
        "COUNTY_LINE": vocab.COUNTY_LINE_FORMS,
        "DRUGS_LINE": vocab.DRUGS_LINE_FORMS,
        "CUCKOO": vocab.CUCKOOED_FORMS + vocab.CUCKOO_PLACE_FORMS,
        "MISPER": vocab.MISPER_FORMS,
    }
    for group, forms in expect.items():
        for form, _ in forms:
            assert matching_groups(form) == {group}, form
    for form, _ in vocab.COUNTY_LINE_MISSES + vocab.MISPER_MISSES:
        assert not matching_groups(form), form
    for group, forms in vocab.DRUG_FORMS.items():
        for form, _ in forms:
            assert matching_groups(form) == {group}, form


_SLOT_GROUPS = {
    "cl": {"COUNTY_LINE"},
    "dl": {"DRUGS_LINE"},
    "cuckooed": {"CUCKOO"},
    "cuckoo": {"CUCKOO"},
    "code": {"CL_WORDS"},
    "runner": {"OTHER"},
    "running": {"OTHER"},
    "pwits": {"OTHER"},
    "misper": {"MISPER"},
    "drug": set(vocab.DRUG_GROUPS),
    "drug2": set(vocab.DRUG_GROUPS),
    "pair": {"COCAINE", "HEROIN", "CRACK"},
}


def test_templates_match_only_the_terms_their_slots_carry() -> None:
    maker = TextMaker(random.Random(1), DemoKnobs(upper_case_text_share=0.5))
    ctx = {
        "area": "Dudley",
        "dest": "Telford",
        "home": "Dudley",
        "found": "Telford",
        "nickname": "Tony",
        "phone_digits": "07712345678",
        "age": 15,
        "date": "2020-01-01",
        "drugs": ("COCAINE", "HEROIN"),
        "pair": 0,
    }
    pools = [
        value
        for name, value in vars(sentences).items()
        if name.isupper() and isinstance(value, tuple)
    ]
    pools += list(sentences.OFFENCE_SENTENCES.values())
    for pool in pools:
        for template in pool:
            allowed = set().union(
                *[_SLOT_GROUPS.get(slot, set()) for slot in re.findall(r"{(\w+)}", template)]
            )
            for _ in range(10):
                text = maker.fill(template, ctx)
                assert matching_groups(text) <= allowed, text


def test_traps_match_the_words_they_imitate() -> None:
    expect = {
        "crack_in_windscreen": {"CRACK"},
        "marathon_runner": {"OTHER"},
        "phone_line_down": set(),
        "line_manager": set(),
        "county_line_road": {"COUNTY_LINE"},
        "drugs_line_other_sense": {"DRUGS_LINE"},
        "white_description": {"COCAINE"},
        "brown_description": {"HEROIN"},
        "cuckoo_clock": set(),
        "dog_called_charlie": {"COCAINE"},
        "spice_rack": {"OTHER_DRUGS"},
        "county_lines_awareness": {"COUNTY_LINE"},
        "decoy_phone_number": set(),
    }
    for trap, groups in expect.items():
        text = sentences.TRAPS[trap].replace("{decoyphone}", "07700 900123")
        assert matching_groups(text) == groups, trap


def test_background_traps_are_present_and_counted(tmp_path: Path) -> None:
    summary = write_demo_corpus(tmp_path, scale=0.05, seed=2)
    # every row's text, duplicates included (a trap may sit in a row whose id is reused)
    texts = "\n".join(
        "\n".join(read(tmp_path, f"{source}.csv")["text"]) for source in SOURCES
    ).lower()
    phrases = {
        "crack_in_windscreen": "a crack in the windscreen",
        "marathon_runner": "marathon runner",
        "phone_line_down": "the phone line was down",
        "line_manager": "her line manager",
        "white_description": "a white male",
        "dementia_misper": "with dementia",
    }
    for trap, phrase in phrases.items():
        assert summary.traps[trap] > 0, trap
        assert texts.count(phrase) >= summary.traps[trap], trap
    assert summary.oddities["non_ascii"] > 0
    assert re.search(r"[^\x00-\x7f]", texts)


def test_corpus_meets_the_calibration_targets_roughly(tmp_path: Path) -> None:
    # Scale 0.1 keeps this fast; its 4 groups give the same CL-to-background mix as scale 1.
    write_demo_corpus(tmp_path, scale=0.1, seed=7)
    result = cal.measure(tmp_path)
    share = result.by_group["share_in"]
    assert share["COUNTY_LINE"] >= 0.9 and share["CUCKOO"] >= 0.9
    assert 0.08 <= share["DRUGS_LINE"] <= 0.35
    assert 0.08 <= share["OTHER"] <= 0.35
    assert 0.02 <= share["MISPER"] <= 0.15
    drugs = result.by_group.loc[list(vocab.DRUG_GROUPS)]
    assert drugs["in"].sum() / (drugs["in"] + drugs["out"]).sum() <= 0.06
    assert (drugs["out"] > 20 * drugs["in_planted"]).all()
    assert result.planted_kept >= 0.95
    nominals = len(read(tmp_path, "nominals.csv"))
    assert result.background_kept <= 0.02 * nominals
