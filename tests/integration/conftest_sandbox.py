"""Helpers for tests that talk to the local Microsoft 365 sandbox through the real clients.

Imported by the test_sandbox_* modules; each module starts one sandbox in a temporary data
directory and resets it before every test, so tests stay independent and the run stays fast.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from azure.identity import ClientSecretCredential
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.location import Location
from msgraph.generated.models.single_value_legacy_extended_property import SingleValueLegacyExtendedProperty
from msgraph_core import GraphClientFactory

from shared.calendar.graph_client import build_graph_client
from shared.calendar.graph_gateway import GraphCalendar
from shared.calendar.retry import RetryPolicy
from shared.sandbox import RunningSandbox, start
from shared.sandbox.client import SandboxClient
from tests.support.dates import local

T = TypeVar("T")
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
TAG_ID = "String {66f5a359-4659-4830-9070-00040ec6ac6e} Name LearnCalTag"


@dataclass
class Harness:
    """A running sandbox with the clients a test needs."""

    running: RunningSandbox
    admin: SandboxClient
    credential: ClientSecretCredential

    @property
    def info(self) -> dict[str, Any]:
        return self.running.info

    @property
    def organizer(self) -> str:
        return str(self.info["organizer"])

    def credential_for(self, client_id: str, secret: str) -> ClientSecretCredential:
        return ClientSecretCredential(self.info["tenantId"], client_id, secret, authority=self.info["authorityUrl"],
                                      disable_instance_discovery=True)

    def graph(self, work: Callable[[GraphServiceClient], Awaitable[T]],
              credential: ClientSecretCredential | None = None) -> T:
        """Run `work` with a GraphServiceClient built exactly as the product builds it."""
        info = self.info

        async def main() -> T:
            async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=info["caFile"])) as http:
                auth = AzureIdentityAuthenticationProvider(credential or self.credential, scopes=[GRAPH_SCOPE],
                                                           allowed_hosts=["127.0.0.1"])
                http_client = GraphClientFactory.create_with_default_middleware(client=http)
                adapter = GraphRequestAdapter(auth, client=http_client)
                adapter.base_url = info["graphUrl"]
                return await work(GraphServiceClient(request_adapter=adapter))

        return asyncio.run(main())

    def raw(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        """A plain HTTPS call to the sandbox (for wire-level assertions the SDK hides)."""
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        with httpx.Client(verify=ssl.create_default_context(cafile=self.info["caFile"])) as http:
            return http.request(method, self.running.base_url + path, headers=headers, **kwargs)

    def token(self, credential: ClientSecretCredential | None = None) -> str:
        return (credential or self.credential).get_token(GRAPH_SCOPE).token


def harness_for(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """One sandbox for a test module; requests (under azure-identity) trusts its CA via REQUESTS_CA_BUNDLE."""
    with start(Path(tmp_path_factory.mktemp("sandbox"))) as running, pytest.MonkeyPatch.context() as env:
        env.setenv("REQUESTS_CA_BUNDLE", running.info["caFile"])
        info = running.info
        credential = ClientSecretCredential(info["tenantId"], info["clientId"], info["clientSecret"],
                                            authority=info["authorityUrl"], disable_instance_discovery=True)
        yield Harness(running, SandboxClient(info), credential)



def gateway_harness_for(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """`harness_for`, with the product's Graph client (httpx) trusting the CA through SSL_CERT_FILE."""
    for harness in harness_for(tmp_path_factory):
        with pytest.MonkeyPatch.context() as env:
            env.setenv("SSL_CERT_FILE", harness.info["caFile"])
            yield harness


def run_gateway(harness: Harness, work: Callable[[GraphCalendar], Awaitable[T]], policy: RetryPolicy) -> T:
    """`work` against the product's own gateway, on a Graph client of its own, closed afterwards."""
    async def main() -> T:
        calendar = GraphCalendar(build_graph_client(harness.credential, harness.info["graphUrl"]), policy=policy)
        try:
            return await work(calendar)
        finally:
            await calendar.aclose()

    return asyncio.run(main())

def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


MEETING_START, MEETING_END = local(20, "14:00"), local(20, "15:30")  # a meeting's default times, 20 days ahead


def meeting(subject: str, attendees: list[str], *, start: str = MEETING_START,
            end: str = MEETING_END, zone: str = "Eastern Standard Time", tag: str | None = None,
            transaction_id: str | None = None, location: str = "Room 1") -> Event:
    """An invitation shaped like the product's: no responses, no new-time proposals, a tag."""
    return Event(
        subject=subject,
        body=ItemBody(content_type=BodyType.Html, content=f"<p>{subject}</p>"),
        start=DateTimeTimeZone(date_time=start, time_zone=zone),
        end=DateTimeTimeZone(date_time=end, time_zone=zone),
        location=Location(display_name=location),
        attendees=[Attendee(email_address=EmailAddress(address=a)) for a in attendees],
        response_requested=False,
        allow_new_time_proposals=False,
        transaction_id=transaction_id,
        single_value_extended_properties=(
            [SingleValueLegacyExtendedProperty(id=TAG_ID, value=tag)] if tag is not None else None),
    )
