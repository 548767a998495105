"""The request bodies of the console's routes, validated by pydantic and described in openapi.json from them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from pydantic.alias_generators import to_camel

MAX_ALLOWANCE = 1_000_000


class JobInput(BaseModel):
    """The body of `POST /api/jobs`."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True,
                              hide_input_in_errors=True)

    kind: Literal["validate", "preview"] = Field(
        description="validate: the checks of POST /api/provider/validate on the configuration in force; preview: "
                    "a dry run of the next run (what would be sent now)")
    probe_mailbox: str | None = Field(None, max_length=320,
                                      description="validate only: a mailbox the app should NOT reach")


class AllowanceInput(BaseModel):
    """The body of `POST /api/allowance`."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True,
                              hide_input_in_errors=True)

    count: StrictInt = Field(ge=1, le=MAX_ALLOWANCE, description="the number of cancellations to allow once (the "
                             "count the guard or a preview reported)")
    confirm: StrictBool = Field(description="must be true: the cancellations are intended")


class TemplateInput(BaseModel):
    """The body of `PUT /api/templates/{role}/{language}`: one template's subject and HTML body."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True,
                              hide_input_in_errors=True)

    subject: str = Field(min_length=1,
                         description="the subject line (plain text, one line) with {{ placeholders }}")
    body: str = Field(min_length=1,
                      description="the HTML body with {{ placeholders }} and {% if %} sections; feed text is "
                                  "escaped when rendered. At most 32,000 characters (Table Storage keeps a text "
                                  "property to 64 KiB)")


class PhrasesInput(BaseModel):
    """The body of `PUT /api/templates/phrases/{language}`: the phrases to change; keys left out keep their text."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True,
                              hide_input_in_errors=True)

    phrases: dict[str, str | None] = Field(
        min_length=1, max_length=32,
        description="phrase key -> its text, a one-line plain-text template (at most 300 characters; the "
                    "cancellation comments may use {{ offering_title }}); null goes back to the built-in text. "
                    "Keys: online, cancel.offeringCancelled, cancel.sessionRemoved, cancel.sessionCancelled, "
                    "cancel.noLongerInstructor, cancel.withdrew, cancel.enrollmentCancelled, "
                    "cancel.noLongerEnrolled")


class PreviewInput(BaseModel):
    """The body of `POST /api/templates/preview`: a template rendered for a real offering, nothing saved."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True,
                              hide_input_in_errors=True)

    role: Literal["learner", "primaryInstructor", "instructor"] = Field(description="whose invitation")
    language: str = Field(min_length=2, max_length=35, description="BCP 47 language tag, such as en, de or fr")
    subject: str | None = Field(None, description="the subject to preview; left out: the template in force")
    body: str | None = Field(None, description="the body to preview; left out: the template in force")
    offering_id: str | None = Field(None, min_length=1, max_length=256,
                                    description="the offering of the feed in force to render; left out: the first")


class RolloutInput(BaseModel):
    """The optional body of `POST /api/rollout`."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True,
                              hide_input_in_errors=True)

    dry_run: StrictBool = Field(False, description="count the updates a roll-out would send; mark and send nothing")
