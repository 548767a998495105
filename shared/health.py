"""A cheap health report: is the configuration complete and is Table Storage reachable.

The health route is outside sign-in (anyone can call it), so it answers the status of each
check only; what is missing or failing goes to the log, where operators look.
"""

from __future__ import annotations

import logging
from typing import Any

from shared import __version__
from shared.errors import LearncalError
from shared.settings import Settings

log = logging.getLogger("learncal")


def health_report(settings: Settings | None = None) -> dict[str, Any]:
    checks: dict[str, str] = {}
    try:
        settings = settings or Settings.from_env()
        missing = [
            name for name, value in (
                ("LEARNCAL_TENANT_ID", settings.tenant_id),
                ("LEARNCAL_CLIENT_ID", settings.client_id),
                ("LEARNCAL_ORGANIZER", settings.organizer),
            ) if not value
        ]
        checks["configuration"] = "ok" if not missing else "missing " + ", ".join(missing)
    except LearncalError as error:
        checks["configuration"] = str(error)
        settings = None
    if settings is not None:
        try:
            from shared.store.tables import Tables, table_service

            Tables(table_service(settings), prefix=settings.table_prefix)["runs"]
            checks["storage"] = "ok"
        except Exception as error:  # any failure here means "not healthy", with the kind of failure
            checks["storage"] = f"unreachable ({type(error).__name__})"
    status = "ok" if all(v == "ok" for v in checks.values()) else "degraded"
    return {"status": status, "version": __version__, "checks": checks}


def public_health(report: dict[str, Any]) -> dict[str, Any]:
    """The report as the anonymous health route shows it: each check's status, no detail.

    The details (which setting is missing, why storage failed) are logged instead.
    """
    failing = {name: detail for name, detail in report["checks"].items() if detail != "ok"}
    if failing:
        log.warning("health check degraded: %s", "; ".join(f"{k}: {v}" for k, v in failing.items()))
    return {"status": report["status"],
            "checks": {name: "ok" if detail == "ok" else "failing" for name, detail in report["checks"].items()}}
