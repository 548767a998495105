"""What an administrator may send to change the provider configuration, checked field by field.

The shapes are strict on purpose: a GUID that is not a GUID, an organizer that is not an
address or a status nobody knows would otherwise surface an hour later as a failed run.
Every refusal names the field (camelCase, as the API and the CLI spell it) and never repeats
the value, so a mistyped secret cannot leak through an error message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    PlainValidator,
    SecretStr,
    StrictBool,
    ValidationError,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

Status = Literal["active", "inactive"]
AuthMode = Literal["secret", "federated"]

SECRET_MASK = "********"
MAX_ALLOWLIST = 500
MAX_ORGANIZERS = 50
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^@(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _language(value: str) -> str:
    from shared.templates.languages import normalize_language

    return normalize_language(value)


def _guid(value: str) -> str:
    if not _GUID.match(value):
        raise ValueError("must be a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47")
    return value.lower()


def _lower(value: str) -> str:
    return value.lower()


def allowlist_entry(value: str) -> str:
    """An address (`ada@contoso.com`) or a whole domain (`@contoso.com`), lower-cased."""
    from email_validator import EmailNotValidError, validate_email

    text = value.strip().lower()
    if text.startswith("@"):
        if _DOMAIN.match(text):
            return text
        raise ValueError("must be an e-mail address or @domain, such as @contoso.com")
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValueError("must be an e-mail address or @domain, such as @contoso.com") from None


GUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
Guid = Annotated[
    str, Field(max_length=64, json_schema_extra={"format": "uuid", "pattern": GUID_PATTERN}), AfterValidator(_guid)
]
Address = Annotated[EmailStr, Field(max_length=254), AfterValidator(_lower)]
Language = Annotated[str, Field(min_length=2, max_length=35, json_schema_extra={"examples": ["en", "de", "fr-CH"]}),
                     AfterValidator(_language)]
AllowlistEntry = Annotated[
    str,
    Field(min_length=2, max_length=254, json_schema_extra={"pattern": "^(@[^@\\s]+|[^@\\s]+@[^@\\s]+)$"}),
    AfterValidator(allowlist_entry),
]


class ProviderInput(BaseModel):
    """The body of `PUT /api/provider` (and the options of `learncal provider set`).

    `clientSecret` is write-only: it goes to Key Vault and is never stored with the rest.
    Sending back the mask a read returned ("********") keeps the stored secret unchanged.
    """

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, str_strip_whitespace=True,
        hide_input_in_errors=True,
    )

    status: Status = Field(description="active: runs send invitations; inactive: runs send nothing")
    tenant_id: Guid = Field(description="Microsoft Entra tenant (directory) ID")
    client_id: Guid = Field(description="application (client) ID of the registered app")
    organizers: list[Address] | None = Field(
        default=None, min_length=1, max_length=MAX_ORGANIZERS,
        description="the organizer pool: one or more mailboxes; each offering's invitations come from one of them "
                    "(pinned when its first invitation is sent). Required unless organizer is given",
    )
    organizer: Address | None = Field(
        None, description="one organizer mailbox (a pool of one); with organizers it must be one of them",
    )
    auth_mode: AuthMode = Field("secret", description="secret: client secret in Key Vault; federated: the "
                                "function app's managed identity signs in, no secret")
    recipient_allowlist: list[AllowlistEntry] | None = Field(
        default=None, max_length=MAX_ALLOWLIST,
        description="when not empty, only these addresses and @domains are invited (non-production safety). It "
                    "can only narrow LEARNCAL_RECIPIENT_ALLOWLIST, which always applies. Left out: the stored list is "
                    "kept; null or []: the stored list is removed (confirmAllowlistRemoval must then be true)",
    )
    client_secret: SecretStr | None = Field(
        default=None, min_length=1, max_length=1024,
        description="write-only; stored in Key Vault. The read mask ******** leaves the stored secret unchanged",
    )
    default_language: Language | None = Field(
        None, description="the organisation's default language (BCP 47, such as en, de or fr-CH): invitations of "
        "people whose language the feed does not give, and of languages without a template, use it. Left out: the "
        "stored value is kept (en until one is saved). A change reaches invitations already sent only by a reconcile "
        "or a roll-out",
    )
    request_responses: StrictBool | None = Field(
        default=None,
        description="true: new invitations ask for a response and attendees' responses are collected; false: no "
                    "response is asked for. null: LEARNCAL_REQUEST_RESPONSES applies. Left out: the stored value is "
                    "kept. Invitations already sent change only when the change is rolled out (learncal rollout)",
    )
    confirm_organizer_change: StrictBool = Field(
        False, description="must be true to change the organizer while invitations from another organizer are open"
    )
    confirm_allowlist_removal: StrictBool = Field(
        False, description="must be true to remove a stored recipient allow-list (it widens who is invited)"
    )

    @staticmethod
    def missing(data: Any) -> list[FieldError]:
        """A pool is required in one of two spellings; said beside the other fields' errors."""
        if isinstance(data, dict) and data.get("organizers") is None and data.get("organizer") is None:
            return [{"field": "organizers", "message": "is required: a list of one or more organizer mailboxes, "
                     "such as [\"learning.coordinator@contoso.com\"] (or organizer for a single mailbox)"}]
        return []

    def problems(self) -> list[FieldError]:
        """What the field types cannot say: both spellings of the pool, when given, must agree."""
        if self.organizers and self.organizer and self.organizer not in self.organizers:
            return [{"field": "organizer", "message": "must be one of organizers when both are given; leave it "
                     "out, or add it to organizers"}]
        return []

    def pool(self) -> tuple[str, ...]:
        """The organizer pool, de-duplicated in the order given."""
        return tuple(dict.fromkeys(self.organizers or ([self.organizer] if self.organizer else [])))

    def new_secret(self) -> str | None:
        """The secret to store, or None when none was sent (or the read mask came back unchanged)."""
        if self.client_secret is None:
            return None
        value = self.client_secret.get_secret_value()
        return None if value == SECRET_MASK else value


