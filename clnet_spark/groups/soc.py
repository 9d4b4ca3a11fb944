"""Overlap of county-lines groups with the serious-organised-crime groups (METHOD section 5)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from clnet_spark.columns import GROUP_ID, NOMINAL_ID, SOC_GROUP_ID

PAIR_COLUMNS = (
    GROUP_ID,
    SOC_GROUP_ID,
    "shared",
    "group_size",
    "soc_group_size",
    "overlap",
    "associated",
    "is_best",
)


@dataclass(frozen=True)
class SocOverlap:
    """The three views of the overlap."""

    pairs: pd.DataFrame
    """One row per (CL group, SOC group) sharing a member, plus one row (soc_group_id null,
    overlap 0) for each CL group touching no SOC group. Columns: :data:`PAIR_COLUMNS`."""
    per_soc: pd.DataFrame
    """soc_group_id, cl_groups (sorted list), cl_members: the CL groups touching each S."""
    not_in_soc: pd.DataFrame
    """nominal_id, group_id: CL nominals in no SOC group."""


def soc_overlap(membership: pd.DataFrame, soc: pd.DataFrame, threshold: float = 0.5) -> SocOverlap:
    """``overlap(G, S) = |G ∩ S| / |G|``; G is associated with S when it exceeds ``threshold``.

    Parameters
    ----------
    membership
        nominal_id, group_id of the CL nominals in a group (one row per nominal).
    soc
        nominal_id, soc_group_id (a nominal may be in several SOC groups).

    Notes
    -----
    The best S of a group is the one with the highest overlap, ties broken by the smaller
    soc_group_id. ``soc_group_size`` counts all members of S in the SOC table given.
    """
    sizes = membership.groupby(GROUP_ID)[NOMINAL_ID].nunique().rename("group_size")
    soc_sizes = soc.groupby(SOC_GROUP_ID)[NOMINAL_ID].nunique().rename("soc_group_size")
    joined = membership.merge(soc, on=NOMINAL_ID, how="inner")
    shared = joined.groupby([GROUP_ID, SOC_GROUP_ID])[NOMINAL_ID].nunique().rename("shared")
    pairs = shared.reset_index().join(sizes, on=GROUP_ID).join(soc_sizes, on=SOC_GROUP_ID)
    pairs["overlap"] = pairs["shared"] / pairs["group_size"]
    pairs["associated"] = pairs["overlap"] > threshold
    pairs = pairs.sort_values(
        [GROUP_ID, "overlap", SOC_GROUP_ID], ascending=[True, False, True], kind="mergesort"
    )
    pairs["is_best"] = ~pairs.duplicated(GROUP_ID)

    untouched = sizes[~sizes.index.isin(pairs[GROUP_ID])].reset_index()
    untouched = untouched.assign(
        soc_group_id=None,
        shared=0,
        soc_group_size=0,
        overlap=0.0,
        associated=False,
        is_best=False,
    )
    pairs = (
        pd.concat([pairs, untouched], ignore_index=True)
        .loc[:, list(PAIR_COLUMNS)]
        .sort_values([GROUP_ID, "overlap", SOC_GROUP_ID], ascending=[True, False, True])
        .reset_index(drop=True)
    )
    per_soc = (
        joined.groupby(SOC_GROUP_ID)
        .agg(cl_groups=(GROUP_ID, lambda s: sorted(set(s))), cl_members=(NOMINAL_ID, "nunique"))
        .reset_index()
    )
    in_soc = set(soc[NOMINAL_ID])
    not_in_soc = (
        membership[~membership[NOMINAL_ID].isin(in_soc)]
        .loc[:, [NOMINAL_ID, GROUP_ID]]
        .sort_values(NOMINAL_ID)
        .reset_index(drop=True)
    )
    return SocOverlap(pairs=pairs, per_soc=per_soc, not_in_soc=not_in_soc)
