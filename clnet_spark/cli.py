"""The ``clnet`` command line: the whole pipeline, each stage, the demo corpus, edge-list tools.

Every Spark job under ``jobs/`` is a thin wrapper around one of these commands, so
``spark-submit jobs/run.py --input DIR --warehouse DIR`` and ``clnet run --input DIR
--warehouse DIR`` do the same thing.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import click
from rich.console import Console
from rich.logging import RichHandler

from clnet_spark.config import ClnetConfig, load_config
from clnet_spark.errors import ClnetError

console = Console(stderr=False)
log = logging.getLogger("clnet_spark")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        datefmt="%H:%M:%S",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False)],
    )
    for noisy in ("py4j", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _State:
    def __init__(self, config: ClnetConfig, lock_timeout: float | None = None) -> None:
        self.config = config
        self.lock_timeout = lock_timeout


pass_state = click.make_pass_decorator(_State)
warehouse_option = click.option(
    "--warehouse",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder holding the Delta tables (created if missing).",
)


def _context(state: _State, warehouse: Path, kind: str = "full", as_of: dt.date | None = None):
    from clnet_spark.run import RunContext

    return RunContext(warehouse.resolve(), state.config, kind=kind, as_of_date=as_of)


def _spark(state: _State, warehouse: Path, run_id: str | None = None):
    """The session, once this process holds the warehouse lock (until the process ends)."""
    from clnet_spark.locking import hold_until_exit
    from clnet_spark.recovery import clean_stale_state
    from clnet_spark.session import build_session

    hold_until_exit(warehouse.resolve(), run_id or "clnet command", state.lock_timeout)
    spark = build_session(state.config.spark, checkpoint_dir=warehouse.resolve() / "_checkpoints")
    clean_stale_state(spark, warehouse.resolve())
    return spark


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    envvar="CLNET_CONFIG",
    help="Configuration file (default: conf/clnet.yaml of this checkout; env CLNET_CONFIG).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="SECTION.KEY=VALUE",
    help="Override one setting; repeatable.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log DEBUG messages.")
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=None,
    envvar="CLNET_LOCK_TIMEOUT",
    help="Seconds to wait for another run on the same warehouse to finish (default 0: fail).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: Path | None,
    overrides: tuple[str, ...],
    verbose: bool,
    lock_timeout: float | None,
) -> None:
    """clnet: county-lines networks in police records (advisory intelligence)."""
    _setup_logging(verbose)
    ctx.obj = _State(load_config(config_path, overrides), lock_timeout)


@cli.command()
@click.option(
    "--input",
    "input_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Folder of source exports (required unless --as-of is given).",
)
@warehouse_option
@click.option(
    "--as-of-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Reference date (default: the latest accepted record date).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Skip the stages an interrupted run on the same inputs completed.",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="RUN",
    help="Recompute a past run (run id, run_log version or ISO timestamp) into --into.",
)
@click.option(
    "--into",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --as-of: the empty warehouse the recomputed outputs are written to.",
)
@pass_state
def run(
    state: _State,
    input_dir: Path | None,
    warehouse: Path,
    as_of_date: dt.datetime | None,
    as_of: str | None,
    into: Path | None,
    resume: bool = False,
) -> None:
    """Run every stage on an export folder (or recompute a past run with --as-of)."""
    from rich.progress import Progress

    from clnet_spark.pipeline import STAGES, run_all
    from clnet_spark.report.summary import render_summary

    if as_of is not None:
        if into is None or input_dir is not None:
            raise click.UsageError("--as-of reads the warehouse: give --into, not --input")
        from clnet_spark.reproduce import run_as_of

        ctx = _context(state, into, kind="as-of")
        exports = run_as_of(_spark(state, into), warehouse.resolve(), as_of, ctx)
        console.print(render_summary(ctx, exports))
        return
    if input_dir is None:
        raise click.UsageError("give --input DIR (or --as-of RUN --into DIR)")
    ctx = _context(state, warehouse, as_of=as_of_date.date() if as_of_date else None)
    spark = _spark(state, warehouse, run_id=ctx.run_id)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("clnet", total=len(STAGES))

        def on_stage(name: str) -> None:
            progress.update(task, description=f"stage: {name}", completed=STAGES.index(name))

        exports = run_all(spark, input_dir, ctx, on_stage=on_stage, resume=resume)
    console.print(render_summary(ctx, exports))


@cli.command()
@click.option(
    "--input",
    "inputs",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    required=True,
    multiple=True,
    help="Folder of a batch (the layout of a full export, every file optional); repeatable, "
    "applied in the order given.",
)
@warehouse_option
@pass_state
def update(state: _State, inputs: tuple[Path, ...], warehouse: Path) -> None:
    """Merge batches of new, changed and deleted rows, then recompute the analysis."""
    from clnet_spark.report.summary import render_summary
    from clnet_spark.update import run_update

    ctx = _context(state, warehouse, kind="update")
    exports = run_update(_spark(state, warehouse), list(inputs), ctx)
    console.print(render_summary(ctx, exports))


@cli.command()
@warehouse_option
@pass_state
def rescan(state: _State, warehouse: Path) -> None:
    """Search every record again after a catalogue change, resumably (source x year)."""
    from clnet_spark.report.summary import render_summary
    from clnet_spark.rescan import run_rescan

    ctx = _context(state, warehouse, kind="rescan")
    exports = run_rescan(_spark(state, warehouse), ctx)
    if exports is None:
        console.print("record_matches already made with the configured catalogue: nothing to do")
        return
    console.print(render_summary(ctx, exports))


@cli.command()
@click.option("--nominal", required=True, help="The person's id (pseudonym or source id).")
@warehouse_option
@pass_state
def forget(state: _State, nominal: str, warehouse: Path) -> None:
    """Delete one person from every table, recompute the analysis and VACUUM."""
    from clnet_spark.forget import run_forget

    ctx = _context(state, warehouse, kind="forget")
    result = run_forget(_spark(state, warehouse), ctx, nominal)
    console.print(
        f"forgotten: {sum(result.rows.values()):,} rows deleted in "
        f"{sum(1 for n in result.rows.values() if n)} tables; {len(result.vacuumed)} tables "
        f"vacuumed (retention {state.config.retention.deleted_file_retention})"
    )


@cli.command("demo-data")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--scale", type=click.FloatRange(min=0.001), default=1.0, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
def demo_data(out: Path, scale: float, seed: int) -> None:
    """Write the generated demo corpus (input contract + ground_truth/)."""
    from clnet_spark.demo import write_demo_corpus
    from clnet_spark.privacy import ensure_key_file

    key_file = ensure_key_file()  # demo only: a real run needs a key set up by its owner
    if key_file is not None:
        console.print(f"pseudonym key file: {key_file} (owner-only)")
    summary = write_demo_corpus(out, scale=scale, seed=seed)
    console.print(f"demo corpus written to {out}: {summary}")


@cli.command()
@click.option(
    "--input",
    "input_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    required=True,
)
@warehouse_option
@pass_state
def ingest(state: _State, input_dir: Path, warehouse: Path) -> None:
    """Stage 1: exports -> Delta bronze tables + quarantine."""
    from clnet_spark.ingest.stage import run_ingest
    from clnet_spark.report.summary import render_summary

    ctx = _context(state, warehouse)
    run_ingest(_spark(state, warehouse), input_dir, ctx)
    console.print(render_summary(ctx))


@cli.command()
@warehouse_option
@pass_state
def search(state: _State, warehouse: Path) -> None:
    """Stage 2: weighted term search -> record_matches."""
    from clnet_spark.report.summary import render_summary
    from clnet_spark.search.stage import run_search

    ctx = _context(state, warehouse)
    run_search(_spark(state, warehouse), ctx)
    console.print(render_summary(ctx))


@cli.command()
@warehouse_option
@click.option(
    "--group-lines",
    is_flag=True,
    help="Instead: list each group's lines (group_lines), after the groups stage.",
)
@pass_state
def lines(state: _State, warehouse: Path, group_lines: bool) -> None:
    """Stage 2b: deal lines (phone numbers, line names) in the text -> lines, record_lines."""
    from clnet_spark.lines.stage import run_group_lines, run_lines
    from clnet_spark.report.summary import render_summary

    ctx = _context(state, warehouse)
    if group_lines:
        run_group_lines(_spark(state, warehouse), ctx)
    else:
        run_lines(_spark(state, warehouse), ctx)
    console.print(render_summary(ctx))


@cli.command()
@warehouse_option
@pass_state
def network(state: _State, warehouse: Path) -> None:
    """Stage 3: provisional network, deepening, propagation, pruning."""
    from clnet_spark.network.stage import run_network
    from clnet_spark.report.summary import render_summary

    ctx = _context(state, warehouse)
    run_network(_spark(state, warehouse), ctx)
    console.print(render_summary(ctx))


@cli.command()
@click.option(
    "--warehouse",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run the groups stage on this warehouse.",
)
@click.option(
    "--edges",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Instead: find groups in a CSV edge list (source,target[,weight]).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --edges: where to write the groups CSV.",
)
@pass_state
def groups(state: _State, warehouse: Path | None, edges: Path | None, out: Path | None) -> None:
    """Stage 4: Walktrap groups and SOC overlap (or groups of any edge list)."""
    if edges is not None:
        from clnet_spark.analysis.edgelist_cli import groups_from_edge_file

        target = out or edges.with_name(f"{edges.stem}_groups.csv")
        groups_from_edge_file(edges, target, steps=state.config.groups.walktrap_steps)
        console.print(f"groups written to {target}")
        return
    if warehouse is None:
        raise click.UsageError("give --warehouse (pipeline stage) or --edges (edge list)")
    from clnet_spark.groups.stage import run_groups
    from clnet_spark.report.summary import render_summary

    ctx = _context(state, warehouse)
    run_groups(_spark(state, warehouse), ctx)
    console.print(render_summary(ctx))


@cli.command()
@click.option(
    "--edges",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="CSV edge list: source,target[,weight].",
)
@click.option(
    "--costs",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Optional CSV of node,cost (inf: never removed).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--target-fraction", type=click.FloatRange(0, 1), default=0.1, show_default=True)
def dismantle(edges: Path, costs: Path | None, out: Path | None, target_fraction: float) -> None:
    """Removal order that breaks a network up fastest (edge-list mode)."""
    from clnet_spark.analysis.edgelist_cli import dismantle_from_edge_file

    target = out or edges.with_name(f"{edges.stem}_dismantling.csv")
    dismantle_from_edge_file(edges, target, node_cost_csv=costs, target_fraction=target_fraction)
    console.print(f"removal order written to {target}")


@cli.command()
@warehouse_option
@pass_state
def report(state: _State, warehouse: Path) -> None:
    """Stage 5: CSV exports of the output tables."""
    from clnet_spark.report.exports import write_exports

    written = write_exports(_spark(state, warehouse), warehouse.resolve())
    for name, path in written.items():
        console.print(f"{name}: {path}")


@cli.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo"),
    show_default=True,
)
@click.option("--scale", type=click.FloatRange(min=0.001), default=1.0, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.pass_context
def demo(ctx: click.Context, workdir: Path, scale: float, seed: int) -> None:
    """Generate the demo corpus into WORKDIR/input and run the pipeline into WORKDIR/warehouse."""
    ctx.invoke(demo_data, out=workdir / "input", scale=scale, seed=seed)
    ctx.invoke(run, input_dir=workdir / "input", warehouse=workdir / "warehouse", as_of_date=None)
    from rich.table import Table

    from clnet_spark.evaluation import score_run

    state: _State = ctx.obj
    scores = score_run(
        _spark(state, workdir / "warehouse"),
        (workdir / "warehouse").resolve(),
        workdir / "input" / "ground_truth",
    )
    table = Table(title="Demo only: the run scored against the generator's ground truth")
    table.add_column("score")
    table.add_column("value", justify="right")
    for name, value in scores.as_dict().items():
        table.add_row(name, f"{value:.3f}" if isinstance(value, float) else f"{value:,}")
    console.print(table)


@cli.group(invoke_without_command=True)
@click.option(
    "--warehouse",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Folder holding the Delta tables of the pipeline.",
)
@click.option("--run-id", default=None, help="Run to show (default: the newest that succeeded).")
@click.option(
    "--users",
    "users_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="CLNET_DASHBOARD_USERS",
    default=Path("~/.config/clnet/dashboard_users.json"),
    show_default=True,
    help="Users file of salted password hashes (env CLNET_DASHBOARD_USERS).",
)
@click.option(
    "--audit-log",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="CLNET_AUDIT_LOG",
    default=Path("~/.local/state/clnet/dashboard_audit.jsonl"),
    show_default=True,
    help="Append-only audit log, outside the warehouse (env CLNET_AUDIT_LOG).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8050, show_default=True)
@click.pass_context
def dashboard(
    ctx: click.Context,
    warehouse: Path | None,
    run_id: str | None,
    users_file: Path,
    audit_log: Path,
    host: str,
    port: int,
) -> None:
    """Serve the analyst dashboard on the outputs of one run (sign-in required)."""
    ctx.ensure_object(_State)
    ctx.meta["dashboard_users"] = users_file
    if ctx.invoked_subcommand is not None:
        return
    if warehouse is None:
        raise click.UsageError("give --warehouse (the folder the pipeline wrote)")
    import os

    from clnet_spark.dashboard.app import DashboardSettings
    from clnet_spark.dashboard.server import serve

    secret = os.environ.get("CLNET_DASHBOARD_SECRET")
    settings = DashboardSettings(
        warehouse=warehouse.resolve(),
        users_file=users_file,
        audit_log=audit_log,
        run_id=run_id,
        secret_key=secret.encode() if secret else None,
    )
    console.print(f"dashboard: http://{host}:{port}/ (Ctrl-C stops it)")
    serve(settings, host=host, port=port)


@dashboard.command("add-user")
@click.argument("name")
@click.option("--role", type=click.Choice(["analyst", "officer"]), required=True)
@click.password_option(help="Prompted (twice) when not given; never logged.")
@click.pass_context
def dashboard_add_user(ctx: click.Context, name: str, role: str, password: str) -> None:
    """Add or replace a dashboard user in the users file (a salted hash, never the password)."""
    from clnet_spark.dashboard.users import add_user

    users_file: Path = ctx.meta["dashboard_users"]
    add_user(users_file, name, password, role)  # type: ignore[arg-type]
    console.print(f"user {name} ({role}) written to {users_file.expanduser()}")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``clnet`` command and of every job under ``jobs/``."""
    try:
        cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ClnetError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, markup=True)
        sys.exit(2)
