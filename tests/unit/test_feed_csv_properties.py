"""Whatever a CSV export holds, the reader reads it or refuses it whole, and every rejection names a row."""

from __future__ import annotations

import contextlib
import re
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import FeedUnreadable
from shared.feed.reader import parse_feed
from tests.support.csv_twins import HEADER, csv_text

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_LOCATED = re.compile(r"^row [0-9]+(, column [a-z_]+)?$")

_DAY = date.today() + timedelta(days=30)
_PLAUSIBLE = {
    "offering_id": st.sampled_from(["OFF-1", "OFF-2", ""]),
    "offering_status": st.sampled_from(["active", "cancelled", "postponed", ""]),
    "session_id": st.sampled_from(["S-1", "S-2", ""]),
    "session_status": st.sampled_from(["scheduled", "cancelled", ""]),
    "session_start": st.sampled_from(
        [f"{_DAY}T09:00", f"{_DAY} 10:00", f"{_DAY:%d.%m.%Y}", "", f"{_DAY.year}-02-30T09:00"]),
    "session_end": st.sampled_from([f"{_DAY}T11:00", f"{_DAY} 08:00:00", ""]),
    "time_zone": st.sampled_from(["Europe/Berlin", "UTC", "Mars/Olympus", ""]),
    "location_kind": st.sampled_from(["classroom", "virtual", "none", "moon", ""]),
    "join_url": st.sampled_from(["https://meet.contoso.example/j/1", "ftp://x", ""]),
    "person_email": st.sampled_from(["ada@contoso.example", "ADA@contoso.example", "pat@contoso.example", "x@", ""]),
    "role": st.sampled_from(["learner", "primaryInstructor", "instructor", "Teacher", ""]),
    "enrollment_status": st.sampled_from(["active", "withdrawn", "completed", "cancelled", "maybe", ""]),
}
_ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@st.composite
def _rows(draw: Any) -> list[dict[str, str]]:
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        row = {}
        for name in HEADER:
            plausible = _PLAUSIBLE.get(name, st.sampled_from(["Title", ""]))
            row[name] = draw(st.one_of(plausible, plausible, plausible, _ANY_TEXT))
        rows.append(row)
    return rows


@SETTINGS
@given(_rows(), st.sampled_from([",", ";", "\t"]))
def test_any_rows_are_judged_with_row_and_column_paths(rows: list[dict[str, str]], delimiter: str) -> None:
    feed = parse_feed(csv_text({"offerings": []}, rows=rows, delimiter=delimiter).encode("utf-8"), name="x.csv")
    assert all(_LOCATED.match(r.path) for r in feed.rejections), feed.rejections
    for rejection in feed.rejections:
        assert int(rejection.path.split()[1].rstrip(",")) <= len(rows) + 1
    applied = {(o.id, a.id) for o in feed.offerings for a in o.activities}
    assert all(h.activity_id is None or (h.offering_id, h.activity_id) not in applied for h in feed.holds)


@SETTINGS
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_any_bytes_named_csv_are_read_or_refused_as_unreadable(data: bytes | str) -> None:
    with contextlib.suppress(FeedUnreadable):
        feed = parse_feed(data, name="upload.csv")
        assert all(_LOCATED.match(r.path) for r in feed.rejections)
