"""The probe's access to Graph: raw batch JSON and one top-level read, answers kept exactly as given.

The probe has to see what the tenant says (status, code, message, Retry-After), not what the
product makes of it, so every step goes out as a JSON batch through the SDK's request adapter
(its sign-in, TLS and middleware, as `shared/calendar/batch.py` sends the sync's writes) and
each sub-response is returned unchanged. Only 429 is repeated, after the wait Graph asks for:
a throttled request was not carried out, so repeating it changes nothing in the mailbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from shared.calendar.batch import BatchSender, SubRequest, SubResponse, decode, same_answer

MAX_WAIT = 30.0  # seconds; a longer Retry-After is cut to this, the probe is interactive
ATTEMPTS = 5


class Wire:
    def __init__(self, client: Any) -> None:
        self._client = client
        self._sender = BatchSender(client.request_adapter)

    async def batch(self, requests: Sequence[SubRequest]) -> list[SubResponse]:
        """One envelope, each sub-response as Graph gave it (a failed envelope answers each alike)."""
        from azure.core.exceptions import ClientAuthenticationError
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        from shared.calendar.errors import sign_in_failed

        try:
            payload = await self._sender.send(list(requests), {"XXX": ODataError})
        except ClientAuthenticationError as error:
            raise sign_in_failed(error) from None
        except Exception as error:
            failed = _failure(error, "envelope")
            return same_answer(requests, failed.status, failed.headers, failed.body)
        return decode(payload, requests)

    async def settled(self, requests: Sequence[SubRequest]) -> list[SubResponse]:
        """Like `batch`, but throttled sub-requests are sent again after their Retry-After."""
        answers: dict[str, SubResponse] = {}
        pending = list(requests)
        for attempt in range(ATTEMPTS):
            responses = await self.batch(pending)
            answers.update((r.id, r) for r in responses)
            throttled = [r for r in responses if r.status == 429]
            if not throttled or attempt == ATTEMPTS - 1:
                break
            wait = max((r.retry_after or 1.0) for r in throttled)
            await asyncio.sleep(min(wait, MAX_WAIT))
            again = {r.id for r in throttled}
            pending = [request for request in pending if request.id in again]
        return [answers[request.id] for request in requests]

    async def one(self, request: SubRequest) -> SubResponse:
        return (await self.settled([request]))[0]

    async def calendar(self, user: str) -> SubResponse:
        """`GET /users/{user}/calendar` as a top-level request, the read Validate uses for the scope."""
        from azure.core.exceptions import ClientAuthenticationError

        from shared.calendar.errors import sign_in_failed

        try:
            calendar = await self._client.users.by_user_id(user).calendar.get()
        except ClientAuthenticationError as error:
            raise sign_in_failed(error) from None
        except Exception as error:
            return _failure(error, "calendar")
        return SubResponse("calendar", 200, {}, {"id": getattr(calendar, "id", None)})


def _failure(error: Exception, request_id: str) -> SubResponse:
    """What an SDK exception says, as an answer: Graph's status, headers and error; None when nothing came back."""
    import httpx

    if isinstance(error, (httpx.TransportError, asyncio.TimeoutError)):
        return SubResponse(request_id, None)
    status = getattr(error, "response_status_code", None)
    if status is None:
        raise error
    odata = getattr(error, "error", None)
    body = {"error": {"code": getattr(odata, "code", None), "message": getattr(odata, "message", None)}}
    raw: Any = getattr(error, "response_headers", None) or {}
    headers = {str(k): str(next(iter(v), "") if isinstance(v, (list, tuple, set)) else v)
               for k, v in (raw.items() if hasattr(raw, "items") else [])}
    return SubResponse(request_id, int(status), headers, body)
