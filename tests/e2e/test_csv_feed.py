"""`learncal sync --feed x.csv` and `learncal feed check` on CSV: the same calendars as the JSON twin."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

from shared.feed.csvfeed import load_mapping
from shared.feed.examples import example_path
from tests.support.csv_twins import (
    ORACLE_LIKE_MAPPING,
    csv_text,
    excel_unicode_text,
    oracle_like_export,
    shift_of,
    shifted,
)
from tests.support.world import World

_VOLATILE = ("id", "iCalUId", "organizerEventId")


def received(world: World) -> dict[str, dict[str, int]]:
    return {box["address"]: dict(world.received(box["address"])) for box in world.sandbox.mailboxes()}


def calendars(world: World) -> dict[str, list[dict[str, Any]]]:
    """Every mailbox's calendar without the ids the sandbox makes up, in a stable order."""
    seen: dict[str, list[dict[str, Any]]] = {}
    for box in world.sandbox.mailboxes():
        address = box["address"]
        items = [{k: v for k, v in m.items() if k not in _VOLATILE} for m in world.calendar(address)]
        if items:
            seen[address] = sorted(items, key=lambda m: json.dumps(m, sort_keys=True))
    return seen


def test_csv_twins_give_the_same_invitations_as_json(world: World, tmp_path: Path) -> None:
    original = json.loads(example_path("sample.json").read_text(encoding="utf-8"))
    by = shift_of(original)  # one shift for both files, so they describe the same sessions
    sample = shifted(original, by)
    cancelled = shifted(json.loads(example_path("cancelled-activity.json").read_text(encoding="utf-8")), by)
    assert cancelled["offerings"][0]["activities"][0]["start"] == sample["offerings"][0]["activities"][0]["start"]

    first = world.sync(sample)
    assert first.code == 0, first.stderr
    after_first = calendars(world)
    second = world.sync(cancelled)
    assert second.code == 0, second.stderr
    by_json = (after_first, calendars(world), received(world))
    organizer = world.env["LEARNCAL_ORGANIZER"]
    attendees = {a: len(v) for a, v in after_first.items() if a != organizer}
    assert (sum(attendees.values()), len(after_first[organizer])) == (15, 15)  # the sample's 15 invitations
    assert sum(c.get("meetingCancellation", 0) for c in by_json[2].values()) == 4

    world.reset_sandbox()
    twin = World(world.info, world.env["AzureWebJobsStorage"], tmp_path)  # a fresh installation
    excel = tmp_path / "sample.txt"
    excel.write_bytes(excel_unicode_text(sample))
    semicolons = tmp_path / "cancelled.csv"
    semicolons.write_bytes(codecs.BOM_UTF8 + csv_text(cancelled, delimiter=";").encode("utf-8"))
    first_csv = twin.sync(str(excel))
    assert first_csv.code == 0, first_csv.stderr
    assert first_csv.summary["created"] == first.summary["created"]
    after_first_csv = calendars(twin)
    second_csv = twin.sync(str(semicolons))
    assert second_csv.code == 0, second_csv.stderr
    assert second_csv.summary["cancelled"] == second.summary["cancelled"] == 4
    assert (after_first_csv, calendars(twin), received(twin)) == by_json


def test_feed_check_names_the_row_and_column_and_refuses_a_cut_file(world: World, tmp_path: Path) -> None:
    sample = shifted(json.loads(example_path("sample.json").read_text(encoding="utf-8")))
    text = csv_text(sample)
    lines = text.split("\r\n")
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("session_start")] = "tomorrow 9am"
    bad = tmp_path / "bad.csv"
    bad.write_text("\r\n".join([lines[0], ",".join(cells), *lines[2:]]), encoding="utf-8")
    checked = world.cli("feed", "check", str(bad))
    assert checked.code == 2, checked.stderr
    assert "rejected row 2, column session_start: 'tomorrow 9am' is not a real date and time" in checked.stdout

    cut = tmp_path / "cut.csv"
    cut.write_text(text[: text.rindex("#END")], encoding="utf-8")
    refused = world.sync(str(cut))
    assert refused.code != 0
    assert refused.summary["status"] == "failed"
    assert "does not end with its trailer row" in refused.summary["message"]
    assert world.stats()["messagesSent"] == 0 and calendars(world) == {}


def test_an_export_with_its_own_columns_is_read_through_the_configured_mapping(world: World, tmp_path: Path) -> None:
    sample = shifted(json.loads(example_path("sample.json").read_text(encoding="utf-8")))
    sample["offerings"][0]["description"] = "One line."  # the unquoted pipe-separated export holds no newlines
    mapping = tmp_path / "lms.toml"
    mapping.write_text(ORACLE_LIKE_MAPPING, encoding="utf-8")
    export = tmp_path / "export.txt"
    export.write_text(oracle_like_export(sample, load_mapping(str(mapping)).headers), encoding="utf-8")

    unmapped = world.cli("feed", "check", str(export))
    assert unmapped.code == 1 and "not a header with a offering_id column" in unmapped.stderr
    checked = world.cli("feed", "check", str(export), "--mapping", str(mapping))
    assert (checked.code, checked.stdout.strip()) == (0, "2 offerings, 4 activities accepted.")
    synced = world.sync(str(export), LEARNCAL_FEED_CSV_MAPPING=str(mapping))
    assert synced.code == 0, synced.stderr
    assert (synced.summary["created"], synced.summary["rejected"]) == (15, [])
    assert len(world.calendar("ada.learner@contoso.example")) == 4
