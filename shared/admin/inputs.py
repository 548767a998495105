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
