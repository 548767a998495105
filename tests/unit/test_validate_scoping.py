"""Telling the app's mailbox restriction from Graph's refusal, and the names a run may lease a mailbox under."""

from __future__ import annotations

import pytest

from shared.errors import GraphError
from shared.validate.directory import Organizer
from shared.validate.graphcall import GraphRefusal
from shared.validate.guard import lease_names
from shared.validate.scoping import out_of_scope_fix, refusal_scoping


def refusal(said: str, *, status: int = 403, code: str = "ErrorAccessDenied") -> GraphRefusal:
    return GraphRefusal(GraphError("Could not open the calendar.", status=status, code=code), said)


@pytest.mark.parametrize("wording", [
    "Access to OData is disabled.",
    "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.",
])
def test_both_policy_wordings_mean_an_application_access_policy(wording: str) -> None:
    assert refusal_scoping(refusal(wording), calendar_role=True) == "applicationAccessPolicy"
    assert refusal_scoping(refusal(wording), calendar_role=False) == "applicationAccessPolicy"


def test_a_plain_refusal_without_the_calendar_role_means_rbac_for_applications() -> None:
    plain = refusal("Access is denied. Check credentials and try again.")

    assert refusal_scoping(plain, calendar_role=False) == "rbacForApplications"
    assert refusal_scoping(plain, calendar_role=True) == "applicationAccessPolicy"


def test_other_errors_are_no_refusal() -> None:
    assert refusal_scoping(refusal("no mailbox", status=404, code="MailboxNotEnabledForRESTAPI"),
                           calendar_role=False) is None
    assert refusal_scoping(GraphError("network", status=None), calendar_role=False) is None


def test_each_scoping_has_its_own_fix_naming_the_organizer_and_the_app() -> None:
    rbac = out_of_scope_fix("rbacForApplications", "desk@contoso.example", "app-1")
    policy = out_of_scope_fix("applicationAccessPolicy", "desk@contoso.example", "app-1")

    assert "Test-ServicePrincipalAuthorization -Identity app-1 -Resource desk@contoso.example" in rbac
    assert "Test-ApplicationAccessPolicy -Identity desk@contoso.example -AppId app-1" in policy


def test_lease_names_cover_every_name_once_whatever_its_case() -> None:
    assert lease_names("Desk@Contoso.example", "desk.upn@contoso.example", None, "desk@contoso.example") == (
        "desk@contoso.example", "desk.upn@contoso.example")


def test_the_organizer_is_described_by_upn_and_address() -> None:
    found = Organizer("alias@contoso.example", "lc-7f@contoso.example", "desk@contoso.example", "Desk", "alias")

    assert found.describe().startswith("Organizer found: UPN lc-7f@contoso.example, address desk@contoso.example")
    assert "alias@contoso.example is one of its aliases" in found.describe()
    assert set(found.names) == {"alias@contoso.example", "lc-7f@contoso.example", "desk@contoso.example"}
