"""Words of the demo corpus: areas, offence codes and the spellings of the search terms.

Everything here is a plain constant. Spellings come as ``(form, weight)`` pairs; a form is
drawn in proportion to its weight. Forms listed under ``*_MISSES`` are realistic ways of
writing a term that the method's matching semantics (METHOD section 2) do *not* match, such
as the run-together "countyline".

The drug words are the demo's own small catalogue of street names (``DEMO_DRUG_TERMS``);
the product's catalogue may list more. Ordinary phrases elsewhere in the corpus avoid every
word listed here unless they are deliberate traps (see :mod:`clnet_spark.demo.text`).
"""

from __future__ import annotations

from typing import Final

Forms = tuple[tuple[str, float], ...]

FORCE_AREAS: Final = (
    ("Birmingham", 0.39),
    ("Coventry", 0.12),
    ("Dudley", 0.11),
    ("Sandwell", 0.12),
    ("Solihull", 0.075),
    ("Walsall", 0.1),
    ("Wolverhampton", 0.09),
)
"""The West Midlands force's seven local authorities, weighted by population."""

COUNTY_TOWNS: Final = (
    "Shrewsbury",
    "Telford",
    "Worcester",
    "Hereford",
    "Stafford",
    "Stoke-on-Trent",
    "Kidderminster",
    "Rugby",
    "Leamington Spa",
    "Aberystwyth",
    "Redditch",
    "Nuneaton",
    "Tamworth",
    "Cannock",
    "Ludlow",
    "Bridgnorth",
    "Evesham",
    "Leominster",
    "Oswestry",
    "Burton upon Trent",
    "Lichfield",
    "Banbury",
    "Stratford-upon-Avon",
    "Newtown",
)
"""Towns outside the force area: county-lines destinations, and some ordinary trips."""

OFFENCES: Final = {
    "theft": ("Other theft", ("49", "049/10")),
    "theft_person": ("Theft from the person", ("39", "039/00")),
    "shoplifting": ("Shoplifting", ("46", "046/00")),
    "burglary": ("Burglary - residential", ("28E", "028/03")),
    "burglary_business": ("Burglary - business and community", ("30C", "030/02")),
    "assault_injury": ("Assault with injury (ABH)", ("8N", "008/06", "008/01")),
    "assault": ("Assault without injury", ("105A",)),
    "criminal_damage": ("Criminal damage", ("58C", "58A", "058/00", "149/00")),
    "robbery": ("Robbery of personal property", ("34B", "034/01")),
    "weapon": ("Possession of an article with a blade or point", ("10D", "008/26")),
    "weapon_other": ("Possession of other weapons", ("10C", "008/11")),
    "possession_cannabis": ("Possession of cannabis", ("92E", "092/61")),
    "possession_class_a": ("Possession of a class A drug", ("92D", "092/50", "092/51", "092/54")),
    "supply_class_a": ("Supplying a class A drug", ("92A", "092/30", "092/31", "092/34")),
    "pwits_class_a": (
        "Possession with intent to supply a class A drug",
        ("92A", "092/70", "092/71", "092/74", "092/90"),
    ),
    "pwits_cannabis": ("Possession with intent to supply cannabis", ("92A", "092/81")),
    "modern_slavery": ("Modern slavery (holding in slavery or servitude)", ("106", "099/25")),
    "manslaughter": ("Manslaughter", ("4/1", "4.1", "004/01")),
    "unmapped": ("A code no reference table maps (kept to exercise 'unmapped')", ("999/99",)),
}
"""Offence kind -> (meaning, Home Office codes in the notations the corpus mixes)."""

ORDINARY_OFFENCES: Final = (
    ("theft", 0.16),
    ("theft_person", 0.03),
    ("shoplifting", 0.2),
    ("burglary", 0.1),
    ("burglary_business", 0.04),
    ("assault_injury", 0.12),
    ("assault", 0.12),
    ("criminal_damage", 0.13),
    ("robbery", 0.04),
    ("weapon", 0.04),
    ("weapon_other", 0.015),
    ("manslaughter", 0.0008),
    ("unmapped", 0.002),
)

