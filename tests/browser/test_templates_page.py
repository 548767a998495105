"""The console's Templates page in a real headless Chromium: edit, preview from the feed, save, versions."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from shared.templates.model import TemplateSet
from tests.browser.conftest import Served, api, sign_in

MARKER = "Please bring your own laptop."


def test_an_administrator_edits_previews_and_saves_a_template(page: Page, served: Served) -> None:
    first = served.feed["offerings"][0]
    builtin = TemplateSet.builtin("en").texts[("learner", "en")]
    sign_in(page, served, "Avery Admin", "templates")
    subject = page.get_by_label("Subject", exact=True)
    expect(subject).to_have_value(builtin.subject)  # the built-in text is loaded for learner, en

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
    assert status == 200 and unsaved["version"] == 0

    body.fill(good)
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator("#template-save")).to_contain_text("Saved as version 1")
    expect(page.locator("#template-versions")).to_contain_text("Load into the editor")
    status, saved = api(page, "GET", "templates/learner/en")
    assert status == 200
    assert (saved["version"], saved["subject"], saved["updatedBy"]) == (
        1, "Browser test: {{ offering_title }}", "avery.admin@contoso.example")
    assert MARKER in saved["body"]
