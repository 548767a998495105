"""Hold the organizer's run lease while Validate probes the organizer's mailbox.

Graph allows four concurrent requests per app and mailbox
(https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits); a sync run in
another process may already use all four, and a Validate request beside it would be throttled
and throttle the run. The run lease (shared/store/lease.py) is what keeps one sender per
mailbox across processes, so Validate takes it for the few seconds its probes last and stays
out while a run holds it. A run starting in that moment does not start; the next one does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from shared.errors import RunInProgress
from shared.store.lease import Lease, LeaseStore
from shared.store.tables import Tables

log = logging.getLogger(__name__)

PROBE_LEASE_SECONDS = 120  # far longer than the probes (three requests); expires by itself after a crash


def lease_names(*names: str | None) -> tuple[str, ...]:
    """The names a run could hold the mailbox's lease under (leases compare them in lower case)."""
    return tuple(dict.fromkeys(n.lower() for n in names if n))


@contextmanager
def organizer_mailbox(tables: Tables, names: Iterable[str], seconds: float = PROBE_LEASE_SECONDS) -> Iterator[bool]:
    """True inside when Validate holds the mailbox; False when a run holds it (probe nothing then)."""
    leases = LeaseStore(tables)
    held: list[Lease] = []
    free = True
    try:
        for name in names:
            try:
                held.append(leases.acquire(name, seconds=seconds))
            except RunInProgress:
                free = False
                break
            except Exception:  # storage unreachable: no run can take the lease either, so probing is safe
                log.warning("could not take the organizer's run lease for Validate", exc_info=True)
        yield free
    finally:
        for lease in held:
            leases.release(lease)
