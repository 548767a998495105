"""The recipient allow-lists in force, and the one list a run applies.

Two lists can be in force: the environment's LEARNCAL_RECIPIENT_ALLOWLIST (set with the
deployment, typically to keep a test tenant from inviting real people) and the list stored
with the provider configuration. A person is invited only if every list in force admits
them, so a stored list can narrow the environment's but never widen it; an empty or absent
list adds no restriction.

Entries are whole addresses or whole domains (`@contoso.com`, matched exactly, not its
subdomains), so the two lists meet in a list of the same kind: that is the one list a run
applies. Two non-empty lists that share nobody would leave an empty list, which means
"everyone"; that case is reported instead (`admits_nobody`), never applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ENVIRONMENT_SETTING = "LEARNCAL_RECIPIENT_ALLOWLIST"


def _meet(a: str, b: str) -> str | None:
    """What both entries admit, as one entry, or None."""
    if a == b:
        return a
    if a.startswith("@") and not b.startswith("@"):
        return b if b.endswith(a) else None
    if b.startswith("@") and not a.startswith("@"):
        return a if a.endswith(b) else None
    return None


def intersect(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    """Entries admitted by both lists; an empty list admits everyone, so the other one is the answer."""
    if not first:
        return second
    if not second:
        return first
    met: list[str] = []
    for a in first:
        for b in second:
            entry = _meet(a, b)
            if entry is not None and entry not in met:
                met.append(entry)
    return tuple(met)


@dataclass(frozen=True)
class AllowlistsInForce:
    environment: tuple[str, ...]
    stored: tuple[str, ...]

    @property
    def effective(self) -> tuple[str, ...]:
        return intersect(self.environment, self.stored)

    @property
    def admits_nobody(self) -> bool:
        return bool(self.environment) and bool(self.stored) and not self.effective

    def outside_environment(self) -> list[str]:
        """Stored entries the environment's list does not admit (they invite nobody)."""
        if not self.environment:
            return []
        return [e for e in self.stored if not intersect(self.environment, (e,))]

    def problem(self) -> str | None:
        if not self.admits_nobody:
            return None
        return (f"The recipient allow-lists in force admit nobody: {ENVIRONMENT_SETTING} allows "
                f"{', '.join(self.environment)} and the stored list allows {', '.join(self.stored)}, which share "
                "no address. Runs stop until the stored list is changed to entries inside the environment's list "
                f"(or removed), or {ENVIRONMENT_SETTING} is changed.")

    def to_json(self) -> list[dict[str, Any]]:
        """Each list in force and where it came from (lists without entries restrict nothing and are left out)."""
        lists: list[dict[str, Any]] = []
        if self.environment:
            lists.append({"source": "environment", "setting": ENVIRONMENT_SETTING, "entries": list(self.environment)})
        if self.stored:
            lists.append({"source": "stored", "entries": list(self.stored)})
        return lists

    def describe(self) -> str:
        """One sentence for Validate and the CLI."""
        if not self.environment and not self.stored:
            return "no recipient allow-list is in force: everyone in the feed is invited"
        if self.admits_nobody:
            return "the recipient allow-lists in force admit nobody (see GET /api/provider)"
        parts = []
        if self.environment:
            parts.append(f"{ENVIRONMENT_SETTING} ({', '.join(self.environment)})")
        if self.stored:
            parts.append(f"the stored list ({', '.join(self.stored)})")
        return f"only {', '.join(self.effective)} invited, by " + " and ".join(parts)
