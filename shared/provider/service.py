"""Reading and changing the provider configuration: the one use case behind the admin API and the CLI.

The environment (LEARNCAL_*) supplies the values until an administrator saves a configuration;
from then on the stored row wins. Reading never writes: a configuration exists only once
somebody saved one on purpose.

A save checks what the change means before it happens: a new organizer while invitations are
open needs an explicit confirmation, a secret needs a Key Vault to live in, and switching the
status tells the administrator what follows for people's calendars.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from shared.provider.allowlist import ENVIRONMENT_SETTING, AllowlistsInForce
from shared.provider.errors import (
    AllowlistRemovalUnconfirmed,
    InvalidInput,
    OrganizerChangeUnconfirmed,
    SecretNotStorable,
)
from shared.provider.invitations import OpenInvitations, open_invitations
from shared.provider.model import SECRET_MASK, ProviderInput
from shared.provider.notifications import ACTIVE_NOTICE, INACTIVE_NOTICE, alerts_to_switch_off
from shared.provider.store import ProviderConfig, ProviderStore
from shared.secrets import KeyVaultSecret, SecretUnavailable
from shared.settings import Settings
from shared.store.tables import Tables

Source = Literal["stored", "environment"]
SecretSource = Literal["keyVault", "environment", "none", "notUsed"]


def defaults(settings: Settings) -> ProviderConfig:
    """The configuration the environment describes (in force until one is saved).

    Its allow-list is empty: the environment's list is not a stored one, it applies in any case.
    """
    return ProviderConfig(
        status=settings.status, tenant_id=settings.tenant_id, client_id=settings.client_id,
        organizer=settings.organizer, organizers=settings.organizers, auth_mode=settings.auth_mode,
    )


def allowlists(settings: Settings, config: ProviderConfig) -> AllowlistsInForce:
    return AllowlistsInForce(tuple(settings.recipient_allowlist), tuple(config.recipient_allowlist))


def effective_settings(settings: Settings, config: ProviderConfig) -> Settings:
    """Settings with the provider configuration's values in place of the environment's.

    The allow-list is the exception: the environment's always applies, and the stored one can
    only narrow it (see shared/provider/allowlist.py).
    """
    return dataclasses.replace(
        settings,
        status=config.status,  # type: ignore[arg-type]
        tenant_id=config.tenant_id or settings.tenant_id,
        client_id=config.client_id or settings.client_id,
        organizer=(config.organizer or settings.organizer or "").lower() or None,
        organizers=tuple(o.lower() for o in config.organizers) or settings.organizers,
        auth_mode=config.auth_mode,  # type: ignore[arg-type]
        recipient_allowlist=allowlists(settings, config).effective,
        request_responses=settings.request_responses if config.request_responses is None
        else config.request_responses,
    )


@dataclass(frozen=True)
class SecretStatus:
    source: SecretSource
    updated_on: datetime | None = None
    problem: str | None = None

    @property
    def present(self) -> bool:
        return self.source in ("keyVault", "environment") and self.problem is None


@dataclass(frozen=True)
class SaveResult:
    config: ProviderConfig
    notices: list[str] = field(default_factory=list)


class ProviderService:
    def __init__(
        self,
        settings: Settings,
        tables: Tables,
        *,
        vault: Callable[[Settings], KeyVaultSecret] = KeyVaultSecret.for_settings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._tables = tables
        self._store = ProviderStore(tables)
        self._vault = vault
        self._clock = clock

    # -- reading ---------------------------------------------------------------------------

    def current(self) -> tuple[ProviderConfig, Source]:
        stored = self._store.load()
        if stored is None:
            return defaults(self._settings), "environment"
        return stored, "stored"

    def effective_settings(self) -> Settings:
        return self.current_settings()[0]

    def allowlists(self) -> AllowlistsInForce:
        """The recipient allow-lists in force: the environment's and the stored one."""
        return allowlists(self._settings, self.current()[0])

    def current_settings(self) -> tuple[Settings, Source]:
        """The settings with the configuration in force applied, and where that configuration came from."""
        config, source = self.current()
        return effective_settings(self._settings, config), source

    def secret_status(self, auth_mode: str) -> SecretStatus:
        """Where the client secret comes from and when it last changed; never the value."""
        if auth_mode == "federated":
            return SecretStatus("notUsed")
        if self._settings.key_vault_url:
            try:
                version = self._vault(self._settings).read(refresh=True)
            except SecretUnavailable as error:
                return SecretStatus("keyVault", problem=str(error))
            return SecretStatus("keyVault", version.updated_on)
        if self._settings.client_secret:
            return SecretStatus("environment")
        return SecretStatus("none")

    def view(self) -> dict[str, Any]:
        """What GET /api/provider and `learncal provider show` return."""
        config, source = self.current()
        return self.render(config, source)

    def render(self, config: ProviderConfig, source: Source, notices: list[str] | None = None) -> dict[str, Any]:
        secret = self.secret_status(config.auth_mode)
        lists = allowlists(self._settings, config)
        body: dict[str, Any] = {
            "source": source,
            "status": config.status,
            "tenantId": config.tenant_id,
            "clientId": config.client_id,
            "organizer": config.organizer,
            "organizers": list(config.organizers),
            "authMode": config.auth_mode,
            "recipientAllowlist": list(config.recipient_allowlist),
            "defaultLanguage": config.default_language,
            "allowlistsInForce": lists.to_json(),
            "effectiveAllowlist": list(lists.effective) if not lists.admits_nobody else [],
            "clientSecret": SECRET_MASK if secret.present else None,
            "clientSecretSource": secret.source,
            "clientSecretUpdatedAt": _iso(secret.updated_on),
            "updatedAt": _iso(config.updated_at),
            "updatedBy": config.updated_by,
            "alertsToSwitchOff": alerts_to_switch_off(config.status),
            "requestResponses": config.request_responses,
            "requestResponsesInForce": (self._settings.request_responses if config.request_responses is None
                                        else config.request_responses),
        }
        if secret.problem:
            body["clientSecretProblem"] = secret.problem
        if lists.problem():
            body["allowlistProblem"] = lists.problem()
        if notices is not None:
            body["notices"] = notices
        return body

    # -- changing --------------------------------------------------------------------------

    def save(self, data: ProviderInput, *, actor: str | None = None) -> SaveResult:
        previous, source = self.current()
        new_secret = data.new_secret()
        if new_secret is not None:
            self._check_secret_destination(data)
        notices: list[str] = []
        organizer_notice = self._check_organizer_change(previous, data)
        if organizer_notice:
            notices.append(organizer_notice)
        allowlist, allowlist_notice = self._allowlist_change(previous, source, data)
        if allowlist_notice:
            notices.append(allowlist_notice)
        if new_secret is not None:
            vault = self._vault(self._settings)
            vault.store(new_secret)
            notices.append(f"The client secret was stored as the {vault.where}.")
        responses, responses_notice = self._responses_change(previous, source, data)
        if responses_notice:
            notices.append(responses_notice)
        config = ProviderConfig(
            status=data.status, tenant_id=data.tenant_id, client_id=data.client_id, organizer=data.pool()[0],
            organizers=data.pool(),
            auth_mode=data.auth_mode, recipient_allowlist=allowlist,
            updated_at=self._clock(), updated_by=actor, request_responses=responses,
            default_language=data.default_language or previous.default_language,
        )
        self._store.save(config)
        if previous.status == "active" and config.status == "inactive":
            notices.append(INACTIVE_NOTICE)
        elif previous.status == "inactive" and config.status == "active":
            notices.append(ACTIVE_NOTICE)
        if config.default_language != previous.default_language:
            notices.append(f"The default language is now {config.default_language}. Invitations already sent keep "
                           "their language until their offering is reconciled or the templates are rolled out "
                           "(learncal rollout).")
        if source == "environment":
            notices.append("The stored configuration applies from now on; the LEARNCAL_* values for these fields "
                           "are only defaults again if the stored configuration is removed.")
        return SaveResult(config, notices)

    def _responses_change(
        self, previous: ProviderConfig, source: Source, data: ProviderInput,
    ) -> tuple[bool | None, str | None]:
        """The stored requestResponses after this save (left out: kept), and what switching it means.

        Switching is a non-key change: invitations already sent keep what they asked until the
        change is rolled out on purpose, which shows the update messages it costs first.
        """
        kept = previous.request_responses if source == "stored" else None
        wanted = data.request_responses if "request_responses" in data.model_fields_set else kept
        before = self._settings.request_responses if kept is None else kept
        after = self._settings.request_responses if wanted is None else wanted
        if before == after:
            return wanted, None
        rollout = ("Invitations already sent are unchanged until you roll the change out: `learncal rollout "
                   "--dry-run` (or POST /api/rollout with dryRun) counts the update messages it costs.")
        if after:
            return wanted, ("Response collection is on: new invitations ask attendees for a response, and responses "
                            "are collected (subscriptions are created within 30 minutes; LEARNCAL_PUBLIC_URL must be "
                            "set). " + rollout)
        return wanted, ("Response collection is off: new invitations ask for no response, collection stops and its "
                        "subscriptions are removed within 30 minutes. " + rollout)

    def _check_secret_destination(self, data: ProviderInput) -> None:
        if data.auth_mode == "federated":
            raise SecretNotStorable("is not used with authMode federated (the managed identity signs in); leave it "
                                    "out, or use authMode secret.")
        if not self._settings.key_vault_url:
            raise SecretNotStorable("can only be kept in Key Vault, and none is configured: set "
                                    "LEARNCAL_KEY_VAULT_URL (for local development, LEARNCAL_CLIENT_SECRET).")

    def _allowlist_change(
        self, previous: ProviderConfig, source: Source, data: ProviderInput,
    ) -> tuple[tuple[str, ...], str | None]:
        """The stored list after this save, and what the change means.

        Absent from the request: the stored list stays. Null or empty: the stored list is
        removed, which must be confirmed while one is stored (it widens who is invited). A
        list that admits nobody together with the environment's is refused.
        """
        kept = tuple(previous.recipient_allowlist) if source == "stored" else ()
        if "recipient_allowlist" not in data.model_fields_set:
            return kept, None
        wanted = tuple(data.recipient_allowlist or ())
        env = tuple(self._settings.recipient_allowlist)
        if not wanted:
            if not kept:
                return (), None
            within = f", within {ENVIRONMENT_SETTING} ({', '.join(env)})" if env else ""
            consequence = (f"Removing the stored recipient allow-list ({', '.join(kept)}): runs then invite everyone "
                           f"the feed names{within}.")
            if not data.confirm_allowlist_removal:
                raise AllowlistRemovalUnconfirmed(
                    consequence + " To go ahead, send confirmAllowlistRemoval: true (learncal provider set "
                    '--allowlist "" --confirm-allowlist-removal).'
                )
            return (), consequence
        lists = AllowlistsInForce(env, wanted)
        if lists.admits_nobody:
            raise InvalidInput([{"field": "recipientAllowlist", "message": (
                f"admits nobody: {ENVIRONMENT_SETTING} ({', '.join(env)}) always applies and a stored list can only "
                "narrow it. Use entries inside it, or leave recipientAllowlist out.")}])
        outside = lists.outside_environment()
        if outside:
            return wanted, (f"{', '.join(outside)} {'is' if len(outside) == 1 else 'are'} outside "
                            f"{ENVIRONMENT_SETTING} ({', '.join(env)}) and will not be invited.")
        return wanted, None

    def _check_organizer_change(self, previous: ProviderConfig, data: ProviderInput) -> str | None:
        """Refuse an unconfirmed pool change while invitations from mailboxes outside the new pool are open."""
        old = tuple(o.lower() for o in previous.organizers)
        new = data.pool()
        if set(new) == set(old):
            return None
        others = open_invitations(self._tables)
        elsewhere = others.other_than(*new)
        if not elsewhere:
            return None
        consequence = _organizer_consequence(others, elsewhere, old, new)
        if not data.confirm_organizer_change:
            raise OrganizerChangeUnconfirmed(
                consequence + " To go ahead, send confirmOrganizerChange: true (learncal provider set "
                "--confirm-organizer-change)."
            )
        return consequence


def _organizer_consequence(
    found: OpenInvitations, elsewhere: dict[str, int], old: tuple[str, ...], new: tuple[str, ...],
) -> str:
    senders = ", ".join(sorted(elsewhere))
    before = f" from {', '.join(old)}" if old else ""
    if len(new) == 1 and len(old) <= 1:
        what, after = f"Changing the organizer{before} to {new[0]}", f"New invitations come from {new[0]}."
    else:
        what = f"Changing the organizer pool{before} to {', '.join(new)}"
        after = ("New invitations come from the pool: offerings pinned to a mailbox that left it are pinned anew, "
                 "and each run that does so reports it as a warning.")
    return (
        f"{what}: there are open invitations ({found.describe(elsewhere)}). Their updates and cancellations keep "
        f"going through the organizer that sent them, so {senders} must stay reachable by the app (a mailbox inside "
        f"its Exchange scope); if it is not, those changes are reported as failed and people keep outdated meetings. "
        f"{after}"
    )


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None
