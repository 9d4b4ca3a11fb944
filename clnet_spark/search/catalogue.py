"""The search catalogue: weighted groups of terms, validated before any data is read.

A catalogue is a YAML list of groups (``conf/search_terms.yaml``); each group has a ``name``, a
``weight`` in (0, 1] and a list of ``terms``. A plain string is a *phrase*, compiled to a Java
regular expression by :func:`phrase_pattern` with the matching semantics of METHOD section 2;
``{regex: "...", label: "..."}`` is a *raw* Java regular expression, accepted only inside the
safe subset that :func:`check_regex` enforces (``docs/search.md`` states the rule).

Every problem is a :class:`~clnet_spark.errors.CatalogueError` naming the file, the group and
the term. The catalogue's :attr:`Catalogue.hash` (SHA-256 of a canonical JSON of every group
name, weight and compiled term) is recorded with each matched record, so a change of any term
or weight is visible in the output.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final, Literal

import yaml

from clnet_spark.errors import CatalogueError

log = logging.getLogger(__name__)

TermKind = Literal["phrase", "regex"]
PHRASE: Final = "phrase"
REGEX: Final = "regex"

WORD_CLASS: Final = r"[\p{L}\p{Nd}_]"
"""Word characters (Java): Unicode letters, Unicode decimal digits and the underscore."""

TERM_SPACES: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029"
    "\u202f\u205f\u3000"
)
"""Characters that separate the words of a phrase: tabs, line breaks and Unicode spaces."""

SEPARATORS: Final = TERM_SPACES + "_-"
"""What a space inside a phrase matches a run of, in the text: the above, hyphen, underscore."""

STAND_IN_LETTER: Final = "\ua6a0"
"""The BMP letter the engine puts in place of a supplementary letter or digit before matching
(see :mod:`clnet_spark.search.native`); no term may contain it."""

MAX_WEIGHT_PLACES: Final = 9


@dataclass(frozen=True)
class Term:
    """One search term of a group.

    ``label`` is the term as written in the catalogue (a phrase) or its ``label`` (a raw
    regex; the regex itself when no label is given): it is what ``matches.term`` reports.
    ``pattern`` is the Java regular expression the engine runs.
    """

    group: str
    label: str
    pattern: str
    kind: TermKind


@dataclass(frozen=True)
class SearchGroup:
    """A named group of terms with one weight; ``terms`` are sorted by label."""

    name: str
    weight: Decimal
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Catalogue:
    """Validated search groups, sorted by name, and the SHA-256 that identifies them."""

    groups: tuple[SearchGroup, ...]
    hash: str

    @property
    def terms(self) -> tuple[Term, ...]:
        """Every term, sorted by group name then label (the order of ``matches``)."""
        return tuple(term for group in self.groups for term in group.terms)


def java_literal(char: str) -> str:
    """One character as a Java regex literal: ASCII punctuation escaped, controls and spaces
    as ``\\x{..}``, letters, digits and other visible characters as they are."""
    if char.isascii() and char.isalnum():
        return char
    if char.isascii() and char.isprintable() and char != " ":
        return "\\" + char
    if unicodedata.category(char)[0] in "ZC" or char in TERM_SPACES:
        return f"\\x{{{ord(char):x}}}"
    return char


SEPARATOR_RUN: Final = (
    r"[\t\n\x0B\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}"
    r"\x{3000}_\-]+"
)
"""A run of :data:`SEPARATORS`, as a Java character class."""
_TERM_SPACE_RUN: Final = re.compile("[" + re.escape(TERM_SPACES) + "]+")


def phrase_words(text: str) -> list[str]:
    """The words of a phrase: the text split on runs of tabs, line breaks and spaces.

    Raises
    ------
    CatalogueError
        The phrase is empty, or holds a character no term may contain (a control character,
        a surrogate or supplementary character, or the engine's stand-in letter U+A6A0).
    """
    for char in text:
        if char not in TERM_SPACES:
            problem = _forbidden_char(char)
            if problem is not None:
                raise CatalogueError(f"the phrase holds {problem}")
    words = [word for word in _TERM_SPACE_RUN.split(text) if word]
    if not words:
        raise CatalogueError("the phrase is empty")
    return words


def phrase_pattern(text: str) -> str:
    r"""The Java regular expression of a phrase term (METHOD section 2).

    - ASCII letters match regardless of case (``(?i)`` without ``UNICODE_CASE``); any other
      letter matches only as written ("é" does not match "É");
    - whole words only: no word character (:data:`WORD_CLASS`) immediately before or after;
    - a space (any run of :data:`TERM_SPACES`) inside the phrase matches any run of
      :data:`SEPARATORS` in the text;
    - an "s" or "S" may follow the last word (a plural);
    - every other character matches itself.

    The "nothing before" lookbehind is placed after the first word, reaching back over it:
    the pattern then starts with a literal, which Java tests at each position of the text far
    faster than a lookbehind (the match is the same).

    >>> print(phrase_pattern("PWITS"))
    (?is)PWITS(?<![\p{L}\p{Nd}_].{5})s?(?![\p{L}\p{Nd}_])

    Raises
    ------
    CatalogueError
        As :func:`phrase_words`.
    """
    first, *rest = phrase_words(text)
    body = "".join(SEPARATOR_RUN + _java_word(word) for word in rest)
    return f"(?is){_java_word(first)}(?<!{WORD_CLASS}.{{{len(first)}}}){body}s?(?!{WORD_CLASS})"


def _java_word(word: str) -> str:
    return "".join(java_literal(ch) for ch in word)


def load_catalogue(path: Path | str) -> Catalogue:
    """Read and validate a catalogue file.

    Parameters
    ----------
    path
        A YAML file: a list of groups, each ``name``, ``weight`` and ``terms``.

    Raises
    ------
    CatalogueError
        The file is missing or is not YAML, or :func:`parse_catalogue` rejects its content;
        the message names the file, the group and the term.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CatalogueError(f"catalogue file {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise CatalogueError(f"catalogue file {path} is not valid YAML: {exc}") from exc
    catalogue = parse_catalogue(data, source=str(path))
    log.info(
        "catalogue %s: %d groups, %d terms, sha256 %s",
        path,
        len(catalogue.groups),
        len(catalogue.terms),
        catalogue.hash[:12],
    )
    return catalogue


def parse_catalogue(data: Any, source: str = "<catalogue>") -> Catalogue:
    """Validate catalogue content (the YAML document, already loaded) into a :class:`Catalogue`.

    Raises
    ------
    CatalogueError
        Not a non-empty list of groups; a group with unknown or missing keys, an empty or
        non-string name, a duplicate name, a weight outside (0, 1] or with more than 9 decimal
        places, or no terms; a term that is empty, not a string, a duplicate within its group,
        holds a forbidden character, or is a raw regex outside the safe subset.
    """
    if not isinstance(data, list) or not data:
        raise CatalogueError(
            f"catalogue {source}: expected a non-empty list of groups, got {type(data).__name__}"
        )
    groups: dict[str, SearchGroup] = {}
    for index, entry in enumerate(data):
        group = _parse_group(entry, source, index + 1)
        if group.name in groups:
            raise CatalogueError(f"catalogue {source}: group {group.name!r} is defined twice")
        groups[group.name] = group
    ordered = tuple(groups[name] for name in sorted(groups))
    return Catalogue(groups=ordered, hash=catalogue_hash(ordered))


def catalogue_hash(groups: tuple[SearchGroup, ...]) -> str:
    """SHA-256 of the canonical JSON of the groups (name, weight to 9 places, sorted terms)."""
    payload = [
        {
            "name": group.name,
            "weight": f"{group.weight:.{MAX_WEIGHT_PLACES}f}",
            "terms": sorted([t.kind, t.label, t.pattern] for t in group.terms),
        }
        for group in sorted(groups, key=lambda g: g.name)
    ]
    canonical = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _parse_group(entry: Any, source: str, number: int) -> SearchGroup:
    where = f"catalogue {source}: group #{number}"
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where}: expected a mapping, got {type(entry).__name__}")
    keys = {"name", "weight", "terms"}
    if set(entry) != keys:
        raise CatalogueError(
            f"{where}: expected keys {sorted(keys)}, got {sorted(map(str, entry))}"
        )
    name = entry["name"]
    if not isinstance(name, str) or not name.strip():
        raise CatalogueError(f"{where}: the group name must be a non-empty string")
    name = name.strip()
    where = f"catalogue {source}: group {name!r}"
    weight = _parse_weight(entry["weight"], where)
    raw_terms = entry["terms"]
    if not isinstance(raw_terms, list) or not raw_terms:
        raise CatalogueError(f"{where}: the group is empty (expected a non-empty list of terms)")
    terms: dict[str, Term] = {}
    searches: dict[tuple[str, ...], str] = {}
    for index, raw in enumerate(raw_terms):
        term = _parse_term(raw, name, f"{where}, term #{index + 1}")
        search = _search_key(term)
        if term.label in terms:
            raise CatalogueError(f"{where}: term {term.label!r} is listed twice")
        if search in searches:
            raise CatalogueError(
                f"{where}: term {term.label!r} is the same search as {searches[search]!r}"
            )
        terms[term.label] = term
        searches[search] = term.label
    return SearchGroup(name, weight, tuple(terms[label] for label in sorted(terms)))


def _search_key(term: Term) -> tuple[str, ...]:
    """What a term searches for: phrases equal up to ASCII case and spacing are the same."""
    if term.kind == PHRASE:
        return (PHRASE, *("".join(_fold(ch) for ch in word) for word in phrase_words(term.label)))
    return (REGEX, term.pattern)


def _parse_weight(value: Any, where: str) -> Decimal:
    problem = f"{where}: weight must be a number in (0, 1] with at most 9 decimal places"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CatalogueError(f"{problem}, got {type(value).__name__}")
    try:
        weight = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise CatalogueError(f"{problem}, got {value!r}") from exc
    if not weight.is_finite() or not Decimal(0) < weight <= Decimal(1):
        raise CatalogueError(f"{problem}, got {value!r}")
    exponent = weight.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_WEIGHT_PLACES:
        raise CatalogueError(f"{problem}, got {value!r}")
    return weight


def _parse_term(raw: Any, group: str, where: str) -> Term:
    if isinstance(raw, str):
        label = raw.strip()
        if not label:
            raise CatalogueError(f"{where}: empty term")
        try:
            return Term(group, label, phrase_pattern(label), PHRASE)
        except CatalogueError as exc:
            raise CatalogueError(f"{where} {label!r}: {exc}") from exc
    if isinstance(raw, dict):
        return _parse_regex_term(raw, group, where)
    raise CatalogueError(
        f"{where}: a term is a string (a phrase) or {{regex: ..., label: ...}}, "
        f"got {type(raw).__name__} {raw!r} (quote words YAML reads as numbers or booleans)"
    )


def _parse_regex_term(raw: dict[Any, Any], group: str, where: str) -> Term:
    unknown = set(map(str, raw)) - {"regex", "label"}
    if "regex" not in raw or unknown:
        raise CatalogueError(
            f"{where}: a raw term has the keys regex and (optionally) label, "
            f"got {sorted(map(str, raw))}"
        )
    pattern, label = raw["regex"], raw.get("label", raw["regex"])
    if not isinstance(pattern, str) or not pattern:
        raise CatalogueError(f"{where}: empty term (the regex must be a non-empty string)")
    if not isinstance(label, str) or not label.strip():
        raise CatalogueError(f"{where} {pattern!r}: the label must be a non-empty string")
    where = f"{where} {label.strip()!r}"
    for char in pattern:
        problem = _forbidden_char(char)
        if problem is not None:
            raise CatalogueError(f"{where}: the regex holds {problem}")
    try:
        check_regex(pattern)
    except CatalogueError as exc:
        raise CatalogueError(f"{where}: unsafe or unsupported regex {pattern!r}: {exc}") from exc
    return Term(group, label.strip(), pattern, REGEX)


def _forbidden_char(char: str) -> str | None:
    code = ord(char)
    if code > 0xFFFF or 0xD800 <= code <= 0xDFFF:
        return f"a supplementary or surrogate character (U+{code:04X})"
    if char == STAND_IN_LETTER:
        return f"U+{code:04X}, the engine's stand-in for supplementary letters"
    if unicodedata.category(char) == "Cc" and char not in TERM_SPACES:
        return f"a control character (U+{code:04X})"
    return None


# --- raw regular expressions: a safe subset of Java's syntax ------------------------------
#
# Raw terms are parsed here (not with Python's ``re`` parser, which rewrites ``(a|b|a)`` into
# a set and hides the very ambiguity the rule is about) into a small tree, then checked. The
# character sets of the tree are compared on a finite probe alphabet: ASCII, Latin-1 and
# Latin Extended, one character of every Unicode category, and every character the pattern
# names (range ends and range samples included).

MAX_COUNT: Final = 1000
"""Largest count allowed in ``{n}``, ``{n,}`` or ``{n,m}``."""

_BASE_PROBES: Final = frozenset(
    [chr(code) for code in range(0x300)]
    # one of each category beyond Latin: Lu Ll (Greek, Cyrillic), Lo (CJK, Arabic), Nd, Nl, Mn,
    # Mc, Me, Pd, Pi, Pf, Sc, Sm, So (twice), Cf, Co
    + list("\u0391\u03b1\u0416\u0436\u4e2d\u0627\u0663\u216b\u0301\u0903\u20dd\u2010")
    + list("\u2018\u2019\u20ac\u2200\u2600\ufffd\u200b\ue000")
    + [STAND_IN_LETTER]
    + list(TERM_SPACES)
)
_LINE_TERMINATORS: Final = "\n\r\x85\u2028\u2029"
_GENERAL_CATEGORIES: Final = frozenset(
    ["L", "M", "N", "P", "S", "Z", "C"]
    + ["Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps"]
    + ["Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Co"]
    + ["Cs", "Cn"]
)
_POSIX_CLASSES: Final[dict[str, str]] = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\x00-\x7f",
    "Alpha": "A-Za-z",
    "Digit": "0-9",
    "Alnum": "A-Za-z0-9",
    "Punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \t",
    "Cntrl": "\x00-\x1f\x7f",
    "XDigit": "0-9a-fA-F",
    "Space": " \t\n\x0b\f\r",
}
_CLASS_ESCAPES: Final[dict[str, str]] = {
    "d": "0-9",
    "w": "A-Za-z0-9_",
    "s": " \t\n\x0b\f\r",
    "h": " \t\xa0\u1680\u180e\u2000-\u200a\u202f\u205f\u3000",
    "v": "\n\x0b\f\r\x85\u2028\u2029",
}
_CONTROL_ESCAPES: Final = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "a": "\a", "e": "\x1b"}


