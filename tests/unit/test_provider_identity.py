"""Which credential signs in, and how a refused secret is re-read (without any network)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

import shared.identity as identity
from shared.settings import Settings

SETTINGS = Settings.from_env({
    "LEARNCAL_TENANT_ID": "72f988bf-86f1-41af-91ab-2d7cd011db47",
    "LEARNCAL_CLIENT_ID": "0b5a1c3e-2d4f-4e6a-8b9c-0d1e2f3a4b5c",
    "LEARNCAL_ORGANIZER": "learning.coordinator@contoso.example",
})


class FakeSecretCredential:
    """Accepts only `good`; refuses others the way Entra does."""

    good = "new-secret"
    built: list[str] = []  # noqa: RUF012

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.closed = False
        FakeSecretCredential.built.append(secret)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        if self.secret != self.good:
            raise ClientAuthenticationError("AADSTS7000215: Invalid client secret provided.")
        return AccessToken("token", 0)

    def close(self) -> None:
        self.closed = True


@pytest.fixture(autouse=True)
def fake_secret_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeSecretCredential.built = []
    FakeSecretCredential.good = "new-secret"
    monkeypatch.setattr(identity, "secret_credential", lambda settings, secret: FakeSecretCredential(secret))


def test_a_refused_secret_is_re_read_once_and_the_new_one_is_kept() -> None:
    reads: list[str] = []

    def reread() -> str:
        reads.append("read")
        return "new-secret"

    credential = identity.RotatingSecretCredential(SETTINGS, "old-secret", reread)

    assert credential.get_token("scope").token == "token"
    assert credential.get_token("scope").token == "token"
    assert reads == ["read"]
    assert FakeSecretCredential.built == ["old-secret", "new-secret"]


def test_an_unchanged_secret_is_refused_without_a_loop() -> None:
    reads: list[str] = []
    credential = identity.RotatingSecretCredential(SETTINGS, "old-secret", lambda: reads.append("r") or "old-secret")

    with pytest.raises(ClientAuthenticationError):
        credential.get_token("scope")
    assert reads == ["r"]


def test_other_sign_in_failures_do_not_re_read() -> None:
    class Unreachable(FakeSecretCredential):
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            raise ClientAuthenticationError("AADSTS90002: Tenant not found.")

    reads: list[str] = []
    credential = identity.RotatingSecretCredential(SETTINGS, "s", lambda: reads.append("r") or "t")
    credential._inner = Unreachable("s")

    with pytest.raises(ClientAuthenticationError):
        credential.get_token("scope")
    assert reads == []


@pytest.mark.parametrize(("text", "refused"), [
    ("AADSTS7000215: Invalid client secret provided.", True),
    ("AADSTS7000222: The provided client secret keys are expired.", True),
    ("AADSTS70002150: something else", False),
    ("AADSTS700016: Application not found.", False),
])
def test_only_invalid_or_expired_secrets_count_as_refused(text: str, refused: bool) -> None:
    assert identity.secret_refused(Exception(text)) is refused


def test_build_credential_chooses_by_mode_and_secret_source(monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.identity import ClientAssertionCredential

    assert isinstance(identity.build_credential(SETTINGS, "new-secret"), FakeSecretCredential)
    with_vault = replace(SETTINGS, key_vault_url="https://vault.example.net")
    assert isinstance(identity.build_credential(with_vault, "new-secret"), identity.RotatingSecretCredential)
    federated = replace(SETTINGS, auth_mode="federated", managed_identity_client_id="11111111-2222-3333-4444-5555")
    assert isinstance(identity.build_credential(federated), ClientAssertionCredential)


def test_the_vault_credential_follows_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.identity import DefaultAzureCredential, EnvironmentCredential, ManagedIdentityCredential

    for name in identity.ENVIRONMENT_IDENTITY_VARS:
        monkeypatch.delenv(name, raising=False)
    assert isinstance(identity.vault_credential(SETTINGS), DefaultAzureCredential)
    for name in identity.ENVIRONMENT_IDENTITY_VARS:
        monkeypatch.setenv(name, "x")
    assert isinstance(identity.vault_credential(SETTINGS), EnvironmentCredential)
    managed = replace(SETTINGS, managed_identity_client_id="11111111-2222-3333-4444-5555")
    assert isinstance(identity.vault_credential(managed), ManagedIdentityCredential)
