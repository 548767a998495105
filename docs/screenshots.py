"""Takes the screenshots in docs/console.md: `make screenshots` (not part of the tests).

Starts the stack `learncal serve --sandbox` starts (sandbox + Azurite, nothing leaves the machine;
the stack runs in this process so the script can answer meetings as attendees through the
sandbox) and `learncal serve` over it, then walks through the console as a new administrator
would, in Debian's headless Chromium, and saves one PNG per page under docs/images/. For the
Responses page, response collection is switched on on the Provider page, three attendees answer
their meetings through the sandbox, and the organizer's calendar is read as the response
collection's queue task does (a delta query).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
IMAGES = ROOT / "docs" / "images"
OFFERING = "OFF-100"  # of the bundled sample feed: Ines and Sam teach Ada and Bo, two sessions
OFFERING_TITLE = "Leading Hybrid Teams"
ANSWERS = [("ines.instructor@contoso.example", 0, "declined"), ("ada.learner@contoso.example", 0, "accepted"),
           ("sam.second@contoso.example", 0, "tentativelyAccepted"), ("ada.learner@contoso.example", 1, "declined"),
           ("bo.learner@contoso.example", 1, "accepted"), ("ines.instructor@contoso.example", 1, "accepted")]
CHROMIUM = os.environ.get("LEARNCAL_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def start_serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    from shared.local.ports import free_port

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "shared.cli", "serve", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("Console: "):
            threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
            return process, f"http://127.0.0.1:{port}/api/console/"
    raise SystemExit("learncal serve stopped before it listened")


def answer_and_collect(env: dict[str, str], organizer: str, answers: list[tuple[str, int, str]]) -> None:
    """Each (attendee, session index, response) answered as that attendee, then the organizer's calendar read.

    Runs on a thread of its own: the product's Graph client uses asyncio.run(), which Playwright's
    running loop on the main thread would refuse.
    """
    from shared.responses.runner import Task, handle_task
    from shared.sandbox.client import SandboxClient
    from shared.settings import Settings

    sandbox = SandboxClient({"sandboxUrl": env["LEARNCAL_AUTHORITY_URL"] + "/_sandbox", "caFile": env["SSL_CERT_FILE"]})
    for attendee, index, response in answers:
        meetings = sorted((e for e in sandbox.calendar(attendee) if OFFERING_TITLE in str(e.get("subject"))),
                          key=lambda e: str(e["start"]["dateTime"]))
        sandbox.respond(attendee, response, event_id=str(meetings[index]["id"]))
    os.environ.update(env)  # the Graph client's CA bundle and the Key Vault reader, as the function app has them

    def collect() -> None:
        handle_task(Task(organizer, "catchup", datetime.now(UTC)).text(), Settings.from_env(env))

    with ThreadPoolExecutor(1) as pool:
        pool.submit(collect).result()


def shot(page: Page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(IMAGES / f"console-{name}.png"))
    print(f"docs/images/console-{name}.png")


def main() -> None:
    from shared.local.serve import sandbox_world

    IMAGES.mkdir(parents=True, exist_ok=True)
    said: list[str] = []
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="learncal-screenshots-")))
        world = stack.enter_context(sandbox_world(workdir, said.append))
        found = next(m for m in (re.search(r"tenant (\S+), app \(client\) (\S+), organizer (\S+)", line)
                                 for line in said) if m)
        tenant = {"tenant": found[1], "client": found[2], "organizer": found[3]}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNCAL_", "AZURE_", "AzureWebJobs"))}
        env.update(world)
        process, console = start_serve(env)
        stack.callback(process.wait, 30)
        stack.callback(process.terminate)
        walk(console, tenant, env)


def walk(console: str, tenant: dict[str, str], env: dict[str, str]) -> None:
    """Through the console as a new administrator, one picture per page."""
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
        page.get_by_label("Response collection").select_option("on")
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

        page.get_by_role("link", name="Templates", exact=True).click()
        page.locator("#template-preview-frame").wait_for()
        page.frame_locator("#template-preview-frame").locator("p").first.wait_for()  # srcdoc loaded, not about:blank
        # the editor and its preview in one view; a full-page picture leaves the sandboxed frame blank
        page.set_viewport_size({"width": 1366, "height": 1240})
        page.locator("section[aria-label='Edit a template']").evaluate("(node) => node.scrollIntoView()")
        page.screenshot(path=str(IMAGES / "console-templates.png"))
        print("docs/images/console-templates.png")
        page.set_viewport_size({"width": 1366, "height": 768})

        answer_and_collect(env, tenant["organizer"], ANSWERS)
        page.goto(f"{console}responses?offering={OFFERING}")
        page.locator(".response-session .declined-instructor").first.wait_for()
        page.locator("canvas#responses-chart").wait_for()
        page.wait_for_timeout(500)  # the chart's drawing animation
        page.screenshot(path=str(IMAGES / "console-responses.png"), full_page=True)
        print("docs/images/console-responses.png")

        page.get_by_role("link", name="Audit trail", exact=True).click()
        page.wait_for_timeout(500)
        shot(page, "audit")

        other = browser.new_page(viewport={"width": 1366, "height": 768})
        other.goto(console + "provider")
        other.get_by_role("button", name="Sign in as Noor Norole").click()
        other.get_by_role("alert").wait_for()
        shot(other, "refused")
        browser.close()


if __name__ == "__main__":
    main()
