"""The analyst dashboard: a Flask app on the tables of one recorded run.

Sign-in is required (flask-login, accounts in the users file); every form carries a CSRF token
(flask-wtf). Roles: ``analyst`` sees pseudonymous ids only; ``officer`` also the restricted
identity columns (from ``nominal_identity``) and record text. Every view of a nominal or a
group and every export is written to the append-only audit log before the page is sent.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import plotly
import plotly.graph_objects as go
from flask import Flask, abort, redirect, render_template, request, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from markupsafe import Markup
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from clnet_spark import columns as c
from clnet_spark.columns import Tables
from clnet_spark.dashboard.audit import AuditLog
from clnet_spark.dashboard.data import FLAG_COLUMNS, NOMINAL_IDENTITY, DashboardDataError, RunData
from clnet_spark.dashboard.layout import group_colours, network_svg
from clnet_spark.dashboard.tables import html_table
from clnet_spark.dashboard.users import Account, UserStore
from clnet_spark.report import exports

log = logging.getLogger(__name__)

ADVISORY = (
    "Advisory intelligence for human assessment: these outputs are leads produced by a "
    "search-and-network method, not evidence or findings about any person."
)
NAV = (
    ("overview", "Overview"),
    ("nominals", "Nominals"),
    ("missing", "Missing persons"),
    ("soc", "SOC overlap"),
    ("harm", "Harm"),
    ("centrality", "Centrality"),
    ("priority", "Priority"),
    ("dismantling", "Dismantling"),
    ("network", "Network"),
    ("safeguarding", "Safeguarding"),
    ("exports_page", "Exports"),
)
NOMINAL_SUMMARY = "cl_nominal_summary"
"""Export name of the joined nominals view (weight, group, flags, centrality, harm)."""
FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
GRAPH_FORMATS = {"graphml": "application/graphml+xml", "gexf": "application/gexf+xml"}
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_PLOTLY_DIR = Path(plotly.__file__).parent / "package_data"


class _LoginForm(FlaskForm):
    username = StringField("User", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class _User(UserMixin):
    def __init__(self, account: Account) -> None:
        self.account = account

    def get_id(self) -> str:
        return self.account.name


@dataclass(frozen=True)
class DashboardSettings:
    """Where the dashboard reads and writes; see ``clnet dashboard --help``."""

    warehouse: Path
    users_file: Path
    audit_log: Path
    run_id: str | None = None
    secret_key: bytes | None = None


def _figure(fig: go.Figure) -> Markup:
    fig.update_layout(
        margin={"l": 40, "r": 20, "t": 40, "b": 40}, height=420, template="plotly_white"
    )
    return Markup(
        plotly.io.to_html(
            fig, full_html=False, include_plotlyjs=False, config={"displaylogo": False}
        )
    )


def _checked_id(value: str) -> str:
    if not _ID.match(value):
        abort(404)
    return value


def _reason() -> str | None:
    text = (request.args.get("reason") or "").strip()
    return text[:500] or None


def create_app(settings: DashboardSettings, data: RunData | None = None) -> Flask:
    """The Flask app. ``data`` defaults to :func:`load_run` of ``settings``.

    Raises
    ------
    ConfigError
        The users file is missing or empty, or the audit log lies inside the warehouse.
    DashboardDataError
        The warehouse has no usable run.
    """
    from clnet_spark.dashboard.data import load_run

    users = UserStore(settings.users_file)
    audit = AuditLog(settings.audit_log, warehouse=settings.warehouse)
    run = data or load_run(settings.warehouse, settings.run_id)

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key or os.urandom(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    CSRFProtect(app)
    login = LoginManager(app)
    login.login_view = "sign_in"

    @login.user_loader
    def _load(name: str) -> _User | None:
        account = users.get(name)
        return _User(account) if account else None

    def role() -> str:
        return current_user.account.role

    def record(action: str, what: str, reason: str | None = None) -> None:
        audit.append(
            user=current_user.account.name,
            role=role(),
            action=action,
            what=what,
            reason=reason,
            run_id=run.run.run_id,
        )

    def page(template: str, **context: Any) -> str:
        return render_template(template, **context)

    @app.context_processor
    def _common() -> dict[str, Any]:
        account = current_user.account if current_user.is_authenticated else None
        return {
            "advisory": ADVISORY,
            "nav": NAV,
            "run": run.run,
            "account": account,
            "unpinned": sorted(run.unpinned),
        }

    @app.after_request
    def _headers(response: Any) -> Any:
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    @app.errorhandler(DashboardDataError)
    def _data_error(exc: DashboardDataError) -> ResponseReturnValue:
        return page("message.html", title="Not available", message=str(exc)), 404

    # --- sign-in --------------------------------------------------------------------------
    @app.route("/login", methods=["GET", "POST"])
    def sign_in() -> ResponseReturnValue:
        form = _LoginForm()
        error = None
        if form.validate_on_submit():
            account = users.authenticate(form.username.data or "", form.password.data or "")
            if account is not None:
                login_user(_User(account))
                record("sign_in", account.name)
                return redirect(url_for("overview"))
            error = "Unknown user or wrong password."
            log.info("dashboard: failed sign-in")
        return page("login.html", form=form, error=error)

    @app.route("/logout")
    @login_required
    def sign_out() -> ResponseReturnValue:
        record("sign_out", current_user.account.name)
        logout_user()
        return redirect(url_for("sign_in"))

    @app.route("/static/plotly.min.js")
    def plotly_js() -> ResponseReturnValue:
        return send_from_directory(_PLOTLY_DIR, "plotly.min.js", max_age=3600)

    # --- views ------------------------------------------------------------------------------
    @app.route("/")
    @login_required
    def overview() -> ResponseReturnValue:
        groups = run.table(Tables.CL_GROUPS)[
            [
                c.GROUP_ID,
                c.GROUP_KIND,
                "size",
                "internal_edges",
                "best_soc_group_id",
                "soc_associated",
            ]
        ].sort_values(c.GROUP_ID)
        versions = pd.DataFrame(sorted(run.run.versions.items()), columns=["table", "version"])
        return page(
            "overview.html",
            title="Overview",
            groups=html_table(groups, "groups"),
            versions=html_table(versions, "versions", limit=None),
            nominals=len(run.table(Tables.CL_NOMINALS)),
        )

    @app.route("/nominals")
    @login_required
    def nominals() -> ResponseReturnValue:
        frame = run.nominals()
        q = (request.args.get("q") or "").strip()
        group = request.args.get("group") or ""
        flag = request.args.get("flag") or ""
        try:
            min_weight = float(request.args.get("min_weight") or 0)
        except ValueError:
            min_weight = 0.0
        if q:
            frame = frame[frame[c.NOMINAL_ID].str.contains(q, case=False, regex=False)]
        if group:
            frame = frame[frame[c.GROUP_ID] == group]
        if flag in FLAG_COLUMNS:
            frame = frame[frame[flag].fillna(False).astype(bool)]
        frame = frame[frame[c.WEIGHT] >= min_weight]
        record("view_list", f"nominals ({len(frame)} shown)", None)
        groups = sorted(run.table(Tables.CL_GROUPS)[c.GROUP_ID])
        return page(
            "nominals.html",
            title="County-lines nominals",
            table=html_table(frame, "nominals"),
            groups=groups,
            flags=FLAG_COLUMNS,
            q=q,
            group=group,
            flag=flag,
            min_weight=min_weight,
        )

    @app.route("/nominals/<nominal_id>")
    @login_required
    def nominal(nominal_id: str) -> ResponseReturnValue:
        nominal_id = _checked_id(nominal_id)
        trail = run.evidence_trail(nominal_id)
        record("view_nominal", nominal_id, _reason())
        records = trail["records"]
        officer = role() == "officer"
        identity = None
        identity_missing = False
        if officer:
            keys = [
                f"{s}:{r}" for s, r in zip(records[c.SOURCE], records[c.RECORD_ID], strict=True)
            ]
            text = run.record_text(keys)
            records = records.merge(text, on=[c.SOURCE, c.RECORD_ID], how="left", validate="1:1")
            if run.identity_available():
                identity = html_table(run.identity([nominal_id]), "identity", limit=None)
            else:
                identity_missing = True
        return page(
            "nominal.html",
            title=f"Nominal {nominal_id}",
            nominal_id=nominal_id,
            officer=officer,
            identity=identity,
            identity_missing=identity_missing,
            identity_table=NOMINAL_IDENTITY,
            summary=html_table(
                trail["summary"].T.reset_index().set_axis(["field", "value"], axis=1),
                "summary",
                limit=None,
            ),
            flags=html_table(trail["flags"], "flags", limit=None),
            records=html_table(records, "evidence", limit=None),
            edges=html_table(trail["edges"], "edges", limit=None),
            relationships=html_table(trail["relationships"], "relationships", limit=None),
        )

    @app.route("/groups/<group_id>")
    @login_required
    def group(group_id: str) -> ResponseReturnValue:
        group_id = _checked_id(group_id)
        members = run.group_members(group_id)
        record("view_group", group_id, _reason())
        priority = run.table_or_empty(Tables.GROUP_PRIORITY)
        if not priority.empty:
            priority = priority[priority[c.GROUP_ID] == group_id][
                ["rank", "band", "score", "reason"]
            ]
        return page(
            "group.html",
            title=f"Group {group_id}",
            group_id=group_id,
            members=html_table(members, "members", limit=None),
            priority=html_table(priority, "group-priority", limit=None),
            plot=_dismantling_plot(run, group_id),
        )

    @app.route("/missing")
    @login_required
    def missing() -> ResponseReturnValue:
        frame = run.table(Tables.MISSING_PERSONS).sort_values(
            [c.GROUP_ID, c.NOMINAL_ID, "started_at"]
        )
        per_group = (
            frame.groupby(c.GROUP_ID, dropna=False)
            .agg(
                episodes=(c.NOMINAL_ID, "size"),
                people=(c.NOMINAL_ID, "nunique"),
                found_outside_force=("found_outside_force", "sum"),
            )
            .reset_index()
        )
        areas = (
            frame.groupby(c.FOUND_AREA)
            .size()
            .rename("episodes")
            .reset_index()
            .sort_values("episodes", ascending=False)
        )
        return page(
            "missing.html",
            title="Missing persons linked to county lines",
            episodes=html_table(frame, "missing"),
            per_group=html_table(per_group, "missing-groups", limit=None),
            areas=html_table(areas, "found-areas", limit=None),
        )

    @app.route("/soc")
    @login_required
    def soc() -> ResponseReturnValue:
        best, outside = run.soc_overlap()
        return page(
            "soc.html",
            title="Overlap with the SOC network",
            best=html_table(best, "soc-best", limit=None),
            pairs=html_table(run.table(Tables.SOC_OVERLAP), "soc-pairs"),
            outside=html_table(outside, "soc-outside"),
        )

    @app.route("/harm")
    @login_required
    def harm() -> ResponseReturnValue:
        groups = run.table(Tables.GROUP_HARM).sort_values("cchi_all", ascending=False)
        people = (
            run.table(Tables.NOMINAL_HARM)
            .merge(
                run.table(Tables.CL_NOMINALS)[[c.NOMINAL_ID, c.GROUP_ID]],
                on=c.NOMINAL_ID,
                how="left",
                validate="1:1",
            )
            .sort_values("cchi_all", ascending=False)
        )
        fig = go.Figure(
            [
                go.Bar(name="CCHI (all)", x=groups[c.GROUP_ID], y=groups["cchi_all"]),
                go.Bar(name="CCHI (recent)", x=groups[c.GROUP_ID], y=groups["cchi_recent"]),
                go.Bar(name="ONS (all)", x=groups[c.GROUP_ID], y=groups["ons_all"]),
                go.Bar(name="ONS (recent)", x=groups[c.GROUP_ID], y=groups["ons_recent"]),
            ]
        )
        fig.update_layout(barmode="group", title="Harm by group: both indices")
        return page(
            "harm.html",
            title="Harm by nominal and group",
            plot=_figure(fig),
            groups=html_table(groups, "group-harm", limit=None),
            people=html_table(people, "nominal-harm"),
        )

    @app.route("/centrality")
    @login_required
    def centrality() -> ResponseReturnValue:
        frame = run.table(Tables.CENTRALITY).sort_values(
            ["betweenness", c.NOMINAL_ID], ascending=[False, True]
        )
        colours = group_colours(run.table(Tables.CL_GROUPS)[c.GROUP_ID].tolist())
        fig = go.Figure(
            go.Scatter(
                x=frame["degree"],
                y=frame["betweenness"],
                mode="markers",
                text=frame[c.NOMINAL_ID],
                marker={"color": [colours.get(g, "#b0b0b0") for g in frame[c.GROUP_ID]], "size": 9},
            )
        )
        fig.update_layout(
            title="Degree and betweenness (whole network)",
            xaxis_title="degree",
            yaxis_title="betweenness",
        )
        return page(
            "centrality.html",
            title="Centrality",
            plot=_figure(fig),
            table=html_table(frame, "centrality"),
        )

    @app.route("/priority")
    @login_required
    def priority() -> ResponseReturnValue:
        frame = run.table(Tables.GROUP_PRIORITY).sort_values("rank")
        parts = [col for col in frame.columns if col.endswith("_contribution")]
        fig = go.Figure(
            [
                go.Bar(
                    name=p.removesuffix("_contribution"),
                    y=frame[c.GROUP_ID],
                    x=frame[p],
                    orientation="h",
                )
                for p in parts
            ]
        )
        fig.update_layout(
            barmode="stack",
            title="Priority score: each factor's contribution",
            yaxis={"autorange": "reversed"},
        )
        ranked = frame[[c.GROUP_ID, "rank", "band", "score", "reason", c.GROUP_KIND]]
        contributions = frame[[c.GROUP_ID, "score", *parts]]
        return page(
            "priority.html",
            title="Group priority",
            plot=_figure(fig),
            ranked=html_table(ranked, "priority", limit=None),
            contributions=html_table(contributions, "contributions", limit=None),
        )

    @app.route("/dismantling")
    @login_required
    def dismantling() -> ResponseReturnValue:
        frame = run.table(Tables.DISMANTLING)
        scopes = sorted(frame["scope"].unique(), key=lambda s: (s == "network", s))
        scope = request.args.get("scope") or (scopes[0] if scopes else "")
        if scope not in scopes:
            abort(404)
        rows = frame[frame["scope"] == scope].sort_values("step")
        rows = rows.drop(columns=["inputs_hash"], errors="ignore")  # bookkeeping, not a finding
        return page(
            "dismantling.html",
            title="Dismantling",
            scopes=scopes,
            scope=scope,
            plot=_dismantling_plot(run, scope),
            table=html_table(rows, "dismantling", limit=None),
        )

    @app.route("/network")
    @login_required
    def network() -> ResponseReturnValue:
        groups = run.table(Tables.CL_GROUPS)
        svg = network_svg(run.table(Tables.CL_NOMINALS), groups, run.table(Tables.CL_EDGES))
        colours = group_colours(groups[c.GROUP_ID].tolist())
        legend = [
            (g, k, s, colours[g])
            for g, k, s in zip(
                groups[c.GROUP_ID], groups[c.GROUP_KIND], groups["size"], strict=True
            )
        ]
        return page("network.html", title="Network", svg=svg, legend=sorted(legend))

    @app.route("/safeguarding")
    @login_required
    def safeguarding() -> ResponseReturnValue:
        frame = run.table(Tables.SAFEGUARDING_LIST)
        authorities = sorted(frame["local_authority"].dropna().unique())
        chosen = request.args.get("local_authority") or ""
        if chosen:
            frame = frame[frame["local_authority"] == chosen]
        frame = frame.assign(
            evidence=[
                [f"{e['flag']}: {e['source']}:{e['record_id']}" for e in ev]
                for ev in frame["evidence"]
            ]
        ).sort_values(["local_authority", c.NOMINAL_ID])
        counts = frame.groupby("local_authority").size().rename("nominals").reset_index()
        record("view_list", f"safeguarding {chosen or 'all'} ({len(frame)} shown)", None)
        return page(
            "safeguarding.html",
            title="Safeguarding list by local authority",
            authorities=authorities,
            chosen=chosen,
            counts=html_table(counts, "safeguarding-counts", limit=None),
            table=html_table(frame, "safeguarding"),
        )

    # --- exports ----------------------------------------------------------------------------
    def export_tables() -> list[str]:
        return [NOMINAL_SUMMARY, *(t for t in exports.EXPORTED if run.has(t))]

    def export_frame(item: str) -> pd.DataFrame:
        if item == NOMINAL_SUMMARY:
            return run.nominals()
        if item == "i2_entities":
            return exports.i2_entities(run.nominals())
        if item == "i2_links":
            return exports.i2_links(run.table(Tables.CL_EDGES))
        if item in export_tables():
            return run.table(item)
        abort(404)

    @app.route("/exports")
    @login_required
    def exports_page() -> ResponseReturnValue:
        return page("exports.html", title="Exports", tables=export_tables())

    @app.route("/exports/download")
    @login_required
    def export_download() -> ResponseReturnValue:
        item = request.args.get("item") or ""
        fmt = request.args.get("format") or ""
        reason = _reason()
        name = f"clnet_{run.run.run_id}_{item}.{fmt}"
        if item == "network" and fmt in GRAPH_FORMATS:
            graph = exports.network_graph(run.nominals(), run.table(Tables.CL_EDGES))
            body = exports.graphml_bytes(graph) if fmt == "graphml" else exports.gexf_bytes(graph)
            mimetype = GRAPH_FORMATS[fmt]
        elif item == "all" and fmt == "xlsx":
            body = exports.excel_bytes({t: export_frame(t) for t in export_tables()})
            mimetype = FORMATS[fmt]
        elif fmt in FORMATS and item != "network":
            frame = export_frame(item)
            body = exports.csv_bytes(frame) if fmt == "csv" else exports.excel_bytes({item: frame})
            mimetype = FORMATS[fmt]
        else:
            abort(404)
        record("export", f"{item}.{fmt}", reason)
        return app.response_class(
            body,
            mimetype=mimetype,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return app


def _dismantling_plot(run: RunData, scope: str) -> Markup:
    """Line plot of the largest connected part after each removal of one scope."""
    frame = run.table_or_empty(Tables.DISMANTLING)
    if frame.empty or scope not in set(frame["scope"]):
        return Markup('<p class="note">No dismantling rows for this scope.</p>')
    rows = frame[frame["scope"] == scope].sort_values("step")
    people = int(rows["people"].iloc[0])
    fig = go.Figure(
        go.Scatter(
            x=rows["step"],
            y=rows["lcc_people"],
            mode="lines+markers",
            text=rows[c.NOMINAL_ID],
            hovertemplate="after removing %{text} (step %{x}): largest part %{y} people",
        )
    )
    fig.add_hline(y=people, line_dash="dash", annotation_text=f"{people} people in scope")
    fig.update_layout(
        title=f"{scope}: largest connected part after each removal (of {people})",
        xaxis_title="removals",
        yaxis_title="people in the largest connected part",
    )
    return _figure(fig)
