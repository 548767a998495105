"""Takes the screenshots in docs/console.md: `make screenshots` (not part of the tests).

Starts `learncal serve --sandbox` (sandbox + Azurite, nothing leaves the machine), then walks
through the console as a new administrator would, in Debian's headless Chromium, and saves one
PNG per page under docs/images/.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
CHROMIUM = os.environ.get("LEARNCAL_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def start_serve() -> tuple[subprocess.Popen[str], str, dict[str, str]]:
    sys.path.insert(0, str(ROOT))
    from shared.local.ports import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNCAL_", "AZURE_", "AzureWebJobs"))}
    process = subprocess.Popen([sys.executable, "-m", "shared.cli", "serve", "--sandbox", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    tenant: dict[str, str] = {}
    for line in process.stdout:
        found = re.search(r"tenant (\S+), app \(client\) (\S+), organizer (\S+)", line)
        if found:
            tenant = {"tenant": found[1], "client": found[2], "organizer": found[3]}
        if line.startswith("Console: "):
            threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
            return process, f"http://127.0.0.1:{port}/api/console/", tenant
    raise SystemExit("learncal serve stopped before it listened")


def shot(page: Page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(IMAGES / f"console-{name}.png"))
    print(f"docs/images/console-{name}.png")


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    process, console, tenant = start_serve()
    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.set_default_timeout(60_000)
            page.goto(console)
            shot(page, "sign-in")
            page.get_by_role("button", name="Sign in as Avery Admin").click()
            page.wait_for_selector("main h1")
            page.get_by_label("Status").select_option("active")
            page.get_by_label("Tenant ID").fill(tenant["tenant"])
            page.get_by_label("App (client) ID").fill(tenant["client"])
            page.get_by_label("Organizer mailbox(es)").fill(tenant["organizer"])
            page.get_by_role("button", name="Save provider").click()
            page.get_by_text("Saved. Press Validate").wait_for()
            page.get_by_role("button", name="Validate").click()
            page.locator("#validate-results").wait_for()
            page.evaluate("() => window.scrollTo(0, 0)")
            page.screenshot(path=str(IMAGES / "console-provider.png"), full_page=True)
            print("docs/images/console-provider.png")

            page.get_by_role("link", name="Runs", exact=True).click()
            page.get_by_role("button", name="Run now").click()
            page.get_by_role("status").filter(has_text=re.compile(r"Run \S+ (completed|failed)")).wait_for()
            page.get_by_role("button", name="Run now").click()
            page.get_by_role("status").filter(has_text=re.compile(r"Run \S+ (completed|failed)")).wait_for()
            page.evaluate("() => window.scrollTo(0, 0)")
            shot(page, "runs")

            page.get_by_role("link", name="Offerings", exact=True).click()
            page.locator("a.offering-link").first.click()
            page.get_by_role("button", name="Preview reconcile").click()
            page.get_by_role("status").filter(has_text="would").wait_for()
            page.get_by_role("button", name="Preview reconcile").wait_for(state="visible")
            page.evaluate("() => window.scrollTo(0, 0)")
            page.screenshot(path=str(IMAGES / "console-offerings.png"), full_page=True)
            print("docs/images/console-offerings.png")

            page.get_by_role("link", name="Next run", exact=True).click()
            page.get_by_role("button", name="Preview the next run").click()
            page.get_by_role("status").filter(has_text="would be sent").wait_for()
            shot(page, "next-run")

            page.get_by_role("link", name="Feed", exact=True).click()
            page.wait_for_timeout(500)
            shot(page, "feed")

            page.get_by_role("link", name="Audit trail", exact=True).click()
            page.wait_for_timeout(500)
            shot(page, "audit")

            other = browser.new_page(viewport={"width": 1366, "height": 768})
            other.goto(console + "provider")
            other.get_by_role("button", name="Sign in as Noor Norole").click()
            other.get_by_role("alert").wait_for()
            shot(other, "refused")
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
