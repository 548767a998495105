"""Find the organizer in the tenant's directory, whether it was given by sign-in name, address or alias.

`GET /users/{x}` resolves an object id or a user principal name only
(https://learn.microsoft.com/graph/api/user-get), while calendar endpoints also accept the
SMTP address; a shared mailbox's UPN often differs from its address. So a 404 there is not
"no such user" until the address was looked up: first as the primary address
(`$filter=mail eq '…'`), then as any of its addresses
(`$filter=proxyAddresses/any(p:p eq 'smtp:…')`). Both are `eq` filters on properties that
support them by default, so no `ConsistencyLevel: eventual` header or `$count` is needed
(https://learn.microsoft.com/graph/aad-advanced-queries, https://learn.microsoft.com/graph/api/resources/user).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from shared.validate.graphcall import graph

SELECT = ["id", "displayName", "mail", "userPrincipalName"]
FoundBy = Literal["name", "address", "alias"]


@dataclass(frozen=True)
class Organizer:
    """The organizer's directory entry and how the configured value named it."""

    given: str
    upn: str
    address: str | None
    display_name: str
    found_by: FoundBy

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the sync could know this mailbox by (lower-case, without repeats)."""
        return tuple(dict.fromkeys(n.lower() for n in (self.given, self.upn, self.address or "") if n))

    def describe(self) -> str:
        where = f"UPN {self.upn}, address {self.address or 'none'}"
        via = {"name": "", "address": f"; {self.given} is its primary address",
               "alias": f"; {self.given} is one of its aliases (proxy addresses)"}[self.found_by]
        return f"Organizer found: {where} ({self.display_name}){via}."


def _odata_string(value: str) -> str:
    """An OData string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def _has_address(user: Any, address: str) -> bool:
    return (getattr(user, "mail", None) or "").lower() == address.lower()


def _has_alias(user: Any, address: str) -> bool:
    # "SMTP:" marks the primary address, "smtp:" the others; Exchange compares addresses case-insensitively
    return f"smtp:{address}".lower() in {str(p).lower() for p in getattr(user, "proxy_addresses", None) or []}


async def _matching(client: Any, condition: str, select: list[str], matches: Any, action: str) -> Any | None:
    """The user a filter finds, checked on our side: a directory that ignored the filter returns others."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder

    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(filter=condition, select=select)
    page = await graph(client.users.get(request_configuration=RequestConfiguration(query_parameters=query)), action)
    return next((user for user in getattr(page, "value", None) or [] if matches(user)), None)


async def find_organizer(client: Any, given: str) -> Organizer | None:
    """The organizer's entry, or None when no user has that sign-in name, address or alias.

    Raises GraphError or SignInFailed when the directory could not be asked.
    """
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder

    from shared.errors import GraphError

    query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=SELECT)
    found_by: FoundBy = "name"
    try:
        user = await graph(client.users.by_user_id(given).get(
            request_configuration=RequestConfiguration(query_parameters=query)), f"look up the organizer {given}")
    except GraphError as error:
        if error.status != 404:
            raise
        user = None
    if user is None and "@" in given:
        found_by = "address"
        user = await _matching(client, f"mail eq {_odata_string(given)}", SELECT,
                               lambda u: _has_address(u, given), f"look up the address {given}")
        if user is None:
            found_by = "alias"
            user = await _matching(client, f"proxyAddresses/any(p:p eq {_odata_string('smtp:' + given)})",
                                   [*SELECT, "proxyAddresses"], lambda u: _has_alias(u, given),
                                   f"look up the alias {given}")
    if user is None:
        return None
    upn = getattr(user, "user_principal_name", None) or given
    return Organizer(given=given, upn=upn, address=getattr(user, "mail", None),
                     display_name=getattr(user, "display_name", None) or upn, found_by=found_by)
