"""The run summary an analyst reads on the terminal, built from the stage reports.

Returns ``rich`` renderables; the CLI prints them. Counts only: no names, dates of birth or
record text ever appear here.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table

from clnet_spark.run import RunContext, StageReport

# Share of matching records in the network, per search group, in the seed's appendix.
SEED_IN_NETWORK = {
    "CL_WORDS": (6, 0),
    "COUNTY_LINE": (8272, 0),
    "CUCKOO": (208, 0),
    "DRUGS_LINE": (1036, 4363),
    "MISPER": (1645, 23713),
    "OTHER": (864, 4211),
    "COCAINE": (1225, 68314),
    "CRACK": (1020, 40729),
    "HEROIN": (962, 37640),
    "WEED": (684, 37755),
    "SMACK": (43, 7309),
    "OTHER_DRUGS": (251, 23601),
}


def _share(inside: int, outside: int) -> str:
    total = inside + outside
    return f"{inside / total:.1%}" if total else "-"


def stage_table(reports: list[StageReport]) -> Table:
    table = Table(title="Stages", show_lines=False)
    for column in ("stage", "seconds", "tables written (Delta version)"):
        table.add_column(column)
    for report in reports:
        written = ", ".join(f"{name} v{version}" for name, version in report.tables.items())
        table.add_row(report.stage, f"{report.seconds:.1f}", written)
    return table


def ingest_table(report: StageReport) -> Table:
    table = Table(title="Ingest: rows read = accepted + quarantined + deleted")
    for column in ("table", "file", "read", "accepted", "quarantined", "deleted"):
        table.add_column(column, justify="right" if column not in ("table", "file") else "left")
    for row in report.counts.get("tables", []):
        table.add_row(
            row["table"],
            row["file"],
            *(f"{row[k]:,}" for k in ("read", "accepted", "quarantined", "deleted")),
        )
    return table


def search_group_table(report: StageReport) -> Table:
    table = Table(title="Matching records in / not in the network, per search group")
    for column in ("group", "in network", "not in network", "share in", "seed appendix share"):
        table.add_column(column, justify="left" if column == "group" else "right")
    for group, _total, inside, outside in report.counts.get("search groups", []):
        seed = SEED_IN_NETWORK.get(group)
        table.add_row(
            group,
            f"{inside:,}",
            f"{outside:,}",
            _share(inside, outside),
            _share(*seed) if seed else "-",
        )
    return table


def search_term_table(report: StageReport) -> Table:
    """Per search term with at least one matching record: records in / not in the network."""
    table = Table(title="Matching records in / not in the network, per search term")
    for column in ("group", "term", "in network", "not in network", "share in"):
        table.add_column(column, justify="left" if column in ("group", "term") else "right")
    for group, term, _total, inside, outside in report.counts.get("search terms", []):
        table.add_row(group, term, f"{inside:,}", f"{outside:,}", _share(inside, outside))
    return table


def counts_table(report: StageReport, skip: tuple[str, ...] = ()) -> Table:
    table = Table(title=f"{report.stage.capitalize()}")
    table.add_column("count")
    table.add_column("value", justify="right")
    for key, value in report.counts.items():
        if key in skip:
            continue
        if isinstance(value, list):
            shown = "; ".join(
                " ".join(str(v) for v in item) if isinstance(item, tuple | list) else str(item)
                for item in value
            )
        elif isinstance(value, dict):
            shown = "; ".join(f"{k} {v}" for k, v in value.items())
        else:
            shown = f"{value:,}" if isinstance(value, int) else str(value)
        table.add_row(key, shown)
    return table


def render_summary(ctx: RunContext, exports: dict[str, object] | None = None) -> RenderableType:
    """The whole summary of a run."""
    parts: list[RenderableType] = [
        f"[bold]clnet run {ctx.run_id}[/bold] ({ctx.kind}) — warehouse: {ctx.warehouse}",
        "Advisory intelligence for human assessment; children and vulnerable adults are for "
        "safeguarding, not enforcement.",
        stage_table(ctx.reports),
    ]
    by_stage = {r.stage: r for r in ctx.reports}
    if "ingest" in by_stage:
        parts += [
            ingest_table(by_stage["ingest"]),
            counts_table(by_stage["ingest"], skip=("tables", "quarantine reasons")),
        ]
        reasons = Table(title="Quarantine reasons")
        for column in ("table", "reason", "rows"):
            reasons.add_column(column)
        for table_name, reason, rows in by_stage["ingest"].counts.get("quarantine reasons", []):
            reasons.add_row(table_name, reason, f"{rows:,}")
        parts.append(reasons)
    if "search" in by_stage:
        parts.append(counts_table(by_stage["search"]))
    if "network" in by_stage:
        parts += [
            counts_table(by_stage["network"], skip=("search groups", "search terms")),
            search_group_table(by_stage["network"]),
            search_term_table(by_stage["network"]),
        ]
    if "groups" in by_stage:
        parts.append(counts_table(by_stage["groups"]))
    if "harm" in by_stage:
        unmapped_key = next(
            (k for k in by_stage["harm"].counts if k.startswith("unmapped offence codes")), ""
        )
        parts.append(counts_table(by_stage["harm"], skip=(unmapped_key,)))
        unmapped = by_stage["harm"].counts.get(unmapped_key) or []
        if unmapped:
            table = Table(title="Offence codes with no harm value (counted, never zero)")
            for column in ("code", "crimes", "CCHI mapped", "ONS mapped"):
                table.add_column(column)
            for row in unmapped[:20]:
                table.add_row(*(str(v) for v in (row.values() if isinstance(row, dict) else row)))
            parts.append(table)
    handled = {"ingest", "search", "network", "groups", "harm"}
    for report in ctx.reports:
        if report.stage not in handled and report.counts:
            parts.append(counts_table(report))
    if exports:
        parts.append(f"CSV exports: {len(exports)} files under {ctx.warehouse / 'exports'}")
    return Group(*parts)
