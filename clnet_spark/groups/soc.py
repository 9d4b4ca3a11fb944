"""Overlap of county-lines groups with the serious-organised-crime groups (METHOD section 5)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

import pandas as pd

from clnet_spark.columns import GROUP_ID, NOMINAL_ID, SOC_GROUP_ID
from clnet_spark.errors import ClnetError

logger = logging.getLogger(__name__)

SHARED: Final = "shared"
GROUP_SIZE: Final = "group_size"
SOC_GROUP_SIZE: Final = "soc_group_size"
OVERLAP: Final = "overlap"
ASSOCIATED: Final = "associated"
IS_BEST: Final = "is_best"
CL_GROUPS: Final = "cl_groups"
CL_MEMBERS: Final = "cl_members"
PAIR_COLUMNS: Final = (
    GROUP_ID,
    SOC_GROUP_ID,
    SHARED,
    GROUP_SIZE,
    SOC_GROUP_SIZE,
    OVERLAP,
    ASSOCIATED,
    IS_BEST,
)
PER_SOC_COLUMNS: Final = (SOC_GROUP_ID, CL_GROUPS, CL_MEMBERS)
NOT_IN_SOC_COLUMNS: Final = (NOMINAL_ID, GROUP_ID)


class SocInputError(ClnetError):
    """The membership or SOC table given to :func:`soc_overlap` breaks its input contract."""


@dataclass(frozen=True)
class SocOverlap:
    """The overlap of the CL groups with the SOC groups, seen three ways.

    Attributes
    ----------
    pairs : pandas.DataFrame
        Columns :data:`PAIR_COLUMNS`, sorted by ``group_id`` then ``soc_group_id``. One row per
        (CL group G, SOC group S) sharing at least one nominal: ``shared = |G & S|``,
        ``group_size = |G|``, ``soc_group_size = |S|`` (all of S in the SOC table given),
        ``overlap = shared / group_size``, ``associated`` (overlap above the threshold),
        ``is_best`` (S is G's best: highest overlap, ties to the smaller ``soc_group_id``).
        A group sharing no one with any SOC group has one row with ``soc_group_id`` null,
        ``shared``, ``soc_group_size`` and ``overlap`` 0, not associated, ``is_best`` true --
        so the ``is_best`` rows are exactly one per CL group.
    per_soc : pandas.DataFrame
        Columns :data:`PER_SOC_COLUMNS`, one row per SOC group in the SOC table, sorted:
        ``cl_groups`` (sorted list of the CL groups sharing a nominal with it, possibly empty)
        and ``cl_members`` (how many CL nominals it holds).
    not_in_soc : pandas.DataFrame
        Columns :data:`NOT_IN_SOC_COLUMNS`, sorted by ``nominal_id``: the CL nominals in no SOC
        group, the people the SOC analysis has not yet identified.
    """

    pairs: pd.DataFrame
    per_soc: pd.DataFrame
    not_in_soc: pd.DataFrame


def _check(frame: pd.DataFrame, name: str, columns: tuple[str, str]) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SocInputError(
            f"{name}: missing column(s) {missing}; expected {list(columns)}; "
            f"columns present: {list(frame.columns)}"
        )
    table = frame.loc[:, list(columns)]
    nulls = int(table.isna().any(axis=1).sum())
    if nulls:
        raise SocInputError(f"{name}: {nulls} row(s) with a null {columns[0]} or {columns[1]}")
    return table


def soc_overlap(membership: pd.DataFrame, soc: pd.DataFrame, threshold: float = 0.5) -> SocOverlap:
    """Overlap of each CL group G with each SOC group S: ``|G & S| / |G|``.

    G is associated with S when the overlap is strictly above ``threshold``; the comparison is
    exact, with the threshold read as the decimal it prints as (so 2/4 is not above 0.5).

    Parameters
    ----------
    membership : pandas.DataFrame
        ``nominal_id``, ``group_id``: the CL nominals that are in a group, one row each
        (unlinked nominals are left out).
    soc : pandas.DataFrame
        ``nominal_id``, ``soc_group_id``: one row per (nominal, SOC group); a nominal may be in
        several SOC groups.
    threshold : float
        Association threshold in [0, 1] (METHOD default 0.5).

    Returns
    -------
    SocOverlap

    Raises
    ------
    SocInputError
        For a missing column (the columns present are listed), a null id, a nominal in two
        CL groups, a repeated (nominal, SOC group) row, or a threshold outside [0, 1].
    """
    if not 0 <= threshold <= 1:
        raise SocInputError(f"threshold: expected a number in [0, 1], got {threshold!r}")
    members = _check(membership, "membership", (NOMINAL_ID, GROUP_ID))
    soc_rows = _check(soc, "soc", (NOMINAL_ID, SOC_GROUP_ID))
    if members[NOMINAL_ID].duplicated().any():
        repeated = int(members[NOMINAL_ID].duplicated().sum())
        raise SocInputError(f"membership: {repeated} nominal(s) listed more than once")
    if soc_rows.duplicated().any():
        raise SocInputError(
            f"soc: {int(soc_rows.duplicated().sum())} repeated (nominal_id, soc_group_id) row(s)"
        )
    limit = Fraction(str(float(threshold)))

    group_size = members.groupby(GROUP_ID).size()
    soc_size = soc_rows.groupby(SOC_GROUP_ID).size()
    joined = members.merge(soc_rows, on=NOMINAL_ID, how="inner", validate="one_to_many")
    shared = joined.groupby([GROUP_ID, SOC_GROUP_ID]).size()

    rows = []
    for (group, soc_group), count in shared.items():
        size = int(group_size[group])
        rows.append(
            (group, soc_group, int(count), size, int(soc_size[soc_group]), count / size,
             Fraction(int(count), size) > limit)
        )  # fmt: skip
    touched = set(shared.index.get_level_values(GROUP_ID))
    rows.extend(
        (group, None, 0, int(size), 0, 0.0, False)
        for group, size in group_size.items()
        if group not in touched
    )
    pairs = pd.DataFrame(rows, columns=list(PAIR_COLUMNS[:-1]))
    pairs = pairs.astype(
        {SHARED: "int64", GROUP_SIZE: "int64", SOC_GROUP_SIZE: "int64", OVERLAP: "float64"}
    ).astype({ASSOCIATED: "bool"})
    best_first = pairs.sort_values(
        [GROUP_ID, SHARED, SOC_GROUP_ID], ascending=[True, False, True], kind="mergesort"
    )
    # Within a group every pair has the same |G|, so the most shared is the highest overlap.
    pairs[IS_BEST] = False
    pairs.loc[best_first.drop_duplicates(GROUP_ID).index, IS_BEST] = True
    pairs = pairs.sort_values(
        [GROUP_ID, SOC_GROUP_ID], na_position="last", kind="mergesort", ignore_index=True
    )

    touching = joined.groupby(SOC_GROUP_ID)
    per_soc = pd.DataFrame(
        {
            SOC_GROUP_ID: soc_size.index,
            CL_GROUPS: [
                sorted(set(touching.get_group(s)[GROUP_ID])) if s in touching.groups else []
                for s in soc_size.index
            ],
            CL_MEMBERS: [
                len(touching.get_group(s)) if s in touching.groups else 0 for s in soc_size.index
            ],
        },
        columns=list(PER_SOC_COLUMNS),
    ).astype({CL_MEMBERS: "int64"})

    not_in_soc = (
        members[~members[NOMINAL_ID].isin(set(soc_rows[NOMINAL_ID]))]
        .sort_values(NOMINAL_ID, kind="mergesort")
        .reset_index(drop=True)
    )
    logger.info(
        "SOC overlap: %d CL groups, %d SOC groups, %d associated pairs, %d CL nominals in no "
        "SOC group",
        len(group_size),
        len(soc_size),
        int(pairs[ASSOCIATED].sum()),
        len(not_in_soc),
    )
    return SocOverlap(pairs=pairs, per_soc=per_soc, not_in_soc=not_in_soc)