class ValidateInput(BaseModel):
    """The optional body of `POST /api/provider/validate`: a candidate to check before saving it.

    Without a candidate the configuration in force is checked. `probeMailbox` names a mailbox
    that the app should NOT be able to read (for the Exchange scope check).
    """

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, str_strip_whitespace=True,
        hide_input_in_errors=True,
    )

    tenant_id: Guid | None = Field(None, description="proposed tenant ID")
    client_id: Guid | None = Field(None, description="proposed client ID")
    organizer: Address | None = Field(None, description="proposed organizer (a pool of one)")
    organizers: list[Address] | None = Field(None, min_length=1, max_length=MAX_ORGANIZERS,
                                             description="proposed organizer pool; every mailbox is checked")
    auth_mode: AuthMode | None = Field(None, description="proposed sign-in mode")
    client_secret: SecretStr | None = Field(
        default=None, min_length=1, max_length=1024, description="proposed client secret; used once, never stored"
    )
    probe_mailbox: Address | None = Field(
        None, description="a mailbox the app should NOT reach, to test its Exchange scope"
    )


def _allowance(value: Any) -> int | bool:
    if isinstance(value, bool) or (isinstance(value, int) and value >= 1):
        return value
    raise ValueError("must be the number of cancellations to allow (1 or more, such as 23), or true for as many as "
                     "this run plans")


Allowance = Annotated[
    int | bool, PlainValidator(_allowance),
    WithJsonSchema({"oneOf": [{"type": "integer", "minimum": 1}, {"type": "boolean"}]}),
]


class SyncInput(BaseModel):
    """The optional body of `POST /api/sync`."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True,
                              hide_input_in_errors=True)

    dry_run: StrictBool = Field(False, description="plan only: send and record nothing")
    allow_mass_cancel: Allowance = Field(
        False, description="a one-shot allowance for the mass-cancellation guard: the number of cancellations to "
        "allow (the count the guard or a dry run reported), or true for as many as this run plans. Kept for 24 "
        "hours, used by the first run the guard would stop that cancels no more than that number",
    )


FieldError = dict[str, str]


def field_path(loc: Sequence[int | str]) -> str:
    """`("recipientAllowlist", 2)` -> `recipientAllowlist[2]`; the body itself is `(body)`."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "(body)"


def field_errors(error: ValidationError) -> list[FieldError]:
    """Pydantic's errors as `{field, message}`, without the input values (they may hold a secret)."""
    result: list[FieldError] = []
    for item in error.errors(include_url=False, include_context=False, include_input=False):
        message = str(item["msg"])
        message = message.removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "is not a known field"
        elif item["type"] == "missing":
            message = "is required"
        elif item["type"] == "model_type":
            message = "must be a JSON object"
        result.append({"field": field_path(item["loc"]), "message": message})
    return result


def parse(model: type[BaseModel], data: Any) -> Any:
    """Validate `data` as `model`; raises InvalidInput with the field errors."""
    from shared.provider.errors import InvalidInput

    missing = getattr(model, "missing", None)
    absent: list[FieldError] = missing(data) if callable(missing) else []
    try:
        result = model.model_validate(data)
    except ValidationError as error:
        raise InvalidInput(field_errors(error) + absent) from None
    problems = getattr(result, "problems", None)
    found = absent + (problems() if callable(problems) else [])
    if found:
        raise InvalidInput(found)
    return result
