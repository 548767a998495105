"""Await one Graph call for a Validate check and keep what Graph itself said when it refuses.

The product's error mapping (shared/calendar/errors.py) turns Graph's answers into plain
advice; Validate also needs Graph's own wording, because a mailbox refused by an application
access policy and one outside an RBAC for Applications scope differ only in the message.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from shared.calendar.errors import graph_error, sign_in_failed
from shared.errors import GraphError

T = TypeVar("T")


class GraphRefusal(GraphError):
    """A Graph error answer, with Graph's own message (`said`) next to the plain one."""

    def __init__(self, mapped: GraphError, said: str | None) -> None:
        super().__init__(str(mapped), status=mapped.status, code=mapped.code, retry_after=mapped.retry_after)
        self.said = said or ""


async def graph(call: Awaitable[T], action: str) -> T:
    """Await one SDK call; every failure becomes a GraphError (a GraphRefusal for answers) or SignInFailed."""
    import httpx
    from azure.core.exceptions import ClientAuthenticationError

    try:
        return await call
    except ClientAuthenticationError as error:
        raise sign_in_failed(error) from None
    except (httpx.TransportError, TimeoutError):
        raise GraphError(f"Microsoft Graph could not be reached to {action}.") from None
    except GraphError:
        raise
    except Exception as error:
        said = getattr(getattr(error, "error", None), "message", None)
        raise GraphRefusal(graph_error(error, action=action), said if isinstance(said, str) else None) from None


def said(error: GraphError) -> str:
    """Graph's own message for a refusal ('' when there was none, e.g. a network failure)."""
    return error.said if isinstance(error, GraphRefusal) else ""
