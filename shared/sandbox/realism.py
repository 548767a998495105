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
