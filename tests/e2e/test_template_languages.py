"""Invitations in each person's language, through `learncal sync`, the real SDK clients and the sandbox.

The expected wording is written out here; what is read back is what the sandbox's calendars
and mailboxes hold.
"""

from __future__ import annotations

from tests.support.feeds import ADA, BO, DEE, INES, base_feed, enrollment, offering
from tests.support.world import World

DE_LEARNER = ('<p><b>An der Sitzung teilnehmen:</b> <a href="https://meet.example.com/j/111">'
              "https://meet.example.com/j/111</a></p>")
FR_LEARNER = ('<p><b>Rejoindre la session\u00a0:</b> <a href="https://meet.example.com/j/111">'
              "https://meet.example.com/j/111</a></p>")
DE_CLOSING = "<p><i>Vom Lernsystem gesendet. Eine Antwort ist nicht nötig; Änderungen werden dort vorgenommen.</i></p>"
FR_CLOSING = ("<p><i>Envoyé par le système de formation. Aucune réponse n\u2019est nécessaire\u00a0; les "
              "modifications se font dans ce système.</i></p>")


def meetings(world: World, address: str) -> dict[str, dict]:
    return {m["subject"]: m for m in world.calendar(address)}


def test_german_and_french_learners_read_their_own_language(world: World) -> None:
    feed = base_feed()
    enrollment(feed, "OFF-1001", ADA)["language"] = "de"
    enrollment(feed, "OFF-1001", BO)["language"] = "fr"
    offering(feed, "OFF-2002")["language"] = "fr"  # ADA's enrollment there has no language: the offering's
    enrollment(feed, "OFF-2002", DEE)["language"] = "es"  # none shipped: the default (English)
    result = world.sync(feed)
    assert result.code == 0, result.stderr
    assert result.summary["created"] == 10 and result.summary["templateFallbacks"] == 1

    ada = meetings(world, ADA)
    online = ada["Leading Hybrid Teams: Workshop 2: Practice"]
    body = online["body"]["content"]
    assert body.startswith("<html><body><p><b>Kurs:</b> Leadership Essentials</p>")
    assert DE_LEARNER in body and "<p><b>Ort:</b> Online</p>" in body and body.endswith(DE_CLOSING + "</body></html>")
    room = ada["Leading Hybrid Teams: Workshop 1: Foundations"]["body"]["content"]
    assert "<p><b>Ort:</b><br>Training Room 4.12<br>Friedrichstrasse 100, 10117 Berlin</p>" in room
    privacy = ada["Data Privacy Basics"]
    assert privacy["body"]["content"].startswith("<html><body><p><b>Lieu\u00a0:</b> En ligne</p>")
    assert privacy["location"]["displayName"] == "En ligne"  # a virtual session without a name, translated

    bo = meetings(world, BO)
    online_fr = bo["Leading Hybrid Teams: Workshop 2: Practice"]
    body_fr = online_fr["body"]["content"]
    assert body_fr.startswith("<html><body><p><b>Cours\u00a0:</b> Leadership Essentials</p>")
    assert FR_LEARNER in body_fr and body_fr.endswith(FR_CLOSING + "</body></html>")
    assert online_fr["location"]["displayName"] == "Online"  # the feed named it "Online" itself

    dee = world.calendar(DEE)[0]["body"]["content"]
    assert "<p><b>Location:</b> Online</p>" in dee and "Join the session:" in dee

    ines = meetings(world, INES)["Leading Hybrid Teams: Workshop 2: Practice"]["body"]["content"]
    assert "<p><b>Start the session (host link):</b>" in ines  # no language anywhere: the default


def test_a_withdrawal_is_explained_in_the_learners_language(world: World) -> None:
    feed = base_feed()
    enrollment(feed, "OFF-1001", ADA)["language"] = "de"
    enrollment(feed, "OFF-1001", BO)["language"] = "fr"
    assert world.sync(feed).code == 0
    enrollment(feed, "OFF-1001", ADA)["status"] = "withdrawn"
    enrollment(feed, "OFF-1001", BO)["status"] = "cancelled"
    result = world.sync(feed)
    assert result.code == 0 and result.summary["cancelled"] == 4
    ada = [m for m in world.messages(ADA) if m["type"] == "meetingCancellation"]
    bo = [m for m in world.messages(BO) if m["type"] == "meetingCancellation"]
    assert [m["comment"] for m in ada] == ["Sie haben sich von diesem Angebot abgemeldet."] * 2
    assert [m["comment"] for m in bo] == ["Votre inscription à cette offre a été annulée."] * 2


def test_a_language_change_waits_for_a_reconcile_then_updates_only_that_person(world: World) -> None:
    feed = base_feed()
    assert world.sync(feed).code == 0
    before = {who: world.received(who) for who in (ADA, BO, DEE, INES)}
    enrollment(feed, "OFF-2002", DEE)["language"] = "fr"
    waiting = world.sync(feed)
    assert waiting.code == 0
    assert (waiting.summary["updated"], waiting.summary["waitingForReconcile"]) == (0, 1)
    assert {who: world.received(who) for who in before} == before  # not a key change: nothing sent
    assert "Join the session:" in world.calendar(DEE)[0]["body"]["content"]

    assert world.cli("reconcile", "OFF-2002").code == 0
    reconciled = world.sync(feed)
    assert reconciled.code == 0 and reconciled.summary["updated"] == 1
    assert world.received(DEE)["meetingUpdate"] == 1
    assert {who: world.received(who) for who in (ADA, BO, INES)} == {w: before[w] for w in (ADA, BO, INES)}
    dee = world.calendar(DEE)[0]
    assert FR_CLOSING in dee["body"]["content"] and dee["location"]["displayName"] == "En ligne"
