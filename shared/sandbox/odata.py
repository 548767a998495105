"""The few OData query forms the product sends to `/events`, parsed strictly.

Graph refuses what it cannot parse, so the sandbox does too: a filter it does not understand is
a 400 here rather than a silently unfiltered list, which would hide product bugs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.sandbox.graph_http import GraphError

_PROP_ID = re.compile(r"^\s*(\w+)\s+\{([0-9a-fA-F-]{36})\}\s+(name|id)\s+(.+?)\s*$", re.IGNORECASE)
_TOKEN = re.compile(r"\s*('(?:[^']|'')*'|\(|\)|:|[^\s():']+)")


def normalize_prop_id(prop_id: str) -> str:
    """Extended property ids compare with type, GUID and keyword case-folded; the name keeps its case."""
    match = _PROP_ID.match(prop_id or "")
    if match is None:
        raise GraphError(400, "ErrorInvalidExtendedPropertyValue",
                         f"The extended property id '{prop_id}' is not valid.")
    kind, guid, keyword, name = match.groups()
    return f"{kind.lower()} {{{guid.lower()}}} {keyword.lower()} {name}"


@dataclass(frozen=True)
class PropFilter:
    """`singleValueExtendedProperties/Any(ep: ep/id eq '...' [and ep/value eq '...'])`."""

    prop_id: str  # normalized
    value: str | None  # None: any value


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _bad_filter()
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _string(token: str) -> str:
    if len(token) < 2 or not (token.startswith("'") and token.endswith("'")):
        raise _bad_filter()
    return token[1:-1].replace("''", "'")


def _bad_filter() -> GraphError:
    return GraphError(400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")


def _comparisons(tokens: list[str], prefix: str) -> dict[str, str]:
    """`[prefix/]id eq 'x' and [prefix/]value eq 'y'` -> {"id": "x", "value": "y"}."""
    found: dict[str, str] = {}
    index = 0
    while index < len(tokens):
        if index and tokens[index].lower() == "and":
            index += 1
        if index + 3 > len(tokens) or tokens[index + 1].lower() != "eq":
            raise _bad_filter()
        name = tokens[index]
        if prefix:
            head, _, name = name.partition("/")
            if head != prefix:
                raise _bad_filter()
        if name.lower() not in ("id", "value") or name.lower() in found:
            raise _bad_filter()
        found[name.lower()] = _string(tokens[index + 2])
        index += 3
    if "id" not in found:
        raise _bad_filter()
    return found


def parse_event_filter(text: str) -> PropFilter:
    tokens = _tokens(text)
    if (len(tokens) < 6 or tokens[0].lower() != "singlevalueextendedproperties/any" or tokens[1] != "("
            or tokens[3] != ":" or tokens[-1] != ")"):
        raise _bad_filter()
    found = _comparisons(tokens[4:-1], tokens[2])
    return PropFilter(normalize_prop_id(found["id"]), found.get("value"))


@dataclass(frozen=True)
class Expand:
    """`$expand=singleValueExtendedProperties[($filter=id eq '...')]`: which properties to return."""

    prop_id: str | None  # normalized; None returns all


def parse_expand(text: str | None) -> Expand | None:
    if not text:
        return None
    match = re.fullmatch(r"\s*singleValueExtendedProperties\s*(?:\((.*)\))?\s*", text, re.IGNORECASE | re.DOTALL)
    if match is None:
        name = text.split("(")[0].strip()
        raise GraphError(400, "RequestBroker--ParseUri",
                         f"Could not find a property named '{name}' on type 'microsoft.graph.event'.")
    options = (match.group(1) or "").strip()
    if not options:
        return Expand(None)
    key, _, value = options.partition("=")
    if key.strip().lstrip("$").lower() != "filter":
        raise GraphError(400, "BadRequest", f"Query option '{key.strip()}' is not allowed in $expand.")
    found = _comparisons(_tokens(value), "")
    if "value" in found:
        raise _bad_filter()
    return Expand(normalize_prop_id(found["id"]))


def parse_select(text: str | None, known: frozenset[str], entity: str) -> list[str] | None:
    if not text:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in known:
            raise GraphError(400, "RequestBroker--ParseUri",
                             f"Could not find a property named '{name}' on type 'microsoft.graph.{entity}'.")
    return names


def parse_int(text: str | None, name: str, default: int) -> int:
    if text is None or text == "":
        return default
    if not text.strip().isdigit():
        raise GraphError(400, "BadRequest", f"Invalid value '{text}' for query option ${name}.")
    return int(text)


USER_FILTER_PROPERTIES = {"mail": "mail", "userprincipalname": "userPrincipalName", "id": "id"}


def _unsupported_user_filter(name: str) -> GraphError:
    return GraphError(400, "Request_UnsupportedQuery",
                      f"Unsupported or invalid query filter clause specified for property '{name}' of resource 'User'.")


def parse_user_filter(text: str) -> tuple[str, str]:
    """`mail eq '…'`, `userPrincipalName eq '…'`, `id eq '…'` or `proxyAddresses/any(p:p eq 'smtp:…')`.

    learn.microsoft.com/graph/api/resources/user (filter support per property) and
    learn.microsoft.com/graph/filter-query-parameter (lambda operators on collections).
    Returns (property, value); the directory compares strings case-insensitively.
    """
    tokens = _tokens(text)
    if len(tokens) == 3 and tokens[1].lower() == "eq":
        name = USER_FILTER_PROPERTIES.get(tokens[0].lower())
        if name is None:
            raise _unsupported_user_filter(tokens[0])
        return name, _string(tokens[2])
    if (len(tokens) == 8 and tokens[0].lower() == "proxyaddresses/any" and tokens[1] == "(" and tokens[3] == ":"
            and tokens[4] == tokens[2] and tokens[5].lower() == "eq" and tokens[7] == ")"):
        return "proxyAddresses", _string(tokens[6])
    raise _unsupported_user_filter(tokens[0] if tokens else text)