@dataclass(frozen=True)
class _Chars:
    """One character from a set, given as a membership test."""

    test: Callable[[str], bool]


@dataclass(frozen=True)
class _Seq:
    items: tuple[_Node, ...]


@dataclass(frozen=True)
class _Alt:
    branches: tuple[_Node, ...]


@dataclass(frozen=True)
class _Repeat:
    low: int
    high: int | None
    """``None``: unbounded."""
    body: _Node


@dataclass(frozen=True)
class _Look:
    behind: bool
    body: _Node


@dataclass(frozen=True)
class _Anchor:
    """A zero-width assertion: ``^``, ``$``, ``\\b``, ``\\B``, ``\\A``, ``\\z``, ``\\Z``."""


_Node = _Chars | _Seq | _Alt | _Repeat | _Look | _Anchor


def check_regex(pattern: str) -> None:
    """Check that a raw term is in the supported subset of Java regex syntax and is safe.

    The rule (``docs/search.md``, "Raw regular expressions"):

    1. no back-references (``\\1``, ``\\k<name>``), no named groups, no ``\\Q...\\E``, no
       nested classes or class intersections, only the flags ``i``, ``m`` and ``s``;
    2. a quantifier that can repeat (upper bound above 1) applies to a part that cannot match
       the empty string, holds no quantifier other than a fixed count ``{n}`` (so no nested
       unbounded quantifiers such as ``(a+)+`` or ``(.*a){3}``), and whose alternatives start
       with pairwise disjoint characters (not ``(a|aa)+``, ``(a|a)*``);
    3. within a sequence, two unbounded quantifiers over overlapping characters are separated
       by a required character the first cannot match (``\\w+@\\w+`` passes, ``\\w+\\s*\\w+``
       and ``.*a.*b`` do not);
    4. a lookbehind has a bounded width; the whole pattern cannot match the empty string.

    Raises
    ------
    CatalogueError
        The reason (with the position in the pattern, for a syntax problem).
    """
    parser = _RegexParser(pattern)
    tree = parser.parse()
    _Analysis(parser.probes).check(tree)


