"""Exports of the output tables: CSV under ``<warehouse>/exports/``, and the dashboard's.

Only analytical columns are exported: the ``restricted`` maps, the quarantine's raw rows and
the restricted ``nominal_identity`` table (source ids, names, addresses) stay in Delta.
Array columns become ``;``-separated text, and the per-term matches JSON. The
same rules apply to the pandas frames the dashboard exports (:func:`flatten_frame`), which it
offers as CSV, Excel, the network as GraphML or GEXF (Gephi), and entity and link tables for
i2 Analyst's Notebook (:func:`i2_entities`, :func:`i2_links`; layout in ``docs/dashboard.md``).
"""

from __future__ import annotations

import io as _io
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd
from openpyxl import Workbook
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, MapType, StructType

from clnet_spark import columns as c
from clnet_spark import io
from clnet_spark.columns import Tables

log = logging.getLogger(__name__)

EXPORTED = (
    Tables.INGEST_COUNTS,
    Tables.RECORD_MATCHES,
    Tables.SEARCH_GROUP_REPORT,
    Tables.SEARCH_TERM_REPORT,
    Tables.LINES,
    Tables.GROUP_LINES,
    Tables.CL_NOMINALS,
    Tables.CL_EDGES,
    Tables.CL_GROUPS,
    Tables.GROUP_CHANGES,
    Tables.SOC_OVERLAP,
    Tables.HARM_CRIMES,
    Tables.NOMINAL_HARM,
    Tables.GROUP_HARM,
    Tables.SAFEGUARDING_FLAGS,
    Tables.SAFEGUARDING_LIST,
    Tables.MISSING_PERSONS,
    Tables.DISPROPORTIONALITY,
    Tables.CENTRALITY,
    Tables.GROUP_PRIORITY,
    Tables.DISMANTLING,
)


NEVER_EXPORTED = (Tables.NOMINAL_IDENTITY, Tables.QUARANTINE)
"""Restricted tables: no export holds them (the quarantine only as counts)."""


def flatten_for_csv(frame: DataFrame) -> DataFrame:
    """Every column as CSV-friendly text; restricted (map) columns are left out."""
    out: list[Column] = []
    for field in frame.schema.fields:
        col = F.col(f"`{field.name}`")
        if field.name in (c.RESTRICTED, c.SOURCE_NOMINAL_ID) or isinstance(field.dataType, MapType):
            continue
        if isinstance(field.dataType, ArrayType) and not isinstance(
            field.dataType.elementType, StructType
        ):
            out.append(F.array_join(col.cast("array<string>"), ";").alias(field.name))
        elif isinstance(field.dataType, ArrayType | StructType):
            out.append(F.to_json(col).alias(field.name))
        else:
            out.append(col)
    return frame.select(*out)


def quarantine_summary(quarantine: DataFrame) -> DataFrame:
    """Counts of quarantined rows per table, file and reason (no row content)."""
    return (
        quarantine.groupBy("table", "file", "reason")
        .agg(F.count(F.lit(1)).alias("rows"))
        .orderBy("table", "reason")
    )


def write_exports(spark: SparkSession, warehouse: Path) -> dict[str, Path]:
    """Write the CSV exports; return table name -> file written (under ``exports/``).

    The files are written into a new folder under ``_exports.versions/`` and published as
    ``<warehouse>/exports`` in one atomic step (:func:`clnet_spark.io.publish_folder`): a
    reader of ``exports/`` sees the previous complete set or the new one, and a run killed
    while exporting leaves the previous set in place.
    """
    published = warehouse / "exports"
    target = io.staging_folder(published)
    written: dict[str, Path] = {}
    for name in EXPORTED:
        if name in NEVER_EXPORTED:  # pragma: no cover - a guard against a future edit
            raise AssertionError(f"{name} is restricted and must not be exported")
        if not io.table_exists(spark, warehouse, name):
            continue
        frame = flatten_for_csv(io.read_table(spark, warehouse, name))
        path = target / f"{name}.csv"
        io.write_single_csv(frame, path)
        written[name] = path
    if io.table_exists(spark, warehouse, Tables.QUARANTINE):
        path = target / "quarantine_summary.csv"
        io.write_single_csv(
            quarantine_summary(io.read_table(spark, warehouse, Tables.QUARANTINE)), path
        )
        written["quarantine_summary"] = path
    io.publish_folder(target, published)
    log.info("exported %d tables to %s", len(written), published)
    return {name: published / path.relative_to(target) for name, path in written.items()}


# --- pandas exports (dashboard) ------------------------------------------------------------
def _cell(value: Any) -> Any:
    if isinstance(value, dict):
        return None  # a map column: restricted, never exported
    if isinstance(value, list | tuple):
        if any(isinstance(v, dict) for v in value):
            return json.dumps(list(value), default=str, sort_keys=True)
        return ";".join("" if v is None else str(v) for v in value)
    return value


def flatten_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A pandas frame as export-friendly scalars, by the rules of :func:`flatten_for_csv`.

    The ``restricted`` column and any column of dicts (maps) are left out; lists of scalars
    become ``;``-joined text, lists of structs JSON. Timezone-aware times become naive UTC
    (Excel has no time zones).
    """
    out = {}
    for name in frame.columns:
        col = frame[name]
        if name == c.RESTRICTED or any(isinstance(v, dict) for v in col):
            continue
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            out[name] = col.dt.tz_convert("UTC").dt.tz_localize(None)
        elif col.dtype == object:
            out[name] = [_cell(v) for v in col]
        else:
            out[name] = col
    return pd.DataFrame(out, index=frame.index)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (header row, no index) of :func:`flatten_frame`."""
    return flatten_frame(frame).to_csv(index=False).encode("utf-8")


