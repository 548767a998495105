"""Example feeds shipped with the product: the demo's sample feed and one file per edge case.

They live in the package (not only in the docs) so `learncal demo` and the tests read the same
files a user can open; README.md here says what each one shows and what a sync should do.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

SAMPLE = "sample.json"
_HERE = Path(__file__).parent
_LOCAL = re.compile(r"^(\d{4}-\d{2}-\d{2})(T.*)$")
LEAD_DAYS = 14  # the shifted sample's first session starts two to three weeks from today


def example_path(name: str) -> Path:
    """The path of a bundled example feed, e.g. `example_path(SAMPLE)`."""
    path = _HERE / name
    if path.suffix != ".json" or path.parent != _HERE or not path.is_file():
        raise FileNotFoundError(f"No bundled example feed is called {name!r}")
    return path


def example_names() -> list[str]:
    return sorted(p.name for p in _HERE.glob("*.json"))


def _first_day() -> date:
    """The day of the sample feed's earliest session: the anchor every example is moved by."""
    feed = json.loads(example_path(SAMPLE).read_text(encoding="utf-8"))
    return min(date.fromisoformat(a["start"][:10]) for o in feed["offerings"] for a in o["activities"])


def shift_days(today: date | None = None) -> int:
    """Whole weeks that put the sample's first session LEAD_DAYS to LEAD_DAYS + 6 days after today.

    Whole weeks keep every session on its weekday and at its local time; the same shift for
    every example keeps the follow-up files ("after sample.json") matching the sample.
    """
    today = today or datetime.now(UTC).date()
    target = today + timedelta(days=LEAD_DAYS)
    weeks = -((_first_day() - target).days // 7)  # ceil((target - first) / 7)
    return 7 * weeks


def upcoming(name: str, today: date | None = None) -> dict[str, Any]:
    """An example feed with its sessions moved to the coming weeks, so a sync sends all of them.

    The files as shipped carry fixed dates (the reader's and the README's reference); the demo
    and anything else that syncs an example uses this. dst-change.json loses its point when
    moved (daylight-saving days do not move by weeks): read it as shipped.
    """
    feed = json.loads(example_path(name).read_text(encoding="utf-8"))
    delta = timedelta(days=shift_days(today))
    for offering in feed.get("offerings", []):
        if not isinstance(offering, dict):
            continue
        for activity in offering.get("activities", []) if isinstance(offering.get("activities"), list) else []:
            if not isinstance(activity, dict):
                continue
            for key in ("start", "end"):
                value = activity.get(key)
                match = _LOCAL.match(value) if isinstance(value, str) else None
                if match:
                    try:
                        moved = date.fromisoformat(match.group(1)) + delta
                    except ValueError:
                        continue  # an invalid date in invalid-items.json stays as it is
                    activity[key] = moved.isoformat() + match.group(2)
    return dict(feed)


def write_upcoming(name: str, folder: Path, today: date | None = None) -> Path:
    """`upcoming(name)` written to `folder/name`, for anything that reads a feed from a path."""
    path = folder / name
    path.write_text(json.dumps(upcoming(name, today), ensure_ascii=False, indent=2), encoding="utf-8")
    return path
