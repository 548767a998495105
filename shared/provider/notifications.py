"""The learning system's own alerts that this provider replaces while it is active.

Outlook invitations, updates and cancellations tell people what these alerts would tell them;
leaving both on means every change reaches people twice. While the provider is inactive it
sends nothing, so the alerts must stay on.
"""

from __future__ import annotations

from typing import Any

REPLACED_ALERTS: tuple[dict[str, str], ...] = (
    {"code": "WLF-00002", "name": "Offering Definition has Changed"},
    {"code": "WLF-00008", "name": "Offering Activity Definition has Changed for an Instructor"},
    {"code": "WLF-00009", "name": "Instructor Booking Event Removal"},
)

INACTIVE_NOTICE = (
    "The provider is now inactive: runs send nothing, and existing calendar events will no longer be updated "
    "or cancelled until it is active again. Turn the learning system's alerts "
    + ", ".join(a["code"] for a in REPLACED_ALERTS) + " back on so people still hear about changes."
)
ACTIVE_NOTICE = (
    "The provider is now active: switch off the learning system's alerts "
    + ", ".join(a["code"] for a in REPLACED_ALERTS) + ", or people get both the alert and the calendar update."
)


def alerts_to_switch_off(status: str) -> list[dict[str, Any]]:
    """While active: the alerts to switch off; while inactive: none."""
    return [dict(alert) for alert in REPLACED_ALERTS] if status == "active" else []
