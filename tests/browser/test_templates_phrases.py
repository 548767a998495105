"""The Templates page's phrases editor in a real headless Chromium: edit one phrase, and a refused one."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import Served, api, sign_in

# What the organisation writes; the page must save it exactly, markup-free text with a placeholder.
ONLINE = "En ligne (Teams) — apportez un casque"
WITHDREW = "Vous vous êtes désinscrit de « {{ offering_title }} »."


def row(page: Page, key: str) -> Locator:
    return page.locator("#phrases-rows tr", has=page.locator(f'input[data-key="{key}"]'))


def test_an_administrator_edits_one_phrase_and_a_refused_phrase_names_key_line_and_fix(
        page: Page, served: Served) -> None:
    sign_in(page, served, "Avery Admin", "templates")
    status, before = api(page, "GET", "templates/phrases/fr")
    assert status == 200, before
    page.locator("#phrases-language").fill("fr")
    page.get_by_role("button", name="Open phrases").click()
    online = page.get_by_label("Phrase online", exact=True)
    expect(online).to_have_value(before["phrases"]["online"])  # the text in force, from the API
    expect(row(page, "online")).to_contain_text("built-in")

    online.fill(ONLINE)
    page.get_by_role("button", name="Save the phrases").click()
    expect(page.locator("#phrases-save")).to_contain_text(f"Saved as version {before['version'] + 1}")
    expect(row(page, "online")).to_contain_text("stored")

    # read back through the API, independently of the page: only the edited phrase changed
    status, after = api(page, "GET", "templates/phrases/fr")
    assert status == 200
    assert (after["version"], after["phrases"]["online"], after["own"]) == (
        before["version"] + 1, ONLINE, {"online": ONLINE})
    assert {k: v for k, v in after["phrases"].items() if k != "online"} == {
        k: v for k, v in before["phrases"].items() if k != "online"}
    assert after["updatedBy"] == "avery.admin@contoso.example"

    # a misspelt placeholder is refused with the key, the line and the fix; nothing is saved
    withdrew = page.get_by_label("Phrase cancel.withdrew", exact=True)
    withdrew.fill("Vous vous êtes désinscrit de {{ offering_titel }}.")
    page.get_by_role("button", name="Save the phrases").click()
    refusal = page.locator("#phrases-problems")
    expect(refusal).to_contain_text("phrases.cancel.withdrew line 1")
    expect(refusal).to_contain_text("offering_titel")
    expect(refusal).to_contain_text("Fix:")
    expect(withdrew).to_have_attribute("aria-invalid", "true")
    status, unsaved = api(page, "GET", "templates/phrases/fr")
    assert status == 200 and unsaved["version"] == after["version"]

    # fixed, it saves as written
    withdrew.fill(WITHDREW)
    page.get_by_role("button", name="Save the phrases").click()
    expect(page.locator("#phrases-save")).to_contain_text(f"Saved as version {after['version'] + 1}")
    status, fixed = api(page, "GET", "templates/phrases/fr")
    assert (fixed["phrases"]["cancel.withdrew"], fixed["phrases"]["online"]) == (WITHDREW, ONLINE)

    # back to the built-in text: the stored phrase is dropped, the built-in one is in force again
    page.get_by_label("Back to built-in: online").check()
    page.get_by_role("button", name="Save the phrases").click()
    expect(page.locator("#phrases-save")).to_contain_text(f"Saved as version {fixed['version'] + 1}")
    status, reset = api(page, "GET", "templates/phrases/fr")
    assert (reset["phrases"]["online"], reset["own"]) == (before["phrases"]["online"], {"cancel.withdrew": WITHDREW})
