"""Stored provider configuration in Table Storage: one row. The client secret is never stored here.

Until an administrator saves a configuration there is no row and the environment's values
apply; nothing here writes one implicitly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.store.tables import Tables

PARTITION = "provider"
DEFAULT_LANGUAGE = "en"
ROW = "current"


@dataclass(frozen=True)
class ProviderConfig:
    status: str
    tenant_id: str | None
    client_id: str | None
    organizer: str | None  # the pool's first mailbox
    auth_mode: str = "secret"
    recipient_allowlist: tuple[str, ...] = field(default_factory=tuple)
    updated_at: datetime | None = None
    updated_by: str | None = None
    organizers: tuple[str, ...] = ()  # the organizer pool
    default_language: str = DEFAULT_LANGUAGE  # BCP 47: invitations without a language of their own use it
    request_responses: bool | None = None  # None: LEARNCAL_REQUEST_RESPONSES applies

    def __post_init__(self) -> None:
        if not self.organizers and self.organizer:
            object.__setattr__(self, "organizers", (self.organizer.lower(),))
        elif self.organizers and self.organizer != self.organizers[0]:
            object.__setattr__(self, "organizer", self.organizers[0])


class ProviderStore:
    def __init__(self, tables: Tables) -> None:
        self._table = tables["provider"]

    def load(self) -> ProviderConfig | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            entity = self._table.get_entity(PARTITION, ROW)
        except ResourceNotFoundError:
            return None
        return ProviderConfig(
            status=entity.get("Status") or "active",
            tenant_id=entity.get("TenantId"),
            client_id=entity.get("ClientId"),
            organizer=entity.get("Organizer") or None,
            organizers=tuple(json.loads(entity.get("Organizers") or "[]")),
            auth_mode=entity.get("AuthMode") or "secret",
            recipient_allowlist=tuple(json.loads(entity.get("RecipientAllowlist") or "[]")),
            updated_at=entity.get("UpdatedAt"),
            updated_by=entity.get("UpdatedBy") or None,
            default_language=entity.get("DefaultLanguage") or DEFAULT_LANGUAGE,
            request_responses=entity.get("RequestResponses") if isinstance(entity.get("RequestResponses"), bool)
            else None,
        )

    def save(self, config: ProviderConfig) -> None:
        from azure.data.tables import UpdateMode

        entity: dict[str, Any] = {
            "PartitionKey": PARTITION,
            "RowKey": ROW,
            "Status": config.status,
            "TenantId": config.tenant_id or "",
            "ClientId": config.client_id or "",
            "Organizer": config.organizer or "",  # read by earlier versions: the pool's first mailbox
            "Organizers": json.dumps(list(config.organizers)),
            "AuthMode": config.auth_mode,
            "RecipientAllowlist": json.dumps(list(config.recipient_allowlist)),
            "DefaultLanguage": config.default_language,
        }
        if config.request_responses is not None:
            entity["RequestResponses"] = config.request_responses
        if config.updated_at is not None:
            entity["UpdatedAt"] = config.updated_at
        if config.updated_by:
            entity["UpdatedBy"] = config.updated_by
        self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
