"""The product as a user meets it: the `learncal` command against the sandbox and Azurite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.local.demo import sandbox_environment
from shared.sandbox.client import SandboxClient
from tests.support.feeds import write

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> dict[str, Any]:
        return dict(json.loads(self.stdout.strip().splitlines()[-1]))


class World:
    """One isolated installation: its own tables (prefix) in the shared Azurite and sandbox."""

    def __init__(self, info: dict[str, Any], storage: str, workdir: Path, **settings: str) -> None:
        self.info = info
        self.workdir = workdir
        self.env = dict(os.environ)
        self.env.update(sandbox_environment(info, storage))
        self.env.update({"LEARNCAL_TABLE_PREFIX": "E" + uuid.uuid4().hex[:10], "LEARNCAL_SEND_PER_MINUTE": "6000"})
        self.env.update(settings)
        self.sandbox = SandboxClient(info)
        self._feeds = 0

    def feed_file(self, feed: dict[str, Any]) -> str:
        self._feeds += 1
        return write(feed, self.workdir / f"feed-{self._feeds}.json")

    def cli(self, *args: str, input: str | None = None, **env: str) -> CliResult:
        """`learncal ARGS` as its own process; `input` is what is typed on standard input (none: it is closed)."""
        done = subprocess.run(
            [sys.executable, "-m", "shared.cli", *args], cwd=ROOT, env={**self.env, **env},
            capture_output=True, text=True, timeout=300, input=input if input is not None else "",
        )
        return CliResult(done.returncode, done.stdout, done.stderr)

    def sync(self, feed: dict[str, Any] | str, *args: str, **env: str) -> CliResult:
        path = feed if isinstance(feed, str) else self.feed_file(feed)
        return self.cli("sync", "--feed", path, "--json", "--quiet", *args, **env)

    def calendar(self, address: str) -> list[dict[str, Any]]:
        return self.sandbox.calendar(address)

    def messages(self, address: str) -> list[dict[str, Any]]:
        return self.sandbox.messages(address)

    def received(self, address: str) -> Counter[str]:
        return Counter(m["type"] for m in self.messages(address))

    def reset_sandbox(self) -> None:
        self.sandbox.reset()

    def stats(self) -> dict[str, Any]:
        return self.sandbox.stats()

    def graph(self, method: str, path: str, body: dict[str, Any] | None = None) -> int:
        """One Graph request with the app's identity, as an administrator's script would send it
        (not through the sync); the answer's status."""
        import ssl

        import httpx

        info = self.info
        with httpx.Client(verify=ssl.create_default_context(cafile=info["caFile"])) as http:
            token = http.post(f"{info['authorityUrl']}/{info['tenantId']}/oauth2/v2.0/token", data={
                "grant_type": "client_credentials", "client_id": info["clientId"],
                "client_secret": info["clientSecret"], "scope": "https://graph.microsoft.com/.default",
            }).json()["access_token"]
            response = http.request(method, info["graphUrl"] + path, json=body,
                                    headers={"Authorization": f"Bearer {token}"})
            return response.status_code
