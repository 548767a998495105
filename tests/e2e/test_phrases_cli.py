"""A language's phrases through `learncal templates phrases|set-phrases`, as an administrator uses them.

The command runs as its own process against Azurite (and the sandbox for the sync). The
expected words are written out here, never rendered by the product.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.feeds import ADA, BO, base_feed, enrollment
from tests.support.world import World

ACTOR = "phrases.admin@contoso.example"
GERMAN_WITHDREW = "Sie haben sich von diesem Angebot abgemeldet."  # the shipped German text
FRENCH_WITHDREW = "Vous vous êtes désinscrit(e) de cette offre."  # the shipped French text
EDITED_WITHDREW = "Abmeldung von „{{ offering_title }}“ erhalten – bei Fragen: lernen@contoso.example"


def phrases_file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(text, encoding="utf-8")
    return str(path)


def shown(world: World, language: str) -> dict[str, Any]:
    answer = world.cli("templates", "phrases", language, "--json")
    assert answer.code == 0, answer.stderr
    return dict(json.loads(answer.stdout))


def test_set_phrases_stores_a_version_that_phrases_shows_beside_the_built_in_ones(
    world: World, tmp_path: Path,
) -> None:
    before = shown(world, "de")
    assert (before["version"], before["source"], before["own"]) == (0, "builtin", {})
    assert before["phrases"]["cancel.withdrew"] == GERMAN_WITHDREW and before["phrases"]["online"] == "Online"

    saved = world.cli("templates", "set-phrases", "de", "--file", phrases_file(tmp_path, "de", json.dumps(
        {"cancel.withdrew": EDITED_WITHDREW, "online": "Online-Sitzung"}, ensure_ascii=False, indent=2)),
        LEARNCAL_ACTOR=ACTOR)

    assert saved.code == 0, saved.stderr
    assert "Saved the phrases in de as version 1." in saved.stdout and "learncal rollout" in saved.stderr
    assert "Cancellations from now on carry the new comments." in saved.stderr
    after = shown(world, "de")
    assert (after["version"], after["source"], after["updatedBy"]) == (1, "stored", ACTOR)
    assert after["own"] == {"cancel.withdrew": EDITED_WITHDREW, "online": "Online-Sitzung"}
    assert after["phrases"]["cancel.withdrew"] == EDITED_WITHDREW
    assert after["phrases"]["cancel.sessionCancelled"] == "Diese Sitzung wurde abgesagt."  # untouched: built in
    assert [v["version"] for v in after["versions"]] == [1, 0]
    assert after["placeholders"]["cancel.withdrew"] == ["offering_title"] and after["placeholders"]["online"] == []
    assert shown(world, "fr")["version"] == 0  # another language is not touched

    table = world.cli("templates", "phrases", "de")
    assert table.code == 0, table.stderr
    lines = {line.split()[0]: line for line in table.stdout.splitlines()}
    assert lines["cancel.withdrew"].split(None, 2)[1:] == ["stored", EDITED_WITHDREW]
    assert lines["cancel.sessionCancelled"].split(None, 3)[1:] == ["built", "in", "Diese Sitzung wurde abgesagt."]
    assert "version 1" in table.stderr and ACTOR in table.stderr

    back = world.cli("templates", "set-phrases", "de", "--file",
                     phrases_file(tmp_path, "back", '{"phrases": {"online": null}}'), LEARNCAL_ACTOR=ACTOR)
    assert back.code == 0, back.stderr
    latest = shown(world, "de")
    assert latest["version"] == 2 and latest["own"] == {"cancel.withdrew": EDITED_WITHDREW}
    assert latest["phrases"]["online"] == "Online"

    trail = [json.loads(line) for line in world.cli("audit", "--json").stdout.splitlines()]
    saves = [e for e in trail if e["action"] == "template.set"]
    assert [(e["target"], e["actor"], e["changes"]["via"], e["changes"]["version"]) for e in saves] == [
        ("phrases/de", ACTOR, "cli", 2), ("phrases/de", ACTOR, "cli", 1)]
    assert saves[0]["changes"]["phrases"] == {"online": None}


def test_refused_phrases_name_the_key_its_line_and_the_fix_and_save_nothing(world: World, tmp_path: Path) -> None:
    text = ('{\n  "online": "Online",\n  "cancel.withdrew": "Sie haben {{ angebot }} verlassen.",\n'
            '  "cancel.sessionCancelled": "Abgesagt {% if offering_title %}",\n  "cancel.bye": "Tschüss"\n}\n')

    refused = world.cli("templates", "set-phrases", "de", "--file", phrases_file(tmp_path, "bad", text))

    assert refused.code == 1, refused.stdout
    err = refused.stderr
    assert "the phrases in de were not saved" in err
    assert "phrases.cancel.withdrew (bad.json line 3) line 1: unknown placeholder angebot" in err
    assert "fix: use {{ offering_title }}" in err
    assert "phrases.cancel.sessionCancelled (bad.json line 4) line 1:" in err
    assert "phrases.cancel.bye (bad.json line 5): 'cancel.bye' is not a phrase" in err
    assert err.count("fix:") == 3
    assert shown(world, "de")["version"] == 0
    trail = world.cli("audit", "--json").stdout
    assert "template.set" not in trail


def test_a_file_that_is_not_a_json_object_is_refused_with_its_line(world: World, tmp_path: Path) -> None:
    broken = world.cli("templates", "set-phrases", "fr", "--file",
                       phrases_file(tmp_path, "broken", '{\n  "online": "En ligne",\n  "cancel.withdrew": \n}\n'))
    listed = world.cli("templates", "set-phrases", "fr", "--file", phrases_file(tmp_path, "list", '["En ligne"]'))
    empty = world.cli("templates", "set-phrases", "fr", "--file", phrases_file(tmp_path, "empty", "{}"))
    language = world.cli("templates", "set-phrases", "not a tag!", "--file", phrases_file(tmp_path, "ok", "{}"))

    assert broken.code != 0 and "line 4 column 1 is not valid JSON" in broken.stderr
    assert listed.code != 0 and "holds a JSON array, not an object" in listed.stderr
    assert empty.code == 1 and "phrases: has no phrase to change" in empty.stderr and "fix: give" in empty.stderr
    assert language.code != 0 and "language:" in language.stderr
    assert shown(world, "fr")["version"] == 0


def test_a_stored_phrase_changes_the_withdrawal_comment_in_its_language_and_no_other(
    world: World, tmp_path: Path,
) -> None:
    feed = base_feed()
    enrollment(feed, "OFF-1001", ADA)["language"] = "de"
    enrollment(feed, "OFF-1001", BO)["language"] = "fr"
    first = world.sync(feed)
    assert first.code == 0 and first.summary["status"] == "completed", first.stderr
    saved = world.cli("templates", "set-phrases", "de", "--file", phrases_file(
        tmp_path, "de", json.dumps({"cancel.withdrew": EDITED_WITHDREW}, ensure_ascii=False)))
    assert saved.code == 0, saved.stderr
    enrollment(feed, "OFF-1001", ADA)["status"] = "withdrawn"
    enrollment(feed, "OFF-1001", BO)["status"] = "withdrawn"

    result = world.sync(feed)

    assert result.code == 0, result.stderr
    assert (result.summary["cancelled"], result.summary["updated"]) == (4, 0)  # a phrase edit sends no update
    ada = [m["comment"] for m in world.messages(ADA) if m["type"] == "meetingCancellation"]
    bo = [m["comment"] for m in world.messages(BO) if m["type"] == "meetingCancellation"]
    assert ada == ["Abmeldung von „Leading Hybrid Teams“ erhalten – bei Fragen: lernen@contoso.example"] * 2
    assert bo == [FRENCH_WITHDREW] * 2
    assert world.received(ADA)["meetingUpdate"] == 0 and world.received(BO)["meetingUpdate"] == 0
