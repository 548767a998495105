"""Model-based test: random feed edits, each followed by a sync through the real clients.

An oracle written independently of the planner says, after every sync, what every person
should have in their calendar and which messages they should have received since the last
sync. The product must agree with it after any sequence of edits.

Profiles: `HYPOTHESIS_PROFILE=long` runs many more examples locally.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from shared import sandbox
from shared.bootstrap import build
from shared.errors import UnknownOffering
from shared.local.azurite import RunningAzurite
from shared.local.demo import sandbox_environment
from shared.sandbox.client import SandboxClient
from shared.settings import Settings
from shared.store.tables import Tables, table_service
from shared.sync.service import SyncRequest
from tests.support.dates import local

settings.register_profile("ci", max_examples=25, stateful_step_count=6, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("long", max_examples=200, stateful_step_count=20, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

LEARNERS = [f"learner{i}@contoso.example" for i in range(5)]
INSTRUCTORS = [f"trainer{i}@contoso.example" for i in range(3)]
OFFERINGS = ["OFF-A", "OFF-B"]
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata"]
Pair = tuple[str, str, str]


def _utc(local: str, zone: str) -> str:
    moment = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Oracle:
    """What the contract says should be true, computed from the feed alone."""

    def __init__(self) -> None:
        self.shown: dict[Pair, tuple[str, str]] = {}  # what each person's meeting shows: subject, start UTC

    @staticmethod
    def desired(feed: dict[str, Any]) -> dict[Pair, tuple[str, str]]:
        wanted: dict[Pair, tuple[str, str]] = {}
        for off in feed["offerings"]:
            if off["status"] != "active":
                continue
            for act in off["activities"]:
                if act.get("status", "scheduled") != "scheduled":
                    continue
                subject = off["title"] if off["title"] == act["title"] else f"{off['title']}: {act['title']}"
                start = _utc(act["start"], act["timeZone"])
                people = {i["email"] for i in act["instructors"]}
                people |= {e["learnerEmail"] for e in off["enrollments"] if e["status"] == "active"}
                for person in people:
                    wanted[(off["id"], act["id"], person)] = (subject, start)
        return wanted

    def sync(self, feed: dict[str, Any], reconciled: set[str]) -> dict[str, Counter[str]]:
        """Apply one sync to the model; return the messages each person must have received."""
        messages: dict[str, Counter[str]] = {}
        desired = self.desired(feed)
        for pair in set(desired) | set(self.shown):
            person = pair[2]
            now, before = desired.get(pair), self.shown.get(pair)
            kind = None
            if before is None and now is not None:
                kind = "meetingRequest"
            elif before is not None and now is None:
                kind = "meetingCancellation"
            elif now is not None and before is not None and now != before:
                if now[1] != before[1] or pair[0] in reconciled:
                    kind = "meetingUpdate"
                else:
                    continue  # only non-key fields changed: shown stays as it was
            if kind is None:
                continue
            messages.setdefault(person, Counter())[kind] += 1
            if now is None:
                del self.shown[pair]
            else:
                self.shown[pair] = now
        return messages

    def calendar(self, person: str) -> Counter[tuple[str, str]]:
        return Counter(v for k, v in self.shown.items() if k[2] == person)


@pytest.fixture(scope="module")
def live_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with sandbox.start(tmp_path_factory.mktemp("model-sandbox")) as running:
        yield running.info


class FeedMachine(RuleBasedStateMachine):
    info: dict[str, Any]
    storage: str
    workdir: Path

    def __init__(self) -> None:
        super().__init__()
        self.env = sandbox_environment(self.info, self.storage)
        self.env["LEARNCAL_SEND_PER_MINUTE"] = "100000"
        self.prefix = "M" + uuid.uuid4().hex[:10]
        self.inspector = SandboxClient(self.info)
        self.inspector.reset()
        self.oracle = Oracle()
        self.feed: dict[str, Any] = {"schemaVersion": 1, "offerings": []}
        self.status = "active"
        self.known: set[str] = set()
        self.marked: set[str] = set()
        self.seen: dict[str, Counter[str]] = {}
        self.path = self.workdir / f"{self.prefix}.json"

    # -- the system under test -------------------------------------------------------------

    def _app(self) -> Any:
        env = dict(self.env, LEARNCAL_STATUS=self.status)
        configured = Settings.from_env(env)
        tables = Tables(table_service(configured), prefix=self.prefix)
        return build(configured, tables=tables)

    def _offering(self, offering_id: str) -> dict[str, Any] | None:
        return next((o for o in self.feed["offerings"] if o["id"] == offering_id), None)

    @initialize(zone=st.sampled_from(ZONES))
    def start(self, zone: str) -> None:
        for n, offering_id in enumerate(OFFERINGS):
            self.feed["offerings"].append({
                "id": offering_id, "title": f"Course {offering_id}", "status": "active",
                "activities": [{
                    "id": f"{offering_id}-S1", "title": "Session 1", "start": local(30 + 90 * n, "09:00"),
                    "end": local(30 + 90 * n, "11:00"), "timeZone": zone,
                    "location": {"kind": "virtual", "joinUrl": "https://meet.example.com/j/1"},
                    "instructors": [{"email": INSTRUCTORS[n], "primary": True}],
                }],
                "enrollments": [{"learnerEmail": LEARNERS[n], "status": "active"}],
            })

    # -- edits -------------------------------------------------------------------------------

    @rule(offering_id=st.sampled_from(OFFERINGS), learner=st.sampled_from(LEARNERS),
          status=st.sampled_from(["active", "withdrawn", "cancelled"]))
    def set_enrollment(self, offering_id: str, learner: str, status: str) -> None:
        off = self._offering(offering_id)
        assert off is not None
        found = next((e for e in off["enrollments"] if e["learnerEmail"] == learner), None)
        if found is None:
            off["enrollments"].append({"learnerEmail": learner, "status": status})
        else:
            found["status"] = status
        self.sync()

    @rule(offering_id=st.sampled_from(OFFERINGS), hours=st.integers(min_value=-3, max_value=3))
    def move_session(self, offering_id: str, hours: int) -> None:
        off = self._offering(offering_id)
        assert off is not None
        for act in off["activities"]:
            for field in ("start", "end"):
                act[field] = (datetime.fromisoformat(act[field]) + timedelta(hours=hours)).isoformat()
        self.sync()

    @rule(offering_id=st.sampled_from(OFFERINGS), title=st.sampled_from(["Intro", "Deep dive", "Session 1"]))
    def retitle(self, offering_id: str, title: str) -> None:
        off = self._offering(offering_id)
        assert off is not None
        off["activities"][0]["title"] = title
        self.sync()

    @rule(offering_id=st.sampled_from(OFFERINGS), trainer=st.sampled_from(INSTRUCTORS))
    def toggle_instructor(self, offering_id: str, trainer: str) -> None:
        off = self._offering(offering_id)
        assert off is not None
        act = off["activities"][0]
        emails = [i["email"] for i in act["instructors"]]
        if trainer in emails and len(emails) > 1:
            act["instructors"] = [i for i in act["instructors"] if i["email"] != trainer]
        elif trainer not in emails:
            act["instructors"].append({"email": trainer})
        self.sync()

    @rule(offering_id=st.sampled_from(OFFERINGS))
    def add_session(self, offering_id: str) -> None:
        off = self._offering(offering_id)
        assert off is not None
        first = off["activities"][0]
        n = len(off["activities"]) + 1
        if n <= 3:
            shifted = {f: (datetime.fromisoformat(first[f]) + timedelta(days=n)).isoformat() for f in ("start", "end")}
            off["activities"].append(dict(copy.deepcopy(first), id=f"{offering_id}-S{n}", **shifted))
        self.sync()

    @rule(offering_id=st.sampled_from(OFFERINGS), status=st.sampled_from(["scheduled", "cancelled"]))
    def set_session_status(self, offering_id: str, status: str) -> None:
        off = self._offering(offering_id)
        assert off is not None
        off["activities"][-1]["status"] = status
        self.sync()

    @rule(offering_id=st.sampled_from(OFFERINGS), status=st.sampled_from(["active", "cancelled"]))
    def set_offering_status(self, offering_id: str, status: str) -> None:
        off = self._offering(offering_id)
        assert off is not None
        off["status"] = status
        self.sync()

    @rule(offering_id=st.sampled_from(OFFERINGS))
    def reconcile(self, offering_id: str) -> None:
        app = self._app()
        if offering_id in self.known:
            app.offerings.request_reconcile(offering_id)
            self.marked.add(offering_id)
        else:
            with pytest.raises(UnknownOffering):
                app.offerings.request_reconcile(offering_id)
        self.sync()

    @rule()
    def toggle_status(self) -> None:
        self.status = "inactive" if self.status == "active" else "active"
        self.sync()

    # -- the sync and what must hold after it ------------------------------------------------

    def sync(self) -> None:
        self.path.write_text(json.dumps(self.feed), encoding="utf-8")
        before = self.inspector.stats()["requests"]
        summary = self._app().sync.sync(SyncRequest(feed=str(self.path)))
        assert summary.errors == [] and summary.rejected == []
        people = set(LEARNERS) | set(INSTRUCTORS)
        if self.status == "inactive":
            assert summary.status == "skipped"
            assert self.inspector.stats()["requests"] == before  # no Graph request at all
            expected: dict[str, Counter[str]] = {}
        else:
            assert summary.status == "completed", summary.message
            expected = self.oracle.sync(self.feed, self.marked)
            self.marked.clear()
            self.known |= {o["id"] for o in self.feed["offerings"]}
        for person in people:
            received = Counter(m["type"] for m in self.inspector.messages(person))
            new = received - self.seen.get(person, Counter())
            assert new == expected.get(person, Counter()), f"{person} received {dict(new)}"
            self.seen[person] = received

    @invariant()
    def calendars_match_the_model(self) -> None:
        if not hasattr(self, "oracle"):
            return
        for person in set(LEARNERS) | set(INSTRUCTORS):
            actual = Counter((m["subject"], m["startUtc"]) for m in self.inspector.calendar(person))
            assert actual == self.oracle.calendar(person), person


def test_random_edit_sequences_keep_calendars_right(
    live_sandbox: dict[str, Any], azurite: RunningAzurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):  # the SDK clients read the CA from here
        monkeypatch.setenv(name, live_sandbox["caFile"])
    FeedMachine.info = live_sandbox
    FeedMachine.storage = azurite.connection_string
    FeedMachine.workdir = tmp_path
    profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    FeedMachine.TestCase.settings = settings.get_profile(profile)
    FeedMachine.TestCase().runTest()
