"""Home Office offence codes in one canonical form, for the harm tables and the crime records.

Police systems and the public harm indices write the same offence in many notations. Two code
systems are in use, and both appear in crime records:

- the **recorded-crime offence code** (the Home Office counting code that ONS publishes and
  the Crime Severity Score uses): a class number and an optional letter, ``8N``, ``92A``,
  ``105A``, ``49``; sometimes padded, ``008N``, ``092A``; for a few classes a sub-code after a
  dot or a slash, ``4.1`` / ``4/1`` (manslaughter), ``37.2`` / ``37/2``;
- the **Home Office classification** (class and subclass): ``008/01``, ``8/1``, ``092/30``,
  ``803/10``; in some exports packed into five digits, ``00801``.

The canonical form, written by :func:`normalise_code` (Python) and
:func:`normalise_code_column` (Spark) from the same patterns:

====================  ===========================================  ===========================
notation              rule                                         canonical
====================  ===========================================  ===========================
``8N``, ``008n``      class without leading zeros + optional       ``8N``
                      letter, upper case
``8/1``, ``008/01``   class without leading zeros, ``/``, subclass  ``8/01``
``8.1``, ``4.1``      as two digits; ``.`` and ``/`` are the same   ``8/01``, ``4/01``
``8.10``, ``4/10``    (``4.1`` and ``4.10`` are different codes)    ``8/10``, ``4/10``
``00801``, ``00200``  exactly five digits: three of class, two of   ``8/01``, ``2/00``
                      subclass
====================  ===========================================  ===========================

ASCII white space anywhere in a code is removed first. The class is 1 to 999, written with at
most three digits after up to two leading zeros; the subclass is 0 to 99, with any number of
leading zeros. Anything else (``NN`` for non-notifiable, ``NFIB``, ``ASB``, an empty string,
``8/100``, ``1234``, ``00012``) is not a code: both functions return null, and the harm stage
counts such a crime as having an unrecognised code.

The ONS sub-codes ``4.x`` and ``37.x`` and the Home Office classifications ``004/xx`` and
``037/xx`` share canonical forms (``4.1`` and ``004/01`` are both ``4/01``). That is deliberate:
the ONS sub-codes were numbered after the Home Office subclasses, the CCHI sheet itself writes
``4/1`` for ONS ``4.1``, and a record holding ``4/1`` cannot say which system it used. Where
the two systems give one canonical code different CCHI values (``4/04``: 1095 days for
``004/04``, 365 for ``004/12``, which CCHI also classifies ``4/4``) the lowest applies, as for
any code with several values.
"""

from __future__ import annotations

import re
from typing import Final

from pyspark.sql import Column
from pyspark.sql import functions as F

_SPACE: Final = r"[ \t\n\r\f\x0B]"
"""ASCII white space, spelled out: Java's and Python's ``\\s`` differ outside ASCII."""

PACKED_PATTERN: Final = r"^(?=[0-9]{5}$)0{0,2}([1-9][0-9]{0,2})([0-9]{2})$"
"""Five digits, ``cccss``: a Home Office classification without its slash."""

SUBCLASS_PATTERN: Final = r"^0{0,2}([1-9][0-9]{0,2})[/.]0*([0-9]{1,2})$"
"""``class/subclass`` or ``class.subclass``, with leading zeros in either part."""

CODE_PATTERN: Final = r"^0{0,2}([1-9][0-9]{0,2})([A-Z]?)$"
"""A recorded-crime offence code: class and an optional letter."""

_PACKED = re.compile(PACKED_PATTERN)
_SUBCLASS = re.compile(SUBCLASS_PATTERN)
_CODE = re.compile(CODE_PATTERN)
_SPACES = re.compile(_SPACE)
_DOTTED_LIST = re.compile(r"^([0-9]+)\.([0-9]+(?:/[0-9]+)+)$")


def normalise_code(raw: str | None) -> str | None:
    """The canonical form of one offence code, or None when ``raw`` is not a code.

    Examples
    --------
    >>> [normalise_code(x) for x in ("008N", "8/1", "4.1", "4.10", "00200", "NN", None)]
    ['8N', '8/01', '4/01', '4/10', '2/00', None, None]
    """
    if raw is None:
        return None
    code = _SPACES.sub("", raw).upper()
    packed = _PACKED.match(code)
    if packed:
        return f"{packed.group(1)}/{packed.group(2)}"
    subclass = _SUBCLASS.match(code)
    if subclass:
        return f"{subclass.group(1)}/{subclass.group(2).zfill(2)}"
    plain = _CODE.match(code)
    if plain:
        return plain.group(1) + plain.group(2)
    return None


def normalise_code_column(raw: Column) -> Column:
    """Spark twin of :func:`normalise_code`: the canonical form of a string column, or null.

    Built from native functions and the same patterns, so a code normalises identically in a
    harm table (Python) and in the crime records (Spark); ``tests/harm/test_codes.py`` checks
    both on every notation and on every code of the public reference tables.
    """
    code = F.upper(F.regexp_replace(raw, _SPACE, ""))
    return (
        F.when(
            code.rlike(PACKED_PATTERN),
            F.concat(
                F.regexp_extract(code, PACKED_PATTERN, 1),
                F.lit("/"),
                F.regexp_extract(code, PACKED_PATTERN, 2),
            ),
        )
        .when(
            code.rlike(SUBCLASS_PATTERN),
            F.concat(
                F.regexp_extract(code, SUBCLASS_PATTERN, 1),
                F.lit("/"),
                F.lpad(F.regexp_extract(code, SUBCLASS_PATTERN, 2), 2, "0"),
            ),
        )
        .when(
            code.rlike(CODE_PATTERN),
            F.concat(
                F.regexp_extract(code, CODE_PATTERN, 1),
                F.regexp_extract(code, CODE_PATTERN, 2),
            ),
        )
        .otherwise(F.lit(None).cast("string"))
    )


def expand_code_list(raw: str) -> list[str]:
    """The single codes of a compound code cell of the public tables, in their order.

    The ONS Crime Severity Score tool lists the homicide group as ``1, 4.1/2/10`` (codes 1,
    4.1, 4.2 and 4.10) and the CCHI-derived tables join codes with ``;``. Parts are split on
    ``,`` and ``;``; a part ``a.b/c/d`` becomes ``a.b``, ``a.c``, ``a.d``. Every other part
    (``4/1``, ``008/01``) is one code. The parts are returned as written (not normalised).

    Examples
    --------
    >>> expand_code_list("1, 4.1/2/10")
    ['1', '4.1', '4.2', '4.10']
    >>> expand_code_list("8N;8S")
    ['8N', '8S']
    """
    codes: list[str] = []
    for part in re.split(r"[,;]", raw):
        part = _SPACES.sub("", part)
        if not part:
            continue
        dotted = _DOTTED_LIST.match(part)
        if dotted:
            codes.extend(f"{dotted.group(1)}.{sub}" for sub in dotted.group(2).split("/"))
        else:
            codes.append(part)
    return codes
