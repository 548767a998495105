"""Templates through `learncal` as an administrator uses it: set per language, sync, edit, roll out.

The command runs as its own process against the sandbox and Azurite. Expected subjects and
counts are worked out here from the feed; what people hold and received is read from the
sandbox's inspection endpoints.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from shared.templates.model import TemplateSet
from tests.support.feeds import ADA, BO, DEE, base_feed
from tests.support.world import World

BUILTIN = TemplateSet.builtin("en")
GERMAN = "Bitte bringen Sie Ihren Laptop mit."
FRENCH = "Merci d’apporter votre ordinateur portable."


def files(tmp_path: Path, name: str, subject: str, body: str) -> list[str]:
    subject_file, body_file = tmp_path / f"{name}.subject.txt", tmp_path / f"{name}.body.html"
    subject_file.write_text(subject + "\n", encoding="utf-8")
    body_file.write_text(body, encoding="utf-8")
    return ["--subject-file", str(subject_file), "--body-file", str(body_file)]


def with_paragraph(role: str, language: str, text: str) -> str:
    """The built-in body of that role and language with one paragraph more (it passes the checks as the built-in)."""
    return BUILTIN.texts[(role, language)].body.replace("</body>", f"<p>{text}</p></body>")


def sessions_of(feed: dict[str, Any], learner: str) -> list[tuple[str, str]]:
    """(offering title, session title) of every session the learner is actively enrolled in."""
    return [(o["title"], a["title"]) for o in feed["offerings"] for a in o["activities"]
            if any(e["learnerEmail"].lower() == learner and e["status"] == "active" for e in o["enrollments"])]


def learner_invitations(feed: dict[str, Any]) -> Counter[str]:
    held: Counter[str] = Counter()
    for item in feed["offerings"]:
        for learner in {e["learnerEmail"].lower() for e in item["enrollments"] if e["status"] == "active"}:
            held[learner] += len(item["activities"])
    return held


def instructors(feed: dict[str, Any]) -> set[str]:
    return {i["email"].lower() for o in feed["offerings"] for a in o["activities"] for i in a["instructors"]}


def received(world: World, people: set[str] | list[str]) -> dict[str, Counter[str]]:
    return {person: world.received(person) for person in people}


def test_templates_in_two_languages_set_with_the_cli_reach_each_learner_in_theirs(
    world: World, tmp_path: Path,
) -> None:
    feed = base_feed()
    for item in feed["offerings"]:
        for enrollment in item["enrollments"]:
            enrollment["language"] = {ADA: "de", DEE: "fr"}.get(enrollment["learnerEmail"].lower())
            if enrollment["language"] is None:
                del enrollment["language"]
    german = world.cli("templates", "set", "learner", "de", *files(
        tmp_path, "de", "Einladung: {{ offering_title }} – {{ session_title }}",
        with_paragraph("learner", "de", GERMAN)))
    french = world.cli("templates", "set", "learner", "fr", *files(
        tmp_path, "fr", "Invitation : {{ offering_title }} – {{ session_title }}",
        with_paragraph("learner", "fr", FRENCH)))
    assert (german.code, french.code) == (0, 0), german.stderr + french.stderr
    assert "version 1" in german.stdout and "version 1" in french.stdout

    run = world.sync(feed)

    assert run.code == 0 and run.summary["status"] == "completed", run.stderr
    for learner, word, mine, other in ((ADA, "Einladung:", GERMAN, FRENCH), (DEE, "Invitation :", FRENCH, GERMAN)):
        events = world.calendar(learner)
        expected = {f"{word} {offering} – {session}" for offering, session in sessions_of(feed, learner)}
        assert {e["subject"] for e in events} == expected and len(events) == len(expected), learner
        for event in events:
            assert mine in event["body"]["content"] and other not in event["body"]["content"], learner
    for event in world.calendar(BO):  # no language in the feed: the default (en), the built-in text
        assert not event["subject"].startswith(("Einladung", "Invitation"))
        assert GERMAN not in event["body"]["content"] and FRENCH not in event["body"]["content"]
    listed = world.cli("templates", "list", "--json")
    rows = {(r["role"], r["language"]): r for r in json.loads(listed.stdout)["value"]}
    assert (rows[("learner", "de")]["version"], rows[("learner", "de")]["source"]) == (1, "stored")
    assert (rows[("learner", "en")]["version"], rows[("learner", "en")]["source"]) == (0, "builtin")


def test_an_edit_sends_nothing_until_the_rollout_which_updates_each_invitation_once(
    world: World, tmp_path: Path,
) -> None:
    feed = base_feed()
    path = world.feed_file(feed)
    assert world.sync(path).summary["status"] == "completed"
    expected = learner_invitations(feed)
    people = [*expected, *instructors(feed)]
    before = received(world, people)

    edited = world.cli("templates", "set", "learner", "en", *files(
        tmp_path, "en", "Updated: {{ offering_title }}", with_paragraph("learner", "en", "Bring a laptop.")))
    assert edited.code == 0, edited.stderr
    quiet = world.sync(path)
    assert (quiet.summary["created"], quiet.summary["updated"], quiet.summary["cancelled"]) == (0, 0, 0)
    assert received(world, people) == before

    counted = world.cli("rollout", "--dry-run", "--json", "--feed", path)
    assert counted.code == 0, counted.stderr
    count = json.loads(counted.stdout)
    assert (count["updates"], count["offerings"], count["runId"]) == (sum(expected.values()), 2, None)
    declined = world.cli("rollout", "--feed", path, input="n\n")
    unanswered = world.cli("rollout", "--feed", path)
    assert declined.code == 1 and "Nothing was marked or sent" in declined.stderr
    assert unanswered.code == 1 and "add --yes" in unanswered.stderr
    assert received(world, people) == before

    rolled = world.cli("rollout", "--yes", "--json", "--quiet", "--feed", path)

    assert rolled.code == 0, rolled.stderr
    result = json.loads(rolled.stdout)
    assert (result["updates"], result["run"]["updated"], result["run"]["status"]) == (
        count["updates"], count["updates"], "completed")
    after = received(world, people)
    for person in people:
        assert after[person] - before[person] == (
            Counter({"meetingUpdate": expected[person]}) if person in expected else Counter()), person
    for learner in expected:
        assert all(e["subject"].startswith("Updated: ") and "Bring a laptop." in e["body"]["content"]
                   for e in world.calendar(learner)), learner
    again = json.loads(world.cli("rollout", "--dry-run", "--json", "--feed", path).stdout)
    assert again["updates"] == 0
    trail = [json.loads(line) for line in world.cli("audit", "--json").stdout.splitlines()]
    assert [e["action"] for e in trail if e["action"] in ("template.set", "rollout.start")] == [
        "rollout.start", "template.set"]


def test_a_refused_template_names_the_line_and_the_fix_and_saves_nothing(world: World, tmp_path: Path) -> None:
    body = "<p>Hello</p>\n<p>{{ offering_titel }}</p>\n"

    refused = world.cli("templates", "set", "learner", "en", *files(tmp_path, "bad", "{{ offering_title }}", body))

    assert refused.code == 1
    assert "body line 2:" in refused.stderr and "fix:" in refused.stderr
    shown = json.loads(world.cli("templates", "show", "learner", "en", "--json").stdout)
    assert shown["version"] == 0 and [v["version"] for v in shown["versions"]] == [0]


def test_the_preview_renders_an_unsaved_template_for_an_offering_of_the_feed(world: World, tmp_path: Path) -> None:
    feed = base_feed()
    path = world.feed_file(feed)
    chosen = feed["offerings"][1]

    shown = world.cli("templates", "preview", "learner", "de", "--offering", chosen["id"], "--feed", path, "--json",
                      *files(tmp_path, "p", "Vorschau: {{ offering_title }}", with_paragraph("learner", "de", GERMAN)))

    assert shown.code == 0, shown.stderr
    result = json.loads(shown.stdout)
    assert (result["subject"], result["offeringId"], result["problems"]) == (
        f"Vorschau: {chosen['title']}", chosen["id"], [])
    assert GERMAN in result["body"]
    listed = json.loads(world.cli("templates", "show", "learner", "de", "--json").stdout)
    assert listed["version"] == 0  # a preview saves nothing
