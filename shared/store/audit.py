"""The audit trail: who changed what, and when, through the console, the admin API or the CLI.

One entry per change (provider saved, secret set, offering reconciled, run requested, allowance
given, feed uploaded, queue cleared, template saved, roll-out started), newest first. An entry
never holds a secret: a secret change is recorded as "set" with its expiry, and any value
under a key naming a secret is replaced before it is stored, whatever the caller passed.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from shared.store.tables import Tables

log = logging.getLogger("learncal.audit")

PARTITION = "audit"
ACTIONS = frozenset({"provider.save", "secret.set", "offering.reconcile", "sync.request", "allowance.give",
                     "feed.upload", "feed.upload.forced", "queue.clear", "template.set", "rollout.start"})
_EPOCH_INVERT = 10**13
_MAX_TEXT = 30000  # characters of JSON; inside Table Storage's 32,768-character string property
_SECRET_WORDS = ("secret", "password", "token")
_SAFE_SECRET_VALUES = frozenset({"set", "removed", "unchanged", "not set", None})


def _inverted(at: datetime) -> str:
    """Row keys sort ascending; an inverted timestamp lists the newest entry first."""
    return f"{_EPOCH_INVERT - int(at.timestamp() * 1000):013d}"


def _scrub(value: Any, key: str = "") -> Any:
    """The value with anything stored under a secret-like key reduced to "set"."""
    if isinstance(value, dict):
        return {str(k): _scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v, key) for v in value]
    lowered = key.lower()
    if any(word in lowered for word in _SECRET_WORDS) and "expir" not in lowered and value not in _SAFE_SECRET_VALUES:
        return "set"
    if isinstance(value, datetime):
        return _iso(value)
    return value


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class AuditStore:
    def __init__(self, tables: Tables) -> None:
        self._table = tables["audit"]

    def record(self, actor: str, action: str, target: str, changes: dict[str, Any],
               *, now: datetime | None = None) -> None:
        """Store one entry. `changes` says what changed ({field: {"from": a, "to": b}} or facts)."""
        at = now or datetime.now(UTC)
        text = json.dumps(_scrub(changes), ensure_ascii=False, sort_keys=True, default=str)
        truncated = len(text) > _MAX_TEXT
        if truncated:
            text = json.dumps({"summary": text[:2000] + "…"}, ensure_ascii=False)
        self._table.create_entity({
            "PartitionKey": PARTITION,
            "RowKey": f"{_inverted(at)}-{uuid.uuid4().hex[:8]}",
            "At": at,
            "Actor": actor[:256],
            "Action": action[:64],
            "Target": target[:512],
            "Changes": text,
            "Truncated": truncated,
        })

    def recent(self, limit: int = 50, since: datetime | None = None) -> list[dict[str, Any]]:
        """The newest entries first, at most `limit`, none older than `since`."""
        query, parameters = "PartitionKey eq @pk", {"pk": PARTITION}
        if since is not None:
            query += " and RowKey lt @rk"  # entries at or after `since` have smaller inverted keys
            parameters["rk"] = f"{_EPOCH_INVERT - int(since.timestamp() * 1000) + 1:013d}"
        entries: list[dict[str, Any]] = []
        for entity in self._table.query_entities(query, parameters=parameters, results_per_page=min(limit, 1000)):
            try:
                changes = json.loads(entity.get("Changes") or "{}")
            except ValueError:
                changes = {}
            at = entity.get("At")
            entries.append({
                "at": _iso(at) if isinstance(at, datetime) else None,
                "actor": entity.get("Actor") or "",
                "action": entity.get("Action") or "",
                "target": entity.get("Target") or "",
                "changes": changes,
                **({"truncated": True} if entity.get("Truncated") else {}),
            })
            if len(entries) >= limit:
                break
        return entries


def audit(tables: Tables, actor: str, action: str, target: str, changes: dict[str, Any] | None = None) -> None:
    """Record a change in the audit trail; the one line every entry point calls after a change.

    The change has already happened when this runs, so a failure to record it is logged
    (with the entry, never a secret) rather than turned into an error for the caller.
    """
    try:
        AuditStore(tables).record(actor, action, target, changes or {})
    except Exception as error:  # the change stands; its record must at least reach the logs
        log.error("learncal.audit.unrecorded %s by %s on %s: %s (%s)", action, actor, target,
                  json.dumps(_scrub(changes or {}), default=str)[:2000], type(error).__name__)
