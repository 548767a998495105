"""Builds the msgraph-sdk client the way the product needs it.

Two things differ from the SDK's defaults: the SDK's RetryHandler is left out (it retries
creates blindly and cannot parse fractional Retry-After; `retry.py` owns retries), and the
base URL and CA bundle come from configuration, so the same code talks to Microsoft Graph or
to the local sandbox.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import urlparse

from shared.tls import ca_bundle

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
_NATIONAL_GRAPH_HOSTS = {"graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn"}


def graph_scope(graph_url: str) -> str:
    host = urlparse(graph_url).hostname or ""
    return f"https://{host}/.default" if host in _NATIONAL_GRAPH_HOSTS else GRAPH_SCOPE


def build_graph_client(credential: Any, graph_url: str, *, timeout: float = 60.0) -> Any:
    import httpx
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from kiota_http.kiota_client_factory import KiotaClientFactory
    from kiota_http.middleware import RetryHandler
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph_core import GraphClientFactory

    host = urlparse(graph_url).hostname or "graph.microsoft.com"
    auth = AzureIdentityAuthenticationProvider(credential, scopes=[graph_scope(graph_url)], allowed_hosts=[host])
    ca = ca_bundle()
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca) if ca else True
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    http = httpx.AsyncClient(verify=verify, timeout=httpx.Timeout(timeout, connect=15.0), limits=limits)
    middleware = [m for m in KiotaClientFactory.get_default_middleware(None) if not isinstance(m, RetryHandler)]
    http = GraphClientFactory.create_with_custom_middleware(middleware, client=http)
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = graph_url.rstrip("/")
    return GraphServiceClient(request_adapter=adapter)
