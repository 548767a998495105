"""The console as an administrator uses it, in a real headless Chromium against `learncal serve`."""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Served, api, run_to_its_end, sign_in
from tests.support.feeds import base_feed, write


def fresh_feed(served: Served, **titles: str) -> dict[str, Any]:
    """The base feed with offering ids of its own, in force for the serve from now on; `titles` by offering."""
    token = uuid.uuid4().hex[:6]
    feed = copy.deepcopy(base_feed())
    for offering in feed["offerings"]:
        offering["title"] = titles.get(offering["id"], offering["title"])
        offering["id"] = f"{offering['id']}-{token}"
    write(feed, served.feed_path)
    served.feed = feed
    return feed


def people(feed: dict[str, Any]) -> set[str]:
    return {e["learnerEmail"].lower() for o in feed["offerings"] for e in o.get("enrollments", [])} | {
        i["email"].lower() for o in feed["offerings"] for a in o["activities"] for i in a.get("instructors", [])}


def delivered(served: Served, addresses: set[str]) -> int:
    return sum(len(served.sandbox.messages(address)) for address in addresses)


def configure_provider(page: Page, served: Served) -> None:
    """The provider saved through the API as the signed-in administrator (the UI path is its own test)."""
    status, body = api(page, "PUT", "provider", {
        "status": "active", "tenantId": served.info["tenantId"], "clientId": served.info["clientId"],
        "organizer": served.info["organizer"], "authMode": "secret"})
    assert status == 200, body


def test_an_administrator_saves_the_provider_and_sees_each_validate_check(page: Page, served: Served) -> None:
    sign_in(page, served, "Avery Admin", "provider")
    page.get_by_label("Status").select_option("active")
    page.get_by_label("Tenant ID").fill(served.info["tenantId"])
    page.get_by_label("App (client) ID").fill(served.info["clientId"])
    page.get_by_label("Organizer mailbox(es)").fill(served.info["organizer"])
    page.get_by_role("button", name="Save provider").click()
    expect(page.get_by_text("Saved. Press Validate")).to_be_visible()
    facts = page.locator("dl.facts").first
    expect(facts).to_contain_text(served.info["tenantId"])
    expect(facts).to_contain_text(served.info["organizer"])

    page.get_by_role("button", name="Validate").click()
    rows = page.locator("#validate-results table.checks tbody tr")
    expect(rows.first).to_be_visible(timeout=60_000)
    results = rows.locator("td:nth-child(2)").all_inner_texts()
    assert len(results) >= 3 and set(results) <= {"Pass", "Warning", "Failed"}
    assert "Pass" in results
    # the stored configuration is what the form sent: read back through the API, independently of the page
    status, stored = api(page, "GET", "provider")
    assert status == 200
    assert (stored["tenantId"], stored["clientId"], stored["status"]) == (
        served.info["tenantId"], served.info["clientId"], "active")


def test_an_administrator_starts_a_run_and_follows_it_to_its_end(page: Page, served: Served) -> None:
    sign_in(page, served, "Avery Admin", "runs")
    configure_provider(page, served)
    feed = fresh_feed(served)
    before = delivered(served, people(feed))
    page.get_by_role("button", name="Run now").click()
    outcome = page.get_by_role("status").filter(has_text=re.compile(r"Run \S+ (completed|failed|skipped)"))
    expect(outcome).to_be_visible(timeout=60_000)
    sent = int(re.search(r"(\d+) sent", outcome.inner_text()).group(1))  # type: ignore[union-attr]
    assert "completed" in outcome.inner_text()
    assert sent == delivered(served, people(feed)) - before > 0
    expect(page.locator("#run-detail")).to_contain_text("Rejected from the feed")
    expect(page.locator("#budget")).to_contain_text("6000 messages a minute")  # serve's LEARNCAL_SEND_PER_MINUTE
    page.get_by_label("Chart").select_option("day")
    assert page.locator("canvas").evaluate("c => c.width > 0 && c.getAttribute('aria-label').includes('per day')")
    expect(page.locator("table.runs tbody tr").first).to_contain_text(str(sent))


def test_keyboard_alone_reaches_every_section_and_the_main_actions(page: Page, served: Served) -> None:
    sign_in(page, served, "Avery Admin", "provider")
    reached: list[str] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        name = page.evaluate("() => { const e = document.activeElement; return e ? "
                             "(e.textContent || e.getAttribute('aria-label') || e.id || '').trim() : '' }")
        reached.append(name)
        if name == "Validate":
            break
    assert {"Skip to content", "Provider", "Runs", "Offerings", "Next run", "Feed", "Save provider", "Validate"} <= set(
        reached)
    # a section opens from the keyboard, and focus lands on its content
    page.get_by_role("link", name="Runs", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Runs")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Run now")).to_be_focused()
    # focus is visible: the focused button draws an outline
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")


