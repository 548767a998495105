"""A cheap health report: is the configuration complete and is Table Storage reachable."""

from __future__ import annotations

from typing import Any

from shared import __version__
from shared.errors import LearncalError
from shared.settings import Settings


def health_report(settings: Settings | None = None) -> dict[str, Any]:
    checks: dict[str, str] = {}
    try:
        settings = settings or Settings.from_env()
        missing = [
            name for name, value in (
                ("LEARNCAL_TENANT_ID", settings.tenant_id),
                ("LEARNCAL_CLIENT_ID", settings.client_id),
                ("LEARNCAL_ORGANIZERS (or LEARNCAL_ORGANIZER)", settings.organizer),
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
