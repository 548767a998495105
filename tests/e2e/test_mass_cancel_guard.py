"""The mass-cancellation guard and its one-shot allowance, through `learncal sync`."""

from __future__ import annotations

import copy
from typing import Any

from tests.support.feeds import base_feed, enrollment, offering
from tests.support.world import CliResult, World

EXTRA = [f"learner{i:02d}@contoso.example" for i in range(8)]
BIG = 7 + 2 * len(EXTRA)  # OFF-1001: two workshops for 2 learners and the extra ones, 3 instructor seats
LIVE = BIG + 3  # and OFF-2002's three


def full_feed() -> dict[str, Any]:
    feed = base_feed()
    offering(feed, "OFF-1001")["enrollments"].extend({"learnerEmail": e, "status": "active"} for e in EXTRA)
    return feed


def truncated_feed() -> dict[str, Any]:
    """A wrong feed: every session of the big offering is missing."""
    feed = full_feed()
    offering(feed, "OFF-1001")["activities"] = []
    return feed


def stopped(result: CliResult) -> str:
    assert result.code == 1, result.stdout + result.stderr
    message = str(result.summary["message"])
    assert result.summary["status"] == "failed" and "Stopped before sending anything" in message
    return message


def cancellations_received(world: World) -> int:
    return sum(world.received(e)["meetingCancellation"] for e in EXTRA)


def test_a_small_organisation_losing_most_meetings_is_stopped_until_an_allowance_covers_it(world: World) -> None:
    assert world.sync(full_feed()).summary["created"] == LIVE
    truncated = world.feed_file(truncated_feed())

    message = stopped(world.sync(truncated))
    assert f"would cancel {BIG} of {LIVE} live invitations" in message
    assert f"learncal sync --allow-mass-cancel={BIG}" in message
    assert f'POST /api/sync with {{"allowMassCancel": {BIG}}}' in message
    assert f"LEARNCAL_ALLOW_MASS_CANCEL={BIG}" in message
    assert cancellations_received(world) == 0

    preview = world.sync(truncated, "--dry-run")
    assert preview.code == 0 and preview.summary["cancelled"] == BIG
    assert f"--allow-mass-cancel={BIG}" in preview.summary["message"]

    too_small = stopped(world.sync(truncated, f"--allow-mass-cancel={BIG - 1}"))
    assert f"allowance in force ({BIG - 1}" in too_small
    assert cancellations_received(world) == 0

    allowed = world.sync(truncated, f"--allow-mass-cancel={BIG}")
    assert allowed.code == 0, allowed.stdout + allowed.stderr
    assert allowed.summary["cancelled"] == BIG
    used = allowed.summary["massCancelAllowance"]
    assert (used["count"], used["used"], used["via"]) == (BIG, BIG, "cli")
    assert "learncal sync" in used["givenBy"] and used["givenAt"] and used["expiresAt"]
    assert cancellations_received(world) == 2 * len(EXTRA)

    assert world.sync(full_feed()).code == 0  # everyone invited again
    stopped(world.sync(truncated))  # the allowance was used up: the same mistake is stopped again


def test_an_allowance_from_the_environment_is_read_once(world: World) -> None:
    assert world.sync(full_feed()).code == 0
    truncated = world.feed_file(truncated_feed())

    allowed = world.sync(truncated, LEARNCAL_ALLOW_MASS_CANCEL=str(BIG))
    assert allowed.code == 0, allowed.stdout + allowed.stderr
    assert allowed.summary["massCancelAllowance"]["via"] == "environment"
    assert "LEARNCAL_ALLOW_MASS_CANCEL" in allowed.summary["massCancelAllowance"]["givenBy"]

    assert world.sync(full_feed(), LEARNCAL_ALLOW_MASS_CANCEL=str(BIG)).code == 0
    stopped(world.sync(truncated, LEARNCAL_ALLOW_MASS_CANCEL=str(BIG)))  # still set, but already used


def test_a_run_cancelling_more_than_the_maximum_is_stopped_whatever_the_share(world: World) -> None:
    feed = base_feed()
    offering(feed, "OFF-2002")["enrollments"].extend(
        {"learnerEmail": f"many{i:02d}@contoso.example", "status": "active"} for i in range(30))
    assert world.sync(feed).summary["created"] == 40
    offering(feed, "OFF-1001")["status"] = "cancelled"  # 7 of 40: a small share, fewer than the minimum

    message = stopped(world.sync(feed, LEARNCAL_MASS_CANCEL_MAX="5"))
    assert "would cancel 7 of 40" in message and "LEARNCAL_MASS_CANCEL_MAX" in message
    assert world.sync(feed).summary["cancelled"] == 7  # within the default maximum: an ordinary change


