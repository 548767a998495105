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
                ("LEARNCAL_ORGANIZERS (or LEARNCAL_ORGANIZER)", settings.organizer),
            ) if not value
        ]
        checks["configuration"] = "ok" if not missing else "missing " + ", ".join(missing)
    except LearncalError as error:
        checks["configuration"] = str(error)
        settings = None
    if settings is not None:
        checks["queues"] = _queue_check(settings)
    if settings is not None:
        try:
            from shared.store.tables import Tables, table_service

            Tables(table_service(settings), prefix=settings.table_prefix)["runs"]
            checks["storage"] = "ok"
        except Exception as error:  # any failure here means "not healthy", with the kind of failure
            checks["storage"] = f"unreachable ({type(error).__name__})"
    warnings: list[str] = []
    if settings is not None and checks.get("storage") == "ok":
        checks.update(_feed_check(settings, warnings))
    # "no feed yet" is a fresh installation's normal state: reported, never a reason to answer 503
    status = "ok" if all(v in ("ok", NO_FEED_YET) for v in checks.values()) else "degraded"
    report: dict[str, Any] = {"status": status, "version": __version__, "checks": checks}
    if warnings:
        report["warnings"] = warnings
    return report


NO_FEED_YET = "no feed yet"


def _queue_check(settings: Settings) -> str:
    """Whether each queue trigger listens on the queue the product sends to (shared/queue/names.py).

    A table prefix of its own names the installation's queues after it; the triggers read their
    names from LEARNCAL_SEND_QUEUE and the others, which must name the same queues.
    """
    from shared.queue.names import problems
    from shared.store.tables import in_azure

    found = problems(settings.table_prefix, in_azure=in_azure())
    return "ok" if not found else " ".join(found)


def _feed_check(settings: Settings, warnings: list[str]) -> dict[str, str]:
    """For a feed drop (LEARNCAL_FEED=blob:...): whether any feed has landed in it."""
    from shared.feed.blobdrop import FeedDrop, is_blob_source, no_feed_message, parse_location

    if not is_blob_source(settings.feed):
        return {}
    try:
        from shared.store.services import feed_blob_service

        location = parse_location(str(settings.feed))
        drop = FeedDrop(feed_blob_service(settings), location.container)
        empty = (drop.blob(location.name) is None) if location.name else not drop.blobs()
    except Exception as error:
        return {"feed": f"unreachable ({type(error).__name__})"}
    if empty:
        warnings.append(no_feed_message(location.container))
        return {"feed": NO_FEED_YET}
    return {"feed": "ok"}


def public_health(report: dict[str, Any]) -> dict[str, Any]:
    """The report as the anonymous health route shows it: each check's status, no detail.

    The details (which setting is missing, why storage failed) are logged instead. "No feed
    yet" and its instruction stay visible: they name no setting and tell the operator what to do.
    """
    failing = {name: detail for name, detail in report["checks"].items() if detail not in ("ok", NO_FEED_YET)}
    if failing:
        log.warning("health check degraded: %s", "; ".join(f"{k}: {v}" for k, v in failing.items()))
    public: dict[str, Any] = {
        "status": report["status"],
        "checks": {name: detail if detail in ("ok", NO_FEED_YET) else "failing"
                   for name, detail in report["checks"].items()},
    }
    if report.get("warnings"):
        public["warnings"] = report["warnings"]
    return public
