"""Exact weight arithmetic.

METHOD fixes every weight to 9 decimal places, rounded half to even after each step, so that
results do not depend on summation order. clnet keeps weights as ``DECIMAL(12, 9)``: sums of
decimals are exact in any order, and :func:`round9` applies the half-to-even rounding after a
division.
"""

from __future__ import annotations

from typing import Final

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType

WEIGHT_TYPE: Final = DecimalType(12, 9)
"""Weights lie in [0, 1]; sums before the cap of 1 fit easily in 3 integer digits."""

SUM_TYPE: Final = DecimalType(38, 9)


def as_weight(column: Column | float) -> Column:
    """Cast a column (or a Python number) to the weight type."""
    col = column if isinstance(column, Column) else F.lit(str(column))
    return col.cast(WEIGHT_TYPE)


def round9(column: Column) -> Column:
    """Round to 9 decimal places, half to even, as the weight type."""
    return F.bround(column, 9).cast(WEIGHT_TYPE)


def capped_sum(column: Column) -> Column:
    """``min(1, sum(column))`` as an aggregate, exact (decimal) and rounded to 9 places."""
    total = F.sum(column.cast(SUM_TYPE))
    return round9(F.least(total, F.lit(1).cast(SUM_TYPE)))
