"""The console as an administrator uses it, in a real headless Chromium against `learncal serve`."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Served, api, sign_in


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
    page.get_by_role("button", name="Run now").click()
    outcome = page.get_by_role("status").filter(has_text=re.compile(r"Run \S+ (completed|failed|skipped)"))
    expect(outcome).to_be_visible(timeout=60_000)
    sent = int(re.search(r"(\d+) sent", outcome.inner_text()).group(1))  # type: ignore[union-attr]
    people = {e["learnerEmail"].lower() for o in served.feed["offerings"] for e in o.get("enrollments", [])} | {
        i["email"].lower() for o in served.feed["offerings"] for a in o["activities"] for i in a.get("instructors", [])}
    delivered = sum(len(served.sandbox.messages(person)) for person in people)
    assert "completed" in outcome.inner_text()
    assert sent == delivered > 0
    expect(page.locator("#run-detail")).to_contain_text("Rejected from the feed")
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
