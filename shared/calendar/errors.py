"""Translate what Graph and the identity platform say into words an administrator can act on.

Secrets never reach these messages: only codes, status numbers and the service's own wording
(which never contains the secret) are used.
"""

from __future__ import annotations

import re
from typing import Any

from shared.calendar.retry import parse_retry_after
from shared.errors import GraphError, SignInFailed

_GRAPH_ADVICE = {
    "ErrorItemNotFound": "The meeting no longer exists in the organizer's calendar.",
    "ErrorInvalidUser": "The mailbox does not exist in this tenant; check the organizer address.",
    "Request_ResourceNotFound": "The user does not exist in this tenant; check the organizer address.",
    "MailboxNotEnabledForRESTAPI": (
        "The organizer has no Exchange Online mailbox Graph can use; give it a licence or use a shared mailbox."
    ),
    "ErrorAccessDenied": (
        "The app may not use this mailbox. If it should, add the mailbox to the app's Exchange scope "
        "(RBAC for Applications or the application access policy); otherwise check Calendars.ReadWrite."
    ),
    "TimeZoneNotSupportedException": "Graph does not accept this time zone name.",
    "ErrorPropertyValidationFailure": "Graph rejected a property value of the meeting.",
    "InvalidAuthenticationToken": "Graph did not accept the access token; check the tenant and app registration.",
    "Authorization_RequestDenied": "The app lacks a Graph permission; grant it and give admin consent.",
}

_AADSTS_ADVICE = {
    "AADSTS90002": (
        "The tenant was not found: check LEARNCAL_TENANT_ID (the directory / tenant ID of your Entra tenant)."
    ),
    "AADSTS700016": (
        "The application was not found in the tenant: check LEARNCAL_CLIENT_ID and that the app is registered there."
    ),
    "AADSTS7000215": (
        "The client secret was refused: create a new secret for the app and store it "
        "(Key Vault secret, or LEARNCAL_CLIENT_SECRET for local development)."
    ),
    "AADSTS7000222": "The client secret has expired: create a new secret for the app and store it.",
    "AADSTS700024": "The client assertion is not valid: check the federated credential of the app registration.",
    "AADSTS70021": "No federated credential of the app matches the managed identity: check the federated credential.",
}

_AADSTS = re.compile(r"AADSTS\d+")
# azure-identity reports an authority it could not connect to as a ClientAuthenticationError whose
# text carries urllib3's words and the host it tried.
_NO_CONNECTION = re.compile(r"Failed to (establish a new connection|resolve)|Connection refused|timed out|"
                            r"Max retries exceeded|SSLError|CERTIFICATE_VERIFY_FAILED")
_TRIED = re.compile(r"HTTPS?Connection(?:Pool)?\(host='([^']+)', port=(\d+)\)")


def sign_in_failed(error: BaseException) -> SignInFailed:
    """A plain message for a refused token request, with the AADSTS code when there is one."""
    text = str(error)
    match = _AADSTS.search(text)
    code = match.group(0) if match else None
    if code is None and _NO_CONNECTION.search(text):
        return sign_in_unreachable(text)
    if code is None and "Unable to get authority configuration" in text:
        code = "AADSTS90002"  # MSAL's wording when the tenant's OpenID discovery is refused
    advice = _AADSTS_ADVICE.get(code or "", "Check LEARNCAL_TENANT_ID, LEARNCAL_CLIENT_ID and the client secret.")
    prefix = f"Sign-in to Microsoft Entra failed ({code})" if code else "Sign-in to Microsoft Entra failed"
    return SignInFailed(f"{prefix}: {advice}")


def sign_in_unreachable(text: str) -> SignInFailed:
    """The identity platform did not answer: name the host that was tried and the setting that chose it."""
    tried = _TRIED.search(text)
    where = f"https://{tried.group(1)}" + ("" if tried.group(2) == "443" else f":{tried.group(2)}") if tried else (
        "the authority host")
    hint = " (its certificate is not trusted; for a private CA set SSL_CERT_FILE to the CA bundle)" if (
        "CERTIFICATE_VERIFY_FAILED" in text) else ""
    return SignInFailed(
        f"Sign-in to Microsoft Entra could not reach {where}{hint}. Check LEARNCAL_AUTHORITY_URL "
        "(https://login.microsoftonline.com in Azure; locally the sandbox's authorityUrl, with `learncal sandbox` "
        "running) and the network path to it."
    )


def graph_error(error: Any, *, action: str) -> GraphError:
    """Map an SDK APIError (ODataError) to a GraphError with a plain message."""
    status = getattr(error, "response_status_code", None)
    headers = getattr(error, "response_headers", None) or {}
    odata = getattr(error, "error", None)
    code = getattr(odata, "code", None)
    detail = getattr(odata, "message", None)
    retry_after = parse_retry_after(_header(headers, "retry-after"))
    if status == 429:
        message = f"Graph throttled the request to {action}; it is retried after the wait Graph asked for."
    elif status == 424:
        message = f"Graph did not run the request to {action} (a request it depended on failed); it is retried."
    elif status in (500, 502, 503, 504):
        message = f"Graph was unavailable while trying to {action} (HTTP {status}); it is retried."
    else:
        advice = _GRAPH_ADVICE.get(code or "")
        message = f"Could not {action}: " + (advice or detail or f"Graph answered HTTP {status}.")
        if advice and detail and code == "ErrorAccessDenied":
            message += f" (Graph said: {detail})"
    return GraphError(message, status=status, code=code, retry_after=retry_after)


def _header(headers: Any, name: str) -> str | None:
    try:
        items = headers.items()
    except AttributeError:
        return None
    for key, value in items:
        if str(key).lower() == name:
            if isinstance(value, (list, tuple, set)):
                return next(iter(value), None)
            return str(value)
    return None
