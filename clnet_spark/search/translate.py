"""Catalogue terms as Python ``re`` patterns and Hyperscan byte patterns (the Hyperscan engine).

The native engine runs each term as the Java regular expression of
:mod:`clnet_spark.search.catalogue`. The Hyperscan engine
(:mod:`clnet_spark.search.hyperscan_engine`) needs each term twice:

- :func:`phrase_filter` — a Hyperscan pattern over UTF-8 bytes that matches *at least*
  wherever the phrase matches (the phrase's words and separator runs, without the word
  boundaries or the plural): it finds the candidate records;
- :func:`phrase_verifier` / :func:`raw_verifier` — a Python ``re`` pattern with exactly the
  meaning of the Java pattern, run on a candidate record's text. Python string indices are code
  points, so ``match.start()`` is the offset METHOD section 2 asks for.

Word characters are Unicode letters, decimal digits and the underscore, written out as explicit
code-point ranges from :mod:`unicodedata`. Java 17 (the JVM here) uses Unicode 13.0 and Python
3.11 Unicode 14.0: a character assigned in 14.0 only can differ between the engines
(``docs/search.md``, "The Hyperscan engine").

A raw term is translated from the Java syntax :func:`~clnet_spark.search.catalogue.check_regex`
accepts; constructs whose Java meaning this translation does not reproduce exactly (``\\b``,
``\\B``, the ``m`` flag, case-insensitive ``\\p{Lu}``/``\\p{Ll}``/``\\p{Lt}``) are rejected
with a :class:`~clnet_spark.errors.CatalogueError`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Final

from clnet_spark.errors import CatalogueError
from clnet_spark.search.catalogue import STAND_IN_LETTER, TERM_SPACES, phrase_words

LINE_TERMINATORS: Final = "\n\r\x85\u2028\u2029"
_POSIX: Final[dict[str, str]] = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7f",
    "Alpha": "A-Za-z",
    "Digit": "0-9",
    "Alnum": "0-9A-Za-z",
    "Punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1f\\x7f",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0b\\f\\r",
}
_H: Final = "\\x20\\t\\xa0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000"
_V: Final = "\\n\\x0b\\f\\r\\x85\\u2028\\u2029"
_CONTROL: Final = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "a": "\a", "e": "\x1b"}
_CATEGORIES: Final = frozenset("LMNPSZC")
_SUPPLEMENTARY: Final = re.compile("[\U00010000-\U0010ffff]")


def _ranges(test: object) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for code in range(0x110000):
        if test(chr(code)):  # type: ignore[operator]
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return ranges


def _class_body(ranges: list[tuple[int, int]]) -> str:
    return "".join(
        f"\\U{low:08x}" if low == high else f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges
    )


@functools.cache
def category_body(category: str, negate: bool = False) -> str:
    """A ``re`` class body (no brackets) of the code points of a general category or its
    complement: ``L``, ``Lu``, ``Nd``, ..."""
    return _class_body(_ranges(lambda ch: unicodedata.category(ch).startswith(category) != negate))


_WORD_CATEGORIES: Final = frozenset(["Lu", "Ll", "Lt", "Lm", "Lo", "Nd"])


@functools.cache
def _numeric_not_decimal() -> str:
    """A ``re`` class body: what Python's Unicode ``\\w`` matches beyond the word characters
    (other numbers such as "²" or "Ⅻ"); ``\\w`` matches every word character."""
    unicode_word = re.compile(r"\w")
    return _class_body(
        _ranges(
            lambda ch: (
                unicode_word.match(ch) is not None
                and ch != "_"
                and unicodedata.category(ch) not in _WORD_CATEGORIES
            )
        )
    )


class _Word:
    """One word character, as a ``re`` pattern of width 1: a ``\\w`` that is not
    in :func:`_numeric_not_decimal` (far smaller than listing every letter)."""

    def __str__(self) -> str:
        return f"\\w(?<![{_numeric_not_decimal()}])"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


WORD: Final = _Word()


def bmp_text(text: str) -> str:
    """The text with each supplementary code point replaced by one BMP character, as the
    native engine does before matching: a letter or decimal digit by U+A6A0, anything else by
    U+FFFD. Lengths (in code points) are kept."""
    if text.isascii() or _SUPPLEMENTARY.search(text) is None:
        return text
    return _SUPPLEMENTARY.sub(
        lambda m: STAND_IN_LETTER if unicodedata.category(m[0]) in _WORD_CATEGORIES else "\ufffd",
        text,
    )


# --- phrases -----------------------------------------------------------------------------

_SEPARATOR_BYTES: Final = (
    rb"(?:[\x09-\x0d\x20\x2d\x5f]|\xc2[\x85\xa0]|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]"
    rb"|\xe2\x81\x9f|\xe3\x80\x80)+"
)
"""A run of :data:`~clnet_spark.search.catalogue.SEPARATORS`, as UTF-8 bytes."""
_ANY_SUPPLEMENTARY_BYTES: Final = rb"[\xf0-\xf4][\x80-\xbf]{3}"


def _byte_char(char: str) -> bytes:
    if char.isascii() and char.isalpha():
        return b"[%s%s]" % (char.lower().encode(), char.upper().encode())
    encoded = b"".join(b"\\x%02x" % byte for byte in char.encode("utf-8"))
    if char == "\ufffd":  # the native engine also sees a supplementary non-letter as U+FFFD
        return b"(?:%s|%s)" % (encoded, _ANY_SUPPLEMENTARY_BYTES)
    return encoded


def phrase_filter(label: str) -> bytes:
    """A Hyperscan pattern (bytes, no flags) matching at least where the phrase matches.

    ASCII letters in either case, every other character as its UTF-8 bytes, a run of
    separators between words; no word boundaries and no plural (the verifier checks them).
    """
    words = phrase_words(label)
    return _SEPARATOR_BYTES.join(b"".join(_byte_char(ch) for ch in word) for word in words)


def phrase_verifier(label: str) -> str:
    """The Python ``re`` pattern of a phrase, with the meaning of
    :func:`~clnet_spark.search.catalogue.phrase_pattern` (METHOD section 2).

    Like the Java pattern, it starts with the first word (``re`` then skips quickly to where
    its first letter occurs) and looks back over it for a word character.

    >>> import re
    >>> [m.start() for m in re.finditer(phrase_verifier("county line"), "é county-lines")]
    [2]
    """
    separator = "[" + re.escape(TERM_SPACES) + "_\\-]+"
    first, *rest = (
        "".join(
            f"[{ch.lower()}{ch.upper()}]" if ch.isascii() and ch.isalpha() else re.escape(ch)
            for ch in word
        )
        for word in phrase_words(label)
    )
    width = len(phrase_words(label)[0])
    body = "".join(separator + word for word in rest)
    return f"{first}(?<!{WORD}.{{{width}}}){body}[sS]?(?!{WORD})"


# --- raw regular expressions -------------------------------------------------------------


def raw_verifier(pattern: str) -> str:
    """The Python ``re`` pattern (to compile with ``re.ASCII``) of a raw Java regex.

    The pattern must already have passed :func:`~clnet_spark.search.catalogue.check_regex`.

    Raises
    ------
    CatalogueError
        The pattern uses a construct the translation does not support exactly, or Python
        cannot compile the result (a lookbehind of variable width).
    """
    translated = _Translator(pattern).run()
    try:
        re.compile(translated, re.ASCII)
    except re.error as exc:
        raise CatalogueError(f"the hyperscan engine cannot run it in Python: {exc}") from exc
    return translated


class _Translator:
    """Java regex (the :func:`check_regex` subset) to Python ``re`` with ``re.ASCII``.

    With ``re.ASCII``, ``\\d \\w \\s`` and case folding are ASCII-only, as in Java without
    ``UNICODE_CASE``/``UNICODE_CHARACTER_CLASS``. Java's inline ``(?i)`` applies to the end of
    the enclosing group: it becomes a scoped ``(?i:`` closed there.
    """

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.pos = 0
        self.ignore_case = False
        self.dot_all = False

    def fail(self, reason: str) -> CatalogueError:
        return CatalogueError(
            f"the hyperscan engine does not support {reason} (at position {self.pos}); "
            "rewrite the term or use search.engine: native"
        )

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.text[index] if index < len(self.text) else ""

    def run(self) -> str:
        out = self.sequence(top=True)
        if self.pos < len(self.text):
            raise self.fail("an unbalanced ')'")
        return out

    def sequence(self, top: bool = False) -> str:
        """Until the ``)`` closing the current group (not consumed) or the end."""
        out: list[str] = []
        closers = 0
        saved = (self.ignore_case, self.dot_all)
        while self.peek() not in ("", ")"):
            char = self.peek()
            if char == "|":
                # Java keeps inline flags across "|" (up to the end of the group): close the
                # scoped group and open it again after the bar.
                self.pos += 1
                out.append(")" * closers + "|")
                closers = 0
                if self.ignore_case != saved[0]:
                    out.append("(?" + ("i" if self.ignore_case else "-i") + ":")
                    closers = 1
            elif char == "(" and self.peek(1) == "?" and self._inline_flags():
                out.append(self._flag_group_open())
                closers += 1
            else:
                out.append(self.atom())
        out.append(")" * closers)
        self.ignore_case, self.dot_all = saved
        return "".join(out)

    def _inline_flags(self) -> bool:
        return re.compile(r"\(\?[a-zA-Z]*(?:-[a-zA-Z]*)?\)").match(self.text, self.pos) is not None

    def _flag_group_open(self) -> str:
        found = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])").match(self.text, self.pos)
        assert found is not None
        on, off = found[1], found[2] or ""
        if "m" in on + off:
            raise self.fail("the m flag")
        self.ignore_case = ("i" in on or self.ignore_case) and "i" not in off
        self.dot_all = ("s" in on or self.dot_all) and "s" not in off
        self.pos = found.end()
        return "(?" + ("i" if self.ignore_case else "-i") + ":"

    def atom(self) -> str:
        char = self.peek()
        if char == "(":
            return self.group() + self.quantifier()
        if char == "[":
            return self.char_class() + self.quantifier()
        self.pos += 1
        if char == ".":
            body = "(?s:.)" if self.dot_all else "[^" + re.escape(LINE_TERMINATORS) + "]"
            return body + self.quantifier()
        if char == "^":
            return "^"
        if char == "$":
            return self._end_or_final_terminator()
        if char == "\\":
            return self.escape() + self.quantifier()
        return self.literal(char) + self.quantifier()

    def _end_or_final_terminator(self) -> str:
        # Java's $ and \Z: the end, or before a line terminator that ends the input (not
        # between the \r and \n of a final \r\n).
        return "(?=(?:\\r\\n|[" + re.escape(LINE_TERMINATORS) + "])?\\Z)(?<!\\r(?=\\n))"

    def literal(self, char: str) -> str:
        return re.escape(char)

    def quantifier(self) -> str:
        char = self.peek()
        if char == "{":
            found = re.compile(r"\{\d+(,\d*)?\}").match(self.text, self.pos)
            if found is None:
                raise self.fail("this count")
            self.pos = found.end()
            out = found[0]
        elif char and char in "*+?":
            self.pos += 1
            out = char
        else:
            return ""
        if self.peek() in ("?", "+"):
            out += self.peek()
            self.pos += 1
        return out

    def group(self) -> str:
        self.pos += 1
        saved = (self.ignore_case, self.dot_all)
        head = "(?:"
        if self.peek() == "?":
            for lead in (":", ">", "=", "!", "<=", "<!"):
                if self.text.startswith(lead, self.pos + 1):
                    self.pos += 1 + len(lead)
                    head = "(?" + lead
                    break
            else:
                found = re.compile(r"\?([a-zA-Z]*)(?:-([a-zA-Z]*))?:").match(self.text, self.pos)
                if found is None:
                    raise self.fail("this group syntax")
                on, off = found[1], found[2] or ""
                if "m" in on + off:
                    raise self.fail("the m flag")
                self.ignore_case = ("i" in on or self.ignore_case) and "i" not in off
                self.dot_all = ("s" in on or self.dot_all) and "s" not in off
                self.pos = found.end()
                head = "(?" + ("i" if self.ignore_case else "-i") + ":"
        body = self.sequence()
        if self.peek() != ")":
            raise self.fail("a missing ')'")
        self.pos += 1
        self.ignore_case, self.dot_all = saved
        return head + body + ")"

    def escape(self, in_class: bool = False) -> str:
        char = self.peek()
        self.pos += 1
        if char in "dDwWsS":
            return "\\" + char
        if char in "hH":
            return self._class(_H, negate=char == "H", in_class=in_class)
        if char in "vV":
            return self._class(_V, negate=char == "V", in_class=in_class)
        if char in "pP":
            return self.property(negate=char == "P", in_class=in_class)
        if char in "bB":
            raise self.fail("\\b or \\B (write the lookarounds, e.g. (?<![\\p{L}\\p{Nd}_]))")
        if char == "A":
            return "\\A"
        if char == "z":
            return "\\Z"
        if char == "Z":
            return self._end_or_final_terminator()
        if char in _CONTROL:
            return self.code(ord(_CONTROL[char]))
        if char in "xu0":
            pattern = {"x": r"\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{2})", "u": "([0-9a-fA-F]{4})"}
            found = re.compile(pattern.get(char, "([0-3]?[0-7]{1,2})")).match(self.text, self.pos)
            if found is None:
                raise self.fail(f"the escape \\{char}")
            self.pos = found.end()
            digits = next(group for group in found.groups() if group)
            return self.code(int(digits, 8 if char == "0" else 16))
        if char.isascii() and not char.isalnum():
            return re.escape(char)
        raise self.fail(f"the escape \\{char}")

    def code(self, code: int) -> str:
        return f"\\u{code:04x}"

    def _class(self, body: str, negate: bool, in_class: bool) -> str:
        if in_class and negate:
            raise self.fail("a negated class escape inside a class")
        if in_class:
            return body
        return ("[^" if negate else "[") + body + "]"

    def property(self, negate: bool, in_class: bool) -> str:
        found = re.compile(r"\{(\w+)\}|([A-Z])").match(self.text, self.pos)
        if found is None:
            raise self.fail("this property")
        self.pos = found.end()
        name = found[1] or found[2]
        category = name[2:] if name.startswith("Is") and name[2:][:1] in _CATEGORIES else name
        if category[:1] in _CATEGORIES and len(category) <= 2:
            if self.ignore_case and category in ("Lu", "Ll", "Lt"):
                raise self.fail("\\p{Lu}, \\p{Ll} or \\p{Lt} with the i flag")
            if in_class:
                return category_body(category, negate)
            return "[" + category_body(category, negate) + "]"
        if name in _POSIX:
            return self._class(_POSIX[name], negate, in_class)
        raise self.fail(f"the property {name!r}")

    def char_class(self) -> str:
        self.pos += 1
        out = "["
        if self.peek() == "^":
            out += "^"
            self.pos += 1
        first = True
        while self.peek() != "]" or first:
            first = False
            char = self.peek()
            self.pos += 1
            if char == "\\":
                out += self.escape(in_class=True)
            elif char in "-^":
                out += "\\" + char
            else:
                out += re.escape(char) if not char.isalnum() else char
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                out += "-"
                self.pos += 1
        self.pos += 1
        return out + "]"
