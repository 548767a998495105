"""One run at a time per organizer: a lease row with an expiry, taken with ETag concurrency.

The timer, a manual HTTP run and a CLI run may start together; only one gets the lease. An
expired lease (a crashed run) is taken over, so a crash never blocks the schedule for long.
A lease whose holder was a process on this same machine that no longer exists (killed, or
crashed without releasing) is taken over at once: waiting out the expiry would only delay
the next run, since nobody can be sending under it. Mailbox names are compared in lower case,
as Exchange compares addresses.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.errors import RunInProgress
from shared.store.tables import Tables, key_part

PARTITION = "lease"


@dataclass(frozen=True)
class Lease:
    organizer: str
    holder: str
    expires: datetime
    etag: str | None
    started: datetime | None = None


class LeaseStore:
    def __init__(self, tables: Tables) -> None:
        self._table = tables["leases"]

    def acquire(self, organizer: str, *, seconds: float, now: datetime | None = None) -> Lease:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        now = now or datetime.now(UTC)
        holder = uuid.uuid4().hex
        expires = now + timedelta(seconds=seconds)
        entity: dict[str, Any] = {
            "PartitionKey": PARTITION, "RowKey": _row(organizer), "Holder": holder, "ExpiresAt": expires,
            "StartedAt": now, **_process(),
        }
        try:
            current = self._table.get_entity(PARTITION, _row(organizer))
        except ResourceNotFoundError:
            current = None
        try:
            if current is None:
                meta = self._table.create_entity(entity)
            else:
                held = current.get("Holder") and current.get("ExpiresAt") and current["ExpiresAt"] > now
                if held and not _holder_gone(current):
                    raise RunInProgress(_busy(organizer, current.get("StartedAt")))
                meta = self._table.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=current.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ResourceExistsError, ResourceModifiedError):
            raise RunInProgress(_busy(organizer, now)) from None
        return Lease(organizer, holder, expires, meta.get("etag"), now)

    def time_left(self, name: str, *, now: datetime | None = None) -> float | None:
        """Seconds until a held lease expires (None: nobody holds it)."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            current = self._table.get_entity(PARTITION, _row(name))
        except ResourceNotFoundError:
            return None
        expires = current.get("ExpiresAt")
        if not current.get("Holder") or not isinstance(expires, datetime):
            return None
        left = (expires - (now or datetime.now(UTC))).total_seconds()
        return left if left > 0 else None

    def renew(self, lease: Lease, *, seconds: float, now: datetime | None = None) -> Lease | None:
        """Extend a lease still held; None when it was lost (expired and taken over by another run).

        Any other failure (storage unreachable, a server error) raises: the lease may still be
        ours, and the caller decides how long it can go on without a renewal.
        """
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        expires = (now or datetime.now(UTC)) + timedelta(seconds=seconds)
        entity = {
            "PartitionKey": PARTITION, "RowKey": _row(lease.organizer), "Holder": lease.holder,
            "ExpiresAt": expires, "StartedAt": lease.started or expires, **_process(),
        }
        try:
            meta = self._table.update_entity(
                entity, mode=UpdateMode.REPLACE, etag=lease.etag, match_condition=MatchConditions.IfNotModified
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            return None
        return Lease(lease.organizer, lease.holder, expires, meta.get("etag"), lease.started)

    def release(self, lease: Lease) -> None:
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError
        from azure.data.tables import UpdateMode

        entity = {
            "PartitionKey": PARTITION, "RowKey": _row(lease.organizer), "Holder": "", "ExpiresAt": lease.expires,
        }
        # a lease taken over after expiry belongs to its new holder: leave it alone
        with contextlib.suppress(HttpResponseError):
            self._table.update_entity(
                entity, mode=UpdateMode.REPLACE, etag=lease.etag, match_condition=MatchConditions.IfNotModified
            )


PLANNER = "planner"  # the lease of planning runs (each organizer's drain takes the organizer's own)


def _busy(organizer: str, started: Any) -> str:
    since = f" since {started:%Y-%m-%d %H:%M:%S} UTC" if isinstance(started, datetime) else ""
    if organizer == PLANNER:
        return f"A sync run is already in progress{since}; this run did not start. Try again later."
    return f"A sync run for {organizer} is already in progress{since}; this run did not start. Try again later."


def _row(organizer: str) -> str:
    return key_part(organizer.lower())


def _process() -> dict[str, Any]:
    """Who holds the lease: this machine, this process, and when the process started (a reused
    process id after a restart is then not mistaken for the holder)."""
    return {"Host": socket.gethostname(), "Pid": os.getpid(), "ProcessStart": process_start_ticks(os.getpid()) or ""}


def process_start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux /proc), or None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19] if len(fields) > 19 else None


def _holder_gone(current: Any) -> bool:
    """The holder ran on this machine and its process is gone: nobody sends under this lease."""
    if current.get("Host") != socket.gethostname() or not current.get("Pid") or not current.get("ProcessStart"):
        return False  # another machine, or an older row: only the expiry can tell
    if not os.path.isdir("/proc/self"):
        return False
    return process_start_ticks(int(current["Pid"])) != str(current["ProcessStart"])
