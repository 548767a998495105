"""The pure rules of requested runs: folding requests together, reading messages, estimates, exit codes."""

from __future__ import annotations

import json

import pytest

from shared.runs.follow import exit_code, progress_line
from shared.runs.overview import line, minutes_to_empty
from shared.runs.requests import merged
from shared.runs.worker import run_id_of


def test_a_later_request_brings_its_feed_and_allowance_and_keeps_the_earlier_ones_otherwise() -> None:
    waiting = {"feed": "a.json", "dryRun": False, "allowMassCancel": 23, "givenBy": "ops with POST /api/sync"}

    assert merged(waiting, {"feed": None, "allowMassCancel": False, "givenBy": "timer"}) == waiting
    later = merged(waiting, {"feed": "b.json", "allowMassCancel": 40, "givenBy": "ines with learncal sync"})
    assert later == {"feed": "b.json", "dryRun": False, "allowMassCancel": 40, "givenBy": "ines with learncal sync"}


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"runId": 7}', b'{"runId": ""}', b'{"runId": "../x"}',
                                  json.dumps({"runId": "a" * 65}).encode(), b'{"organizer": "x@contoso.example"}'])
def test_a_message_that_is_not_a_run_id_is_refused(body: bytes) -> None:
    assert run_id_of(body) is None


def test_a_run_message_names_its_run() -> None:
    assert run_id_of(b'{"runId": "3f9a0c1d2e4b"}') == "3f9a0c1d2e4b"


def test_the_queue_empties_at_the_minute_budget_until_the_day_budget_is_spent() -> None:
    assert minutes_to_empty(0, 0, 30, 10_000) == 0.0
    assert minutes_to_empty(60, 0, 30, 10_000) == 2.0
    # 100 a day and all of today's spent: the 10 left wait a day, then go at 30 a minute
    assert minutes_to_empty(10, 100, 30, 100) == pytest.approx(1440 + 10 / 30)


def test_an_organizer_line_says_what_waits_and_what_was_sent_against_the_budget() -> None:
    load = {"organizer": "learning@contoso.example", "queued": 120, "parked": 2, "sentLastMinute": 30,
            "sentLastDay": 2400, "perMinute": 30, "perDay": 10000, "expectedEmptyAt": "2026-03-02T10:04:00+00:00"}
    assert line(load) == ("learning@contoso.example: 120 waiting, sent by 2026-03-02 10:04 UTC, 2 parked; sent 30/30 "
                          "in the last minute, 2400/10000 in the last day")
    idle = dict(load, queued=0, parked=0, expectedEmptyAt=None)
    assert line(idle).startswith("learning@contoso.example: nothing waiting; ")


@pytest.mark.parametrize(("run", "code"), [
    ({"state": "completed", "status": "completed"}, 0),
    ({"state": "completed", "status": "completed", "rejected": [{"path": "x", "reason": "y"}]}, 2),
    ({"state": "completed", "status": "completed", "rejectedCount": 3000, "rejected": []}, 2),
    ({"state": "completed", "status": "completed", "errors": [{"invitation": "t", "message": "m"}]}, 1),
    ({"state": "failed", "status": "failed"}, 1),
    ({"state": "skipped", "status": "skipped"}, 0),
])
def test_a_followed_run_exits_as_learncal_sync_would(run: dict[str, object], code: int) -> None:
    assert exit_code(run) == code


def test_a_progress_line_shows_the_counts_once_known() -> None:
    assert progress_line({"runId": "r1", "state": "queued", "followUpOf": "r0"}) == \
        "Run r1: queued - starts when run r0 ends"
    assert progress_line({"runId": "r1", "state": "sending", "planned": 40, "sent": 10, "left": 30}) == \
        "Run r1: sending - planned 40, sent 10, left 30"
