"""The one-shot allowance that lets one run past the mass-cancellation guard.

An administrator who has checked that a large number of cancellations is intended gives an
allowance for that number (the count the guard or a dry run reported). It is kept in Table
Storage with who gave it and when, so a scheduled run can use it too; it lasts 24 hours and
is used up by the first run the guard would stop that cancels no more than that number. A
permanent switch would let every later run through unchecked, which is what the guard exists
to prevent.

The environment's LEARNCAL_ALLOW_MASS_CANCEL is an app setting that stays set, so its value
is read once: the value turned into an allowance is remembered, and the same value gives no
second allowance until it has been removed (or changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from shared.store.tables import Tables

PARTITION = "allowance"
ROW = "massCancel"
ENVIRONMENT_ROW = "massCancelEnvironment"
LIFETIME = timedelta(hours=24)

# who asked for the run that gave an allowance ("api": records written before runs named "http")
Via = Literal["cli", "api", "http", "timer", "feed", "console", "environment"]


@dataclass(frozen=True)
class MassCancelAllowance:
    count: int
    given_by: str
    given_at: datetime
    via: Via
    etag: str | None = None

    @property
    def expires_at(self) -> datetime:
        return self.given_at + LIFETIME

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count, "givenBy": self.given_by, "givenAt": _iso(self.given_at),
            "expiresAt": _iso(self.expires_at), "via": self.via,
        }


class AllowanceStore:
    """One row in the provider table: the allowance in force, if any."""

    def __init__(self, tables: Tables) -> None:
        self._table = tables["provider"]

    def give(self, count: int, *, by: str, via: Via, now: datetime | None = None) -> MassCancelAllowance:
        """Record an allowance, replacing any earlier one (the newest decision counts)."""
        from azure.data.tables import UpdateMode

        given = MassCancelAllowance(count, by, now or datetime.now(UTC), via)
        self._table.upsert_entity({
            "PartitionKey": PARTITION, "RowKey": ROW, "Count": count, "GivenBy": by, "GivenAt": given.given_at,
            "Via": via,
        }, mode=UpdateMode.REPLACE)
        return given

    def current(self) -> MassCancelAllowance | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            row = self._table.get_entity(PARTITION, ROW)
        except ResourceNotFoundError:
            return None
        return MassCancelAllowance(int(row["Count"]), str(row.get("GivenBy") or ""), row["GivenAt"],
                                   row.get("Via") or "cli", row.metadata.get("etag"))

    def use(self, allowance: MassCancelAllowance) -> bool:
        """Use the allowance up; False when another run used (or somebody replaced) it first."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

        try:
            self._table.delete_entity(PARTITION, ROW, etag=allowance.etag,
                                      match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            return False
        return True

    def from_environment(self, value: int | None, *, now: datetime | None = None) -> MassCancelAllowance | None:
        """Turn LEARNCAL_ALLOW_MASS_CANCEL into an allowance the first time a value is seen; None otherwise."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            seen = self._table.get_entity(PARTITION, ENVIRONMENT_ROW).get("Value")
        except ResourceNotFoundError:
            seen = None
        if value is None:
            if seen is not None:
                self._table.delete_entity(PARTITION, ENVIRONMENT_ROW)  # removed: the next value counts again
            return None
        if seen == str(value):
            return None
        given = self.give(value, by="LEARNCAL_ALLOW_MASS_CANCEL (app setting)", via="environment", now=now)
        self._table.upsert_entity({"PartitionKey": PARTITION, "RowKey": ENVIRONMENT_ROW, "Value": str(value),
                                   "ReadAt": given.given_at})
        return given


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
