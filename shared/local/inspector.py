"""Reads the sandbox's inspection endpoints: what each person has in their calendar and received."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

import httpx


class SandboxInspector:
    def __init__(self, graph_url: str, ca_file: str) -> None:
        parts = urlsplit(graph_url)
        self._base = f"{parts.scheme}://{parts.netloc}/_sandbox"
        self._http = httpx.Client(verify=_context(ca_file), timeout=30.0)

    def calendar(self, address: str) -> list[dict[str, Any]]:
        return list(self._get(f"/mailboxes/{quote(address)}/calendar")["value"])

    def messages(self, address: str) -> list[dict[str, Any]]:
        return list(self._get(f"/mailboxes/{quote(address)}/messages")["value"])

    def stats(self) -> dict[str, Any]:
        return dict(self._get("/stats"))

    def post(self, path: str, body: Any = None) -> Any:
        """Admin calls that set a scene (reset, users, apps, limits); see the sandbox README."""
        response = self._http.post(self._base + path, json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def put(self, path: str, body: Any) -> Any:
        response = self._http.put(self._base + path, json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def delete(self, path: str) -> None:
        self._http.delete(self._base + path).raise_for_status()

    def _get(self, path: str) -> Any:
        response = self._http.get(self._base + path)
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        self._http.close()


def _context(ca_file: str) -> Any:
    import ssl

    return ssl.create_default_context(cafile=ca_file)
