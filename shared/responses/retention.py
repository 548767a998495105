"""Response data is personal: the daily job that removes what is no longer needed.

A response is kept while its invitation is live and LEARNCAL_RESPONSE_KEEP_DAYS after that
(shared/store/responses.py says how "no longer live" is known).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from shared.settings import Settings
from shared.store.responses import ResponseStore
from shared.store.tables import Tables, table_service

log = logging.getLogger("learncal.responses")


def prune_expired(settings: Settings | None = None, *, now: datetime | None = None,
                  tables: Tables | None = None) -> int:
    """Remove the responses kept past their period; the number removed."""
    settings = settings or Settings.from_env()
    tables = tables or Tables(table_service(settings), prefix=settings.table_prefix)
    removed = ResponseStore(tables).prune(now or datetime.now(UTC), settings.response_keep_days)
    log.info("learncal.responses.pruned removed=%d keep_days=%d", removed, settings.response_keep_days)
    return removed
