"""The native Spark search engine: every record's text against the catalogue, built-ins only.

The engine runs Java regular expressions through Spark's ``rlike``, ``regexp_extract_all``
and ``regexp_instr``; no Python UDF is involved. Work is spent where matches are:

1. one ``rlike`` of a combined pattern (every phrase of the catalogue in one trie-shaped
   alternation, plus every raw regex) keeps only the records with at least one match, so a
   record without a match costs one pass over its text;
2. on those records, one ``regexp_extract_all`` collects the *spans*: at every word start
   where a phrase matches, the text the phrase trie matches there (a lookahead capture, so
   overlapping matches are all seen);
3. a group, then each of its terms, is tested on the spans (short strings) rather than on
   the text; ``regexp_instr`` on the text runs only for the terms that do occur, to give the
   offset of their first occurrence.

Spans decide a phrase exactly when no word of the catalogue's phrases contains a hyphen or an
underscore (then the trie can follow only one path from a position, so the span at a
position starts with every phrase that matches there). Raw regexes, and phrases with such
words, are tested on the whole text instead. The combined patterns run on the text after one
space: "no word character before the term" is then "a non-word character, then the term",
which Java tests much faster than a lookbehind at every position; per term,
:func:`~clnet_spark.search.catalogue.phrase_pattern` starts with a literal for the same
reason (``docs/search.md``, "Performance").

Offsets count Unicode code points (METHOD section 2). Java regexes work on UTF-16, where a
supplementary code point (outside the BMP: emoji, some letters and digits) is two units: a
lookbehind then sees half a surrogate pair and takes a supplementary letter before a term for
a non-word character. So before matching, every supplementary code point is replaced by one
BMP character of the same word class: a letter or digit by U+A6A0 (a letter no term may
contain), anything else by U+FFFD. Word boundaries are then exact, and UTF-16 and code-point
positions agree (Spark 4.1's ``regexp_instr`` already reports code points; the replacement
keeps the offsets right whichever way positions are counted). Texts whose UTF-8 length equals
their character count are pure ASCII and skip the replacement.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import reduce
from typing import Final

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, IntegerType, StringType, StructField, StructType

from clnet_spark.columns import (
    CATALOGUE_HASH,
    GROUP,
    MATCHED_GROUPS,
    MATCHES,
    OFFSET,
    RECORD_ID,
    RECORD_WEIGHT,
    SOURCE,
    TERM,
    TEXT,
)
from clnet_spark.errors import InputContractError
from clnet_spark.search.catalogue import (
    PHRASE,
    SEPARATOR_RUN,
    STAND_IN_LETTER,
    WORD_CLASS,
    Catalogue,
    SearchGroup,
    Term,
    java_literal,
    phrase_words,
)
from clnet_spark.weights import WEIGHT_TYPE

log = logging.getLogger(__name__)

MATCH_TYPE: Final = StructType(
    [
        StructField(GROUP, StringType()),
        StructField(TERM, StringType()),
        StructField(OFFSET, IntegerType()),
    ]
)
MATCHES_TYPE: Final = ArrayType(MATCH_TYPE)

SUPPLEMENTARY: Final = r"[\x{10000}-\x{10FFFF}]"
SUPPLEMENTARY_WORD: Final = r"[\p{L}\p{Nd}&&[\x{10000}-\x{10FFFF}]]"
REPLACEMENT_CHARACTER: Final = "\ufffd"

_TEXT: Final = "_search_text"
"""The text after :func:`bmp_text`: what ``regexp_instr`` and raw regexes run on."""
_PADDED: Final = "_search_padded"
"""The same after one space: what the combined phrase patterns run on."""
_SPANS: Final = "_search_spans"
"""The spans of the phrases, each after :data:`_SPAN_MARK`, in one string."""
_SPAN_MARK: Final = "\x1f"
"""U+001F, a control character: never in a span (terms hold none, separators are spaces)."""
_NON_WORD: Final = r"[^\p{L}\p{Nd}_]"
_LEAF_TERMS: Final = 4
"""Most terms tested one by one; a larger set of terms is split in halves first."""
_SEP: Final = None
"""Trie token of a separator run between two words."""
_END: Final = ""
"""Trie key marking the end of a phrase (never a token: tokens are single characters)."""


def match_records(records: DataFrame, catalogue: Catalogue) -> DataFrame:
    """Match every record's text against the catalogue.

    Parameters
    ----------
    records
        Columns ``source``, ``record_id``, ``text`` (string, may be null); others are ignored.
    catalogue
        The validated search catalogue.

    Returns
    -------
    DataFrame
        One row per record with at least one match; records without a match (null and empty
        texts included) are not returned. Columns:

        - ``source``, ``record_id``;
        - ``record_weight`` (``DECIMAL(12,9)``): ``min(1, sum of the weights of the groups with
          at least one match)``, each group counted once;
        - ``matched_groups`` (``array<string>``): the matched groups, sorted;
        - ``matches`` (``array<struct<group, term, offset>>``): one element per matched term,
          sorted by group then term; ``term`` is the catalogue label and ``offset`` the 0-based
          code-point position of the term's first occurrence;
        - ``catalogue_hash`` (string): :attr:`Catalogue.hash`.

    Raises
    ------
    InputContractError
        A required column is missing or ``text`` is not a string column.
    """
    _require_columns(records)
    spanned = [term for term in catalogue.terms if _by_span(term)]
    log.info(
        "search: %d groups, %d terms (%d decided on spans), catalogue %s",
        len(catalogue.groups),
        len(catalogue.terms),
        len(spanned),
        catalogue.hash[:12],
    )
    spans = (
        F.concat(
            F.lit(_SPAN_MARK),
            F.array_join(
                F.regexp_extract_all(F.col(_PADDED), F.lit(spans_pattern(spanned)), F.lit(1)),
                _SPAN_MARK,
            ),
        )
        if spanned
        else F.lit(_SPAN_MARK)
    )
    candidates = candidate_records(records, catalogue).select(
        SOURCE, RECORD_ID, _TEXT, spans.alias(_SPANS)
    )

    names = [f"_group_{index}" for index in range(len(catalogue.groups))]
    per_group = candidates.select(
        F.col(SOURCE),
        F.col(RECORD_ID),
        *(group_matches(g).alias(name) for g, name in zip(catalogue.groups, names, strict=True)),
    )

    hits = [F.size(F.col(name)) > 0 for name in names]
    total = reduce(
        lambda acc, weight: (acc + weight).cast(WEIGHT_TYPE),
        (
            F.when(hit, _decimal(group.weight)).otherwise(_decimal(0))
            for group, hit in zip(catalogue.groups, hits, strict=True)
        ),
    )
    groups = F.array(
        *(F.when(hit, F.lit(g.name)) for g, hit in zip(catalogue.groups, hits, strict=True))
    )
    return per_group.select(
        F.col(SOURCE),
        F.col(RECORD_ID),
        F.least(total, _decimal(1)).cast(WEIGHT_TYPE).alias(RECORD_WEIGHT),
        F.array_compact(groups).alias(MATCHED_GROUPS),
        F.concat(*(F.col(name) for name in names)).alias(MATCHES),
        F.lit(catalogue.hash).alias(CATALOGUE_HASH),
    )


def candidate_records(records: DataFrame, catalogue: Catalogue) -> DataFrame:
    """The records where at least one term of the catalogue matches (step 1 of the engine).

    Input columns: ``source``, ``record_id``, ``text``. Output columns: ``source``,
    ``record_id`` and the engine's internal text columns (the text after :func:`bmp_text`,
    and the same after one space).
    """
    phrases = [term for term in catalogue.terms if term.kind == PHRASE]
    raws = [term for term in catalogue.terms if term.kind != PHRASE]
    matches = []
    if phrases:
        matches.append(F.col(_PADDED).rlike(phrases_pattern(_words(phrases))))
    if raws:
        matches.append(F.col(_TEXT).rlike("|".join(f"(?:{term.pattern})" for term in raws)))
    return (
        records.select(F.col(SOURCE), F.col(RECORD_ID), bmp_text(F.col(TEXT)).alias(_TEXT))
        .select(SOURCE, RECORD_ID, _TEXT, F.concat(F.lit(" "), F.col(_TEXT)).alias(_PADDED))
        .where(reduce(lambda left, right: left | right, matches))
    )


def bmp_text(text: Column) -> Column:
    """The text with each supplementary code point replaced by one BMP character.

    A supplementary letter or decimal digit becomes U+A6A0 (a letter), anything else U+FFFD
    (a symbol), so that word boundaries are kept and UTF-16 positions equal code-point
    positions. Pure-ASCII texts (UTF-8 length equal to character count) are returned as they
    are without a regex pass.
    """
    replaced = F.regexp_replace(
        F.regexp_replace(text, SUPPLEMENTARY_WORD, STAND_IN_LETTER),
        SUPPLEMENTARY,
        REPLACEMENT_CHARACTER,
    )
    return F.when(F.octet_length(text) == F.char_length(text), text).otherwise(replaced)


def group_matches(group: SearchGroup) -> Column:
    """The group's matched terms as ``array<struct<group, term, offset>>``, in term order.

    A column of the frame :func:`match_records` builds from :func:`candidate_records` (it
    reads the internal text and span columns); the array is empty when no term matches. The
    group is tested first (on the spans, or on the text for raw regexes); a tested set of more
    than :data:`_LEAF_TERMS` terms is split in halves, each tested in turn; then each term of a
    set that passed is tested, and only a term that matches is located.
    """
    return _located(group.terms, tested=False)


def _located(terms: tuple[Term, ...], tested: bool) -> Column:
    if not tested:
        return F.when(_matches(terms), _located(terms, tested=True)).otherwise(_no_matches())
    if len(terms) > _LEAF_TERMS:
        half = len(terms) // 2
        return F.concat(_located(terms[:half], False), _located(terms[half:], False))
    located = F.array(
        *(
            (_locate(term) if len(terms) == 1 else F.when(_matches([term]), _locate(term)))
            for term in terms
        )
    )
    return F.filter(located, lambda match: match.isNotNull())


def _matches(terms: Iterable[Term]) -> Column:
    """True where one of the terms matches: on the spans where they decide, else the text."""
    terms = list(terms)
    by_span = [term for term in terms if _by_span(term)]
    by_text = [term for term in terms if not _by_span(term)]
    tests = []
    if by_span:
        trie = _trie_pattern(_words(by_span))
        tests.append(F.col(_SPANS).rlike(f"(?i){_SPAN_MARK}{trie}s?(?!{WORD_CLASS})"))
    if by_text:
        tests.append(F.col(_TEXT).rlike("|".join(f"(?:{term.pattern})" for term in by_text)))
    return reduce(lambda left, right: left | right, tests)


def phrases_pattern(phrases: list[list[str]]) -> str:
    """One Java regex matching, in a text after one space, where one of the phrases matches.

    ``phrases`` are given as their words (:func:`~clnet_spark.search.catalogue.phrase_words`).
    The pattern is a non-word character, a trie of the phrases' words (a common prefix is
    tried once), an optional plural "s" and no word character after.
    """
    return f"(?i){_NON_WORD}{_trie_pattern(phrases)}s?(?!{WORD_CLASS})"


def spans_pattern(terms: list[Term]) -> str:
    """The Java regex whose group 1, over all matches in the padded text, is the spans.

    It consumes only the non-word character before a phrase and captures the phrase in a
    lookahead, so the next search starts right after that character: every word start is
    tried, including those inside an earlier span.
    """
    return f"(?i){_NON_WORD}(?=({_trie_pattern(_words(terms))}s?)(?!{WORD_CLASS}))"


def _by_span(term: Term) -> bool:
    """Whether spans decide the term: a phrase none of whose words holds a separator."""
    return term.kind == PHRASE and not any(ch in "_-" for ch in term.label)


def _words(terms: list[Term]) -> list[list[str]]:
    return [phrase_words(term.label) for term in terms]


def _locate(term: Term) -> Column:
    return F.struct(
        F.lit(term.group).alias(GROUP),
        F.lit(term.label).alias(TERM),
        (F.regexp_instr(F.col(_TEXT), F.lit(term.pattern)) - 1).alias(OFFSET),
    )


def _tokens(words: list[str]) -> list[str | None]:
    """A phrase as trie tokens: its characters (ASCII letters lower-cased), separators between."""
    tokens: list[str | None] = []
    for index, word in enumerate(words):
        if index:
            tokens.append(_SEP)
        tokens.extend(ch.lower() if ch.isascii() else ch for ch in word)
    return tokens


def _trie_pattern(phrases: list[list[str]]) -> str:
    """A Java regex matching exactly the phrases (given as words), without lookarounds."""
    trie: dict[str | None, dict] = {}
    for words in phrases:
        node = trie
        for token in _tokens(words):
            node = node.setdefault(token, {})
        node[_END] = {}

    def emit(node: dict[str | None, dict]) -> str:
        children = sorted(
            ((token, child) for token, child in node.items() if token != _END),
            key=lambda item: (item[0] is _SEP, item[0] or ""),
        )
        branches = [
            (SEPARATOR_RUN if token is _SEP else java_literal(token)) + emit(child)
            for token, child in children
        ]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if _END in node else body

    return emit(trie)


def _no_matches() -> Column:
    return F.array().cast(MATCHES_TYPE)


def _decimal(value: object) -> Column:
    return F.lit(str(value)).cast(WEIGHT_TYPE)


def _require_columns(records: DataFrame) -> None:
    present = records.columns
    missing = [name for name in (SOURCE, RECORD_ID, TEXT) if name not in present]
    if missing:
        raise InputContractError(
            f"match_records: records lack the column(s) {missing}; present: {present}"
        )
    text_type = records.schema[TEXT].dataType
    if not isinstance(text_type, StringType):
        raise InputContractError(
            f"match_records: column {TEXT!r} must be a string, got {text_type.simpleString()}"
        )