SEARCH_GROUP_WEIGHTS: Final = {
    "CL_WORDS": 0.7,
    "COUNTY_LINE": 1.0,
    "CUCKOO": 0.5,
    "DRUGS_LINE": 0.4,
    "MISPER": 0.1,
    "OTHER": 0.1,
    "COCAINE": 0.1,
    "CRACK": 0.1,
    "HEROIN": 0.1,
    "WEED": 0.1,
    "SMACK": 0.1,
    "OTHER_DRUGS": 0.1,
}
"""METHOD section 2's groups and weights (the drug groups at this method's 0.1 each)."""

DEMO_SEARCH_TERMS: Final = {
    "CL_WORDS": ("CLMIDDLE", "CLCRACK", "CLILLICIT", "CLRECRUIT"),
    "COUNTY_LINE": ("COUNTY LINE",),
    "CUCKOO": ("CUCKOOED", "CUCKOO HOUSE", "CUCKOO FLAT", "CUCKOO PROPERTY"),
    "DRUGS_LINE": ("DRUGS LINE",),
    "MISPER": ("MISPER", "MISSING PERSON"),
    "OTHER": ("RUNNER", "RUNNING DRUGS", "PWITS", "POSSESSION WITH INTENT"),
    "COCAINE": ("COCAINE", "COKE", "CHARLIE", "WHITE"),
    "CRACK": ("CRACK", "ROCKS", "STONES"),
    "HEROIN": ("HEROIN", "BROWN", "GEAR"),
    "SMACK": ("SMACK",),
    "WEED": ("WEED", "CANNABIS", "SKUNK", "BUD"),
    "OTHER_DRUGS": ("SPICE", "KET", "KETAMINE", "MANDY", "MDMA", "ECSTASY", "PILLS"),
}
"""The terms the corpus is written against (METHOD's table plus the demo's street names)."""

DRUG_GROUPS: Final = ("COCAINE", "CRACK", "HEROIN", "WEED", "SMACK", "OTHER_DRUGS")

BACKGROUND_DRUG_MIX: Final = (0.30, 0.18, 0.17, 0.20, 0.04, 0.11)
"""Shares of the drug groups in background drug-word records (after the seed's 'out')."""

CL_DRUG_MIX: Final = (0.28, 0.26, 0.24, 0.13, 0.02, 0.07)
"""Shares of the drug groups on county-lines records (after the seed's 'in')."""

DRUG_FORMS: Final[dict[str, Forms]] = {
    "COCAINE": (("cocaine", 5), ("Cocaine", 1), ("COCAINE", 1.5), ("coke", 1.5), ("charlie", 1)),
    "CRACK": (("crack", 6), ("CRACK", 1.5), ("Crack", 0.5), ("rocks", 1), ("stones", 0.4)),
    "HEROIN": (("heroin", 5), ("HEROIN", 1.5), ("Heroin", 1), ("gear", 0.8)),
    "WEED": (
        ("cannabis", 4),
        ("Cannabis", 1),
        ("CANNABIS", 1),
        ("weed", 2.5),
        ("skunk", 2),
        ("bud", 0.4),
    ),
    "SMACK": (("smack", 4), ("SMACK", 1)),
    "OTHER_DRUGS": (
        ("spice", 3),
        ("SPICE", 0.5),
        ("ket", 1.2),
        ("ketamine", 1.5),
        ("mandy", 1),
        ("MDMA", 1.5),
        ("ecstasy", 0.5),
        ("pills", 0.8),
    ),
}
"""Forms naming exactly one drug group."""

CL_DRUG_PAIRS: Final = (
    ("white and brown", ("COCAINE", "HEROIN")),
    ("crack cocaine", ("CRACK", "COCAINE")),
    ("B&W", ()),
)
"""Two-group phrases of county-lines talk ("B&W" is a realistic miss)."""

