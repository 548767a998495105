"""The offerings as the console shows them: a searchable page of the catalog, one offering's
sessions with who holds which meeting, and what a reconcile of it would send.

Read only. The offering rows and the mapping are the record of what runs applied; the
reconcile preview plans from the feed in force exactly as a run would, but marks nothing and
sends nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.errors import ConfigurationError, UnknownOffering
from shared.settings import Settings
from shared.store.tables import Tables, key_part

PAGE_SIZE = 25
EVENT_ID_SHOWN = 12  # event ids are long opaque Graph ids; the console shows enough to tell them apart


def _iso(value: Any) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else None


def _changed_at(entity: Any) -> str | None:
    metadata = getattr(entity, "metadata", None) or {}
    return _iso(metadata.get("timestamp"))


@dataclass(frozen=True)
class OfferingPage:
    items: list[dict[str, Any]]
    page: int
    pages: int
    total: int

    def to_json(self) -> dict[str, Any]:
        return {"value": self.items, "page": self.page, "pages": self.pages, "total": self.total,
                "pageSize": PAGE_SIZE}


class Catalog:
    def __init__(self, tables: Tables) -> None:
        self._offerings = tables["offerings"]
        self._mapping = tables["invitations"]

    def _sessions(self, offering_id: str) -> list[Any]:
        return list(self._mapping.query_entities("PartitionKey eq @pk", parameters={"pk": key_part(offering_id)}))

    def page(self, search: str = "", page: int = 1) -> OfferingPage:
        """One page of the offerings whose id or title contains `search` (any case), by title."""
        needle = search.strip().casefold()
        rows = [e for e in self._offerings.query_entities("PartitionKey eq @pk", parameters={"pk": "offering"})
                if not needle or needle in str(e.get("OfferingId", "")).casefold()
                or needle in str(e.get("Title", "")).casefold()]
        rows.sort(key=lambda e: (str(e.get("Title") or "").casefold(), str(e.get("OfferingId"))))
        pages = max(1, -(-len(rows) // PAGE_SIZE))
        shown = rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        items = []
        for entity in shown:
            rows_of = self._mapping.query_entities(
                "PartitionKey eq @pk", parameters={"pk": key_part(str(entity["OfferingId"]))},
                select=["ActivityId", "State"])
            activities: set[str] = set()
            live = 0
            for row in rows_of:
                activities.add(str(row.get("ActivityId")))
                live += row.get("State") == "live"
            items.append({
                "offeringId": entity["OfferingId"],
                "title": entity.get("Title") or "",
                "sessions": len(activities),
                "liveInvitations": live,
                "lastChange": _changed_at(entity),
                "lastSeen": _iso(entity.get("LastSeen")),
                "reconcileRequestedAt": _iso(entity.get("ReconcileRequestedAt")),
                "organizer": entity.get("Organizer") or None,
            })
        return OfferingPage(items, page, pages, len(rows))

    def detail(self, offering_id: str) -> dict[str, Any]:
        """The offering's sessions and, for each, who holds which meeting (the mapping rows, read only)."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            entity = self._offerings.get_entity("offering", key_part(offering_id))
        except ResourceNotFoundError:
            raise UnknownOffering(f"Offering {offering_id!r} is not known: no feed applied so far contained it. "
                                  "Check the offering id, or search the offerings list.") from None
        by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
        starts: dict[str, Any] = {}
        for row in self._sessions(offering_id):
            activity = str(row.get("ActivityId"))
            event_id = row.get("EventId")
            by_session[activity].append({
                "address": row.get("Email"),
                "role": row.get("Role"),
                "state": row.get("State"),
                "organizer": row.get("Organizer"),
                "eventId": (event_id[:EVENT_ID_SHOWN] + "…") if isinstance(event_id, str) and
                len(event_id) > EVENT_ID_SHOWN else event_id,
            })
            if row.get("StartUtc") is not None:
                starts.setdefault(activity, row.get("StartUtc"))
                starts[activity] = min(starts[activity], row.get("StartUtc"))
        sessions = [
            {"activityId": activity, "start": _iso(starts.get(activity)),
             "invitations": sorted(holders, key=lambda h: (h["role"] != "instructor", str(h["address"])))}
            for activity, holders in by_session.items()
        ]
        sessions.sort(key=lambda s: (s["start"] or "", s["activityId"]))
        return {
            "offeringId": entity["OfferingId"],
            "title": entity.get("Title") or "",
            "organizer": entity.get("Organizer") or None,
            "liveInvitations": int(entity.get("Live") or 0),
            "lastChange": _changed_at(entity),
            "lastSeen": _iso(entity.get("LastSeen")),
            "reconcileRequestedAt": _iso(entity.get("ReconcileRequestedAt")),
            "sessions": sessions,
        }


def reconcile_preview(settings: Settings, tables: Tables, offering_id: str) -> dict[str, Any]:
    """What a reconcile of one offering would send now: planned from the feed as a run would, nothing marked."""
    from shared.bootstrap import provider_view
    from shared.feed.reader import read_feed
    from shared.planning.desired import Allowlist, desired_state
    from shared.planning.plan import Cancel, Create, Update, plan
    from shared.store.mapping import TableMappingStore
    from shared.store.offerings import OfferingStore
    from shared.sync.executor import describe

    state = OfferingStore(tables).get(offering_id)
    if state is None:
        raise UnknownOffering(f"Offering {offering_id!r} is not known: no feed applied so far contained it. "
                              "Check the offering id, or run a sync with a feed that contains it first.")
    provider = provider_view(settings, tables)()
    organizer = getattr(state, "organizer", None) or provider.organizer
    if not organizer:
        raise ConfigurationError("Missing configuration: LEARNCAL_ORGANIZER (the organizer mailbox).")
    if not settings.feed:
        raise ConfigurationError("No feed is configured (LEARNCAL_FEED), so there is nothing to preview against.")
    feed = read_feed(settings.feed)
    offering = next((o for o in feed.offerings if o.id == offering_id), None)
    if offering is None:
        return {"offeringId": offering_id, "title": state.title, "inFeed": False, "sends": [],
                "counts": {"create": 0, "update": 0, "cancel": 0},
                "message": "The feed in force does not contain this offering any more; a reconcile would change "
                           "nothing (an offering absent from the feed is left as it is)."}
    from dataclasses import replace

    now = datetime.now(UTC)
    from shared.store.templates import TemplateStore

    templates = TemplateStore(tables).current(provider.default_language)
    scoped = desired_state(replace(feed, offerings=(offering,)), now=now, allowlist=Allowlist(provider.allowlist),
                           templates=templates, request_responses=provider.request_responses)
    sent = TableMappingStore(tables).load([offering_id])
    the_plan = plan(scoped, sent, organizer=organizer, reconcile=frozenset({offering_id}), now=now)
    return {
        "offeringId": offering_id,
        "title": offering.title,
        "inFeed": True,
        "sends": [describe(a) for a in the_plan.sends],
        "counts": {"create": len(the_plan.of(Create)) + len(the_plan.reinvites), "update": len(the_plan.of(Update)),
                   "cancel": len(the_plan.of(Cancel))},
        "unchanged": the_plan.unchanged,
        "message": "Preview: nothing was marked or sent. Reconcile marks the offering; the next run sends this.",
    }
