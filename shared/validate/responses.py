"""Validate, while response collection is on: is there a live subscription for every organizer?

A subscription that is missing, gone or expired means responses arrive only through the delta
read every 30 minutes (or not at all if LEARNCAL_PUBLIC_URL is missing), so each problem says
what to fix. One GET per subscription (https://learn.microsoft.com/graph/api/subscription-get).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.errors import GraphError
from shared.settings import Settings
from shared.store.tables import Tables
from shared.validate.model import RESPONSE_COLLECTION, Check, failed, passed, warned

_UPKEEP = ("The responses_upkeep timer (every 30 minutes) creates and renews subscriptions: check that it runs (the "
           "function app's log, 'response collection upkeep'), that LEARNCAL_PUBLIC_URL is the app's public https "
           "address and that /api/notifications is excluded from sign-in (docs/setup.md).")


async def check_response_collection(client: Any, tables: Tables, settings: Settings,
                                    now: datetime | None = None) -> Check | None:
    """None while collection is off (nothing to check)."""
    from shared.responses.graph import CollectionGraph
    from shared.responses.state import CollectionState
    from shared.responses.upkeep import notification_urls, organizers_to_watch

    if not settings.request_responses:
        return None
    if not settings.public_url:
        return failed(RESPONSE_COLLECTION, "Response collection is on, but LEARNCAL_PUBLIC_URL is not set, so Graph "
                      "has nowhere to deliver change notifications and no subscription can be created.",
                      "Set LEARNCAL_PUBLIC_URL to the function app's https address (such as "
                      "https://learncal.azurewebsites.net) in the app settings.")
    now = now or datetime.now(UTC)
    state = CollectionState(tables)
    graph = CollectionGraph(client)
    expected, _ = notification_urls(settings.public_url)
    problems: list[str] = []
    mismatched: list[str] = []
    alive = 0
    organizers = organizers_to_watch(settings, tables, now)
    for organizer in organizers:
        row = state.subscription(organizer)
        if row is None:
            problems.append(f"{organizer} has no subscription yet")
            continue
        try:
            found = await graph.get_subscription(organizer, row.subscription_id)
        except GraphError as error:
            problems.append(f"{organizer}'s subscription could not be read ({error})")
            continue
        if found is None:
            problems.append(f"{organizer}'s subscription no longer exists in Graph")
        elif found.expires is not None and found.expires <= now:
            problems.append(f"{organizer}'s subscription expired at {found.expires.isoformat()}")
        else:
            alive += 1
            if found.notification_url and found.notification_url != expected:
                mismatched.append(organizer)
    if problems:
        return failed(RESPONSE_COLLECTION, "Response collection is on, but " + "; ".join(problems) + ". Responses "
                      "then arrive only through the delta read every 30 minutes.", _UPKEEP)
    if mismatched:
        return warned(RESPONSE_COLLECTION, f"The subscriptions of {', '.join(mismatched)} deliver to another address "
                      f"than {expected}.", "They are created again with the current address when they are renewed; "
                      "to do it now, switch collection off and on (learncal provider set --request-responses).")
    return passed(RESPONSE_COLLECTION, f"Response collection is on: {alive} live subscription(s), one per organizer "
                  f"({', '.join(organizers) or 'none yet'}), delivering to {expected}.")
