"""The console's Templates page in a real headless Chromium: edit, preview from the feed, save, versions."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from shared.templates.model import TemplateSet
from tests.browser.conftest import Served, api, run_to_its_end, sign_in

MARKER = "Please bring your own laptop."


def test_an_administrator_edits_previews_and_saves_a_template(page: Page, served: Served) -> None:
    first = served.feed["offerings"][0]
    builtin = TemplateSet.builtin("en").texts[("learner", "en")]
    sign_in(page, served, "Avery Admin", "templates")
    status, in_force = api(page, "GET", "templates/learner/en")
    assert status == 200
    subject = page.get_by_label("Subject", exact=True)
    expect(subject).to_have_value(in_force["subject"])  # the template in force is loaded for learner, en

    subject.fill("Browser test: {{ offering_title }}")
    page.get_by_label("Body (HTML)").fill(builtin.body.replace("</body>", f"<p>{MARKER}</p></body>"))
    page.get_by_role("button", name="Preview").click()

    expect(page.locator("#template-preview-subject")).to_have_text(f"Browser test: {first['title']}")
    frame = page.locator("#template-preview-frame")
    expect(frame).to_have_attribute("sandbox", "")
    expect(page.frame_locator("#template-preview-frame").locator("body")).to_contain_text(MARKER)

    body = page.get_by_label("Body (HTML)")
    good = body.input_value()
    body.fill("<p>Hello</p>\n<p>{{ offering_titel }}</p>")
    page.get_by_role("button", name="Save as a new version").click()
    refusal = page.locator("#template-save")
    expect(refusal).to_contain_text("body line 2")
    expect(refusal).to_contain_text("Fix:")
    status, unsaved = api(page, "GET", "templates/learner/en")
    assert status == 200 and unsaved["version"] == in_force["version"]

    body.fill(good)
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator("#template-save")).to_contain_text(f"Saved as version {in_force['version'] + 1}")
    expect(page.locator("#template-versions")).to_contain_text("Load into the editor")
    status, saved = api(page, "GET", "templates/learner/en")
    assert status == 200
    assert (saved["version"], saved["subject"], saved["updatedBy"]) == (
        in_force["version"] + 1, "Browser test: {{ offering_title }}", "avery.admin@contoso.example")
    assert MARKER in saved["body"]


def test_an_administrator_counts_the_rollout_then_confirms_it(page: Page, served: Served) -> None:
    sign_in(page, served, "Avery Admin", "templates")
    status, body = api(page, "PUT", "provider", {
        "status": "active", "tenantId": served.info["tenantId"], "clientId": served.info["clientId"],
        "organizer": served.info["organizer"], "authMode": "secret"})
    assert status == 200, body
    first = run_to_its_end(page)
    assert first["state"] == "completed", first
    learners: dict[str, int] = {}
    for item in served.feed["offerings"]:
        for enrollment in item["enrollments"]:
            if enrollment["status"] == "active":
                email = enrollment["learnerEmail"].lower()
                learners[email] = learners.get(email, 0) + len(item["activities"])
    before = {email: sum(m["type"] == "meetingUpdate" for m in served.sandbox.messages(email)) for email in learners}
    builtin = TemplateSet.builtin("en").texts[("learner", "en")]
    status, saved = api(page, "PUT", "templates/learner/en", {
        "subject": "Rolled out: {{ offering_title }}", "body": builtin.body})
    assert status == 200, saved

    page.get_by_role("button", name="Count the updates").click()
    total = sum(learners.values())
    expect(page.locator("#rollout-out")).to_contain_text(f"would send {total} updates")
    confirm = page.get_by_role("button", name=f"Roll out: send {total} updates")
    confirm.click()
    link = page.locator("#rollout-out a", has_text="See the run")
    expect(link).to_be_visible()
    run_id = (link.get_attribute("href") or "").split("run=")[-1]
    deadline = time.monotonic() + 60
    while True:
        status, run = api(page, "GET", f"runs/{run_id}")
        if run["state"] in ("completed", "failed", "skipped") and not run.get("left"):
            break
        assert time.monotonic() < deadline, run
        time.sleep(0.3)
    assert run["state"] == "completed", run
    for email, invitations in learners.items():
        updates = sum(m["type"] == "meetingUpdate" for m in served.sandbox.messages(email))
        assert updates - before[email] == invitations, email