_FORMULA_START = ("=", "+", "-", "@")


def excel_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An .xlsx workbook with one sheet per frame (sheet names cut to Excel's 31 characters).

    Text that Excel would run as a formula (starting ``=``, ``+``, ``-``, ``@``) is stored as
    text, not as a formula.
    """
    book = Workbook()
    book.remove(book.active)
    for title, frame in sheets.items():
        sheet = book.create_sheet(title[:31])
        flat = flatten_frame(frame)
        sheet.append([str(col) for col in flat.columns])
        for row in flat.itertuples(index=False):
            sheet.append([None if _missing(v) else v for v in row])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith(_FORMULA_START):
                    cell.data_type = "s"
    buffer = _io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def network_graph(nominals: pd.DataFrame, edges: pd.DataFrame) -> nx.Graph:
    """The county-lines network as an undirected networkx graph.

    Parameters
    ----------
    nominals
        One row per nominal: ``nominal_id`` and scalar attributes (group_id, group_kind,
        weight, ...) which become node attributes; missing values are left out.
    edges
        ``src``, ``dst``, ``weight``, ``adversarial_only``, ``relationship_types``,
        ``evidence_records``; lists become ``;``-joined text.
    """
    graph = nx.Graph()
    flat = flatten_frame(nominals)
    for row in flat.to_dict("records"):
        node = row.pop(c.NOMINAL_ID)
        graph.add_node(node, **{k: _plain(v) for k, v in row.items() if not _missing(v)})
    for row in flatten_frame(edges).to_dict("records"):
        src, dst = row.pop(c.SRC), row.pop(c.DST)
        graph.add_edge(src, dst, **{k: _plain(v) for k, v in row.items() if not _missing(v)})
    return graph


def _plain(value: Any) -> Any:
    """numpy scalars -> Python (the GraphML/GEXF writers need plain types)."""
    return value.item() if hasattr(value, "item") else value


def graphml_bytes(graph: nx.Graph) -> bytes:
    buffer = _io.BytesIO()
    nx.write_graphml(graph, buffer)
    return buffer.getvalue()


def gexf_bytes(graph: nx.Graph) -> bytes:
    buffer = _io.BytesIO()
    nx.write_gexf(graph, buffer)
    return buffer.getvalue()


I2_ENTITY_COLUMNS = (
    "Entity Type",
    "Identity",
    "Label",
    "Group",
    "Group Kind",
    "Weight",
    "CCHI All",
    "ONS All",
    "Safeguarding Listed",
)
I2_LINK_COLUMNS = (
    "Link Type",
    "From Entity Type",
    "From Identity",
    "To Entity Type",
    "To Identity",
    "Link Label",
    "Weight",
    "Adversarial Only",
    "Evidence Records",
)


def _get(frame: pd.DataFrame, name: str) -> Iterable[Any]:
    return frame[name] if name in frame.columns else [None] * len(frame)


def i2_entities(nominals: pd.DataFrame) -> pd.DataFrame:
    """Entity table for i2 Analyst's Notebook's import (one ``Person`` row per nominal).

    Columns: :data:`I2_ENTITY_COLUMNS`; ``Identity`` and ``Label`` are the pseudonymous
    ``nominal_id``.
    """
    return pd.DataFrame(
        {
            "Entity Type": "Person",
            "Identity": nominals[c.NOMINAL_ID].to_numpy(),
            "Label": nominals[c.NOMINAL_ID].to_numpy(),
            "Group": list(_get(nominals, c.GROUP_ID)),
            "Group Kind": list(_get(nominals, c.GROUP_KIND)),
            "Weight": list(_get(nominals, c.WEIGHT)),
            "CCHI All": list(_get(nominals, "cchi_all")),
            "ONS All": list(_get(nominals, "ons_all")),
            "Safeguarding Listed": list(_get(nominals, "safeguarding_listed")),
        },
        columns=list(I2_ENTITY_COLUMNS),
    )


def i2_links(edges: pd.DataFrame) -> pd.DataFrame:
    """Link table for i2 Analyst's Notebook: one ``Associate`` link per network edge.

    Columns: :data:`I2_LINK_COLUMNS`; ``Link Label`` is the relationship types (or
    ``co-recorded``), ``Evidence Records`` the ``source:record_id`` keys joined with ``;``.
    """
    flat = flatten_frame(edges)
    labels = [t if t else "co-recorded" for t in flat[c.RELATIONSHIP_TYPES].fillna("")]
    return pd.DataFrame(
        {
            "Link Type": "Associate",
            "From Entity Type": "Person",
            "From Identity": flat[c.SRC].to_numpy(),
            "To Entity Type": "Person",
            "To Identity": flat[c.DST].to_numpy(),
            "Link Label": labels,
            "Weight": flat[c.WEIGHT].to_numpy(),
            "Adversarial Only": flat[c.ADVERSARIAL_ONLY].to_numpy(),
            "Evidence Records": flat[c.EVIDENCE_RECORDS].to_numpy(),
        },
        columns=list(I2_LINK_COLUMNS),
    )
