"""The Provider page's response-collection switch in a real headless Chromium against `learncal serve`."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Served, api, run_to_its_end, sign_in


def test_an_administrator_switches_response_collection_on_counts_the_rollout_and_switches_it_off(
        page: Page, served: Served) -> None:
    sign_in(page, served, "Avery Admin", "provider")
    status, body = api(page, "PUT", "provider", {
        "status": "active", "tenantId": served.info["tenantId"], "clientId": served.info["clientId"],
        "organizer": served.info["organizer"], "authMode": "secret"})
    assert status == 200, body
    assert run_to_its_end(page)["state"] == "completed"
    # every meeting in the attendees' calendars is one invitation a roll-out has to update
    attendees = {e["learnerEmail"].lower() for o in served.feed["offerings"] for e in o["enrollments"]} | {
        i["email"].lower() for o in served.feed["offerings"] for a in o["activities"] for i in a["instructors"]}
    invitations = sum(len(served.sandbox.calendar(email)) for email in attendees)
    assert invitations > 0
    messages = sum(len(served.sandbox.messages(email)) for email in attendees)
    page.reload()

    switch = page.get_by_label("Response collection")
    expect(switch).to_have_value("environment")
    switch.select_option("on")
    note = page.locator("#request-responses-note")
    expect(note).to_contain_text("Invitations already sent are untouched until a roll-out")
    page.get_by_role("button", name="Save provider").click()
    expect(page.get_by_text("Saved. Press Validate")).to_be_visible()
    expect(page.locator("dl.facts").first).to_contain_text("on: invitations ask for a response")

    # the saved configuration, read back through the API independently of the page
    status, stored = api(page, "GET", "provider")
    assert status == 200
    assert (stored["requestResponses"], stored["requestResponsesInForce"]) == (True, True)
    assert (stored["tenantId"], stored["status"]) == (served.info["tenantId"], "active")

    note.get_by_role("link", name="Count the updates and roll out").click()
    count = page.get_by_role("button", name="Count the updates")
    expect(count).to_be_focused()
    count.click()
    expect(page.locator("#rollout-out")).to_contain_text(f"would send {invitations} updates")
    expect(page.get_by_role("button", name=f"Roll out: send {invitations} updates")).to_be_enabled()
    # counting sends nothing: no attendee received another message
    assert sum(len(served.sandbox.messages(email)) for email in attendees) == messages

    # switched off again: the page says the same, and the second save shows and stores it too
    switch.select_option("off")
    expect(note).to_contain_text("Invitations already sent are untouched until a roll-out")
    page.get_by_role("button", name="Save provider").click()
    expect(page.locator("dl.facts").first).to_contain_text("off: no response is asked for")
    status, stored = api(page, "GET", "provider")
    assert (stored["requestResponses"], stored["requestResponsesInForce"]) == (False, False)