COUNTY_LINE_FORMS: Final[Forms] = (
    ("county lines", 30),
    ("county line", 14),
    ("County Lines", 12),
    ("COUNTY LINES", 10),
    ("County Line", 6),
    ("COUNTY LINE", 6),
    ("county-line", 4),
    ("County-Line", 3),
    ("county-lines", 3),
    ("COUNTY  LINE", 2),
    ("county_line", 2),
    ("COUNTY-LINES", 1),
    ("County\nLines", 1),
    ("county\tline", 0.5),
)
COUNTY_LINE_MISSES: Final[Forms] = (
    ("countyline", 3),
    ("countylines", 2),
    ("conty line", 2),
    ("county ln", 1),
    ("cnty line", 1),
    ("C/L", 1),
    ("drug line", 2),
    ("cuckooing", 2),
)
DRUGS_LINE_FORMS: Final[Forms] = (
    ("drugs line", 40),
    ("drugs lines", 8),
    ("Drugs Line", 10),
    ("DRUGS LINE", 10),
    ("drugs-line", 4),
    ("drugs_line", 1),
    ("DRUGS  LINE", 1),
)
CUCKOOED_FORMS: Final[Forms] = (("cuckooed", 50), ("Cuckooed", 10), ("CUCKOOED", 15))
CUCKOO_PLACE_FORMS: Final[Forms] = (
    ("cuckoo flat", 20),
    ("cuckoo house", 15),
    ("cuckoo property", 8),
    ("CUCKOO FLAT", 5),
    ("Cuckoo House", 4),
    ("cuckoo-flat", 2),
    ("cuckoo flats", 3),
    ("cuckoo houses", 2),
)
CL_CODES: Final = ("CLMIDDLE", "CLCRACK", "CLILLICIT", "CLRECRUIT")
RUNNER_FORMS: Final[Forms] = (("runner", 40), ("RUNNER", 10), ("Runner", 5), ("drug runner", 5))
RUNNING_DRUGS_FORMS: Final[Forms] = (
    ("running drugs", 20),
    ("RUNNING DRUGS", 5),
    ("Running Drugs", 2),
    ("running drug", 3),
)
PWITS_FORMS: Final[Forms] = (
    ("PWITS", 30),
    ("pwits", 5),
    ("possession with intent to supply", 25),
    ("Possession With Intent To Supply", 5),
    ("POSSESSION WITH INTENT", 5),
    ("possession with intent", 5),
    ("P.W.I.T.S.", 2),
    ("being concerned in the supply of", 10),
)
MISPER_FORMS: Final[Forms] = (
    ("misper", 25),
    ("MISPER", 15),
    ("Misper", 10),
    ("missing person", 25),
    ("Missing Person", 10),
    ("MISSING PERSON", 8),
    ("missing persons", 3),
    ("missing-person", 2),
    ("mispers", 2),
)
MISPER_MISSES: Final[Forms] = (
    ("reported missing", 30),
    ("went missing from home", 20),
    ("reported MFH", 10),
    ("recorded as a mis-per", 3),
    ("was missing overnight", 8),
)
"""Verb phrases for a missing episode that match no MISPER term."""

LINE_NICKNAMES: Final = (
    "Tony",
    "Blade",
    "Benz",
    "Dizzy",
    "Zeus",
    "Ricky",
    "Taz",
    "Duke",
    "Milli",
    "Ace",
    "Kano",
    "Rico",
    "Nitro",
    "Bossman",
    "Gucci",
    "Rambo",
    "Bunny",
    "Ghost",
    "Tiny",
    "Spider",
    "Casper",
    "Romeo",
    "Viper",
    "Jumbo",
    "Nemo",
    "Pepsi",
    "Rolex",
    "Mojo",
    "Scooby",
    "Flash",
    "Gizmo",
    "Tank",
    "Lucky",
    "Bandit",
    "Chino",
    "Dex",
    "Frosty",
    "Jinx",
    "Kobe",
    "Lenny",
)

SYLLABLES: Final = (
    "zar",
    "vil",
    "quo",
    "mek",
    "dru",
    "xan",
    "tev",
    "orb",
    "lum",
    "pax",
    "rin",
    "sov",
    "kel",
    "yth",
    "bro",
    "vek",
    "nim",
    "ulf",
    "jor",
    "wex",
    "tal",
    "ozu",
    "fen",
    "qir",
    "dov",
    "hal",
    "iva",
    "mox",
    "ser",
    "gul",
)
"""Name syllables chosen so that names read as clearly synthetic ("Zarvil Quomekson")."""

SURNAME_ENDINGS: Final = ("son", "by", "wick", "ton", "ley", "ford", "ham", "er", "ock", "ing")
NON_ASCII_SYLLABLES: Final = ("zé", "ño", "ła", "øn", "üs")
STREET_TYPES: Final = ("Road", "Street", "Close", "Grove", "Lane", "Avenue", "Drive", "Way")
HMP: Final = (
    "HMP Birmingham",
    "HMP Hewell",
    "HMP Featherstone",
    "HMP Oakwood",
    "HMP Stoke Heath",
    "HMP Drake Hall",
    "HMYOI Brinsford",
)