def test_the_guard_trips_at_least_the_minimum_more_than_the_ratio_or_more_than_the_maximum(world: World) -> None:
    """Each limit at its edge, judged by dry runs of 7 cancellations out of 40 live (17.5%)."""
    feed = base_feed()
    offering(feed, "OFF-2002")["enrollments"].extend(
        {"learnerEmail": f"many{i:02d}@contoso.example", "status": "active"} for i in range(30))
    assert world.sync(feed).summary["created"] == 40
    offering(feed, "OFF-1001")["status"] = "cancelled"
    path = world.feed_file(feed)

    def trips(**limits: str) -> bool:
        preview = world.sync(path, "--dry-run", **limits)
        assert preview.code == 0 and preview.summary["cancelled"] == 7, preview.stdout + preview.stderr
        return "would be stopped by the mass-cancellation guard" in str(preview.summary["message"])

    assert trips(LEARNCAL_MASS_CANCEL_MIN="7", LEARNCAL_MASS_CANCEL_RATIO="0.15")  # at least the minimum
    assert not trips(LEARNCAL_MASS_CANCEL_MIN="8", LEARNCAL_MASS_CANCEL_RATIO="0.15")
    assert not trips(LEARNCAL_MASS_CANCEL_MIN="7", LEARNCAL_MASS_CANCEL_RATIO="0.175")  # exactly the share: not more
    assert trips(LEARNCAL_MASS_CANCEL_MAX="6")  # more than the maximum, whatever the share
    assert not trips(LEARNCAL_MASS_CANCEL_MAX="7")
    assert not trips()  # the defaults: 7 is below the minimum of 10
    assert world.received("bo.learner@contoso.example")["meetingCancellation"] == 0  # previews send nothing


def test_the_allowance_option_is_documented_and_refuses_what_is_not_a_count(world: World) -> None:
    help_text = " ".join(world.cli("sync", "--help").stdout.split())
    assert "--allow-mass-cancel[=N]" in help_text and "24 hours" in help_text

    refused = world.sync(full_feed(), "--allow-mass-cancel=0")
    assert refused.code == 2 and "--allow-mass-cancel" in refused.stderr and "number of cancellations" in refused.stderr
    assert world.received(EXTRA[0])["meetingRequest"] == 0


def test_a_legacy_true_is_refused_with_the_way_to_give_a_number(world: World) -> None:
    result = world.sync(full_feed(), LEARNCAL_ALLOW_MASS_CANCEL="true")
    assert result.code == 1
    assert "LEARNCAL_ALLOW_MASS_CANCEL" in result.stderr and "number of cancellations" in result.stderr
    assert world.received(EXTRA[0])["meetingRequest"] == 0


def test_cancellations_an_allowed_run_left_unfinished_are_finished_without_a_new_allowance(world: World) -> None:
    """A run that passed the guard and was stopped after recording its cancellations (`cancelling`)
    left them half-done; the next run finishes them instead of counting them as new ones."""
    from azure.data.tables import TableServiceClient, UpdateMode

    assert world.sync(full_feed()).code == 0
    service = TableServiceClient.from_connection_string(world.env["AzureWebJobsStorage"])
    table = service.get_table_client(world.env["LEARNCAL_TABLE_PREFIX"] + "Invitations")
    rows = [row for row in table.list_entities() if row["OfferingId"] == "OFF-1001"]
    assert len(rows) == BIG
    for row in rows:  # what the allowed run had recorded when it stopped
        table.upsert_entity({**row, "State": "cancelling", "Comment": "This session was cancelled."},
                            mode=UpdateMode.REPLACE)

    finished = world.sync(truncated_feed())

    assert finished.code == 0, finished.stdout + finished.stderr
    assert finished.summary["cancelled"] == BIG
    assert cancellations_received(world) == 2 * len(EXTRA)


def test_a_bare_allowance_on_a_run_that_needs_none_is_not_kept_for_a_later_one(world: World) -> None:
    assert world.sync(full_feed()).code == 0
    one_left = full_feed()
    enrollment(one_left, "OFF-1001", EXTRA[0])["status"] = "withdrawn"  # two workshops: two cancellations
    calm = world.sync(one_left, "--allow-mass-cancel")  # the guard would not stop it
    assert calm.code == 0 and calm.summary["cancelled"] == 2 and calm.summary.get("massCancelAllowance") is None

    two_left = copy.deepcopy(one_left)
    enrollment(two_left, "OFF-1001", EXTRA[1])["status"] = "withdrawn"
    strict = {"LEARNCAL_MASS_CANCEL_MIN": "1", "LEARNCAL_MASS_CANCEL_RATIO": "0"}
    stopped(world.sync(two_left, **strict))  # nothing left over from the bare allowance covers these two
    assert world.received(EXTRA[1])["meetingCancellation"] == 0
