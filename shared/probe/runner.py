"""One probe run: check the two names, sign in as `learncal sync` does, measure, always clean up.

The probe writes only to the test mailbox it is given, and the only person it invites is the
test attendee it is given; it refuses to start without both, or when the configured
recipient allow-list would not let that attendee be invited by the sync either.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.errors import LearncalError
from shared.probe import measure
from shared.probe.cleanup import clean_up
from shared.probe.measure import Ledger
from shared.probe.profile import Observation, TenantProfile
from shared.probe.requests import Requests
from shared.probe.wire import Wire
from shared.settings import Settings

_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ORDER = ("outOfScope", "encodedBatchQueryOptions", "extendedPropertyFilterCase", "repeatCancel",
         "transactionIdAfterCancel", "subjectOverLimit", "batchConcurrency")


@dataclass(frozen=True)
class ProbeTarget:
    mailbox: str
    attendee: str

    @classmethod
    def parse(cls, mailbox: str | None, attendee: str | None) -> ProbeTarget:
        """The two names, checked before anything is read or sent."""
        missing = [name for name, value in (("--mailbox", mailbox), ("--attendee", attendee))
                   if not (value or "").strip()]
        if missing:
            raise LearncalError(
                f"tenant-probe needs {' and '.join(missing)}: --mailbox names the test mailbox the probe creates "
                "its meetings in, --attendee the one test person it invites. Nothing is sent without both, and "
                "nothing to anyone else.")
        assert mailbox and attendee
        mailbox, attendee = mailbox.strip().lower(), attendee.strip().lower()
        for option, value in (("--mailbox", mailbox), ("--attendee", attendee)):
            if not _ADDRESS.match(value):
                raise LearncalError(f"{option}: {value!r} is not an e-mail address; give one such as "
                                    "probe.test@contoso.example.")
        if mailbox == attendee:
            raise LearncalError("--attendee must differ from --mailbox: a meeting's organizer is never sent its own "
                                "invitation, so the cancellation answers could not be measured.")
        return cls(mailbox, attendee)

    def check_allowed(self, settings: Settings) -> None:
        """The recipient allow-list in force (environment or saved configuration) must admit the attendee."""
        from shared.planning.desired import Allowlist

        if not Allowlist(settings.recipient_allowlist).allows(self.attendee):
            raise LearncalError(f"--attendee {self.attendee} is not on the recipient allow-list in force "
                                "(LEARNCAL_RECIPIENT_ALLOWLIST or the saved provider configuration); add it there or "
                                "name an attendee the allow-list admits.")


def settings_in_force(settings: Settings) -> Settings:
    """As `learncal sync` reads them: the saved provider configuration over the environment.

    Unreachable storage raises the product's StorageUnreachable, which names the endpoint and the fix.
    """
    from shared.bootstrap import effective_settings
    from shared.store.tables import Tables, table_service

    return effective_settings(settings, Tables(table_service(settings), prefix=settings.table_prefix))


def graph_client(settings: Settings) -> Any:
    """The Graph client exactly as `learncal sync` signs in (same settings, secret source and credential)."""
    from shared.bootstrap import client_secret
    from shared.calendar.graph_client import build_graph_client
    from shared.identity import build_credential

    secret = None if settings.auth_mode == "federated" else client_secret(settings)
    return build_graph_client(build_credential(settings, secret), settings.graph_url)


def run_probe(settings: Settings, target: ProbeTarget, *, client: Any = None) -> TenantProfile:
    """Measure with `settings` (see `settings_in_force`); every probe event is removed again."""
    target.check_allowed(settings)
    settings.require("LEARNCAL_TENANT_ID", "LEARNCAL_CLIENT_ID")
    return asyncio.run(_probe(settings, target, client or graph_client(settings)))


async def _probe(settings: Settings, target: ProbeTarget, client: Any) -> TenantProfile:
    from shared.calendar.jobs import sub_error

    now = datetime.now(UTC)
    wire = Wire(client)
    ledger = Ledger(uuid.uuid4().hex[:10])
    requests = Requests(target.mailbox, now.replace(hour=3, minute=0, second=0) + timedelta(days=400))
    observations: dict[str, Observation] = {}
    cleanup: dict[str, Any] = {}
    try:
        usable = await wire.calendar(target.mailbox)
        if not usable.ok:
            raise LearncalError(f"The test mailbox {target.mailbox} cannot be used. "
                                f"{sub_error(usable, f'open the calendar of {target.mailbox}')}")
        observations["outOfScope"] = await measure.out_of_scope(wire, target.attendee)
        observations.update(await measure.tag_filters(wire, requests, ledger))
        observations.update(await measure.cancel_twice(wire, requests, ledger, target.attendee))
        observations["subjectOverLimit"] = await measure.long_subject(wire, requests, ledger)
        observations["batchConcurrency"] = await measure.batch_concurrency(wire, requests)
    finally:
        try:
            cleanup = await clean_up(wire, requests, ledger)
        finally:
            await _close(client)
    ordered = {name: observations[name] for name in ORDER if name in observations}
    return TenantProfile(now.isoformat(timespec="seconds").replace("+00:00", "Z"), settings.tenant_id or "",
                         target.mailbox, target.attendee, ordered, cleanup)


async def _close(client: Any) -> None:
    http = getattr(getattr(client, "request_adapter", None), "_http_client", None)
    if http is not None:
        await http.aclose()
