"""Every configuration value the product reads, in one place.

The names are an outside interface (app settings in Azure, `Values` in local.settings.json,
environment variables locally). Keeping them in one registry lets the infrastructure test
check that Bicep sets exactly the names the code reads, and gives every error one place to
say which variable to fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from shared.errors import ConfigurationError

# A send-worker slice ends a minute before host.json's functionTimeout (30 minutes) at the latest,
# leaving time to record what it sent and put the next wake-up on the queue.
MAX_SEND_SLICE = 1740.0


@dataclass(frozen=True)
class Setting:
    name: str
    meaning: str
    default: str | None = None
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("LEARNCAL_TENANT_ID", "Microsoft Entra tenant ID"),
    Setting("LEARNCAL_CLIENT_ID", "application (client) ID of the registered app"),
    Setting("LEARNCAL_CLIENT_SECRET", "client secret, for local development only", secret=True),
    Setting("LEARNCAL_KEY_VAULT_URL", "Key Vault holding the client secret"),
    Setting("LEARNCAL_CLIENT_SECRET_NAME", "name of the client secret in Key Vault", "graph-client-secret"),
    Setting("LEARNCAL_AUTH_MODE", "secret, or federated (managed identity as federated credential)", "secret"),
    Setting("LEARNCAL_MANAGED_IDENTITY_CLIENT_ID", "client ID of the user-assigned managed identity"),
    Setting("LEARNCAL_ORGANIZER", "organizer mailbox for all invitations (a pool of one)"),
    Setting("LEARNCAL_ORGANIZERS", "comma-separated organizer pool; each offering is pinned to one of them"),
    Setting("LEARNCAL_STATUS", "active or inactive until a provider configuration is saved", "active"),
    Setting("LEARNCAL_FEED", "the learning feed: a path, an https URL, blob:CONTAINER (the newest complete feed in "
            "that container of the feed storage) or blob:CONTAINER/NAME (docs/feed.md)"),
    Setting("LEARNCAL_FEED_STORAGE", "connection string of the feed drop's storage account, for local use "
            "(default: AzureWebJobsStorage)", secret=True),
    Setting("LEARNCAL_FEED_STORAGE__blobServiceUri", "blob service URI of the feed drop, reached with the managed "
            "identity (default: AzureWebJobsStorage's)"),
    Setting("LEARNCAL_FEED_STORAGE__clientId", "managed identity used to read the feed drop "
            "(default: AzureWebJobsStorage__clientId)"),
    Setting("LEARNCAL_FEED_KEEP_DAYS", "days earlier feeds are kept in the feed drop before they are deleted (and "
            "feeds-history rows nothing has touched for as long)", "30"),
    Setting("LEARNCAL_FEED_CSV_MAPPING", "path of the mapping file that adapts a CSV export (docs/feed-csv.md)"),
    Setting("LEARNCAL_RESPONSE_KEEP_DAYS", "days attendees' responses are kept after their invitation is no longer "
            "live (its session ended or it was cancelled)", "30"),
    Setting("LEARNCAL_RESPONSE_WEBHOOK_URL", "https URL each response change is posted to (signed; optional)"),
    Setting("LEARNCAL_RESPONSE_WEBHOOK_SECRET", "key that signs the response webhook's posts, for local development "
            "only (in Azure: the Key Vault secret learncal-response-webhook-secret)", secret=True),
    Setting("LEARNCAL_ALERT_DECLINED_INSTRUCTOR", "raise an alert when an instructor declines a session", "true"),
    Setting("LEARNCAL_RECIPIENT_ALLOWLIST", "comma-separated addresses and @domain entries"),
    Setting("LEARNCAL_SEND_PER_MINUTE", "messages the organizer may send per minute", "30"),
    Setting("LEARNCAL_SEND_PER_DAY", "recipients the organizer may send to per rolling day", "10000"),
    Setting("LEARNCAL_RUN_SECONDS", "time budget of one run", "540"),
    Setting("LEARNCAL_SEND_SLICE_SECONDS", "time slice of one send-worker invocation (below host.json's "
            "functionTimeout of 30 minutes)", "1500"),
    Setting("LEARNCAL_MASS_CANCEL_MIN", "cancellations from which the guard may stop a run", "10"),
    Setting("LEARNCAL_MASS_CANCEL_RATIO", "share of live invitations above which the guard stops a run", "0.2"),
    Setting("LEARNCAL_MASS_CANCEL_MAX", "cancellations above which the guard stops a run whatever the share", "500"),
    Setting("LEARNCAL_ALLOW_MASS_CANCEL", "a one-shot allowance: the number of cancellations the guard lets "
            "through once (read once, expires after 24 hours)"),
    Setting("LEARNCAL_REQUEST_RESPONSES", "true: invitations ask for a response and responses are collected "
            "(docs/behaviour.md, Responses); a saved provider configuration's requestResponses wins", "false"),
    Setting("LEARNCAL_PUBLIC_URL", "the function app's public https base URL (such as "
            "https://learncal.azurewebsites.net), where Microsoft Graph delivers change notifications"),
    Setting("LEARNCAL_SYNC_SCHEDULE", "NCRONTAB schedule of the sync timer", "0 0 * * * *"),
    Setting("LEARNCAL_GRAPH_URL", "Microsoft Graph base URL", "https://graph.microsoft.com/v1.0"),
    Setting("LEARNCAL_AUTHORITY_URL", "Microsoft identity platform authority host", "https://login.microsoftonline.com"),
    Setting("LEARNCAL_TABLE_PREFIX", "prefix of the table and queue names, so installations can share an account",
            "Learncal"),
    # Read by the Functions host for the queue triggers (`%LEARNCAL_SEND_QUEUE%`), and checked by the
    # health report: each must be the queue the product sends to, "<prefix in lower case>-send" and so on
    # (shared/queue/names.py). The Bicep sets them from tablePrefix.
    Setting("LEARNCAL_SEND_QUEUE", "queue of the send_worker function: <table prefix in lower case>-send",
            "learncal-send"),
    Setting("LEARNCAL_RUNS_QUEUE", "queue of the run_worker function: <table prefix in lower case>-runs",
            "learncal-runs"),
    Setting("LEARNCAL_JOBS_QUEUE", "queue of the job_worker function: <table prefix in lower case>-jobs",
            "learncal-jobs"),
    Setting("LEARNCAL_WEBHOOKS_QUEUE",
            "queue of the webhook_worker function: <table prefix in lower case>-webhooks", "learncal-webhooks"),
    Setting("LEARNCAL_RESPONSES_QUEUE",
            "queue of the responses_worker function: <table prefix in lower case>-responses", "learncal-responses"),
    Setting("AzureWebJobsStorage", "Azure Storage connection string", "UseDevelopmentStorage=true"),
    Setting("AzureWebJobsStorage__tableServiceUri", "Table service URI for identity-based storage access"),
    Setting("AzureWebJobsStorage__queueServiceUri", "Queue service URI for identity-based storage access"),
    Setting("AzureWebJobsStorage__blobServiceUri", "Blob service URI for identity-based storage access"),
    Setting("AzureWebJobsStorage__clientId", "managed identity used for identity-based storage access"),
)

SETTING_NAMES: frozenset[str] = frozenset(s.name for s in SETTINGS)
_BY_NAME = {s.name: s for s in SETTINGS}


def setting(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """One setting on its own, for code that needs a single value and must not fail on the others."""
    value = (os.environ if env is None else env).get(name)
    return _BY_NAME[name].default if value is None or not value.strip() else value.strip()


AuthMode = Literal["secret", "federated"]
Status = Literal["active", "inactive"]

# Azurite's well-known development account (public, documented by Microsoft).
DEVELOPMENT_STORAGE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)


@dataclass(frozen=True)
class Settings:
    """The configuration of one process, read once from the environment."""

    tenant_id: str | None
    client_id: str | None
    client_secret: str | None = field(default=None, repr=False)
    key_vault_url: str | None = None
    client_secret_name: str = "graph-client-secret"
    auth_mode: AuthMode = "secret"
    managed_identity_client_id: str | None = None
    organizer: str | None = None  # the pool's first mailbox: lease, mapping rebuild, single-mailbox tools
    organizers: tuple[str, ...] = ()
    status: Status = "active"
    feed: str | None = None
    recipient_allowlist: tuple[str, ...] = ()
    send_per_minute: int = 30
    send_per_day: int = 10000
    run_seconds: float = 540.0
    send_slice_seconds: float = 1500.0  # one send-worker invocation; host.json's functionTimeout is 30 minutes
    mass_cancel_min: int = 10
    mass_cancel_ratio: float = 0.2
    mass_cancel_max: int = 500
    allow_mass_cancel: int | None = None  # a one-shot allowance given through the environment
    graph_url: str = "https://graph.microsoft.com/v1.0"
    authority_url: str = "https://login.microsoftonline.com"
    storage_connection: str = "UseDevelopmentStorage=true"
    table_prefix: str = "Learncal"
    table_service_uri: str | None = None
    queue_service_uri: str | None = None
    blob_service_uri: str | None = None
    storage_client_id: str | None = None
    feed_storage_connection: str | None = None  # LEARNCAL_FEED_STORAGE; None: the app's own storage
    feed_blob_service_uri: str | None = None
    feed_storage_client_id: str | None = None
    feed_keep_days: int = 30
    request_responses: bool = False  # LEARNCAL_REQUEST_RESPONSES; the provider configuration may override it
    public_url: str | None = None  # LEARNCAL_PUBLIC_URL: where Graph delivers change notifications
    response_keep_days: int = 30
    response_webhook_url: str | None = None
    response_webhook_secret: str | None = field(default=None, repr=False)
    alert_declined_instructor: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name)
            if value is None or value.strip() == "":
                return _BY_NAME[name].default
            return value.strip()

        def number(name: str, kind: type[int] | type[float], minimum: float) -> int | float:
            raw = get(name)
            try:
                value = kind(raw)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise ConfigurationError(
                    f"{name}={raw!r} is not a number; set it to a number such as {_BY_NAME[name].default}."
                ) from None
            if value < minimum:
                raise ConfigurationError(f"{name} must be at least {minimum}; it is {raw}.")
            return value

        slice_seconds = float(number("LEARNCAL_SEND_SLICE_SECONDS", float, 1))
        if slice_seconds > MAX_SEND_SLICE:
            raise ConfigurationError(
                f"LEARNCAL_SEND_SLICE_SECONDS must be at most {MAX_SEND_SLICE:.0f}; it is "
                f"{get('LEARNCAL_SEND_SLICE_SECONDS')}: host.json's functionTimeout (30 minutes) ends a send-worker "
                "invocation that runs longer."
            )
        status = (get("LEARNCAL_STATUS") or "active").lower()
        if status not in ("active", "inactive"):
            raise ConfigurationError(f"LEARNCAL_STATUS={status!r} is not known; use active or inactive.")
        auth_mode = (get("LEARNCAL_AUTH_MODE") or "secret").lower()
        if auth_mode not in ("secret", "federated"):
            raise ConfigurationError(f"LEARNCAL_AUTH_MODE={auth_mode!r} is not known; use secret or federated.")
        allowlist = tuple(
            part.strip().lower() for part in (get("LEARNCAL_RECIPIENT_ALLOWLIST") or "").split(",") if part.strip()
        )
        organizers = organizer_pool(get("LEARNCAL_ORGANIZERS"), get("LEARNCAL_ORGANIZER"))
        ratio = float(number("LEARNCAL_MASS_CANCEL_RATIO", float, 0.0))
        if ratio > 1:
            raise ConfigurationError("LEARNCAL_MASS_CANCEL_RATIO is a share between 0 and 1, such as 0.2.")
        return cls(
            tenant_id=get("LEARNCAL_TENANT_ID"),
            client_id=get("LEARNCAL_CLIENT_ID"),
            client_secret=get("LEARNCAL_CLIENT_SECRET"),
            key_vault_url=get("LEARNCAL_KEY_VAULT_URL"),
            client_secret_name=get("LEARNCAL_CLIENT_SECRET_NAME") or "graph-client-secret",
            auth_mode=auth_mode,  # type: ignore[arg-type]
            managed_identity_client_id=get("LEARNCAL_MANAGED_IDENTITY_CLIENT_ID"),
            organizer=organizers[0] if organizers else None,
            organizers=organizers,
            status=status,  # type: ignore[arg-type]
            feed=get("LEARNCAL_FEED"),
            recipient_allowlist=allowlist,
            send_per_minute=int(number("LEARNCAL_SEND_PER_MINUTE", int, 1)),
            send_per_day=int(number("LEARNCAL_SEND_PER_DAY", int, 1)),
            run_seconds=float(number("LEARNCAL_RUN_SECONDS", float, 1)),
            send_slice_seconds=slice_seconds,
            mass_cancel_min=int(number("LEARNCAL_MASS_CANCEL_MIN", int, 0)),
            mass_cancel_ratio=ratio,
            mass_cancel_max=int(number("LEARNCAL_MASS_CANCEL_MAX", int, 0)),
            allow_mass_cancel=_allowance(get("LEARNCAL_ALLOW_MASS_CANCEL")),
            graph_url=(get("LEARNCAL_GRAPH_URL") or "").rstrip("/"),
            authority_url=(get("LEARNCAL_AUTHORITY_URL") or "").rstrip("/"),
            storage_connection=get("AzureWebJobsStorage") or "UseDevelopmentStorage=true",
            table_prefix=_table_prefix(get("LEARNCAL_TABLE_PREFIX") or "Learncal"),
            table_service_uri=get("AzureWebJobsStorage__tableServiceUri"),
            queue_service_uri=get("AzureWebJobsStorage__queueServiceUri"),
            blob_service_uri=get("AzureWebJobsStorage__blobServiceUri"),
            storage_client_id=get("AzureWebJobsStorage__clientId"),
            feed_storage_connection=get("LEARNCAL_FEED_STORAGE"),
            feed_blob_service_uri=get("LEARNCAL_FEED_STORAGE__blobServiceUri"),
            feed_storage_client_id=get("LEARNCAL_FEED_STORAGE__clientId"),
            feed_keep_days=int(number("LEARNCAL_FEED_KEEP_DAYS", int, 1)),
            request_responses=_switch("LEARNCAL_REQUEST_RESPONSES", get("LEARNCAL_REQUEST_RESPONSES") or "false"),
            public_url=_public_url(get("LEARNCAL_PUBLIC_URL")),
            response_keep_days=int(number("LEARNCAL_RESPONSE_KEEP_DAYS", int, 0)),
            response_webhook_url=get("LEARNCAL_RESPONSE_WEBHOOK_URL"),
            response_webhook_secret=get("LEARNCAL_RESPONSE_WEBHOOK_SECRET"),
            alert_declined_instructor=_switch("LEARNCAL_ALERT_DECLINED_INSTRUCTOR",
                                              get("LEARNCAL_ALERT_DECLINED_INSTRUCTOR") or "true"),
        )

    def __post_init__(self) -> None:
        # Code that builds Settings by hand (tests, `dataclasses.replace`) may name one organizer or
        # the pool; either way both fields describe the same pool.
        if self.organizers and self.organizer != self.organizers[0]:
            if self.organizer is None or self.organizer in self.organizers:
                object.__setattr__(self, "organizer", self.organizers[0])
            else:
                object.__setattr__(self, "organizers", (self.organizer,))
        elif not self.organizers and self.organizer:
            object.__setattr__(self, "organizers", (self.organizer,))

    def require(self, *names: str) -> None:
        """Fail with the variables to set, rather than deep inside a client library."""
        values = {
            "LEARNCAL_TENANT_ID": self.tenant_id,
            "LEARNCAL_CLIENT_ID": self.client_id,
            "LEARNCAL_ORGANIZER": self.organizer,
        }
        missing = [n for n in names if not values.get(n)]
        if missing:
            raise ConfigurationError(
                "Missing configuration: " + ", ".join(missing)
                + ". Set them in the environment or in the Values of local.settings.json."
            )


def organizer_pool(pool: str | None, single: str | None) -> tuple[str, ...]:
    """The organizer mailboxes in force: LEARNCAL_ORGANIZERS, else LEARNCAL_ORGANIZER (a pool of one).

    Both may be set while an installation moves to a pool (or when a pool is added beside an
    existing setting); LEARNCAL_ORGANIZERS then wins and LEARNCAL_ORGANIZER is ignored, which
    Validate reports when it names a mailbox outside the pool (`ignored_organizer`).
    """
    if not pool:
        return (mailbox_address("LEARNCAL_ORGANIZER", single),) if single else ()
    members: list[str] = []
    for position, part in enumerate(pool.split(","), start=1):
        if not part.strip():
            continue
        address = mailbox_address("LEARNCAL_ORGANIZERS", part, position)
        if address not in members:
            members.append(address)
    if not members:
        raise ConfigurationError(
            "LEARNCAL_ORGANIZERS names no mailbox; set it to comma-separated addresses such as "
            "learning.coordinator@contoso.com,learning.coordinator2@contoso.com, or leave it empty."
        )
    return tuple(members)


def ignored_organizer(env: Mapping[str, str] | None = None) -> str | None:
    """LEARNCAL_ORGANIZER when LEARNCAL_ORGANIZERS is set too and leaves it out (the pool wins)."""
    pool, single = setting("LEARNCAL_ORGANIZERS", env), setting("LEARNCAL_ORGANIZER", env)
    if not pool or not single:
        return None
    members = {part.strip().lower() for part in pool.split(",")}
    return None if single.lower() in members else single.lower()


def mailbox_address(name: str, value: str, position: int | None = None) -> str:
    """One organizer address, lower-cased, or an error naming the setting (and the pool entry) to fix."""
    from email_validator import EmailNotValidError, validate_email

    text = value.strip().lower()
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        where = f"{name} (entry {position})" if position is not None else name
        raise ConfigurationError(
            f"{where}: {text!r} is not an e-mail address ({error}). Set it to the organizer mailbox's primary "
            "address, such as learning.coordinator@contoso.com" + (", separating mailboxes with commas." if
                                                                   position is not None else ".")
        ) from None


def _allowance(value: str | None) -> int | None:
    """LEARNCAL_ALLOW_MASS_CANCEL: how many cancellations the guard lets through once, or None."""
    if value is None or value.lower() in ("false", "0", "no"):
        return None
    if value.isascii() and value.isdigit():
        return int(value)
    raise ConfigurationError(
        f"LEARNCAL_ALLOW_MASS_CANCEL={value!r} is not a number. Set it to the number of cancellations to allow once "
        "(the count the guard or a dry run reported, such as 67), or leave it empty; it is read once and expires "
        "after 24 hours."
    )


def _switch(name: str, value: str) -> bool:
    text = value.strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ConfigurationError(f"{name}={value!r} is neither true nor false; set it to true or false.")


def _public_url(value: str | None) -> str | None:
    """The function app's base URL; Graph delivers change notifications only over HTTPS."""
    if value is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment:
        raise ConfigurationError(
            f"LEARNCAL_PUBLIC_URL={value!r} is not an https base URL; set it to the function app's address, such as "
            "https://learncal.azurewebsites.net (Microsoft Graph delivers change notifications only over HTTPS)."
        )
    return value.rstrip("/")


def _table_prefix(value: str) -> str:
    if not value.isalnum() or not value[0].isalpha() or len(value) > 40:
        raise ConfigurationError(
            f"LEARNCAL_TABLE_PREFIX={value!r} must start with a letter and hold only letters and digits (at most 40)."
        )
    return value