def test_an_administrator_previews_a_reconcile_confirms_it_and_the_calendars_show_the_update(
        page: Page, served: Served) -> None:
    sign_in(page, served, "Avery Admin", "offerings")
    configure_provider(page, served)
    feed = fresh_feed(served)
    assert run_to_its_end(page)["state"] == "completed"
    offering = feed["offerings"][0]
    renamed = f"Leading Hybrid Teams, renamed {uuid.uuid4().hex[:4]}"
    offering["title"] = renamed  # a title change alone is sent only when the offering is reconciled
    write(feed, served.feed_path)
    invited = {e["learnerEmail"].lower() for e in offering["enrollments"] if e.get("status", "active") == "active"}
    learner = sorted(invited)[0]
    assert not any(renamed in m["subject"] for m in served.sandbox.calendar(learner))

    page.get_by_label("Search offerings").fill(offering["id"])
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=offering["id"]).click()
    expect(page.locator("table.holders").first).to_contain_text(learner)
    assert "null" not in page.locator("main").inner_text().split()  # nothing absent is printed as "null"
    page.get_by_role("button", name="Preview reconcile").click()
    plan = page.locator("table.plan tbody tr")
    expect(plan.first).to_be_visible()
    assert all(cell == "Update" for cell in plan.locator("td:nth-child(1)").all_inner_texts())
    assert learner in plan.locator("td:nth-child(4)").all_inner_texts()
    assert not any(renamed in m["subject"] for m in served.sandbox.calendar(learner))  # a preview sends nothing

    page.get_by_role("button", name="Reconcile and send now").click()
    expect(page.get_by_role("status").filter(has_text="Reconciled")).to_be_visible(timeout=60_000)
    assert any(renamed in m["subject"] for m in served.sandbox.calendar(learner))
    status, trail = api(page, "GET", "audit")
    assert status == 200
    assert any(e["action"] == "offering.reconcile" and offering["id"] in e["target"] for e in trail["value"])


def test_a_person_without_a_role_is_refused_by_the_page_and_the_api(page: Page, served: Served) -> None:
    sign_in(page, served, "Noor Norole", "provider")
    expect(page.get_by_role("alert")).to_contain_text("Access refused")
    expect(page.get_by_role("alert")).to_contain_text("LearningCalendar.Admin")
    assert page.locator("form.provider-form").count() == 0
    for method, route in (("GET", "provider"), ("GET", "runs"), ("GET", "offerings"), ("POST", "sync")):
        assert api(page, method, route, {} if method == "POST" else None)[0] == 403, route


def test_a_reader_sees_the_runs_but_cannot_start_one(page: Page, served: Served) -> None:
    sign_in(page, served, "Riley Reader")  # the console's root: a reader starts on Runs
    expect(page.locator("main h1")).to_have_text("Runs")
    expect(page.locator("#who")).to_contain_text("read only")
    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_role("alert")).to_contain_text("Access refused")
    assert api(page, "GET", "runs")[0] == 200
    assert api(page, "POST", "sync", {})[0] == 403


MARKUP = '<img src="x" id="injected-{0}"><script id="script-{0}">window.pwned=1</script><b>bold</b>'


def test_markup_from_the_feed_shows_as_text_and_never_becomes_an_element(page: Page, served: Served) -> None:
    sign_in(page, served, "Avery Admin", "offerings")
    configure_provider(page, served)
    feed = fresh_feed(served)
    offering = feed["offerings"][0]
    offering["title"] = "Title " + MARKUP.format("title")
    offering["description"] = "Description " + MARKUP.format("description")
    offering["activities"][0]["title"] = "Session " + MARKUP.format("session")
    offering["activities"][0]["instructors"][0]["name"] = "Name " + MARKUP.format("name")
    offering["activities"][1]["timeZone"] = "Mars/" + MARKUP.format("zone")  # rejected: its reason quotes it
    write(feed, served.feed_path)
    assert run_to_its_end(page)["state"] == "completed"

    shown: list[str] = []
    for section_path in (f"offerings?id={offering['id']}", "runs", "next-run", "audit"):
        page.goto(served.console + section_path)
        page.wait_for_load_state("networkidle")
        if section_path == "next-run":
            page.get_by_role("button", name="Preview the next run").click()
            expect(page.locator("main .status").first).not_to_have_text(re.compile("Working out"), timeout=30_000)
        shown.append(page.locator("main").inner_text())
        assert page.locator("main img, main b, main script[id^=script-]").count() == 0, section_path
        assert page.evaluate("() => window.pwned === undefined")
    assert "Title " + MARKUP.format("title") in shown[0]  # the title, character for character, as text
    assert any('<img src="x" id="injected-zone">' in text for text in shown[1:]), "the rejection names the value"


def test_an_administrator_rotates_the_secret_and_the_audit_trail_names_who_without_the_value(
        page: Page, served: Served) -> None:
    sign_in(page, served, "Avery Admin", "provider")
    configure_provider(page, served)
    page.reload()
    secret = str(served.info["clientSecret"])  # the same value again: a rotation that keeps the app working
    page.get_by_label("Rotate client secret").fill(secret)
    page.get_by_role("button", name="Save provider").click()
    expect(page.get_by_text("Saved. Press Validate")).to_be_visible()
    expect(page.get_by_label("Rotate client secret")).to_have_value("")
    expect(page.locator("dl.facts").first).to_contain_text("********")

    page.get_by_role("link", name="Audit trail", exact=True).click()
    rows = page.locator("main table tbody tr")
    expect(rows.first).to_be_visible()
    trail = page.locator("main").inner_text()
    assert "secret.set" in trail and "avery.admin@contoso.example" in trail
    assert secret not in trail and secret not in page.content()
