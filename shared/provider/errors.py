"""Refusals of a provider change; the admin API turns them into problem documents, the CLI into one line."""

from __future__ import annotations

from shared.errors import LearncalError


class InvalidInput(LearncalError):
    """One or more fields are not acceptable; `errors` holds `{field, message}` for each."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors) or "The input is not valid.")


class SecretNotStorable(InvalidInput):
    """A client secret was sent but there is nowhere it may be kept (no Key Vault, or not used)."""

    def __init__(self, message: str) -> None:
        super().__init__([{"field": "clientSecret", "message": message}])


class OrganizerChangeUnconfirmed(LearncalError):
    """A new organizer while invitations are open: the consequences must be accepted explicitly."""

    field = "confirmOrganizerChange"


class AllowlistRemovalUnconfirmed(LearncalError):
    """Removing the stored recipient allow-list widens who is invited: it must be accepted explicitly."""

    field = "confirmAllowlistRemoval"
