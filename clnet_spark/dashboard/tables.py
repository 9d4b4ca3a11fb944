"""HTML tables of pandas frames for the dashboard pages (every cell escaped)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from markupsafe import Markup, escape

from clnet_spark import columns as c

LINKED = {c.NOMINAL_ID: "/nominals/", "other": "/nominals/", c.GROUP_ID: "/groups/"}
"""Columns whose values link to a page (nominal or group)."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return " ".join(_text(v) for v in value.values())
    if isinstance(value, pd.Timestamp):
        return "" if pd.isna(value) else value.strftime("%Y-%m-%d")
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def html_table(frame: pd.DataFrame, table_id: str, limit: int | None = 500) -> Markup:
    """A ``<table id=table_id>`` of ``frame`` (first ``limit`` rows, a note when cut)."""
    shown = frame if limit is None else frame.head(limit)
    head = "".join(f"<th>{escape(str(col))}</th>" for col in shown.columns)
    rows = []
    for record in shown.itertuples(index=False):
        cells = []
        for col, value in zip(shown.columns, record, strict=True):
            text = escape(_text(value))
            if col in LINKED and text:
                text = Markup(f'<a href="{LINKED[col]}{text}">{text}</a>')
            cells.append(f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    note = ""
    if limit is not None and len(frame) > limit:
        note = f'<p class="note">First {limit} of {len(frame)} rows; export for all.</p>'
    return Markup(
        f'<p class="count">{len(frame)} rows</p><table id="{escape(table_id)}" class="data">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}"
    )
