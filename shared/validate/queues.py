"""Validate's queue check: do the queue triggers listen on the queues the product sends to?

The queues are named after the table prefix; the triggers read their names from app settings
(shared/queue/names.py). Reported only when something is wrong, so an installation with the
names right sees no extra line.
"""

from __future__ import annotations

from shared.queue.names import problems
from shared.store.tables import in_azure
from shared.validate.model import Check, failed

QUEUES = "queues"


def check_queues(prefix: str) -> Check | None:
    """`prefix`: the table prefix of the installation's tables (LEARNCAL_TABLE_PREFIX)."""
    found = problems(prefix, in_azure=in_azure())
    if not found:
        return None
    return failed(QUEUES, " ".join(found),
                  "Set the queue settings to the names given (the Bicep sets them from tablePrefix: change the prefix "
                  "with `azd env set LEARNCAL_TABLE_PREFIX ...` and `azd provision`, never in the portal alone).")
