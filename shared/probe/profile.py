"""The tenant profile: what the probe observed, and the sandbox realism settings that follow from it.

Format (read by `learncal sandbox --profile FILE`, which applies `realism` exactly as
`PATCH /_sandbox/config` would):

    {"kind": "learncal-tenant-profile", "version": 1, "measuredAt": ISO-8601, "tenantId", "mailbox",
     "attendee", "observations": {name: {"result", "summary", ...details}}, "realism": {key: value}}

Only a conclusive observation sets a realism key; an inconclusive one leaves the sandbox's
default (the worst plausible case) in force.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROFILE_KIND = "learncal-tenant-profile"
PROFILE_VERSION = 1
INCONCLUSIVE = "inconclusive"

# observation name -> (realism key, the results that carry over to the sandbox unchanged)
_DIRECT: dict[str, tuple[str, frozenset[str]]] = {
    "encodedBatchQueryOptions": ("encodedBatchQueryOptions", frozenset({"ignored", "decoded"})),
    "extendedPropertyFilterCase": ("extendedPropertyFilterCase", frozenset({"insensitive", "sensitive"})),
    "repeatCancel": ("repeatCancel", frozenset({"accepted", "notFound", "badRequest"})),
    "transactionIdAfterCancel": ("transactionIdAfterCancel", frozenset({"returnsCancelled", "createsNew"})),
    "subjectOverLimit": ("subjectOverLimit", frozenset({"refuse", "truncate"})),
}
# concurrency: two batches in flight were throttled -> sub-requests run side by side and count
_BATCH_EXECUTION = {"throttled": "concurrent", "notThrottled": "sequential"}


@dataclass
class Observation:
    """One measured answer: `result` is machine-readable, `summary` the line a person reads."""

    result: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def conclusive(self) -> bool:
        return self.result != INCONCLUSIVE

    def to_json(self) -> dict[str, Any]:
        return {"result": self.result, "summary": self.summary, **self.details}


def inconclusive(summary: str, **details: Any) -> Observation:
    return Observation(INCONCLUSIVE, summary, details)


def realism_from(observations: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The sandbox settings that make a local rehearsal answer as the measured tenant did."""
    realism: dict[str, Any] = {}
    concurrency = observations.get("batchConcurrency") or {}
    if concurrency.get("result") in _BATCH_EXECUTION:
        realism["batchExecution"] = _BATCH_EXECUTION[concurrency["result"]]
    for name, (key, carried) in _DIRECT.items():
        result = (observations.get(name) or {}).get("result")
        if result in carried:
            realism[key] = result
    subject = observations.get("subjectOverLimit") or {}
    if subject.get("result") == "truncate" and isinstance(subject.get("storedLength"), int):
        realism["subjectMaxLength"] = subject["storedLength"]
    return realism


@dataclass
class TenantProfile:
    measured_at: str
    tenant_id: str
    mailbox: str
    attendee: str
    observations: dict[str, Observation]
    cleanup: dict[str, Any] = field(default_factory=dict)

    @property
    def realism(self) -> dict[str, Any]:
        return realism_from({name: o.to_json() for name, o in self.observations.items()})

    @property
    def clean(self) -> bool:
        return not self.cleanup.get("leftBehind")

    def to_json(self) -> dict[str, Any]:
        observations = {name: o.to_json() for name, o in self.observations.items()}
        observations["cleanup"] = dict(self.cleanup)
        return {
            "kind": PROFILE_KIND,
            "version": PROFILE_VERSION,
            "measuredAt": self.measured_at,
            "tenantId": self.tenant_id,
            "mailbox": self.mailbox,
            "attendee": self.attendee,
            "observations": observations,
            "realism": self.realism,
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
