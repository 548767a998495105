"""How closely the sandbox imitates Microsoft 365's limits and failures: one configuration.

Defaults are the documented limits of the real service, so the product meets them locally
before it meets them in a tenant. Tests and benchmarks change them through
`PUT /_sandbox/config`; the value is kept in the data directory.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from shared.sandbox.timezones import ZoneMode

SendLimitMode = Literal["off", "record", "reject"]
DEFAULT_FAULT_CODE = "ServiceUnavailable"

# Each switch's allowed values; the first is the default (the worst plausible case).
CHOICES: dict[str, tuple[str, ...]] = {
    "batch_execution": ("concurrent", "sequential"),
    "encoded_batch_query_options": ("ignored", "decoded"),
    "extended_property_filter_case": ("insensitive", "sensitive"),
    "repeat_cancel": ("accepted", "notFound", "badRequest"),
    "transaction_id_after_cancel": ("returnsCancelled", "createsNew"),
    "subject_over_limit": ("refuse", "truncate"),
    "response_changes_organizer_item": ("changes", "keeps"),
    "response_without_request": ("notSent", "sent"),
    "delta_query_options": ("refuse", "ignore"),
    "missed_lifecycle_event": ("notSent", "sent"),
}


@dataclass
class FaultRule:
    """Answer matching Graph requests with an error instead of (or after) serving them, or slow them down.

    `path` is a glob over the Graph path without the version (`/users/*/events`), `method` an
    HTTP method or `*`. The rule fires for a matching request with `probability` (drawn from
    the plan's seeded generator, so a run is repeatable), skipping the first `after` matches
    and firing at most `times` times (None: unlimited). With `applied` the request is served
    first and its answer lost, as when a gateway times out after the mailbox committed a write.
    `latency` seconds pass before the request is served (holding its concurrency slot); a rule
    with `status` None only adds latency.
    """

    status: int | None = 503
    code: str = DEFAULT_FAULT_CODE
    message: str = "The service is currently unavailable. Please try again later."
    method: str = "*"
    path: str = "*"
    probability: float = 1.0
    after: int = 0
    times: int | None = None
    retry_after: float | None = None
    applied: bool = False
    latency: float = 0.0


@dataclass
class Realism:
    requests_per_10_minutes: int = 10_000  # per app and mailbox
    concurrent_requests_per_mailbox: int = 4  # per app and mailbox
    messages_per_minute: int = 30  # per sending mailbox
    recipients_per_day: int = 10_000  # per sending mailbox
    send_limit_mode: SendLimitMode = "record"  # off | record (count in stats) | reject (not delivered, NDR)
    time_zones: ZoneMode = "lenient"
    token_lifetime_seconds: int = 3599
    time_scale: float = 1.0
    fault_seed: int = 0  # also seeds the order in which a batch's sub-requests start
    faults: list[FaultRule] = field(default_factory=list)
    # learn.microsoft.com/graph/throttling-limits ("Outlook service limits for JSON batching"):
    # Graph forwards up to four sub-requests of a batch to the mailbox at a time, in no set order.
    batch_execution: str = "concurrent"
    # Inside $batch, Graph does not decode `%24filter` etc. (kiota issues 1445, 1651): answered as if absent.
    encoded_batch_query_options: str = "ignored"
    # Graph compares extended-property values in $filter case-insensitively.
    extended_property_filter_case: str = "insensitive"
    # Undocumented: what a second cancel of the same meeting answers.
    repeat_cancel: str = "accepted"
    # Undocumented: how long Graph remembers a transactionId, and whether a cancelled event counts.
    transaction_id_after_cancel: str = "returnsCancelled"
    # Exchange keeps subjects to 255 characters; whether Graph refuses or cuts a longer one is undocumented.
    subject_over_limit: str = "refuse"
    subject_max_length: int = 255
    # Undocumented: whether Exchange recording an attendee's response changes the organizer's item's changeKey.
    response_changes_organizer_item: str = "changes"
    # Outlook sends no response to a meeting that asked for none.
    response_without_request: str = "notSent"
    # learn.microsoft.com/graph/api/event-delta: calendarView delta takes no $select, $expand, $filter, $orderby,
    # $search; refused (400) or ignored. Page size without Prefer: odata.maxpagesize is undocumented.
    delta_query_options: str = "refuse"
    delta_page_size: int = 10
    # learn.microsoft.com/graph/delta-query-overview ("Token duration"): Outlook keeps delta tokens in a cache of
    # undocumented size; older tokens answer syncStateNotFound.
    delta_token_cache: int = 1000
    # learn.microsoft.com/graph/change-notifications-delivery-webhooks: notificationUrl must be HTTPS.
    allow_http_notification_url: bool = False
    notification_ca_file: str | None = None  # extra CA bundle trusted for notification URLs (with the sandbox's own)
    validation_timeout_seconds: float = 10.0  # the validation answer must come within 10 seconds
    notification_timeout_seconds: float = 3.0  # a notification must be answered with 2xx within 3 seconds
    notification_retry_hours: float = 4.0  # failed notifications are retried for up to 4 hours (sandbox clock)
    subscription_max_minutes: int = 10080  # Outlook event subscriptions: under 7 days
    # Undocumented: how long after an unanswered reauthorizationRequired delivery pauses.
    reauthorization_grace_minutes: int = 30
    # Fault kind "missed notifications": the fraction of change notifications dropped, and whether a `missed`
    # lifecycle event says so (learn.microsoft.com/graph/change-notifications-lifecycle-events).
    missed_notifications: float = 0.0
    missed_lifecycle_event: str = "notSent"

    def to_json(self) -> dict[str, Any]:
        data = {_camel(k): v for k, v in asdict(self).items()}
        data["faults"] = [_camel_keys(rule) for rule in data["faults"]]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], base: Realism | None = None) -> Realism:
        """`base` updated with the keys present in `data` (camelCase); unknown keys are refused."""
        current = asdict(base or cls())
        names = {_camel(f.name): f.name for f in fields(cls)}
        for key, value in data.items():
            if key not in names:
                raise ValueError(f"unknown setting {key!r}; known: {', '.join(sorted(names))}")
            current[names[key]] = value
        rules = [_rule(rule) for rule in current.pop("faults")]
        realism = cls(**current, faults=rules)
        realism.validate()
        return realism

    def validate(self) -> None:
        if self.send_limit_mode not in ("off", "record", "reject"):
            raise ValueError("sendLimitMode is off, record or reject")
        if self.time_zones not in ("lenient", "strict"):
            raise ValueError("timeZones is lenient or strict")
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{_camel(name)} is {' or '.join(repr(a) for a in allowed)}, "
                                 f"not {getattr(self, name)!r}")
        if not 0.0 <= float(self.missed_notifications) <= 1.0:
            raise ValueError("missedNotifications is a fraction from 0 (none dropped) to 1 (all dropped)")
        for name in ("delta_page_size", "delta_token_cache", "subscription_max_minutes",
                     "reauthorization_grace_minutes"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{_camel(name)} must be a whole number of at least 1")
        for name in ("validation_timeout_seconds", "notification_timeout_seconds", "notification_retry_hours"):
            if not isinstance(getattr(self, name), (int, float)) or getattr(self, name) <= 0:
                raise ValueError(f"{_camel(name)} must be a positive number")
        if not isinstance(self.allow_http_notification_url, bool):
            raise ValueError("allowHttpNotificationUrl is true or false")
        if self.notification_ca_file is not None and not isinstance(self.notification_ca_file, str):
            raise ValueError("notificationCaFile is the path of a PEM CA bundle (or null)")
        if not isinstance(self.subject_max_length, int) or self.subject_max_length < 1:
            raise ValueError("subjectMaxLength must be a whole number of at least 1")
        if self.time_scale <= 0 or self.token_lifetime_seconds <= 0:
            raise ValueError("timeScale and tokenLifetimeSeconds must be positive")
        if min(self.requests_per_10_minutes, self.concurrent_requests_per_mailbox,
               self.messages_per_minute, self.recipients_per_day) < 1:
            raise ValueError("limits must be at least 1")

    def dumps(self) -> str:
        return json.dumps(self.to_json())


def _rule(data: Any) -> FaultRule:
    if isinstance(data, FaultRule):
        return data
    if not isinstance(data, dict):
        raise ValueError("each fault rule is an object")
    names = {_camel(f.name): f.name for f in fields(FaultRule)} | {f.name: f.name for f in fields(FaultRule)}
    unknown = set(data) - set(names)
    if unknown:
        raise ValueError(f"unknown fault rule keys: {', '.join(sorted(unknown))}")
    return FaultRule(**{names[k]: v for k, v in data.items()})


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _camel_keys(data: dict[str, Any]) -> dict[str, Any]:
    return {_camel(k): v for k, v in data.items()}
