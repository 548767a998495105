"""Runs every Validate check in order, each on its own: one failure never hides the others' answers.

What is checked is the configuration in force (stored, or the environment until one is saved),
optionally with an administrator's proposed values over it, so a configuration can be checked
before it is saved: Validate first, then Save.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.calendar.graph_client import graph_scope
from shared.identity import federated_credential, secret_credential
from shared.provider.model import ValidateInput
from shared.provider.service import ProviderService
from shared.secrets import KeyVaultSecret, SecretUnavailable
from shared.settings import Settings, ignored_organizer
from shared.store.tables import Tables
from shared.validate.feed import check_feed
from shared.validate.guard import lease_names, organizer_mailbox
from shared.validate.history import check_organizer_history
from shared.validate.mailbox import (
    Grants,
    busy,
    check_calendar_write,
    check_mailbox_scope,
    check_organizer_calendar,
    look_up_organizer,
)
from shared.validate.model import (
    CALENDAR_WRITE,
    CONFIGURATION,
    MAILBOX_SCOPE,
    ORGANIZER,
    PERMISSIONS,
    SIGN_IN,
    CalendarAccess,
    Check,
    Report,
    failed,
    not_checked,
    passed,
    warned,
)
from shared.validate.queues import check_queues
from shared.validate.responses import check_response_collection
from shared.validate.signin import check_permissions, check_sign_in, has_calendar_role
from shared.validate.vault import check_key_vault
from shared.validate.webhook import check_response_webhook


@dataclass(frozen=True)
class Target:
    """What to check: settings with the provider configuration (and any proposed values) in place."""

    settings: Settings
    source: str
    secret: str | None = field(default=None, repr=False)  # a proposed secret, never stored by Validate
    probe_mailbox: str | None = None
    allowlists: str = ""  # the recipient allow-lists in force, in words


def target_for(service: ProviderService, proposal: ValidateInput | None = None) -> Target:
    settings, source = service.current_settings()
    allowlists = service.allowlists().describe()
    if proposal is None:
        return Target(settings, source, allowlists=allowlists)
    changes: dict[str, Any] = {
        name: value for name, value in (
            ("tenant_id", proposal.tenant_id), ("client_id", proposal.client_id), ("auth_mode", proposal.auth_mode),
        ) if value is not None
    }
    pool = tuple(dict.fromkeys(proposal.organizers or ([proposal.organizer] if proposal.organizer else [])))
    if pool:
        changes.update(organizer=pool[0], organizers=pool)
    secret = proposal.client_secret.get_secret_value() if proposal.client_secret else None
    proposed = bool(changes) or secret is not None
    return Target(dataclasses.replace(settings, **changes), "proposed" if proposed else source, secret,
                  proposal.probe_mailbox, allowlists)


class Validator:
    def __init__(
        self,
        tables: Tables,
        *,
        vault: Callable[[Settings], KeyVaultSecret] = KeyVaultSecret.for_settings,
        credential: Callable[[Settings, str | None], Any] | None = None,
    ) -> None:
        self._tables = tables
        self._vault = vault
        self._credential = credential or self._default_credential

    def run(self, target: Target) -> Report:
        settings = target.settings
        report = Report()
        config = report.add(self._configuration(target))
        token: str | None = None
        if config.status == "fail":
            for name in (SIGN_IN, PERMISSIONS, ORGANIZER, CALENDAR_WRITE, MAILBOX_SCOPE):
                report.add(not_checked(name, "the configuration is incomplete."))
        else:
            credential, problem = self._make_credential(target)
            if problem is not None:
                report.add(problem)
            else:
                sign_in, token = check_sign_in(credential, graph_scope(settings.graph_url), settings.authority_url)
                report.add(sign_in)
            if token is None:
                for name in (PERMISSIONS, ORGANIZER, CALENDAR_WRITE, MAILBOX_SCOPE):
                    report.add(not_checked(name, "sign-in failed."))
            else:
                grants = Grants(has_calendar_role(token), settings.client_id)
                checks, access = asyncio.run(self._graph_checks(credential, target, grants))
                report.add(check_permissions(token, access, settings.client_id))
                for check in checks:
                    report.add(check)
            _close(credential)
        report.add(check_key_vault(settings, self._vault))
        report.add(check_organizer_history(self._tables, settings.organizers))
        feed = check_feed(settings)
        if feed is not None:
            report.add(feed)
        webhook = check_response_webhook(settings)
        if webhook is not None:
            report.add(webhook)
        queues = check_queues(self._tables.prefix)
        if queues is not None:
            report.add(queues)
        return report.ordered()

    # -- parts -----------------------------------------------------------------------------

    @staticmethod
    def _configuration(target: Target) -> Check:
        settings = target.settings
        missing = [name for name, value in (
            ("tenant ID (LEARNCAL_TENANT_ID)", settings.tenant_id),
            ("client ID (LEARNCAL_CLIENT_ID)", settings.client_id),
            ("organizer (LEARNCAL_ORGANIZERS, or LEARNCAL_ORGANIZER for one mailbox)", settings.organizer),
        ) if not value]
        if settings.auth_mode == "secret" and not (target.secret or settings.key_vault_url or settings.client_secret):
            missing.append("client secret (Key Vault via LEARNCAL_KEY_VAULT_URL, or LEARNCAL_CLIENT_SECRET locally)")
        if missing:
            return failed(CONFIGURATION, "Missing: " + "; ".join(missing) + ".",
                          "Save the provider configuration (PUT /api/provider or learncal provider set), or set "
                          "the LEARNCAL_* values.")
        origin = {"stored": "the stored configuration", "environment": "the environment (nothing saved yet)",
                  "proposed": "the proposed values over the configuration in force"}.get(target.source, target.source)
        pool = settings.organizers or (settings.organizer,)
        who = f"organizer {pool[0]}" if len(pool) == 1 else f"organizer pool {', '.join(pool)}"
        detail = (f"Tenant {settings.tenant_id}, app {settings.client_id}, {who}, {settings.auth_mode} sign-in, from "
                  f"{origin}" + (f"; {target.allowlists}." if target.allowlists else "."))
        ignored = ignored_organizer() if target.source == "environment" else None
        if ignored:
            return warned(CONFIGURATION, detail + f" LEARNCAL_ORGANIZER ({ignored}) is ignored: LEARNCAL_ORGANIZERS is "
                          "set too and wins, and it leaves that mailbox out.",
                          "Remove LEARNCAL_ORGANIZER, or add its mailbox to LEARNCAL_ORGANIZERS.")
        return passed(CONFIGURATION, detail)

    def _make_credential(self, target: Target) -> tuple[Any, Check | None]:
        settings = target.settings
        secret = target.secret
        if settings.auth_mode == "secret" and secret is None:
            if settings.key_vault_url:
                try:
                    secret = self._vault(settings).value(refresh=True)
                except SecretUnavailable as error:
                    return None, failed(SIGN_IN, "The client secret could not be read: " + error.problem, error.fix)
            else:
                secret = settings.client_secret
        return self._credential(settings, secret), None

    @staticmethod
    def _default_credential(settings: Settings, secret: str | None) -> Any:
        if settings.auth_mode == "federated":
            return federated_credential(settings)
        assert secret
        return secret_credential(settings, secret)

    async def _graph_checks(
        self, credential: Any, target: Target, grants: Grants
    ) -> tuple[list[Check], CalendarAccess]:
        from shared.calendar.graph_client import build_graph_client

        settings = target.settings
        pool = settings.organizers or ((settings.organizer,) if settings.organizer else ())
        client = build_graph_client(credential, settings.graph_url, timeout=30.0)
        try:
            checks: list[Check] = []
            answers: list[CalendarAccess] = []
            names: tuple[str, ...] = ()
            for organizer in pool:  # one result per mailbox of the pool, each with its own fix
                mailbox, write, access, found = await self._organizer_checks(client, organizer, grants)
                checks += [mailbox.about(organizer), write.about(organizer)]
                answers.append(access)
                names += found
            access = _pool_access(answers)
            scope = await check_mailbox_scope(client, names, target.probe_mailbox, organizer_calendar=access,
                                              grants=grants)
            collection = await check_response_collection(client, self._tables, settings)
            return [*checks, scope, *([collection] if collection else [])], access
        finally:
            http = getattr(getattr(client, "request_adapter", None), "_http_client", None)
            if http is not None:
                await http.aclose()

    async def _organizer_checks(
        self, client: Any, organizer: str, grants: Grants
    ) -> tuple[Check, Check, CalendarAccess, tuple[str, ...]]:
        """The directory look-up, then the probes of the organizer's mailbox, under its run lease."""
        found = await look_up_organizer(client, organizer)
        if isinstance(found, Check):
            return found, not_checked(CALENDAR_WRITE, "the organizer mailbox check failed."), "unknown", \
                (organizer.lower(),)
        with organizer_mailbox(self._tables, lease_names(organizer, found.upn, found.address)) as free:
            if not free:
                return busy(ORGANIZER, found), busy(CALENDAR_WRITE), "busy", found.names
            mailbox, access = await check_organizer_calendar(client, found, grants)
            if mailbox.status == "fail":
                return mailbox, not_checked(CALENDAR_WRITE, "the organizer mailbox check failed."), access, found.names
            write, refused = await check_calendar_write(client, organizer)
        return mailbox, write, "refused" if refused else access, found.names


def _pool_access(answers: list[CalendarAccess]) -> CalendarAccess:
    """What the pool's calendars said, for the permission and scope checks.

    One answering calendar proves the app's grant works; a refusal elsewhere is that mailbox's
    own failed check, with its fix.
    """
    for access in ("answers", "refused", "busy"):
        if access in answers:
            return access
    return "unknown"


def _close(credential: Any) -> None:
    close = getattr(credential, "close", None)
    if callable(close):
        close()


__all__ = ["Target", "Validator", "target_for"]
