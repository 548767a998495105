"""The console's Responses page in headless Chromium against `learncal serve`: per session who answered what,
declined instructors highlighted, the counts over time, text from the data shown as text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Browser, Page, expect

from shared.settings import Settings
from shared.store.responses import ResponseRecord, ResponseStore
from shared.store.tables import Tables, table_service
from tests.browser.conftest import VIEWPORT, Served, run_to_its_end, sign_in
from tests.browser.test_console import configure_provider, fresh_feed
from tests.support.feeds import ADA, BO, INES, SAM

NOW = datetime.now(UTC).replace(microsecond=0)
MARKUP = '<img src="x" id="injected-session">'


def answer(offering: str, activity: str, email: str, role: str, response: str, minutes_ago: int) -> ResponseRecord:
    return ResponseRecord(offering, activity, email, role, response, NOW - timedelta(minutes=minutes_ago),
                          "learning@contoso.example", f"evt-{activity}-{email}", NOW)


def test_a_reader_sees_who_answered_each_session_with_declined_instructors_highlighted(
        page: Page, served: Served, browser: Browser) -> None:
    sign_in(page, served, "Avery Admin", "offerings")
    configure_provider(page, served)
    feed = fresh_feed(served)
    assert run_to_its_end(page)["state"] == "completed"
    offering = feed["offerings"][0]["id"]  # ACT-1: Ines and Sam teach Ada and Bo; ACT-2: Ines teaches both
    settings = Settings.from_env(served.env)
    ResponseStore(Tables(table_service(settings), prefix=settings.table_prefix)).record([
        answer(offering, "ACT-1", INES, "primaryInstructor", "declined", 50),
        answer(offering, "ACT-1", ADA, "learner", "accepted", 40),
        answer(offering, "ACT-1", SAM, "instructor", "tentativelyAccepted", 30),
        answer(offering, "ACT-2", ADA, "learner", "declined", 20),
        answer(offering, "ACT-2", INES, "primaryInstructor", "accepted", 10),
        answer(offering, MARKUP, BO, "learner", "accepted", 5),
    ])

    reader = browser.new_context(viewport=VIEWPORT)
    try:
        view = reader.new_page()
        problems: list[str] = []
        view.on("pageerror", lambda error: problems.append(str(error)))
        view.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        sign_in(view, served, "Riley Reader", f"offerings?id={offering}")
        view.get_by_role("link", name="Who accepted, declined or has not answered").click()
        expect(view.locator("main h1")).to_have_text("Responses")

        first = view.locator(".response-session[data-activity='ACT-1']")
        expect(first.locator(".response-summary")).to_have_text("1 declined, 1 tentative, 1 accepted, 1 no answer")
        highlighted = first.locator("tr:has(.declined-instructor)")
        expect(highlighted).to_have_count(1)
        expect(highlighted).to_contain_text(INES)
        expect(first.get_by_role("status")).to_contain_text(f"An instructor declined this session: {INES}")
        expect(first.locator("tr", has_text=BO)).to_contain_text("No answer")  # invited, never answered
        expect(first.locator("tr", has_text=SAM)).to_contain_text("Tentative")

        second = view.locator(".response-session[data-activity='ACT-2']")
        expect(second.locator(".response-summary")).to_have_text("1 declined, 0 tentative, 1 accepted, 1 no answer")
        expect(second.locator(".declined-instructor")).to_have_count(0)  # a learner declining is not highlighted
        expect(second.locator("tr", has_text=ADA)).to_contain_text("Declined")

        # the answer to a session whose id carries markup shows the id as text, never as an element
        expect(view.locator("main")).to_contain_text(f"Session {MARKUP}")
        assert view.locator("main img").count() == 0

        # counts over time: the chart is drawn, and the table beside it ends with every answer counted
        expect(view.locator("canvas#responses-chart")).to_be_visible()
        assert view.evaluate("() => Boolean(window.Chart && window.Chart.getChart('responses-chart'))")
        last = view.locator("table.response-counts tbody tr").last.locator("td").all_inner_texts()
        assert last[1:] == ["2", "1", "3", "0"]  # declined, tentative, accepted, none among the six answers

        view.locator("#trend-session").select_option("ACT-1")
        expect(view.locator("table.response-counts tbody tr")).to_have_count(3)
        assert not problems, problems
    finally:
        reader.close()
