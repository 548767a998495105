"""The sandbox serves an organizer pool: several organizer mailboxes, one Exchange scope over them.

`learncal sandbox --organizers N` starts the tenant with N organizer mailboxes and lists them
in its start line; `PUT /_sandbox/users/{address}` adds one more. An app scoped to several
mailboxes (an application access policy's group, or one RBAC for Applications management
scope: learn.microsoft.com/exchange/permissions-exo/application-rbac) reaches each of them
and is refused every other mailbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.local.azurite import RunningAzurite
from shared.local.sandbox_process import sandbox_process
from tests.support.world import World

LEARNER = "ada.learner@contoso.example"


@pytest.fixture(scope="module")
def pool_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with sandbox_process(tmp_path_factory.mktemp("pool-sandbox"), organizers=3) as info:
        yield info


@pytest.fixture
def pool_world(pool_sandbox: dict[str, Any], azurite: RunningAzurite, tmp_path: Path) -> World:
    world = World(pool_sandbox, azurite.connection_string, tmp_path)
    world.reset_sandbox()
    return world


def meeting(subject: str) -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0, tzinfo=None)
    return {"subject": subject, "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"},
            "attendees": [{"emailAddress": {"address": LEARNER}, "type": "required"}]}


def test_the_start_line_lists_the_pool_and_a_reset_keeps_its_mailboxes(pool_world: World) -> None:
    info = pool_world.info
    expected = ["learning.coordinator@contoso.example", "learning.coordinator2@contoso.example",
                "learning.coordinator3@contoso.example"]
    assert info["organizer"] == expected[0]
    assert info["organizers"] == expected
    status, users = pool_world.sandbox.request("GET", "/users")
    assert status == 200
    mailboxes = {u["address"] for u in users["value"] if u["hasMailbox"]}
    assert set(expected) <= mailboxes


def test_each_pool_mailbox_organizes_its_own_meetings(pool_world: World) -> None:
    for number, organizer in enumerate(pool_world.info["organizers"], start=1):
        assert pool_world.graph("POST", f"/users/{organizer}/events", meeting(f"From desk {number}")) == 201
    received = {(item["subject"], item["organizer"]) for item in pool_world.calendar(LEARNER)}
    assert received == {(f"From desk {n}", o) for n, o in enumerate(pool_world.info["organizers"], start=1)}


def test_a_mailbox_added_through_the_users_endpoint_can_organize(pool_world: World) -> None:
    added = "learning.desk@contoso.example"
    pool_world.sandbox.put_user(added, displayName="Learning Desk", hasMailbox=True)

    assert pool_world.graph("POST", f"/users/{added}/events", meeting("From the desk")) == 201
    [item] = pool_world.calendar(LEARNER)
    assert item["organizer"] == added


@pytest.mark.parametrize("scoping", ["applicationAccessPolicy", "rbacForApplications"])
def test_one_scope_covers_several_mailboxes_and_refuses_the_rest(pool_world: World, scoping: str) -> None:
    first, second, third = pool_world.info["organizers"]
    pool_world.sandbox.put_app(pool_world.info["clientId"], mailboxScope=[first, second], exchangeScoping=scoping)

    assert pool_world.graph("POST", f"/users/{first}/events", meeting("One")) == 201
    assert pool_world.graph("POST", f"/users/{second}/events", meeting("Two")) == 201
    assert pool_world.graph("POST", f"/users/{third}/events", meeting("Three")) == 403
    assert sorted(item["subject"] for item in pool_world.calendar(LEARNER)) == ["One", "Two"]
