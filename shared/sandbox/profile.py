"""Tenant profiles: what `learncal tenant-probe` measured in a real tenant, loaded into the sandbox.

A profile is a JSON object `{"kind": "learncal-tenant-profile", "version": 1, "measuredAt",
"tenantId", "mailbox", "attendee", "observations": {...}, "realism": {...}}`. Only `realism`
changes the sandbox, exactly as `PATCH /_sandbox/config` would, so a local rehearsal behaves
like the measured tenant. A bad profile is refused before the sandbox starts, naming the file
and the key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.sandbox.realism import Realism

PROFILE_KIND = "learncal-tenant-profile"
PROFILE_VERSION = 1


class ProfileError(ValueError):
    """A tenant profile the sandbox cannot use; the message names the file, the key and the fix."""


def load_profile(path: Path) -> dict[str, Any]:
    """The profile's `realism` settings, checked as `PATCH /_sandbox/config` checks them."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ProfileError(f"{path}: cannot read the tenant profile ({error.strerror or error})") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ProfileError(f"{path}: not JSON ({error}); write it with `learncal tenant-probe`") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: a tenant profile is a JSON object")
    if data.get("kind") != PROFILE_KIND:
        raise ProfileError(f"{path}: key 'kind' must be {PROFILE_KIND!r}, not {data.get('kind')!r}")
    if data.get("version") != PROFILE_VERSION:
        raise ProfileError(f"{path}: key 'version' must be {PROFILE_VERSION}, not {data.get('version')!r}; "
                           "measure the tenant again with this version's `learncal tenant-probe`")
    realism = data.get("realism")
    if not isinstance(realism, dict):
        raise ProfileError(f"{path}: key 'realism' must be an object of sandbox settings")
    try:
        Realism.from_json(realism)
    except (TypeError, ValueError) as error:
        raise ProfileError(f"{path}: key 'realism': {error}") from None
    return realism
