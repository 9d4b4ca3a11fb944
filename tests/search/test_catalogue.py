"""The search catalogue: the default file, validation errors, the hash, the regex safety rule.

The catalogue is validated before any data is read, without Spark; Spark is used only to
check that what the rule accepts is valid Java. How the patterns match is tested with the
engine (``test_native.py``).
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clnet_spark.errors import CatalogueError
from clnet_spark.search.catalogue import (
    PHRASE,
    REGEX,
    SEPARATOR_RUN,
    WORD_CLASS,
    check_regex,
    load_catalogue,
    parse_catalogue,
    phrase_pattern,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CATALOGUE = REPO_ROOT / "conf" / "search_terms.yaml"

METHOD_WEIGHTS = {
    "CL_WORDS": Decimal("0.7"),
    "COUNTY_LINE": Decimal("1.0"),
    "CUCKOO": Decimal("0.5"),
    "DRUGS_LINE": Decimal("0.4"),
    "MISPER": Decimal("0.1"),
    "OTHER": Decimal("0.1"),
    "COCAINE": Decimal("0.1"),
    "CRACK": Decimal("0.1"),
    "HEROIN": Decimal("0.1"),
    "WEED": Decimal("0.1"),
    "SMACK": Decimal("0.1"),
    "OTHER_DRUGS": Decimal("0.1"),
}
METHOD_TERMS = {
    "CL_WORDS": {"CLMIDDLE", "CLCRACK", "CLILLICIT", "CLRECRUIT"},
    "COUNTY_LINE": {"COUNTY LINE"},
    "CUCKOO": {"CUCKOOED", "CUCKOO HOUSE", "CUCKOO FLAT", "CUCKOO PROPERTY"},
    "DRUGS_LINE": {"DRUGS LINE"},
    "MISPER": {"MISPER", "MISSING PERSON"},
    "OTHER": {"RUNNER", "RUNNING DRUGS", "PWITS", "POSSESSION WITH INTENT"},
}


def small_catalogue() -> list[dict[str, Any]]:
    return [
        {"name": "COUNTY_LINE", "weight": 1.0, "terms": ["COUNTY LINE"]},
        {"name": "COCAINE", "weight": 0.1, "terms": ["cocaine", "coke"]},
    ]


def with_change(path: list[Any], value: Any) -> list[dict[str, Any]]:
    data = small_catalogue()
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


# --- the default catalogue -------------------------------------------------------------------


def test_default_catalogue_has_method_groups_and_weights() -> None:
    catalogue = load_catalogue(DEFAULT_CATALOGUE)

    assert {g.name: g.weight for g in catalogue.groups} == METHOD_WEIGHTS
    assert [g.name for g in catalogue.groups] == sorted(METHOD_WEIGHTS)


def test_default_catalogue_method_groups_hold_exactly_method_terms() -> None:
    groups = {g.name: g for g in load_catalogue(DEFAULT_CATALOGUE).groups}

    for name, terms in METHOD_TERMS.items():
        assert {t.label for t in groups[name].terms} == terms, name


def test_default_drug_groups_hold_the_drug_name_and_street_names() -> None:
    groups = {g.name: {t.label for t in g.terms} for g in load_catalogue(DEFAULT_CATALOGUE).groups}

    for name, drug in [
        ("COCAINE", "cocaine"),
        ("CRACK", "crack"),
        ("HEROIN", "heroin"),
        ("WEED", "weed"),
        ("SMACK", "smack"),
    ]:
        assert drug in groups[name]
        assert len(groups[name]) >= 2, name
    assert {"MDMA", "mandy", "ecstasy", "ketamine", "spice", "LSD"} <= groups["OTHER_DRUGS"]


def test_default_catalogue_leaves_out_the_noisiest_common_words() -> None:
    labels = {t.label.lower() for t in load_catalogue(DEFAULT_CATALOGUE).terms}

    assert not labels & {"white", "brown", "rock", "gear", "food", "grass", "speed", "acid", "h"}


def test_default_catalogue_lists_no_run_together_form_of_a_phrase() -> None:
    labels = {t.label.lower() for t in load_catalogue(DEFAULT_CATALOGUE).terms}

    run_together = {label.replace(" ", "") for label in labels if " " in label}
    assert not run_together & labels
    assert "countyline" not in labels


def test_default_catalogue_terms_are_phrases_in_label_order() -> None:
    catalogue = load_catalogue(DEFAULT_CATALOGUE)

    assert {t.kind for t in catalogue.terms} == {PHRASE}
    for group in catalogue.groups:
        assert [t.label for t in group.terms] == sorted(t.label for t in group.terms)
        assert {t.group for t in group.terms} == {group.name}


# --- the hash ----------------------------------------------------------------------------------


def test_hash_is_sha256_hex_and_stable_across_loads() -> None:
    first = load_catalogue(DEFAULT_CATALOGUE).hash

    assert re.fullmatch("[0-9a-f]{64}", first)
    assert load_catalogue(DEFAULT_CATALOGUE).hash == first


def test_hash_changes_when_a_weight_changes(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    changed = copy.deepcopy(data)
    next(g for g in changed if g["name"] == "SMACK")["weight"] = 0.2
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(changed), encoding="utf-8")

    assert load_catalogue(path).hash != load_catalogue(DEFAULT_CATALOGUE).hash


def test_hash_changes_when_a_term_is_added() -> None:
    base = parse_catalogue(small_catalogue())
    added = parse_catalogue(with_change([1, "terms"], ["cocaine", "coke", "charlie"]))

    assert added.hash != base.hash


def test_hash_ignores_the_order_of_groups_and_terms_and_how_a_weight_is_written() -> None:
    reordered = list(reversed(small_catalogue()))
    reordered[0]["terms"] = ["coke", "cocaine"]
    reordered[1]["weight"] = "1"

    assert parse_catalogue(reordered).hash == parse_catalogue(small_catalogue()).hash


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a non-empty list of groups, got list"),
        ({"name": "X"}, "expected a non-empty list of groups, got dict"),
        (["COUNTY LINE"], r"group #1: expected a mapping, got str"),
        (
            [{"name": "X", "weigth": 0.1, "terms": ["a"]}],
            r"group #1: expected keys \['name', 'terms', 'weight'\], "
            r"got \['name', 'terms', 'weigth'\]",
        ),
        ([{"name": " ", "weight": 0.1, "terms": ["a"]}], "group #1: the group name must be"),
        (with_change([1, "terms"], []), "group 'COCAINE': the group is empty"),
        (with_change([1, "name"], "COUNTY_LINE"), "group 'COUNTY_LINE' is defined twice"),
        (with_change([1, "weight"], 0), r"group 'COCAINE': weight must be a number in \(0, 1\]"),
        (with_change([1, "weight"], 1.5), r"group 'COCAINE': weight must be .*got 1.5"),
        (with_change([1, "weight"], -0.1), r"group 'COCAINE': weight must be .*got -0.1"),
        (with_change([1, "weight"], "high"), r"group 'COCAINE': weight must be .*got 'high'"),
        (with_change([1, "weight"], True), r"group 'COCAINE': weight must be .*got bool"),
        (with_change([1, "weight"], None), r"group 'COCAINE': weight must be .*got NoneType"),
        (with_change([1, "weight"], 0.1234567891), "at most 9 decimal places, got 0.1234567891"),
        (with_change([1, "terms"], ["cocaine", ""]), "group 'COCAINE', term #2: empty term"),
        (with_change([1, "terms"], ["   "]), "group 'COCAINE', term #1: empty term"),
        (with_change([1, "terms"], [{"regex": ""}]), "group 'COCAINE', term #1: empty term"),
        (with_change([1, "terms"], [2]), "group 'COCAINE', term #1: a term is a string"),
        (with_change([1, "terms"], [True]), "term #1: a term is a string .* got bool True"),
        (with_change([1, "terms"], ["coke", "coke"]), "group 'COCAINE': term 'coke' is listed"),
        (
            with_change([1, "terms"], ["coke", "COKE"]),
            "group 'COCAINE': term 'COKE' is the same search as 'coke'",
        ),
        (
            with_change([1, "terms"], [{"regex": "a+", "lable": "x"}]),
            "term #1: a raw term has the keys regex and",
        ),
        (
            with_change([1, "terms"], ["coke", {"regex": "(a+)+$", "label": "bad"}]),
            r"group 'COCAINE', term #2 'bad': unsafe or unsupported regex '\(a\+\)\+\$': "
            "nested unbounded quantifiers",
        ),
        (
            with_change([1, "terms"], [{"regex": r"(\w)\1"}]),
            r"group 'COCAINE', term #1 .*: unsafe or unsupported regex .*: back-references",
        ),
        (
            with_change([1, "terms"], ["coke \U0001f600"]),
            r"term #1 'coke \U0001f600': the phrase holds a supplementary .*U\+1F600",
        ),
        (with_change([1, "terms"], ["co\x07ke"]), "the phrase holds a control character"),
        (with_change([1, "terms"], ["co\ua6a0ke"]), "U\\+A6A0, the engine's stand-in"),
        (with_change([1, "terms"], [{"regex": "a\U0001d400"}]), "the regex holds a supplementary"),
    ],
)
def test_invalid_catalogue_raises_error_naming_group_and_term(data: Any, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(data, source="test.yaml")


def test_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "terms.yaml"
    path.write_text(yaml.safe_dump(with_change([1, "terms"], [])), encoding="utf-8")

    with pytest.raises(CatalogueError, match=f"catalogue {re.escape(str(path))}: group 'COCAINE'"):
        load_catalogue(path)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="nope.yaml does not exist"):
        load_catalogue(tmp_path / "nope.yaml")


def test_invalid_yaml_raises(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("- name: X\n  terms: [a, b\n", encoding="utf-8")

    with pytest.raises(CatalogueError, match="broken.yaml is not valid YAML"):
        load_catalogue(path)


def test_catalogue_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_catalogue([])


def test_raw_regex_term_keeps_its_pattern_and_label() -> None:
    catalogue = parse_catalogue(
        [{"name": "CODES", "weight": 0.5, "terms": [{"regex": "CL[0-9]{3}", "label": "CL code"}]}]
    )

    (term,) = catalogue.terms
    assert (term.group, term.label, term.pattern, term.kind) == (
        "CODES",
        "CL code",
        "CL[0-9]{3}",
        REGEX,
    )


def test_raw_regex_without_label_is_labelled_by_itself() -> None:
    catalogue = parse_catalogue([{"name": "C", "weight": 0.5, "terms": [{"regex": "CL[0-9]{3}"}]}])

    assert catalogue.terms[0].label == "CL[0-9]{3}"


def test_weight_is_kept_exactly_as_decimal() -> None:
    catalogue = parse_catalogue(with_change([1, "weight"], 0.123456789))

    assert catalogue.groups[0].weight == Decimal("0.123456789")


# --- phrase patterns ---------------------------------------------------------------------------


def test_phrase_pattern_of_one_word() -> None:
    assert phrase_pattern("PWITS") == r"(?is)PWITS(?<![\p{L}\p{Nd}_].{5})s?(?![\p{L}\p{Nd}_])"


def test_phrase_pattern_joins_words_with_a_separator_run_and_escapes_punctuation() -> None:
    assert phrase_pattern("  c.o.d   line ") == (
        rf"(?is)c\.o\.d(?<!{WORD_CLASS}.{{5}}){SEPARATOR_RUN}lines?(?!{WORD_CLASS})"
    )


def test_phrase_pattern_keeps_hyphen_and_underscore_in_a_word_literal() -> None:
    assert phrase_pattern("co-codamol_x").startswith(r"(?is)co\-codamol\_x(?<!")


def test_phrase_pattern_keeps_non_ascii_letters_as_written() -> None:
    assert phrase_pattern("café").startswith("(?is)café(?<!")


def test_separator_run_lists_spaces_tabs_line_breaks_hyphen_and_underscore() -> None:
    assert SEPARATOR_RUN == (
        r"[\t\n\x0B\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}"
        r"\x{3000}_\-]+"
    )


# --- raw regex safety --------------------------------------------------------------------------

CATASTROPHIC = [
    (r"(a+)+$", "nested unbounded quantifiers"),
    (r"(a|aa)+", "overlapping alternatives"),
    (r"(.*)*", "nested unbounded quantifiers"),
    (r"(a|a)*b", "overlapping alternatives"),
    (r"(\w+\d*)+", "nested unbounded quantifiers"),
    (r"(a*)*", "nested unbounded quantifiers"),
    (r"(.*a){12}", "nested unbounded quantifiers"),
    (r"(a|b|a)*c", "overlapping alternatives"),
    (r"(?i)(a|A)+x", "overlapping alternatives"),
    (r"(a?a)+b", "a variable quantifier"),
    (r"(a?){20}a{20}", "a variable quantifier"),
    (r"(a{1,3})+b", "a variable quantifier"),
    (r"(x|)+y", "a repeated part can match the empty string"),
    (r"\w+\s*\w+!", "overlapping unbounded quantifiers in sequence"),
    (r"a.*b.*c", "overlapping unbounded quantifiers in sequence"),
    (r"\d+\d+x", "overlapping unbounded quantifiers in sequence"),
    (r"(?:x\w+)?\w+y", "overlapping unbounded quantifiers in sequence"),
    (r"(?<=a+)b", "a lookbehind must have a bounded width"),
    (r"(?<!\w*)b", "a lookbehind must have a bounded width"),
    (r"(a)\1", "back-references are not allowed"),
    (r"(?<n>a)\k<n>", "named groups are not supported"),
]
UNSUPPORTED = [
    (r"a*", "the pattern can match the empty string"),
    (r"(?=a)", "the pattern can match the empty string"),
    ("", "the pattern can match the empty string"),
    (r"\Qa\E", r"unsupported escape '\\Q'"),
    (r"[a[b]]", "escape '\\[' inside a class"),
    (r"[a&&b]", "class intersection"),
    (r"a{", "'{' must start a count"),
    (r"a{,3}", "'{' must start a count"),
    (r"a{3,2}", "counts must satisfy"),
    (r"a{2000}", "counts must satisfy"),
    (r"(?x)a b", "flag 'x' is not supported"),
    (r"(?u)a", "flag 'u' is not supported"),
    (r"(?#note)a", "unsupported group syntax"),
    (r"a**", "a quantifier cannot follow a quantifier"),
    (r"*a", "has nothing to repeat"),
    (r"\b+a", "a zero-width assertion cannot be repeated"),
    (r"(a", "missing '\\)'"),
    (r"a)", "unbalanced '\\)'"),
    (r"[a", "missing '\\]'"),
    (r"[]a]", "escape '\\]' inside a class"),
    (r"[\d-z]", "'-' after a class escape must be escaped"),
    (r"[z-a]", "bad range"),
    (r"\p{Greek}", "unsupported property 'Greek'"),
    (r"\x{1F600}", "supplementary and surrogate characters are not supported"),
    (r"\uD83D", "supplementary and surrogate characters are not supported"),
    (r"\0", "malformed escape"),
    ("a\\", "trailing backslash"),
    (r"\G", r"unsupported escape '\\G'"),
]
ORDINARY = [
    r"CL[0-9]{3}",
    r"07\d{9}",
    r"\w+@\w+",
    r"(?i)county\s+lines?",
    r"\bcl(?:middle|crack)\b",
    r"(?:ab)+c",
    r"(a|bc)+",
    r"[a-z]+\s+[a-z]+",
    r"(?<![\p{L}\p{Nd}_])deal(?:er)?(?![\p{L}])",
    r"\d{1,3}\.\d{1,3}",
    r"(?i:trap)\s?house",
    r"(?<=x{1,3})y",
    r"a.*b",
    r"[^\s]+x",
    r"\p{Lu}{2}\d+",
    r"\pL\P{IsL}",
    r"(?i)tr[a\-]p",
    r"(?m)^line$",
    r"(?s)a.b",
    r"(?i)c(?-i:L)x",
    r"\x41\u00e9\t\.",
    r"[\p{Alpha}_]{2}z",
    r"a++b",
    r"(?>ab|c)d",
    r"a*?b",
]


@pytest.mark.parametrize(("pattern", "reason"), CATASTROPHIC)
def test_catastrophic_pattern_is_rejected(pattern: str, reason: str) -> None:
    with pytest.raises(CatalogueError, match=re.escape(reason)):
        check_regex(pattern)


@pytest.mark.parametrize(("pattern", "reason"), UNSUPPORTED)
def test_unsupported_syntax_is_rejected(pattern: str, reason: str) -> None:
    with pytest.raises(CatalogueError, match=reason):
        check_regex(pattern)


@pytest.mark.parametrize("pattern", ORDINARY)
def test_ordinary_pattern_passes(pattern: str) -> None:
    check_regex(pattern)


def test_ordinary_patterns_and_default_phrases_compile_in_java(spark: SparkSession) -> None:
    patterns = ORDINARY + [term.pattern for term in load_catalogue(DEFAULT_CATALOGUE).terms]

    row = spark.range(1).select(*(F.lit("x").rlike(p) for p in patterns)).first()

    assert row is not None and len(row) == len(patterns)
