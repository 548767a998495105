"""The result shape of Validate: `{"checks": [{name, status, detail, fix}]}` (an outside interface)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

CheckStatus = Literal["pass", "warn", "fail"]

# Did the organizer's calendar answer the app: "answers" (opened, and written where that was
# tried), "refused" (Exchange said no), "busy" (not probed: a run holds the mailbox), "unknown"
# (not probed, or failed for another reason). The permission check needs it: under Exchange
# RBAC for Applications only the mailbox, not the token, shows the calendar grant.
CalendarAccess = Literal["answers", "refused", "busy", "unknown"]

# Stable names, in the order they are reported.
CONFIGURATION = "configuration"
SIGN_IN = "sign-in"
PERMISSIONS = "application-permissions"
ORGANIZER = "organizer-mailbox"
CALENDAR_WRITE = "calendar-write"
MAILBOX_SCOPE = "mailbox-scope"
KEY_VAULT = "key-vault"
ORGANIZER_HISTORY = "organizer-history"
RESPONSE_COLLECTION = "response-collection"  # only while collection is on
ORDER = (CONFIGURATION, SIGN_IN, PERMISSIONS, ORGANIZER, CALENDAR_WRITE, MAILBOX_SCOPE, KEY_VAULT, ORGANIZER_HISTORY,
         RESPONSE_COLLECTION)


@dataclass(frozen=True)
class Check:
    name: str
    status: CheckStatus
    detail: str
    fix: str | None = None
    mailbox: str | None = None  # the pool mailbox a per-mailbox check is about (organizer-mailbox, calendar-write)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}
        if self.mailbox is not None:
            body["mailbox"] = self.mailbox
        return body

    def about(self, mailbox: str) -> Check:
        """The same check, saying which pool mailbox it is about."""
        return replace(self, mailbox=mailbox)


def passed(name: str, detail: str) -> Check:
    return Check(name, "pass", detail)


def warned(name: str, detail: str, fix: str) -> Check:
    return Check(name, "warn", detail, fix)


def failed(name: str, detail: str, fix: str) -> Check:
    return Check(name, "fail", detail, fix)


def not_checked(name: str, because: str) -> Check:
    """A check that could not run because an earlier one failed: a warning, so the report stays complete."""
    return Check(name, "warn", f"Not checked: {because}", "Fix the failed check above, then validate again.")


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(c.status == "fail" for c in self.checks)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    def ordered(self) -> Report:
        rank = {name: i for i, name in enumerate(ORDER)}
        return Report(sorted(self.checks, key=lambda c: rank.get(c.name, len(ORDER))))

    def to_json(self) -> dict[str, Any]:
        return {"checks": [c.to_json() for c in self.checks]}