def _fold(char: str) -> str:
    return char.lower() if char.isascii() else char


class _RegexParser:
    """Recursive descent over the supported subset; Java's inline-flag scoping."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.pos = 0
        self.ignore_case = False
        self.dot_all = False
        self.probes: set[str] = set(_BASE_PROBES) | set(pattern)

    def fail(self, reason: str) -> CatalogueError:
        return CatalogueError(f"{reason} (at position {self.pos})")

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.text[index] if index < len(self.text) else ""

    def parse(self) -> _Node:
        tree = self.alternation()
        if self.pos < len(self.text):
            raise self.fail("unbalanced ')'")
        return tree

    def alternation(self) -> _Node:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.sequence())
        return branches[0] if len(branches) == 1 else _Alt(tuple(branches))

    def sequence(self) -> _Node:
        items: list[_Node] = []
        while self.peek() not in ("", "|", ")"):
            atom = self.atom()
            if atom is not None:
                items.append(self.quantified(atom))
        return items[0] if len(items) == 1 else _Seq(tuple(items))

    def atom(self) -> _Node | None:
        char = self.peek()
        if char == "(":
            return self.group()
        if char == "[":
            return self.char_class()
        if char in "*+?":
            raise self.fail(f"{char!r} has nothing to repeat")
        if char == "{":
            raise self.fail("a literal '{' must be escaped as '\\{'")
        self.pos += 1
        if char == ".":
            if self.dot_all:
                return _Chars(lambda x: True)
            return _Chars(lambda x: x not in _LINE_TERMINATORS)
        if char in "^$":
            return _Anchor()
        if char == "\\":
            return self.escape(in_class=False)
        return self.literal(char)

    def literal(self, char: str) -> _Chars:
        if self.ignore_case:
            folded = _fold(char)
            return _Chars(lambda x: _fold(x) == folded)
        return _Chars(lambda x: x == char)

    def quantified(self, atom: _Node) -> _Node:
        char = self.peek()
        if char == "{":
            low, high = self.counts()
        elif char and char in "*+?":
            self.pos += 1
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
        else:
            return atom
        if self.peek() in ("?", "+"):
            self.pos += 1  # lazy or possessive: analysed as greedy, which is the worst case
        if self.peek() and self.peek() in "*+?{":
            raise self.fail("a quantifier cannot follow a quantifier")
        if isinstance(atom, _Anchor | _Look):
            raise self.fail("a zero-width assertion cannot be repeated")
        return _Repeat(low, high, atom)

    def counts(self) -> tuple[int, int | None]:
        found = re.compile(r"\{(\d+)(,(\d*))?\}").match(self.text, self.pos)
        if found is None:
            raise self.fail("'{' must start a count such as {2}, {2,} or {2,5}")
        low = int(found[1])
        high = low if found[2] is None else (int(found[3]) if found[3] else None)
        if max(low, high or 0) > MAX_COUNT or (high is not None and high < low):
            raise self.fail(f"counts must satisfy n <= m <= {MAX_COUNT}")
        self.pos = found.end()
        return low, high

    def group(self) -> _Node | None:
        self.pos += 1
        saved = (self.ignore_case, self.dot_all)
        behind: bool | None = None
        if self.peek() == "?":
            lead = self.text[self.pos + 1 : self.pos + 3]
            if lead[:1] in (":", ">"):
                self.pos += 2
            elif lead[:1] in ("=", "!"):
                self.pos += 2
                behind = False
            elif lead in ("<=", "<!"):
                self.pos += 3
                behind = True
            elif lead[:1] == "<":
                raise self.fail("named groups are not supported: use (?:...)")
            elif self.flags():
                return None  # (?i): applies up to the end of the enclosing group
        body = self.alternation()
        if self.peek() != ")":
            raise self.fail("missing ')'")
        self.pos += 1
        self.ignore_case, self.dot_all = saved
        return body if behind is None else _Look(behind, body)

    def flags(self) -> bool:
        """Parse ``?flags)`` or ``?flags:``; True for the first (flags for the rest)."""
        found = re.compile(r"\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])").match(self.text, self.pos)
        if found is None:
            raise self.fail("unsupported group syntax '(?'")
        on, off = found[1], found[2] or ""
        for flag in on + off:
            if flag not in "ims":
                raise self.fail(f"flag {flag!r} is not supported (only i, m, s)")
        self.ignore_case = ("i" in on or self.ignore_case) and "i" not in off
        self.dot_all = ("s" in on or self.dot_all) and "s" not in off
        self.pos = found.end()
        return found[3] == ")"

    def char_class(self) -> _Chars:
        self.pos += 1
        negate = self.peek() == "^"
        self.pos += negate
        tests: list[Callable[[str], bool]] = []
        while self.peek() != "]" or not tests:
            char = self.peek()
            if char == "":
                raise self.fail("missing ']'")
            if char in "[]":
                raise self.fail(f"escape {char!r} inside a class as '\\{char}'")
            if self.text.startswith("&&", self.pos):
                raise self.fail("class intersection '&&' is not supported")
            tests.append(self.class_item())
        self.pos += 1
        return _Chars(lambda x: any(test(x) for test in tests) != negate)

    def class_item(self) -> Callable[[str], bool]:
        first = self.class_atom()
        if self.peek() != "-" or self.peek(1) in ("]", ""):
            return first.test if isinstance(first, _Chars) else self.literal(first).test
        if isinstance(first, _Chars):
            raise self.fail("'-' after a class escape must be escaped as '\\-'")
        self.pos += 1
        last = self.class_atom()
        if isinstance(last, _Chars) or ord(last) < ord(first):
            raise self.fail(f"bad range starting with {first!r}")
        step = max(1, (ord(last) - ord(first)) // 2048)
        self.probes.update(map(chr, range(ord(first), ord(last) + 1, step)))
        self.probes.add(last)
        low, high = first, last
        if not self.ignore_case:
            return lambda x: low <= x <= high
        return lambda x: low <= x <= high or (x.isascii() and low <= x.swapcase() <= high)

    def class_atom(self) -> _Chars | str:
        """One character of a class, or a class escape such as ``\\d``."""
        char = self.peek()
        self.pos += 1
        atom = self.escape(in_class=True) if char == "\\" else char
        if isinstance(atom, _Anchor):
            raise self.fail("an anchor cannot be inside a class")
        return atom

    def escape(self, in_class: bool) -> _Chars | _Anchor | str:
        """After a backslash: a :class:`_Chars` or :class:`_Anchor`, or one literal char."""
        char = self.peek()
        self.pos += 1
        if char == "":
            raise self.fail("trailing backslash")
        if char in "123456789" or char == "k":
            raise self.fail("back-references are not allowed")
        if char.lower() in _CLASS_ESCAPES:
            members = re.compile(f"[{_CLASS_ESCAPES[char.lower()]}]")
            negate = char.isupper()
            return _Chars(lambda x: (members.fullmatch(x) is not None) != negate)
        if char in "pP":
            return self.property(negate=char == "P")
        if char in "bBAzZ" and not in_class:
            return _Anchor()
        if char in _CONTROL_ESCAPES:
            return self.code_point(ord(_CONTROL_ESCAPES[char]), in_class)
        if char in "xu0":
            pattern = {"x": r"\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{2})", "u": "([0-9a-fA-F]{4})"}
            found = re.compile(pattern.get(char, "([0-3]?[0-7]{1,2})")).match(self.text, self.pos)
            if found is None:
                raise self.fail(f"malformed escape '\\{char}'")
            self.pos = found.end()
            digits = next(group for group in found.groups() if group)
            return self.code_point(int(digits, 8 if char == "0" else 16), in_class)
        if char.isascii() and not char.isalnum():
            return self.code_point(ord(char), in_class)
        raise self.fail(f"unsupported escape '\\{char}'")

    def code_point(self, code: int, in_class: bool) -> _Chars | str:
        if code > 0xFFFF or 0xD800 <= code <= 0xDFFF:
            raise self.fail(
                f"supplementary and surrogate characters are not supported (U+{code:X})"
            )
        self.probes.add(chr(code))
        return chr(code) if in_class else self.literal(chr(code))

    def property(self, negate: bool) -> _Chars:
        found = re.compile(r"\{(\w+)\}|([A-Z])").match(self.text, self.pos)
        if found is None:
            raise self.fail("malformed property '\\p'")
        self.pos = found.end()
        name = found[1] or found[2]
        category = name[2:] if name.startswith("Is") and name[2:] in _GENERAL_CATEGORIES else name
        if category in _GENERAL_CATEGORIES:
            return _Chars(lambda x: unicodedata.category(x).startswith(category) != negate)
        if name in _POSIX_CLASSES:
            members = re.compile(f"[{_POSIX_CLASSES[name]}]")
            return _Chars(lambda x: (members.fullmatch(x) is not None) != negate)
        raise self.fail(
            f"unsupported property {name!r} (general categories such as L, Lu, Nd and the "
            "POSIX classes such as Alpha are supported)"
        )


class _Analysis:
    """The safety rule of :func:`check_regex`, on a parsed tree."""

    def __init__(self, probes: set[str]) -> None:
        self.probes = sorted(probes)

    def chars(self, node: _Node) -> frozenset[str]:
        """Every probe character the node can consume (lookarounds consume nothing)."""
        if isinstance(node, _Chars):
            return frozenset(ch for ch in self.probes if node.test(ch))
        if isinstance(node, _Seq | _Alt):
            parts = node.items if isinstance(node, _Seq) else node.branches
            return frozenset().union(*(self.chars(part) for part in parts))
        if isinstance(node, _Repeat):
            return self.chars(node.body) if node.high != 0 else frozenset()
        return frozenset()

    def first(self, node: _Node) -> frozenset[str]:
        """The probe characters the node can start with."""
        if isinstance(node, _Seq):
            result: frozenset[str] = frozenset()
            for item in node.items:
                result |= self.first(item)
                if not self.nullable(item):
                    break
            return result
        if isinstance(node, _Alt):
            return frozenset().union(*(self.first(branch) for branch in node.branches))
        if isinstance(node, _Repeat):
            return self.first(node.body) if node.high != 0 else frozenset()
        return self.chars(node)

    def nullable(self, node: _Node) -> bool:
        return self.width(node)[0] == 0

    def width(self, node: _Node) -> tuple[int, int | None]:
        """Fewest and most characters the node consumes (``None``: unbounded)."""
        if isinstance(node, _Chars):
            return 1, 1
        if isinstance(node, _Repeat):
            low, high = self.width(node.body)
            if high == 0:
                return 0, 0
            if node.high is None or high is None:
                return low * node.low, None
            return low * node.low, high * node.high
        if isinstance(node, _Seq | _Alt):
            parts = node.items if isinstance(node, _Seq) else node.branches
            if not parts:
                return 0, 0
            lows, highs = zip(*(self.width(part) for part in parts), strict=True)
            if isinstance(node, _Alt):
                return min(lows), None if None in highs else max(h or 0 for h in highs)
            return sum(lows), None if None in highs else sum(h or 0 for h in highs)
        return 0, 0

    def repeats(self, node: _Node) -> list[_Repeat]:
        """Every quantifier inside the node (the node included)."""
        if isinstance(node, _Repeat):
            return [node, *self.repeats(node.body)]
        if isinstance(node, _Seq | _Alt):
            parts = node.items if isinstance(node, _Seq) else node.branches
            return [r for part in parts for r in self.repeats(part)]
        if isinstance(node, _Look):
            return self.repeats(node.body)
        return []

    def alternations(self, node: _Node) -> list[_Alt]:
        if isinstance(node, _Alt):
            return [node, *(a for branch in node.branches for a in self.alternations(branch))]
        if isinstance(node, _Seq):
            return [a for item in node.items for a in self.alternations(item)]
        if isinstance(node, _Repeat | _Look):
            return self.alternations(node.body)
        return []

    def unbounded_chars(self, node: _Node) -> frozenset[str]:
        """The characters the unbounded quantifiers of the node (outside lookarounds) take."""
        if isinstance(node, _Look):
            return frozenset()
        return frozenset().union(
            *(self.chars(r.body) for r in self.repeats(node) if r.high is None)
        )

    def check(self, tree: _Node) -> None:
        self.check_node(tree)
        if self.nullable(tree):
            raise CatalogueError("the pattern can match the empty string")

    def check_node(self, node: _Node) -> None:
        if isinstance(node, _Repeat):
            if node.high is None or node.high > 1:
                self.check_repeated_body(node.body)
            self.check_node(node.body)
        elif isinstance(node, _Seq):
            self.check_sequence(node.items)
            for item in node.items:
                self.check_node(item)
        elif isinstance(node, _Alt):
            for branch in node.branches:
                self.check_node(branch)
        elif isinstance(node, _Look):
            if node.behind and self.width(node.body)[1] is None:
                raise CatalogueError("a lookbehind must have a bounded width")
            self.check_node(node.body)

    def check_repeated_body(self, body: _Node) -> None:
        inner = [r for r in self.repeats(body) if r.low != r.high]
        if any(r.high is None for r in inner):
            raise CatalogueError("nested unbounded quantifiers, as in (a+)+ or (.*a){3}")
        if inner:
            raise CatalogueError("a variable quantifier (?, {n,m}) inside a repeated part")
        if self.nullable(body):
            raise CatalogueError("a repeated part can match the empty string")
        for alternation in self.alternations(body):
            seen: frozenset[str] = frozenset()
            for branch in alternation.branches:
                first = self.first(branch)
                if self.nullable(branch) or first & seen:
                    raise CatalogueError(
                        "overlapping alternatives inside a repeated part, as in (a|aa)+"
                    )
                seen |= first

    def check_sequence(self, items: tuple[_Node, ...]) -> None:
        for index, item in enumerate(items):
            taken = self.unbounded_chars(item)
            if not taken:
                continue
            for later in items[index + 1 :]:
                if self.unbounded_chars(later) & taken:
                    raise CatalogueError(
                        "overlapping unbounded quantifiers in sequence, as in \\w+\\s*\\w+"
                    )
                if not (self.nullable(later) or self.chars(later) <= taken):
                    break
