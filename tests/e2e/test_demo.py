"""`learncal demo`: the README's first command, as a newcomer runs it."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

from tests.support.world import ROOT


def test_demo_shows_who_received_what_and_stops_what_it_started() -> None:
    done = subprocess.run([sys.executable, "-m", "shared.cli", "demo"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Who received which meetings" in out
    assert "learncal serve" in out and "http://127.0.0.1:7071/api/console/" in out  # how to open the console
    assert "ada.learner@contoso.example" in out and "4 meetingRequest" in out
    assert "cy.learner@contoso.example" in out and "no meetings" in out  # withdrawn: nothing
    assert "https://meet.contoso.example/h/102" in out  # the primary instructor's host link
    first, second = out.split("Second sync", 1)
    assert "15 invited, 0 updated, 0 cancelled" in first
    assert "0 invited, 0 updated, 0 cancelled, 15 unchanged." in second
    port = int(re.search(r"\(Azurite\) on 127\.0\.0\.1:(\d+)", out).group(1))  # type: ignore[union-attr]
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the demo left Azurite running"
