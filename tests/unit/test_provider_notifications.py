"""The learning-system alerts the provider replaces: listed while active, none while inactive."""

from __future__ import annotations

from shared.provider.notifications import ACTIVE_NOTICE, INACTIVE_NOTICE, alerts_to_switch_off


def test_active_lists_the_three_alerts_and_inactive_none() -> None:
    assert [a["code"] for a in alerts_to_switch_off("active")] == ["WLF-00002", "WLF-00008", "WLF-00009"]
    assert alerts_to_switch_off("inactive") == []


def test_the_notices_say_what_follows_for_calendars() -> None:
    assert "existing calendar events will no longer be updated" in INACTIVE_NOTICE
    assert "WLF-00009" in INACTIVE_NOTICE and "switch off" in ACTIVE_NOTICE
