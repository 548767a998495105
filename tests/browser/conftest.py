"""Browser tests of the console: `learncal serve` as its own process, driven by Debian's Chromium.

One serve per test module (over the session's sandbox and Azurite, with tables of its own) and
one browser per module; each test gets a fresh browser context, so no sign-in leaks between
tests. Playwright cannot download its own browser here: it drives /usr/bin/chromium, which
`make test` installs (Makefile, target `chromium`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from shared.local.azurite import RunningAzurite
from shared.local.ports import free_port
from shared.sandbox.client import SandboxClient
from tests.support.feeds import base_feed, write

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("LEARNCAL_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling Google's hosts, which a closed
# network refuses; --no-sandbox because CI runs as root.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VAULT_READER = "5b0f5c1e-0000-4000-8000-00000000b0b0"
VIEWPORT = {"width": 1366, "height": 768}


@dataclass
class Served:
    """A running `learncal serve`: its URL, the sandbox tenant behind it, and its feed file."""

    url: str
    info: dict[str, Any]
    feed: dict[str, Any]
    feed_path: Path
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # its app settings (table prefix, storage)

    @property
    def sandbox(self) -> SandboxClient:
        return SandboxClient(self.info)

    @property
    def console(self) -> str:
        return self.url + "/api/console/"


def serve_environment(info: dict[str, Any], storage: str, feed_path: Path) -> dict[str, str]:
    sandbox = SandboxClient(info)
    reader = sandbox.put_app(VAULT_READER, displayName="Function app identity", roles=[], vaultAccess=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNCAL_", "AZURE_", "WEBSITE_"))}
    env.update({
        "LEARNCAL_GRAPH_URL": info["graphUrl"],
        "LEARNCAL_AUTHORITY_URL": info["authorityUrl"],
        "LEARNCAL_KEY_VAULT_URL": info["keyVaultUrl"],
        "LEARNCAL_CLIENT_SECRET_NAME": info["clientSecretName"],
        "LEARNCAL_STATUS": "inactive",
        "LEARNCAL_SEND_PER_MINUTE": "6000",
        "LEARNCAL_FEED": str(feed_path),
        "LEARNCAL_TABLE_PREFIX": "B" + uuid.uuid4().hex[:10],
        "AzureWebJobsStorage": storage,
        "AZURE_TENANT_ID": info["tenantId"],
        "AZURE_CLIENT_ID": VAULT_READER,
        "AZURE_CLIENT_SECRET": str(reader["secrets"][0]),
        "SSL_CERT_FILE": info["caFile"],
        "REQUESTS_CA_BUNDLE": info["caFile"],
    })
    return env


def start_serve(info: dict[str, Any], storage: str, workdir: Path, feed: dict[str, Any]) -> Served:
    feed_path = Path(write(feed, workdir / "feed.json"))
    port = free_port()
    env = serve_environment(info, storage, feed_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "serve", "--port", str(port)], cwd=ROOT,
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    served = Served(f"http://127.0.0.1:{port}", info, feed, feed_path, process, env=env)
    assert process.stdout is not None
    for line in process.stdout:
        served.output.append(line)
        if line.startswith("Console: "):
            # keep reading, so the request log never fills the pipe and stalls the server
            threading.Thread(target=lambda: served.output.extend(process.stdout or ()), daemon=True).start()
            return served
    raise RuntimeError("learncal serve stopped before it listened:\n" + "".join(served.output))


def stop_serve(served: Served) -> None:
    served.process.terminate()
    try:
        served.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()


@pytest.fixture(scope="module")
def served(sandbox_process: dict[str, Any], azurite: RunningAzurite,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`learncal serve` over a freshly reset sandbox, with tables of its own and the base feed."""
    info = {**sandbox_process, **SandboxClient(sandbox_process).reset()}
    running = start_serve(info, azurite.connection_string, tmp_path_factory.mktemp("serve"), base_feed())
    yield running
    stop_serve(running)


# Module scope, not session: Playwright's sync API keeps an asyncio loop on the main thread while it
# lives, and the product's own asyncio.run() (the Graph SDK) refuses to start inside a running loop,
# so later modules that call the product in-process must not share the thread with it.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).is_file():
        raise RuntimeError(f"Chromium is missing at {CHROMIUM}: run `make chromium` (part of `make test`).")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    yield launched
    launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    created = browser.new_context(viewport=VIEWPORT)
    created.set_default_timeout(20_000)
    yield created
    created.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    opened.on("console", lambda message: problems.append(message.text)
              if message.type == "error" and "Content Security Policy" in message.text else None)
    yield opened
    assert not problems, problems  # no script error and nothing the CSP had to block


def sign_in(page: Page, served: Served, who: str, path: str = "") -> None:
    """Through the sign-in page, as a person would: `who` is the button's name."""
    page.goto(served.console + path)
    page.get_by_role("button", name=f"Sign in as {who}").click()
    page.wait_for_selector("main h1")


def api(page: Page, method: str, route: str, body: Any = None) -> tuple[int, Any]:
    """The admin API with the page's session cookie (and the console's CSRF header on writes)."""
    headers = {"X-Learncal-Request": "1"} if method != "GET" else {}
    response = page.request.fetch(page.url.split("/api/")[0] + "/api/" + route, method=method, headers=headers,
                                  data=json.dumps(body) if body is not None else None)
    text = response.text()
    return response.status, (json.loads(text) if text else None)


def run_to_its_end(page: Page, timeout: float = 60.0) -> dict[str, Any]:
    """POST /api/sync (202 with the run's id), then GET /api/runs/{id} until the run has ended."""
    import time

    status, ticket = api(page, "POST", "sync", {})
    assert status == 202, ticket
    deadline = time.monotonic() + timeout
    while True:
        status, run = api(page, "GET", f"runs/{ticket['runId']}")
        assert status == 200, run
        if run["state"] in ("completed", "failed", "skipped"):
            return dict(run)
        assert time.monotonic() < deadline, f"run {ticket['runId']} still {run['state']}"
        time.sleep(0.3)
