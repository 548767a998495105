"""JSON batching: each sub-request is authorised, counted and delivered like a request of its own.

Source: learn.microsoft.com/graph/json-batching (at most 20 requests, each answered with its own
status, headers and body; relative URLs; `dependsOn`).

The batch is posted as JSON: msgraph-core's batch classes import the `deprecated` package,
which msgraph-core does not declare as a dependency.
"""

from __future__ import annotations

from typing import Any

from conftest_sandbox import Harness

from tests.support.dates import local

LEARNERS = [f"learner{i}@learners.example" for i in range(3)]
WINDOW = {"start": {"dateTime": local(30, "09:00"), "timeZone": "UTC"},
          "end": {"dateTime": local(30, "10:00"), "timeZone": "UTC"}}


def create_step(step_id: str, organizer: str, attendee: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "method": "POST", "url": f"/users/{organizer}/events",
            "headers": {"Content-Type": "application/json"},
            "body": {"subject": f"Batch {step_id}", **WINDOW,
                     "attendees": [{"emailAddress": {"address": attendee}}]}, **extra}


def test_batch_creates_one_invitation_per_sub_request_and_counts_each(sandbox: Harness) -> None:
    sandbox.admin.reset_stats()
    # msgraph-core's BatchRequestItem sends absolute URLs; Graph's documentation uses relative ones.
    steps = [create_step("1", sandbox.organizer, LEARNERS[0]),
             {**create_step("2", sandbox.organizer, LEARNERS[1]),
              "url": f"{sandbox.info['graphUrl']}/users/{sandbox.organizer}/events"},
             {**create_step("3", sandbox.organizer, LEARNERS[2]), "url": f"users/{sandbox.organizer}/events"}]

    response = sandbox.raw("POST", "/v1.0/$batch", token=sandbox.token(), json={"requests": steps})

    assert sorted(r["status"] for r in response.json()["responses"]) == [201, 201, 201]
    for learner in LEARNERS:
        assert [m["type"] for m in sandbox.admin.messages(learner)] == ["meetingRequest"]
    stats = sandbox.admin.stats()
    assert (stats["requests"], stats["batches"], stats["byMethod"]) == (3, 1, {"POST": 3})


def test_batch_responses_carry_graph_bodies_matched_by_id(sandbox: Harness) -> None:
    """learn.microsoft.com/graph/json-batching: responses may come in any order; `id` pairs them."""
    steps = [create_step("1", sandbox.organizer, LEARNERS[0]),
             {"id": "2", "method": "GET", "url": f"/users/{sandbox.organizer}/events?$select=subject",
              "dependsOn": ["1"]},
             {"id": "3", "method": "GET", "url": "/users/nobody@contoso.example/events"}]

    response = sandbox.raw("POST", "/v1.0/$batch", token=sandbox.token(), json={"requests": steps})

    assert response.status_code == 200
    by_id = {r["id"]: r for r in response.json()["responses"]}
    first, second, third = by_id["1"], by_id["2"], by_id["3"]
    assert (first["id"], first["status"], first["body"]["subject"]) == ("1", 201, "Batch 1")
    assert second["status"] == 200 and [e["subject"] for e in second["body"]["value"]] == ["Batch 1"]
    assert third["status"] == 404 and third["body"]["error"]["code"] == "ErrorInvalidUser"


def test_more_than_twenty_requests_are_refused_and_nothing_runs(sandbox: Harness) -> None:
    steps = [create_step(str(i), sandbox.organizer, LEARNERS[0]) for i in range(21)]

    response = sandbox.raw("POST", "/v1.0/$batch", token=sandbox.token(), json={"requests": steps})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"
    assert sandbox.admin.messages(LEARNERS[0]) == []
    assert sandbox.admin.stats()["requests"] == 0


def test_a_request_depending_on_a_failed_one_is_not_run(sandbox: Harness) -> None:
    steps = [create_step("a", "nobody@contoso.example", LEARNERS[0]),
             create_step("b", sandbox.organizer, LEARNERS[1], dependsOn=["a"]),
             create_step("c", sandbox.organizer, LEARNERS[2], depends_on=["a"])]  # not Graph's key: ignored

    response = sandbox.raw("POST", "/v1.0/$batch", token=sandbox.token(), json={"requests": steps})

    assert {r["id"]: r["status"] for r in response.json()["responses"]} == {"a": 404, "b": 424, "c": 201}
    assert sandbox.admin.messages(LEARNERS[1]) == []
    assert [m["type"] for m in sandbox.admin.messages(LEARNERS[2])] == ["meetingRequest"]


def test_every_sub_request_is_authorised_on_its_own(sandbox: Harness) -> None:
    app = sandbox.admin.put_app("0b0b0b0b-1111-2222-3333-444444444444", roles=["User.Read.All"])
    token = sandbox.token(sandbox.credential_for(app["clientId"], app["secrets"][0]))
    steps = [{"id": "user", "method": "GET", "url": f"/users/{sandbox.organizer}"},
             create_step("event", sandbox.organizer, LEARNERS[0])]

    response = sandbox.raw("POST", "/v1.0/$batch", token=token, json={"requests": steps})

    by_id = {r["id"]: r for r in response.json()["responses"]}
    user, event = by_id["user"], by_id["event"]
    assert user["status"] == 200 and user["body"]["userPrincipalName"] == sandbox.organizer
    assert event["status"] == 403 and event["body"]["error"]["code"] == "ErrorAccessDenied"
    assert sandbox.admin.messages(LEARNERS[0]) == []
