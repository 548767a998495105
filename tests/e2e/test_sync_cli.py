"""`learncal sync` end to end: the real command, the real SDK clients, the sandbox, Azurite."""

from __future__ import annotations

import re

from tests.support.dates import zulu
from tests.support.feeds import ADA, BO, CY, DEE, INES, PAT, SAM, activity, base_feed, enrollment
from tests.support.world import World

LINK = re.compile(r'href="([^"]+)"')


def links(meeting: dict) -> set[str]:
    return {u for u in LINK.findall(meeting["body"]["content"]) if "learning.example.com" not in u}


def by_subject(world: World, address: str) -> dict[str, dict]:
    return {m["subject"]: m for m in world.calendar(address)}


def test_first_sync_gives_everyone_exactly_their_meetings(world: World) -> None:
    feed = base_feed()
    result = world.sync(feed)
    assert result.code == 0, result.stderr
    summary = result.summary
    assert (summary["status"], summary["created"], summary["cancelled"], summary["rejected"]) == (
        "completed", 10, 0, [])

    counts = {who: len(world.calendar(who)) for who in (ADA, BO, CY, DEE, INES, SAM, PAT)}
    assert counts == {ADA: 3, BO: 2, CY: 0, DEE: 1, INES: 2, SAM: 1, PAT: 1}

    ines = by_subject(world, INES)
    assert links(ines["Leading Hybrid Teams: Workshop 2: Practice"]) == {"https://meet.example.com/h/111"}
    assert links(ines["Leading Hybrid Teams: Workshop 1: Foundations"]) == set()
    assert links(world.calendar(SAM)[0]) == set()  # not primary: no join link
    pat = world.calendar(PAT)[0]
    assert links(pat) == {"https://meet.example.com/j/999"}  # primary without host link: the join link
    act9 = activity(feed, "OFF-2002", "ACT-9")
    assert (pat["startUtc"], pat["endUtc"]) == (zulu(act9["start"], "America/New_York"),
                                                zulu(act9["end"], "America/New_York"))

    ada = by_subject(world, ADA)
    assert set(ada) == {"Leading Hybrid Teams: Workshop 1: Foundations", "Leading Hybrid Teams: Workshop 2: Practice",
                        "Data Privacy Basics"}  # equal titles: said once
    assert links(ada["Leading Hybrid Teams: Workshop 2: Practice"]) == {"https://meet.example.com/j/111"}
    workshop1 = ada["Leading Hybrid Teams: Workshop 1: Foundations"]
    act1 = activity(feed, "OFF-1001", "ACT-1")
    assert (workshop1["startUtc"], workshop1["endUtc"]) == (zulu(act1["start"], "Europe/Berlin"),
                                                            zulu(act1["end"], "Europe/Berlin"))
    assert workshop1["location"]["displayName"] == "Training Room 4.12, Friedrichstrasse 100, 10117 Berlin"
    assert workshop1["organizer"].lower() == world.info["organizer"].lower()
    assert workshop1["responseRequested"] is False and workshop1["allowNewTimeProposals"] is False
    assert all(m["type"] == "meetingRequest" for m in world.messages(ADA))
    assert world.received(ADA)["meetingRequest"] == 3


def test_second_sync_sends_nothing_and_calls_graph_not_at_all(world: World) -> None:
    feed = world.feed_file(base_feed())
    assert world.sync(feed).code == 0
    before = world.stats()
    again = world.sync(feed)
    assert again.code == 0
    summary = again.summary
    assert (summary["created"], summary["updated"], summary["cancelled"], summary["unchanged"]) == (0, 0, 0, 10)
    after = world.stats()
    assert after["requests"] == before["requests"]
    assert after["messagesSent"] == before["messagesSent"]


def test_withdrawing_one_learner_cancels_exactly_their_meetings(world: World) -> None:
    feed = base_feed()
    assert world.sync(feed).code == 0
    before = {who: world.received(who) for who in (ADA, BO, DEE, INES, SAM, PAT)}
    enrollment(feed, "OFF-2002", DEE)["status"] = "withdrawn"
    result = world.sync(feed)
    assert result.code == 0 and result.summary["cancelled"] == 1
    assert world.calendar(DEE) == []
    cancellation = world.messages(DEE)[-1]
    assert cancellation["type"] == "meetingCancellation" and "withdrew" in cancellation["comment"]
    for who, received in before.items():
        if who != DEE:
            assert world.received(who) == received, f"{who} was notified"


def test_dry_run_plans_but_sends_and_records_nothing(world: World) -> None:
    result = world.sync(base_feed(), "--dry-run")
    assert result.code == 0
    assert result.summary["created"] == 10 and len(result.summary["plan"]) == 10
    assert world.stats()["messagesSent"] == 0
    assert world.sync(base_feed()).summary["created"] == 10  # nothing was recorded by the dry run


def test_wrong_secret_is_a_plain_error_without_the_secret(world: World) -> None:
    wrong = "not-the-secret-" + "x" * 20
    result = world.sync(base_feed(), "--quiet", LEARNCAL_CLIENT_SECRET=wrong)
    assert result.code == 1
    output = result.stdout + result.stderr
    assert "AADSTS7000215" in output and "client secret" in output.lower()
    assert "Traceback" not in output
    assert wrong not in output and world.info["clientSecret"] not in output
    assert world.stats()["messagesSent"] == 0


def test_unreadable_feed_fails_before_anything_is_sent(world: World) -> None:
    path = world.workdir / "broken.json"
    path.write_text('{"schemaVersion": 1, "offerings": [', encoding="utf-8")
    result = world.sync(str(path))
    assert result.code == 1
    assert result.summary["status"] == "failed" and "JSON" in result.summary["message"]
    assert world.stats()["messagesSent"] == 0


def test_unknown_tenant_names_the_setting_to_fix(world: World) -> None:
    result = world.sync(base_feed(), LEARNCAL_TENANT_ID="11111111-2222-3333-4444-555555555555")
    assert result.code == 1
    assert "AADSTS90002" in result.summary["message"] and "LEARNCAL_TENANT_ID" in result.summary["message"]
    assert "Traceback" not in result.stderr and world.stats()["messagesSent"] == 0


def test_a_subject_over_outlooks_limit_is_cut_not_refused(world: World) -> None:
    from tests.support.feeds import activity, offering

    world.sandbox.configure(subjectOverLimit="refuse")  # as Graph: a subject over 255 characters is refused
    feed = base_feed()
    offering(feed, "OFF-1001")["title"] = "Leading Hybrid Teams " + "x" * 180
    activity(feed, "OFF-1001", "ACT-1")["title"] = "Workshop 1 " + "y" * 180
    result = world.sync(feed)
    assert result.code == 0, result.stdout + result.stderr
    assert result.summary["created"] == 10 and result.summary["errors"] == []
    [cut] = [m["subject"] for m in world.calendar(BO) if m["subject"].startswith("Leading Hybrid Teams x")
             and "Workshop 1" in m["subject"]]
    assert len(cut) == 255 and cut.endswith("yyy\u2026")
