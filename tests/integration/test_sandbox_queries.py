"""Query options inside batches and the case of extended-property filters.

Sources: learn.microsoft.com/graph/json-batching (sub-request `url` is a relative URL with its
query) and learn.microsoft.com/graph/query-parameters (system query options are written `$filter`);
kiota issues 1445 and 1651 (Graph does not understand percent-encoded option names such as
`%24filter` inside a batch; the .NET SDK un-escapes batch URLs for this reason).
learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-get (the
`singleValueExtendedProperties/Any(ep: ep/id eq '…' and ep/value eq '…')` filter; Exchange compares
the value without regard to case).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from conftest_sandbox import TAG_ID, Harness

TAGS = ["Feed-1", "feed-1", "Feed-2", None]
VALUE_FILTER = f"singleValueExtendedProperties/Any(ep: ep/id eq '{TAG_ID}' and ep/value eq 'Feed-1')"


def plant(sandbox: Harness, token: str) -> None:
    start = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0, tzinfo=None)
    for index, tag in enumerate(TAGS):
        body: dict[str, Any] = {
            "subject": f"Tag {tag}", "start": {"dateTime": (start + timedelta(hours=index)).isoformat(),
                                               "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(hours=index, minutes=30)).isoformat(), "timeZone": "UTC"}}
        if tag is not None:
            body["singleValueExtendedProperties"] = [{"id": TAG_ID, "value": tag}]
        assert sandbox.raw("POST", f"/v1.0/users/{sandbox.organizer}/events", token=token, json=body).is_success


def subjects(body: dict[str, Any]) -> list[str]:
    return sorted(e["subject"] for e in body["value"])


def in_batch(sandbox: Harness, token: str, url: str) -> dict[str, Any]:
    answer = sandbox.raw("POST", "/v1.0/$batch", token=token, json={"requests": [
        {"id": "1", "method": "GET", "url": url}]})
    response = answer.json()["responses"][0]
    assert response["status"] == 200, response
    return dict(response["body"])


def encoded_url(organizer: str) -> str:
    # What the SDK's request builder writes: option names percent-encoded.
    return (f"/users/{organizer}/events?%24filter={quote(VALUE_FILTER)}&%24select=subject"
            f"&%24top=2&%24expand={quote(f'singleValueExtendedProperties($filter=id eq {chr(39)}{TAG_ID}{chr(39)})')}")


def test_encoded_option_names_in_a_batch_are_ignored_and_the_unfiltered_page_comes_back(sandbox: Harness) -> None:
    """Switch encodedBatchQueryOptions="ignored" (default): `%24filter`, `%24select`, `%24top`, `%24expand`."""
    token = sandbox.token()
    plant(sandbox, token)

    body = in_batch(sandbox, token, encoded_url(sandbox.organizer))

    assert subjects(body) == sorted(f"Tag {t}" for t in TAGS)  # no filter, default page of 10, not 2
    assert all("attendees" in e for e in body["value"])  # no $select
    assert all("singleValueExtendedProperties" not in e for e in body["value"])  # no $expand


def test_encoded_option_names_are_understood_with_the_decoded_switch(sandbox: Harness) -> None:
    sandbox.admin.configure(encodedBatchQueryOptions="decoded")
    token = sandbox.token()
    plant(sandbox, token)

    body = in_batch(sandbox, token, encoded_url(sandbox.organizer))

    assert subjects(body) == ["Tag Feed-1", "Tag feed-1"]
    assert all(set(e) == {"@odata.etag", "id", "subject", "singleValueExtendedProperties"} for e in body["value"])


def test_literal_option_names_in_a_batch_and_encoded_names_at_top_level_are_applied(sandbox: Harness) -> None:
    token = sandbox.token()
    plant(sandbox, token)

    literal = in_batch(sandbox, token, f"/users/{sandbox.organizer}/events?$filter={quote(VALUE_FILTER)}")
    top_level = sandbox.raw("GET", f"/v1.0/users/{sandbox.organizer}/events?%24filter={quote(VALUE_FILTER)}",
                            token=token)

    assert subjects(literal) == ["Tag Feed-1", "Tag feed-1"]
    assert subjects(top_level.json()) == ["Tag Feed-1", "Tag feed-1"]


def test_tag_filters_compare_case_insensitively_unless_switched(sandbox: Harness) -> None:
    """Switch extendedPropertyFilterCase: "insensitive" (default, as Graph) or "sensitive"."""
    token = sandbox.token()
    plant(sandbox, token)
    url = f"/v1.0/users/{sandbox.organizer}/events?$filter={quote(VALUE_FILTER)}"

    insensitive = subjects(sandbox.raw("GET", url, token=token).json())
    sandbox.admin.configure(extendedPropertyFilterCase="sensitive")
    sensitive = subjects(sandbox.raw("GET", url, token=token).json())

    assert insensitive == ["Tag Feed-1", "Tag feed-1"]
    assert sensitive == ["Tag Feed-1"]
