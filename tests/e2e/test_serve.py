"""`learncal serve` with nothing configured: the sandbox and Azurite start, and the console works through them."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def call(opener: urllib.request.OpenerDirector, url: str, body: Any = None, method: str | None = None,
         form: dict[str, str] | None = None) -> tuple[int, Any]:
    data = None
    headers = {"Accept": "application/json"}
    if form is not None:
        data = "&".join(f"{k}={urllib.request.quote(v)}" for k, v in form.items()).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers.update({"Content-Type": "application/json", "X-Learncal-Request": "1"})
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with opener.open(request, timeout=60) as answer:
            text = answer.read().decode()
            return answer.status, (json.loads(text) if text.startswith(("{", "[")) else text)
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        return error.code, (json.loads(text) if text.startswith(("{", "[")) else text)


def test_serve_with_nothing_configured_runs_against_the_sandbox_with_local_sign_in() -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LEARNCAL_", "AZURE_", "AzureWebJobs", "WEBSITE_"))}
    process = subprocess.Popen([sys.executable, "-m", "shared.cli", "serve", "--port", "0"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        lines: list[str] = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Console: "):
                break
        output = "".join(lines)
        threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
        assert "Starting the Microsoft 365 sandbox and Azurite" in output, output
        tenant = re.search(r"tenant (\S+), app \(client\) (\S+), organizer (\S+)", output)
        console = re.search(r"Console: (http://127\.0\.0\.1:(\d+))/api/console/", output)
        assert tenant and console, output
        base = console[1]

        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        assert call(opener, base + "/api/provider")[0] == 401  # fail closed: nobody signed in
        status, page = call(opener, base + "/.auth/login/local", form={"user": "admin"})
        assert status == 200 and "console" in str(page).lower()  # redirected to the console page
        status, saved = call(opener, base + "/api/provider", {
            "status": "active", "tenantId": tenant[1], "clientId": tenant[2].rstrip(","), "organizer": tenant[3]},
            method="PUT")
        assert status == 200, saved
        assert saved["clientSecret"] == "********" and saved["clientSecretSource"] == "keyVault"
        # Validate as a job: the job queue's function runs through serve's local queue host
        status, job = call(opener, base + "/api/jobs", {"kind": "validate"})
        assert status == 202, job
        for _ in range(120):
            status, job = call(opener, base + f"/api/jobs/{job['jobId']}")
            if job["state"] in ("completed", "failed"):
                break
            threading.Event().wait(0.5)
        assert job["state"] == "completed", job
        assert {c["status"] for c in job["result"]["checks"]} <= {"pass", "warn", "fail"}
        assert any(c["status"] == "pass" for c in job["result"]["checks"])
    finally:
        process.terminate()  # SIGTERM, as a service manager stops it
        process.wait(timeout=30)
    azurite = re.search(r"\(Azurite\) on 127\.0\.0\.1:(\d+)", output)
    assert azurite, output
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(azurite[1]))) != 0, "serve left Azurite running after SIGTERM"
