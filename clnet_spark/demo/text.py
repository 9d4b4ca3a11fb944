"""Composition of record texts from the sentence templates, with counted traps and oddities.

A :class:`TextMaker` draws from a :class:`random.Random` seeded from the chunk's numpy
generator, so texts are reproducible and cheap (a text costs a few microseconds).
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import accumulate
from typing import Any

from clnet_spark.demo import vocab as v
from clnet_spark.demo.knobs import DemoKnobs
from clnet_spark.demo.sentences import FILLERS, NON_ASCII_FILLERS, PREFIXES, TRAPS

ITEMS = (
    "laptop",
    "mobile phone",
    "handbag",
    "bicycle",
    "games console",
    "set of car keys",
    "power drill",
    "television",
    "wallet",
    "pair of trainers",
    "bottle of perfume",
    "box of razor blades",
    "jacket",
    "tablet",
)
PLACES = (
    "the bus station",
    "the retail park",
    "the park",
    "a petrol station",
    "the high street",
    "the canal towpath",
    "the leisure centre",
    "a fast food shop",
    "the library",
    "the train station",
    "a takeaway",
    "the tram stop",
)
SHOPS = ("a supermarket", "a chemist", "a clothes shop", "a convenience store", "a garden centre")
WEAPONS = ("a lock knife", "a machete", "a kitchen knife", "a baseball bat", "a hammer")
VEHICLES = ("a grey Audi", "a black hatchback", "a silver Vauxhall", "a moped", "a red Ford")
YOUTHS = ("The youth", "The juvenile", "The young person", "A 15-year-old", "A 16-year-old")
OFFENCE_WORDS = (
    "theft",
    "assault",
    "criminal damage",
    "burglary",
    "robbery",
    "harassment",
    "a public order offence",
    "shoplifting",
)
PLACEMENTS = ("home", "his care placement", "a residential children's home", "foster care")
ATTACHED_LETTERS = ("é", "ł", "ñ")
EMOJI = ("🙂", "🚗", "📱")


class _Slots(dict[str, str]):
    """Slot values drawn on first use; a slot used twice in a template keeps its value."""

    def __init__(self, maker: TextMaker, ctx: Mapping[str, Any]) -> None:
        super().__init__()
        self._maker = maker
        self._ctx = ctx

    def __missing__(self, key: str) -> str:
        value = self._maker.slot(key, self._ctx)
        self[key] = value
        return value


class TextMaker:
    """Fills templates and assembles record texts.

    Parameters
    ----------
    rnd
        The chunk's text generator.
    knobs
        Rates of upper-case texts, line breaks, non-ASCII letters and emoji.

    Attributes
    ----------
    traps
        How many times each trap of :data:`~clnet_spark.demo.sentences.TRAPS` was written.
    oddities
        Counts of texts with a non-ASCII letter, an emoji, or a letter glued to a term.
    """

    def __init__(self, rnd: random.Random, knobs: DemoKnobs) -> None:
        self.rnd = rnd
        self.knobs = knobs
        self.traps: Counter[str] = Counter()
        self.oddities: Counter[str] = Counter()
        self._cumulative: dict[int, tuple[list[float], tuple[str, ...]]] = {}

    def pick(self, forms: v.Forms) -> str:
        """Draw one form in proportion to its weight."""
        table = self._cumulative.get(id(forms))
        if table is None:
            table = (list(accumulate(w for _, w in forms)), tuple(f for f, _ in forms))
            self._cumulative[id(forms)] = table
        bounds, names = table
        return names[bisect_right(bounds, self.rnd.random() * bounds[-1])]

    def choice(self, options: Sequence[str]) -> str:
        return options[int(self.rnd.random() * len(options))]

    def term(self, forms: v.Forms) -> str:
        """A search-term form, now and then glued to a non-ASCII letter or an emoji."""
        form = self.pick(forms)
        r = self.rnd.random()
        if r < self.knobs.attached_letter_share:
            self.oddities["attached_letter"] += 1
            return form + self.choice(ATTACHED_LETTERS)
        if r < self.knobs.attached_letter_share + self.knobs.emoji_share:
            self.oddities["emoji"] += 1
            return form + self.choice(EMOJI)
        return form

    def street(self) -> str:
        syl = v.SYLLABLES
        name = (self.choice(syl) + self.choice(syl)).capitalize()
        return f"{name} {self.choice(v.STREET_TYPES)}"

    def slot(self, key: str, ctx: Mapping[str, Any]) -> str:
        """The value of one template slot for a record with context ``ctx``."""
        if key in ctx:
            return str(ctx[key])
        simple = _SIMPLE_SLOTS.get(key)
        if simple is not None:
            return self.choice(simple)
        term_forms = _TERM_SLOTS.get(key)
        if term_forms is not None:
            return self.term(term_forms)
        if key == "drug":
            return self.term(v.DRUG_FORMS[ctx["drugs"][0]])
        if key == "drug2":
            return self.term(v.DRUG_FORMS[ctx["drugs"][1]])
        if key == "pair":
            return v.CL_DRUG_PAIRS[ctx["pair"]][0]
        if key == "code":
            return self.choice(v.CL_CODES)
        if key == "street":
            return self.street()
        if key == "n":
            return str(2 + int(self.rnd.random() * 28))
        if key == "town":
            return self.choice(v.COUNTY_TOWNS)
        if key == "line":
            return line_form(ctx["nickname"], self.rnd)
        if key == "phone":
            return phone_form(ctx["phone_digits"], self.rnd)
        if key == "decoyphone":
            digits = "07" + "".join(str(int(self.rnd.random() * 10)) for _ in range(9))
            return phone_form(digits, self.rnd)
        raise KeyError(f"template slot {{{key}}} has no filler and is not in the record context")

    def fill(self, template: str, ctx: Mapping[str, Any]) -> str:
        return template.format_map(_Slots(self, ctx))

    def trap(self, name: str) -> str:
        """The phrase of a trap, counted."""
        self.traps[name] += 1
        return TRAPS[name]

    def compose(
        self, source: str, sentences: list[str], ctx: Mapping[str, Any], fillers: int
    ) -> str:
        """Join filled ``sentences`` with up to ``fillers`` neutral sentences into one text."""
        parts = [self.fill(s, ctx) for s in sentences]
        for _ in range(fillers):
            parts.append(self.fill(self.choice(FILLERS), ctx))
        if self.rnd.random() < self.knobs.non_ascii_share:
            self.oddities["non_ascii"] += 1
            parts.insert(
                int(self.rnd.random() * (len(parts) + 1)),
                self.fill(self.choice(NON_ASCII_FILLERS), ctx),
            )
        sep = "\n" if self.rnd.random() < self.knobs.multi_line_text_share else " "
        text = self.choice(PREFIXES[source]) + sep.join(parts)
        if self.rnd.random() < self.knobs.upper_case_text_share:
            text = text.upper()
        return text


_SIMPLE_SLOTS: dict[str, tuple[str, ...]] = {
    "item": ITEMS,
    "place": PLACES,
    "shop": SHOPS,
    "weapon": WEAPONS,
    "vehicle": VEHICLES,
    "youth": YOUTHS,
    "offence": OFFENCE_WORDS,
    "placement": PLACEMENTS,
    "prison": v.HMP,
    "prison2": v.HMP,
}
_TERM_SLOTS: dict[str, v.Forms] = {
    "cl": v.COUNTY_LINE_FORMS,
    "clmiss": v.COUNTY_LINE_MISSES,
    "dl": v.DRUGS_LINE_FORMS,
    "cuckooed": v.CUCKOOED_FORMS,
    "cuckoo": v.CUCKOO_PLACE_FORMS,
    "runner": v.RUNNER_FORMS,
    "running": v.RUNNING_DRUGS_FORMS,
    "pwits": v.PWITS_FORMS,
    "misper": v.MISPER_FORMS,
    "mispermiss": v.MISPER_MISSES,
}


def line_form(nickname: str, rnd: random.Random) -> str:
    """One way of writing a line's name: "Tony line", "DL Tony", "TONY line", ..."""
    forms = (
        f"{nickname} line",
        f"DL {nickname}",
        f"{nickname.upper()} line",
        f"'{nickname}' line",
        f"{nickname} deal line",
        f"{nickname} Line",
        f"deal line {nickname}",
    )
    return forms[int(rnd.random() * len(forms))]


def phone_form(digits: str, rnd: random.Random) -> str:
    """One way of writing the UK mobile ``digits`` ("07xxxxxxxxx")."""
    d = digits
    forms = (
        f"{d[:5]} {d[5:]}",
        d,
        f"+44 {d[1:5]} {d[5:]}",
        f"+44{d[1:]}",
        f"{d[:5]}-{d[5:8]}-{d[8:]}",
        f"{d[:5]}.{d[5:8]}.{d[8:]}",
        f"({d[:5]}) {d[5:]}",
        f"{d[:4]} {d[4:7]} {d[7:]}",
        f"+44 (0){d[1:5]} {d[5:]}",
        f"0044 {d[1:5]} {d[5:]}",
    )
    return forms[int(rnd.random() * len(forms))]
