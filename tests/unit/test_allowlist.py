"""Where two recipient allow-lists meet: a person is invited only if both admit them."""

from __future__ import annotations

import pytest

from shared.provider.allowlist import AllowlistsInForce, intersect


@pytest.mark.parametrize(("environment", "stored", "expected"), [
    ((), (), ()),
    (("@contoso.com",), (), ("@contoso.com",)),
    ((), ("ada@contoso.com",), ("ada@contoso.com",)),
    (("@contoso.com",), ("ada@contoso.com", "bo@fabrikam.com"), ("ada@contoso.com",)),
    (("ada@contoso.com",), ("@contoso.com",), ("ada@contoso.com",)),
    (("@contoso.com", "@fabrikam.com"), ("@fabrikam.com",), ("@fabrikam.com",)),
    (("@contoso.com",), ("ada@sub.contoso.com",), ()),  # a domain entry admits that domain only
    (("@contoso.com",), ("@fabrikam.com",), ()),
])
def test_the_lists_meet_in_what_both_admit(
    environment: tuple[str, ...], stored: tuple[str, ...], expected: tuple[str, ...],
) -> None:
    assert intersect(environment, stored) == expected


def test_lists_that_share_nobody_admit_nobody_rather_than_everyone() -> None:
    lists = AllowlistsInForce(("@contoso.com",), ("@fabrikam.com",))
    assert lists.admits_nobody
    assert "admit nobody" in (lists.problem() or "")
    assert not AllowlistsInForce((), ()).admits_nobody and AllowlistsInForce((), ()).problem() is None
