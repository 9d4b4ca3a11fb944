"""Measure a demo corpus against the calibration targets, without Spark.

A compact pandas rendering of METHOD sections 2-3 (search with the demo's own terms,
evidence, provisional edges, deal lines, one-hop deepening, one propagation round,
pruning) and of section 8's "in the network" rule. It exists to tune the knobs of
:mod:`clnet_spark.demo.knobs` quickly and to test that the corpus is hard in the intended
way; it is *not* the product's implementation, which runs on Spark with the configured
catalogue. Malformed rows are dropped the simple way (empty or repeated ids, dates that do
not parse or lie after 2026-12-31, links to unknown records, nominals or sources).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from clnet_spark import columns as c
from clnet_spark.demo.vocab import DEMO_SEARCH_TERMS, SEARCH_GROUP_WEIGHTS

LINKING_ROLES: Final = frozenset(
    (
        "suspect",
        "offender",
        "charged",
        "arrested",
        "subject",
        "associate",
        "victim",
        "missing person",
    )
)
MAX_RECORD_NOMINALS: Final = 25
LINE_WEIGHT: Final = 0.4
THRESHOLD: Final = 0.5
_SEPARATOR: Final = r"[ \t\r\n\-_]+"
_PHONE: Final = re.compile(r"(?<!\d)(?:(?:\+|00)44 ?(?:\(0\))?|\(?0)7[\d .\-()]{9,13}")


def term_pattern(term: str) -> str:
    """METHOD section 2 semantics for one term, as a Python regular expression."""
    words = [
        "".join(f"[{ch.lower()}{ch.upper()}]" if ch.isalpha() else re.escape(ch) for ch in w)
        for w in term.split()
    ]
    return r"(?<!\w)" + _SEPARATOR.join(words) + r"[sS]?(?!\w)"


def group_patterns() -> dict[str, re.Pattern[str]]:
    """One compiled alternation per search group of the demo vocabulary."""
    return {
        group: re.compile("|".join(term_pattern(t) for t in terms))
        for group, terms in DEMO_SEARCH_TERMS.items()
    }


def phone_numbers(text: str) -> set[str]:
    """UK mobile numbers in ``text``, normalised to ``07xxxxxxxxx``."""
    out = set()
    for match in _PHONE.findall(text):
        digits = re.sub(r"\D", "", match)
        for prefix in ("0044", "440", "44"):  # 0044 7..., +44 (0)7..., +44 7...
            if digits.startswith(prefix):
                digits = "0" + digits[len(prefix) :]
                break
        if len(digits) == 11:
            out.add(digits)
    return out


def _dates_ok(values: pd.Series) -> pd.Series:
    iso = pd.to_datetime(values.str[:10], format="%Y-%m-%d", errors="coerce")
    uk = pd.to_datetime(values.str[:10], format="%d/%m/%Y", errors="coerce")
    day = iso.fillna(uk)
    return day.notna() & (day <= pd.Timestamp("2026-12-31"))


def load_records(folder: Path) -> pd.DataFrame:
    """Accepted records of the five sources: ``source, record_id, text``."""
    frames = []
    for source in c.SOURCES:
        df = pd.read_csv(folder / f"{source}.csv", dtype=str, keep_default_na=False)
        df = df[(df[c.RECORD_ID] != "") & _dates_ok(df[c.RECORDED_AT])]
        df = df.drop_duplicates(c.RECORD_ID, keep="first")
        frames.append(df.assign(source=source)[[c.SOURCE, c.RECORD_ID, c.TEXT]])
    return pd.concat(frames, ignore_index=True)


def _round(x: pd.Series) -> pd.Series:
    return x.round(9)


def _pairs(members: pd.DataFrame) -> pd.DataFrame:
    """All pairs ``(u < v)`` of nominals sharing a record; ``members``: ``rec, nominal``."""
    m = members.merge(members, on="rec", suffixes=("_u", "_v"))
    m = m[m["nominal_u"] < m["nominal_v"]]
    return m.rename(columns={"nominal_u": "u", "nominal_v": "v"})


@dataclass(frozen=True)
class Calibration:
    """Result of :func:`measure`.

    ``by_group`` has one row per search group: matching records in and out of the network,
    the share in, and how many of those in link a planted member (the rest are background
    records of background people the method keeps). ``weights`` has the final weight of
    every nominal in the graph.
    """

    by_group: pd.DataFrame
    weights: pd.Series
    evidence: pd.Series
    """``x(v)`` of the provisional nominals."""
    edges: pd.Series
    """Propagated edge weights, indexed by ``(u, v)`` with ``u < v``."""
    kept: frozenset[str]
    planted_kept: float
    background_kept: int


def measure(folder: Path) -> Calibration:
    """Run the simplified method on the corpus in ``folder`` and measure it."""
    folder = Path(folder)
    records = load_records(folder)
    records["rec"] = np.arange(len(records))
    patterns = group_patterns()
    for group, pattern in patterns.items():
        records[group] = records[c.TEXT].str.contains(pattern)
    groups = list(patterns)
    weight = sum(records[g] * SEARCH_GROUP_WEIGHTS[g] for g in groups)
    records["w"] = _round(np.minimum(1.0, weight))

    nominals = pd.read_csv(folder / "nominals.csv", dtype=str, keep_default_na=False)
    known = set(nominals[c.NOMINAL_ID]) - {""}
    links = pd.read_csv(folder / "record_nominals.csv", dtype=str, keep_default_na=False)
    links = links[links[c.ROLE].isin(LINKING_ROLES) & links[c.NOMINAL_ID].isin(known)]
    links = links.merge(records[[c.SOURCE, c.RECORD_ID, "rec", "w"]], on=[c.SOURCE, c.RECORD_ID])
    links = links.drop_duplicates(["rec", c.NOMINAL_ID]).rename(columns={c.NOMINAL_ID: "nominal"})
    size = links.groupby("rec")["nominal"].transform("size")
    pairable = links[size <= MAX_RECORD_NOMINALS][["rec", "nominal", "w"]]

    identified = links[links["w"] > 0]
    x = _round(np.minimum(1.0, identified.groupby("nominal")["w"].sum()))
    prov = _pairs(pairable[pairable["w"] > 0][["rec", "nominal"]]).merge(
        records[["rec", "w"]], on="rec"
    )
    e0 = prov.groupby(["u", "v"])["w"].sum()

    # deal lines: an active line adds LINE_WEIGHT to its nominals and to their pairs
    texts = records.set_index("rec")[c.TEXT]
    lines = [(rec, ph) for rec, t in texts.items() for ph in phone_numbers(t)]
    if lines:
        line_df = pd.DataFrame(lines, columns=["rec", "line"]).merge(
            records[["rec", "w"]], on="rec"
        )
        active = set(line_df.loc[line_df["w"] > 0, "line"])
        on_line = line_df[line_df["line"].isin(active)].merge(
            pairable[["rec", "nominal"]], on="rec"
        )
        on_line = on_line.drop_duplicates(["line", "nominal"])
        x = x.add(on_line.groupby("nominal").size() * LINE_WEIGHT, fill_value=0)
        extra = []
        for _, people in on_line.groupby("line")["nominal"]:
            extra += [tuple(sorted(p)) for p in combinations(sorted(set(people)), 2)]
        if extra:
            e0 = e0.add(
                pd.Series(LINE_WEIGHT, index=pd.MultiIndex.from_tuples(extra, names=["u", "v"]))
                .groupby(level=[0, 1])
                .sum(),
                fill_value=0,
            )
        x = _round(np.minimum(1.0, x))
    e0 = _round(np.minimum(1.0, e0))
    e0.index.names = ["u", "v"]

    provisional = set(x[x > 0].index)
    co = _pairs(pairable[["rec", "nominal"]])[["u", "v"]]
    rels = pd.read_csv(folder / "relationships.csv", dtype=str, keep_default_na=False)
    rels = rels[rels[c.NOMINAL_A].isin(known) & rels[c.NOMINAL_B].isin(known)]
    rels = rels[rels[c.NOMINAL_A] != rels[c.NOMINAL_B]]
    ra, rb = rels[c.NOMINAL_A], rels[c.NOMINAL_B]
    rel_pairs = pd.DataFrame({"u": np.minimum(ra, rb), "v": np.maximum(ra, rb)})
    candidates = pd.concat([co, rel_pairs]).drop_duplicates()
    touching = candidates["u"].isin(provisional) | candidates["v"].isin(provisional)
    edges = candidates[touching].set_index(["u", "v"]).index.union(e0.index)
    e = pd.Series(0.0, index=edges).add(e0, fill_value=0)

    def node_sum(edge_weights: pd.Series) -> pd.Series:
        frame = edge_weights.reset_index()
        frame.columns = ["u", "v", "e"]
        both = pd.concat([frame[["u", "e"]], frame[["v", "e"]].rename(columns={"v": "u"})])
        return both.groupby("u")["e"].sum()

    nodes = node_sum(e).index
    xs = x.reindex(nodes, fill_value=0.0)
    n1 = _round(np.maximum(xs, np.minimum(1.0, node_sum(e).reindex(nodes, fill_value=0.0))))
    u_w = n1.reindex(e.index.get_level_values(0)).to_numpy()
    v_w = n1.reindex(e.index.get_level_values(1)).to_numpy()
    e1 = _round(pd.Series((u_w + v_w) / 2, index=e.index))
    final = _round(np.maximum(xs, np.minimum(1.0, node_sum(e1).reindex(nodes, fill_value=0.0))))
    final = final.combine_first(x)
    kept = frozenset(final[final >= THRESHOLD].index)

    planted = pd.read_csv(folder / "ground_truth" / "cl_nominals.csv", dtype=str)
    planted_ids = set(planted[c.NOMINAL_ID])
    flags = links.assign(k=links["nominal"].isin(kept), p=links["nominal"].isin(planted_ids))
    per_record = flags.groupby("rec")[["k", "p"]].any()
    records["in_network"] = records["rec"].map(per_record["k"]).astype("boolean").fillna(False)
    records["planted"] = records["rec"].map(per_record["p"]).astype("boolean").fillna(False)
    rows = []
    for group in groups:
        matching = records[records[group]]
        n_in = int(matching["in_network"].sum())
        rows.append(
            {
                "group": group,
                "in": n_in,
                "out": len(matching) - n_in,
                "share_in": n_in / len(matching) if len(matching) else float("nan"),
                "in_planted": int((matching["in_network"] & matching["planted"]).sum()),
            }
        )
    return Calibration(
        by_group=pd.DataFrame(rows).set_index("group"),
        weights=final,
        evidence=x,
        edges=e1,
        kept=kept,
        planted_kept=len(planted_ids & kept) / max(len(planted_ids), 1),
        background_kept=len(kept - planted_ids),
    )
