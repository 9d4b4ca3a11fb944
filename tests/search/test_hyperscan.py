"""The Hyperscan engine gives exactly the native engine's ``record_matches``.

- the hand-written cases of ``test_native.py`` (hand-computed groups, weights and offsets) hold
  for the Hyperscan engine too;
- a Hypothesis property: texts built around every default term and the known traps (plurals,
  run-together forms, hyphen / underscore / line-break separators, non-ASCII letters, CJK,
  emoji and supplementary letters or digits, digits and underscores right beside a term), plus
  raw-regex terms: both engines give the same groups, terms, weights and offsets;
- a corpus-level check on a small generated demo corpus (chispa, row order ignored);
- terms the engine cannot run are rejected before any data is read, naming the term.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import yaml
from chispa import assert_df_equality
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession

from clnet_spark import columns as c
from clnet_spark.columns import Tables
from clnet_spark.config import load_config
from clnet_spark.demo import write_demo_corpus
from clnet_spark.errors import CatalogueError
from clnet_spark.ingest.stage import run_ingest
from clnet_spark.io import read_table, table_path
from clnet_spark.run import RunContext
from clnet_spark.search import hyperscan_engine, native, parse_catalogue, table_files
from clnet_spark.search.hyperscan_engine import CompiledCatalogue

_SPEC = importlib.util.spec_from_file_location(
    "native_cases", Path(__file__).with_name("test_native.py")
)
assert _SPEC is not None and _SPEC.loader is not None
cases = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(cases)

RECORDS_SCHEMA = "source string, record_id string, text string"
GROUPS: list[dict[str, Any]] = cases.PROPERTY_GROUPS + [
    {
        "name": "RAW",
        "weight": 0.25,
        "terms": [
            {
                "regex": "(?<![\\p{L}\\p{Nd}_])(?i:tick)(?:et)?s?(?![\\p{L}\\p{Nd}_])",
                "label": "tick",
            },
            {"regex": "\\d{2}[.:]\\d{2}", "label": "time"},
            {"regex": "(?i)line(?-i:X)", "label": "lineX"},
            {"regex": "zq(?i)x|yw", "label": "flags"},
            {"regex": "[^\\x00-\\x7F]ket|ket$|(?s)k.t\\Z", "label": "ket at end"},
        ],
    }
]
CATALOGUE = parse_catalogue(GROUPS)


def run(spark: SparkSession, texts: list[str | None], engine: Any) -> dict[str, Any]:
    records = spark.createDataFrame(
        [("ims", f"r{index}", text) for index, text in enumerate(texts)], RECORDS_SCHEMA
    )
    return {row.record_id: row for row in engine.match_records(records, CATALOGUE).collect()}


def expected_of(rows: dict[str, Any], count: int) -> list[Any]:
    return [cases.as_expected(rows[f"r{i}"]) if f"r{i}" in rows else None for i in range(count)]


# --- hand-written cases ------------------------------------------------------------------


@pytest.fixture(scope="module")
def hand_results(spark: SparkSession) -> dict[str, dict[str | None, Any]]:
    out = {}
    for name, catalogue, table in (
        ("default", cases.DEFAULT, cases.DEFAULT_CASES),
        ("custom", cases.CUSTOM, cases.CUSTOM_CASES),
    ):
        texts = list(table)
        records = spark.createDataFrame(
            [("ims", f"r{i}", text) for i, text in enumerate(texts)], RECORDS_SCHEMA
        )
        rows = {
            r.record_id: r for r in hyperscan_engine.match_records(records, catalogue).collect()
        }
        out[name] = dict(zip(texts, expected_of(rows, len(texts)), strict=True))
    return out


@pytest.mark.parametrize(("text", "expected"), cases.DEFAULT_CASES.items(), ids=repr)
def test_default_catalogue_cases(hand_results: dict, text: str | None, expected: Any) -> None:
    assert hand_results["default"][text] == expected


@pytest.mark.parametrize(("text", "expected"), cases.CUSTOM_CASES.items(), ids=repr)
def test_raw_regex_and_literal_phrase_cases(
    hand_results: dict, text: str | None, expected: Any
) -> None:
    assert hand_results["custom"][text] == expected


# --- the property: both engines agree --------------------------------------------------

BESIDE = [
    "", " ", "é", "ß", "Ж", "中", "\U0001f600", "\U0001d400", "\U0001d7ce", "7", "_", "\u0663",
    "²", "\u0301", "-", "\n", ".", "(", "\u2013", "s", "S", "es", "\u00a0", "\ufffd", "\ua6a0",
]  # fmt: skip
TRAPS = [
    "countyline", "county-line", "drugs_line", "cuckoo\nhouse", "crack cocaine", "runners",
    "x", "CL123", "12:45", "ticket", "Ticks", "lineX", "LINEX", "linex", "ket", "é ket",
    "\U0001f600ket", "\u212a", "\u017f", "café", "CAFÉ", "co-codamol", "co codamol",
    "ZQX", "zqX", "zqx", "YW", "yW", "k\nt",
]  # fmt: skip


@st.composite
def around_term(draw: st.DrawFn) -> str:
    """A catalogue phrase (any case, any separators, maybe a plural) or a trap, with
    characters drawn right before and after it."""
    piece = draw(st.one_of(cases.rendered_phrase(), st.sampled_from(TRAPS)))
    return draw(st.sampled_from(BESIDE)) + piece + draw(st.sampled_from(BESIDE))


property_texts = st.lists(
    st.tuples(around_term(), st.sampled_from(cases.GLUES)), min_size=1, max_size=6
).map(lambda parts: "".join(piece + glue for piece, glue in parts))


def generated(count: int) -> list[str]:
    texts: list[str] = []

    @settings(
        max_examples=count,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(property_texts)
    def collect(text: str) -> None:
        texts.append(text)

    collect()
    return texts


def every_term_once() -> list[str]:
    """Each phrase of the catalogue in a sentence, and beside each trap character."""
    texts = []
    for term in CATALOGUE.terms:
        if term.kind == "phrase":
            texts.append(f"seen: {term.label.lower()}s today")
            texts.extend(f"{ch}{term.label}{ch}" for ch in ("é", "\U0001d400", "_", "7", "😀"))
    texts += ["at 12:45 a TICKETS lineX zqX é ket", "ZQX yw", "k\nt", "ket\n", "ticketé"]
    texts += ["CL123 at the trap house", "xCL123", "éCL123"]  # every group at least once
    return texts


def test_both_engines_agree_on_generated_texts(spark: SparkSession) -> None:
    texts = generated(300) + every_term_once() + [None, ""]

    fast = expected_of(run(spark, texts, hyperscan_engine), len(texts))
    slow = expected_of(run(spark, texts, native), len(texts))

    disagreements = [(t, n, h) for t, n, h in zip(texts, slow, fast, strict=True) if n != h]
    assert not disagreements, "\n".join(
        f"{text!r}: native {want}, hyperscan {got}" for text, want, got in disagreements[:10]
    )
    assert sum(e is not None for e in slow) >= 200, "the generated texts match too rarely"
    matched_groups = {m[0] for e in slow if e is not None for m in e[1]}
    assert matched_groups == {g.name for g in CATALOGUE.groups}


def test_a_match_across_two_adjacent_texts_is_not_reported() -> None:
    # Arrow keeps the batch's texts in one buffer: "county" + " line" reads as a phrase there.
    texts = ["county", " line", "county", "line and county", " line", "a county", " lines"]
    batch = pa.RecordBatch.from_arrays(
        [pa.array(["ims"] * 7), pa.array([f"r{i}" for i in range(7)]), pa.array(texts)],
        names=[c.SOURCE, c.RECORD_ID, c.TEXT],
    )

    result = CompiledCatalogue(cases.DEFAULT).match_batch(batch)

    assert result.num_rows == 0


# --- matches decided from the bytes ------------------------------------------------------

ASCII_BESIDE = ["", " ", "7", "_", "s", "S", "es", "x", "-", "\n", ".", "(", "ss", "s7", "s_"]
ASCII_TRAPS = ["countyline", "county-line", "drugs_line", "crack cocaine", "runners", "CL123",
               "ket", "co-codamol", "co codamol", "linex", "kets", "ketss",
               "county", "line", "cuckoo", "house", "possession with", "intent"]  # fmt: skip
# The halves of phrases: a text ending "county" and the next starting " line" read as the
# phrase in the batch's buffer (a match across two texts, never reported).


# Phrases whose words start or end with a separator character: the verifier decides them.
EDGE_PHRASES = ["county- line", "_ket", "a-a a", "x -y", "co-codamol", "- ket"]
EDGE_PIECES = ["county- line", "county--line", "county -  line", "_ket", "a_ket", "__ket",
               "a-a a", "a-a-a a", "a-a--a a", "x -y", "x--y", "x - -y", "x-y", "co-codamol",
               "co--codamol", "co codamol", "x-- ket", "-- ket", "a- ket", "x-_ ket"]  # fmt: skip
# "- ket" on "x-- ket": the leftmost start (1) follows a letter, the next (2) does not.
EDGE = parse_catalogue(
    yaml.safe_load(cases.DEFAULT_PATH.read_text(encoding="utf-8"))
    + [{"name": "EDGE", "weight": 0.3, "terms": EDGE_PHRASES}]
)


@st.composite
def ascii_record(draw: st.DrawFn) -> str | None:
    """An ASCII text of phrases and traps with ASCII characters right beside them, or now and
    then a null, an empty text or a non-ASCII one (those go to the verifier)."""
    parts = draw(
        st.lists(
            st.tuples(
                st.sampled_from(ASCII_BESIDE),
                st.one_of(
                    cases.rendered_phrase(),
                    st.sampled_from(ASCII_TRAPS),
                    st.sampled_from(EDGE_PIECES),
                ),
                st.sampled_from(ASCII_BESIDE),
            ),
            max_size=5,
        )
    )
    text = "".join(before + piece + after for before, piece, after in parts)
    return draw(st.sampled_from([text, text, text, text, None, "", text + "é", "ß" + text]))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(ascii_record(), min_size=1, max_size=40))
def test_matches_decided_from_the_bytes_equal_the_verifiers(texts: list[str | None]) -> None:
    # Many texts per batch, so phrases also run across the end of one text into the next.
    batch = pa.RecordBatch.from_arrays(
        [
            pa.array(["ims"] * len(texts)),
            pa.array([f"r{i}" for i in range(len(texts))]),
            pa.array(texts, type=pa.string()),
        ],
        names=[c.SOURCE, c.RECORD_ID, c.TEXT],
    )

    large = pa.RecordBatch.from_arrays(
        [batch.column(0), batch.column(1), batch.column(2).cast(pa.large_string())],
        names=batch.schema.names,
    )
    for by_bytes, verified in ((BY_BYTES, VERIFIED), (EDGE_BY_BYTES, EDGE_VERIFIED)):
        # the whole batch, a slice (its texts start part-way into Arrow's buffers), large_string
        for part in (batch, batch.slice(len(texts) // 3), large):
            assert by_bytes.match_batch(part).to_pylist() == verified.match_batch(part).to_pylist()


def test_the_bytes_decide_most_candidates_of_ascii_texts() -> None:
    # The decision really happens: the property above is not comparing the verifier with itself.
    texts = ["crack dealers", "a county line", "xcrack", "cracks", "cracksx", "county  lines_"]
    array = pa.array(texts)
    events = BY_BYTES.events(array)
    assert events is not None
    rows, _, offsets, undecided = BY_BYTES.decided_by_bytes(events, np.ones(len(texts), bool))
    assert BY_BYTES.som
    assert len(undecided) == 0
    assert sorted(zip(rows.tolist(), offsets.tolist(), strict=True)) == [(0, 0), (1, 2), (3, 0)]


def test_phrases_with_a_word_starting_or_ending_in_a_separator_go_to_the_verifier() -> None:
    decidable = dict(
        zip((t.term.label for t in EDGE_BY_BYTES.phrases), EDGE_BY_BYTES.decidable, strict=True)
    )
    assert {label for label in EDGE_PHRASES if not decidable[label]} == {
        "county- line",
        "_ket",
        "x -y",
        "- ket",
    }
    assert decidable["co-codamol"] and decidable["a-a a"] and decidable["COUNTY LINE"]


BY_BYTES = CompiledCatalogue(cases.DEFAULT)
VERIFIED = CompiledCatalogue(cases.DEFAULT, decide_by_bytes=False)
EDGE_BY_BYTES = CompiledCatalogue(EDGE)
EDGE_VERIFIED = CompiledCatalogue(EDGE, decide_by_bytes=False)


# --- the demo corpus ---------------------------------------------------------------------


def test_both_engines_give_identical_record_matches_on_a_demo_corpus(
    spark: SparkSession, tmp_path: Path
) -> None:
    write_demo_corpus(tmp_path / "input", scale=0.01, seed=5)
    ctx = RunContext(tmp_path / "warehouse", load_config())
    run_ingest(spark, tmp_path / "input", ctx)
    records = read_table(spark, ctx.warehouse, Tables.RECORDS).select(c.SOURCE, c.RECORD_ID, c.TEXT)

    fast = hyperscan_engine.match_records(records, cases.DEFAULT).cache()
    slow = native.match_records(records, cases.DEFAULT)
    files = table_files.snapshot_files(table_path(ctx.warehouse, Tables.RECORDS))
    assert files is not None and len(files) >= 5  # one or more per source partition
    from_files = table_files.match_files(spark, files, cases.DEFAULT)

    assert fast.count() > 300
    assert_df_equality(fast, slow, ignore_row_order=True, ignore_nullable=True)
    assert_df_equality(from_files, slow, ignore_row_order=True, ignore_nullable=True)


# --- terms the engine cannot run -----------------------------------------------------------


@pytest.mark.parametrize(
    ("regex", "reason"),
    [
        ("\\bCL\\d{3}\\b", "\\\\b or \\\\B"),
        ("(?m)^CL$", "the m flag"),
        ("(?<=a{1,3})b", "cannot run it in Python"),
        ("(?i)\\p{Lu}x", "with the i flag"),
    ],
)
def test_terms_the_engine_cannot_run_are_rejected_by_name(regex: str, reason: str) -> None:
    catalogue = parse_catalogue(
        [{"name": "CODES", "weight": 0.3, "terms": [{"regex": regex, "label": "the code"}]}]
    )

    with pytest.raises(CatalogueError, match=f"group 'CODES', term 'the code': .*{reason}"):
        hyperscan_engine.check_catalogue(catalogue)


def test_the_stage_rejects_such_a_term_before_reading_any_data(
    spark: SparkSession, tmp_path: Path
) -> None:
    from clnet_spark.search.stage import run_search

    catalogue = parse_catalogue(
        [{"name": "CODES", "weight": 0.3, "terms": [{"regex": "\\bCL\\b", "label": "CL"}]}]
    )
    ctx = RunContext(tmp_path / "empty-warehouse", load_config())

    with pytest.raises(CatalogueError, match="term 'CL'"):
        run_search(spark, ctx, catalogue)
    assert not (tmp_path / "empty-warehouse").exists() or not any(
        (tmp_path / "empty-warehouse").iterdir()
    )


def test_unsafe_regexes_are_rejected_by_the_catalogue_for_every_engine() -> None:
    for regex in ("(a+)+$", "(\\w+\\d*)+", "(a)\\1"):
        with pytest.raises(CatalogueError, match="term #1 'bad'"):
            parse_catalogue(
                [{"name": "G", "weight": 0.1, "terms": [{"regex": regex, "label": "bad"}]}]
            )


def test_the_native_engine_is_the_configured_fallback(tmp_path: Path) -> None:
    from clnet_spark.search.stage import ENGINES

    config = load_config()
    assert config.search.engine == "hyperscan"
    assert set(ENGINES) == {"hyperscan", "native"}
    assert ENGINES["native"] is native.match_records
