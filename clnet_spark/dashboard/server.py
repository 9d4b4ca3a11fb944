"""Serve the dashboard with waitress (a production WSGI server), on loopback by default."""

from __future__ import annotations

import logging

from waitress import serve as waitress_serve

from clnet_spark.dashboard.app import DashboardSettings, create_app

log = logging.getLogger(__name__)


def serve(settings: DashboardSettings, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Build the app and serve it until interrupted (blocks)."""
    app = create_app(settings)
    log.info("dashboard on http://%s:%d (warehouse %s)", host, port, settings.warehouse)
    waitress_serve(app, host=host, port=port, threads=4)
